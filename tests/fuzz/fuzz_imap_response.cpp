// The IMAP response parser (src/imap/response_parser): whatever a server
// sends, the parser returns responses or throws ProtocolError, with bounded
// memory (small limits here, so the limit paths run too). Feeding the same
// bytes whole or in pieces (sizes taken from the first input bytes) gives the
// same responses, the same streamed literal bytes, and the same error.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "fuzz_support.h"
#include "imap/response_parser.h"

namespace {

using mailmig::imap::ProtocolError;
using mailmig::imap::Response;
using mailmig::imap::ResponseParser;

struct Outcome {
  std::vector<Response> responses;
  std::string streamed;  // every streamed literal byte, in order
  std::optional<std::string> error;
};

ResponseParser::Limits small_limits() {
  ResponseParser::Limits limits;
  limits.max_line = 4096;
  limits.max_buffered_literal = 64;
  limits.max_items = 2000;
  limits.max_depth = 50;
  return limits;
}

Outcome run(std::string_view stream, const std::vector<std::size_t>& pieces) {
  Outcome out;
  ResponseParser parser(small_limits());
  parser.set_literal_sink(
      [&](std::uint64_t, std::uint64_t, std::string_view bytes) { out.streamed.append(bytes); });
  std::size_t at = 0;
  std::size_t piece = 0;
  try {
    while (at < stream.size()) {
      const std::size_t n =
          pieces.empty() ? stream.size() : std::min(pieces[piece++ % pieces.size()], stream.size() - at);
      parser.feed(stream.substr(at, n));
      at += n;
      while (std::optional<Response> r = parser.next()) out.responses.push_back(std::move(*r));
    }
  } catch (const ProtocolError& e) {
    out.error = e.what();
    // Out of sync for good: the same error again, whatever comes next.
    bool same = false;
    try {
      parser.feed("* OK more\r\n");
      (void)parser.next();
    } catch (const ProtocolError& again) {
      same = std::string(again.what()) == *out.error;
    }
    mailmig::fuzz::require(same, "after a ProtocolError next() rethrows it");
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace mailmig;
  if (size < 2) return 0;
  std::vector<std::size_t> pieces;
  const std::size_t count = 1 + data[0] % 4;
  for (std::size_t i = 0; i < count && i + 1 < size; ++i) pieces.push_back(1 + data[1 + i] % 16);
  const std::size_t skip = std::min(size, 1 + count);
  const std::string_view stream = fuzz::as_view(data + skip, size - skip);

  const Outcome whole = run(stream, {});
  const Outcome chunked = run(stream, pieces);
  fuzz::require(whole.error.has_value() == chunked.error.has_value(), "the same error whole or in pieces");
  if (!whole.error) {
    fuzz::require(whole.responses == chunked.responses, "the same responses whole or in pieces");
    fuzz::require(whole.streamed == chunked.streamed, "the same literal bytes whole or in pieces");
  }
  return 0;
}
