#include "core/crlf.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "common/string_reader.h"
#include "core/sha256.h"

namespace mailmig {
namespace {

// Hands out `data` in pieces of at most `chunk` bytes, like a file read in blocks.
using mailmig::testing::StringReader;

// Obvious reference: a LF gets a CR unless the byte before it is a CR.
std::string reference_convert(std::string_view in) {
  std::string out;
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '\n' && (i == 0 || in[i - 1] != '\r')) out += '\r';
    out += in[i];
  }
  return out;
}

std::string convert_whole(std::string_view in) {
  bool last_was_cr = false;
  std::string out;
  crlf_convert(in, last_was_cr, out);
  return out;
}

// Feeds `in` to crlf_convert in pieces of `chunk` bytes.
std::string convert_chunked(std::string_view in, std::size_t chunk) {
  bool last_was_cr = false;
  std::string out;
  for (std::size_t pos = 0; pos < in.size(); pos += chunk) {
    crlf_convert(in.substr(pos, chunk), last_was_cr, out);
  }
  return out;
}

std::uint64_t count_chunked(std::string_view in, std::size_t chunk) {
  CrlfCounter counter;
  for (std::size_t pos = 0; pos < in.size(); pos += chunk) counter.feed(in.substr(pos, chunk));
  return counter.size();
}

// Drains a CrlfReader over `in` using an output buffer of `out_size` bytes.
std::string read_all(std::string in, std::size_t in_chunk, std::size_t out_size) {
  CrlfReader reader(std::make_unique<StringReader>(std::move(in), in_chunk));
  std::string out;
  std::vector<char> buffer(out_size);
  while (const std::size_t n = reader.read(buffer)) out.append(buffer.data(), n);
  return out;
}

TEST(CrlfConvert, Basics) {
  EXPECT_EQ(convert_whole(""), "");
  EXPECT_EQ(convert_whole("abc"), "abc");
  EXPECT_EQ(convert_whole("\n"), "\r\n");
  EXPECT_EQ(convert_whole("a\nb\n"), "a\r\nb\r\n");
  EXPECT_EQ(convert_whole("a\r\nb\r\n"), "a\r\nb\r\n");  // CRLF kept
  EXPECT_EQ(convert_whole("a\rb\r"), "a\rb\r");          // lone CR kept
  EXPECT_EQ(convert_whole("\n\n\r\n\r\r\n"), "\r\n\r\n\r\n\r\r\n");
  EXPECT_EQ(convert_whole(std::string("a\0\nb", 4)), std::string("a\0\r\nb", 5));
}

TEST(CrlfConvert, AppendsToOutput) {
  bool last_was_cr = false;
  std::string out = "x";
  crlf_convert("a\n", last_was_cr, out);
  EXPECT_EQ(out, "xa\r\n");
}

TEST(CrlfConvert, CrAtChunkEndThenLf) {
  bool last_was_cr = false;
  std::string out;
  crlf_convert("a\r", last_was_cr, out);
  EXPECT_TRUE(last_was_cr);
  crlf_convert("\nb", last_was_cr, out);
  EXPECT_FALSE(last_was_cr);
  EXPECT_EQ(out, "a\r\nb");  // no CR added
}

TEST(CrlfConvert, EmptyChunkKeepsState) {
  bool last_was_cr = false;
  std::string out;
  crlf_convert("a\r", last_was_cr, out);
  crlf_convert("", last_was_cr, out);
  crlf_convert("\n", last_was_cr, out);
  EXPECT_EQ(out, "a\r\n");
}

TEST(CrlfConvert, LfAtChunkStartAfterNonCr) {
  bool last_was_cr = false;
  std::string out;
  crlf_convert("a", last_was_cr, out);
  crlf_convert("\n", last_was_cr, out);
  EXPECT_EQ(out, "a\r\n");
}

TEST(CrlfCounter, MatchesConversion) {
  for (const std::string_view in : {"", "abc", "\n", "a\nb\r\nc\rd\n\n", "\r", "\r\r\n\n"}) {
    EXPECT_EQ(count_chunked(in, 1000), convert_whole(in).size()) << in;
  }
}

TEST(CrlfCounter, CrAtChunkEndThenLf) {
  CrlfCounter counter;
  counter.feed("a\r");
  counter.feed("");
  counter.feed("\nb");
  EXPECT_EQ(counter.size(), 4U);
  counter.feed("\n");  // after "b": needs a CR
  EXPECT_EQ(counter.size(), 6U);
}

TEST(CrlfCounter, EmptyInput) {
  CrlfCounter counter;
  EXPECT_EQ(counter.size(), 0U);
  counter.feed("");
  EXPECT_EQ(counter.size(), 0U);
}

TEST(CrlfReader, TinyOutputBuffer) {
  const std::string in = "line one\nline two\r\nbare\rcr\n\n";
  const std::string expected = reference_convert(in);
  for (const std::size_t out_size : {1U, 2U, 3U, 7U}) {
    for (const std::size_t in_chunk : {1U, 2U, 5U, 4096U}) {
      EXPECT_EQ(read_all(in, in_chunk, out_size), expected) << out_size << "/" << in_chunk;
    }
  }
}

TEST(CrlfReader, EmptyInputAndEmptyBuffer) {
  EXPECT_EQ(read_all("", 1, 16), "");
  CrlfReader reader(std::make_unique<StringReader>("\n", 1));
  EXPECT_EQ(reader.read(std::span<char>()), 0U);  // empty buffer reads nothing...
  char c = 0;
  ASSERT_EQ(reader.read(std::span<char>(&c, 1)), 1U);  // ...and loses nothing
  EXPECT_EQ(c, '\r');
}

TEST(CrlfReader, LargerThanInternalBlock) {
  // Bigger than the reader's 64 KiB block, with CRs at every block edge.
  constexpr std::size_t kBlock = std::size_t{64} * 1024;
  std::string in(3 * kBlock + 1000, 'x');
  for (std::size_t i = kBlock - 1; i < in.size(); i += kBlock) {
    in[i] = '\r';
    in[i + 1] = '\n';
  }
  for (std::size_t i = 100; i < in.size(); i += 997) {
    if (in[i] == 'x' && in[i - 1] != '\r') in[i] = '\n';
  }
  EXPECT_EQ(read_all(in, 1 << 20, 5000), reference_convert(in));
}

// Property: any chunking gives the whole-buffer result, which equals the
// reference, and the counter agrees with it.
TEST(CrlfProperty, ChunkingDoesNotMatter) {
  std::mt19937 rng(4155);
  const char alphabet[] = {'a', '\r', '\n', '\r', '\n', 'b'};  // CR/LF-heavy on purpose
  std::uniform_int_distribution<std::size_t> pick(0, std::size(alphabet) - 1);
  std::uniform_int_distribution<std::size_t> length(0, 64);
  std::uniform_int_distribution<std::size_t> chunk(1, 9);
  for (int i = 0; i < 3000; ++i) {
    std::string in;
    for (std::size_t n = length(rng); n > 0; --n) in += alphabet[pick(rng)];
    const std::string whole = convert_whole(in);
    ASSERT_EQ(whole, reference_convert(in));
    ASSERT_EQ(convert_chunked(in, 1), whole);
    const std::size_t c = chunk(rng);
    ASSERT_EQ(convert_chunked(in, c), whole) << c;
    ASSERT_EQ(count_chunked(in, 1), whole.size());
    ASSERT_EQ(count_chunked(in, c), whole.size()) << c;
    ASSERT_EQ(read_all(in, c, chunk(rng)), whole);
  }
}

std::string sha256_hex(std::string_view data) {
  Sha256 hash;
  hash.update(data);
  return hash.hex();
}

TEST(Sha256, KnownDigests) {
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Sha256, IncrementalAndReader) {
  Sha256 hash;
  hash.update("a");
  hash.update("");
  hash.update("bc");
  EXPECT_EQ(hash.hex(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  StringReader reader("abc", 1);
  EXPECT_EQ(sha256_of(reader), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  StringReader empty("", 1);
  EXPECT_EQ(sha256_of(empty), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

}  // namespace
}  // namespace mailmig
