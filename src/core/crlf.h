// The one conversion between stored and IMAP form of message bytes: every
// bare LF becomes CRLF; an existing CRLF and a lone CR are left alone.
// Streaming: state carries across chunk boundaries.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/byte_reader.h"

namespace mailmig {

// Counts the size a chunked byte stream has after conversion (RFC822.SIZE).
class CrlfCounter {
 public:
  void feed(std::string_view chunk);
  [[nodiscard]] std::uint64_t size() const { return size_; }

 private:
  std::uint64_t size_ = 0;
  bool last_was_cr_ = false;
};

// Converts a chunk, appending to `out`; `last_was_cr` carries the state.
void crlf_convert(std::string_view chunk, bool& last_was_cr, std::string& out);

// A ByteReader decorator yielding the converted stream.
class CrlfReader final : public ByteReader {
 public:
  explicit CrlfReader(std::unique_ptr<ByteReader> inner);
  std::size_t read(std::span<char> buffer) override;

 private:
  static constexpr std::size_t kBlock = std::size_t{64} * 1024;
  std::unique_ptr<ByteReader> inner_;
  std::vector<char> raw_;  // read buffer, allocated once
  std::string pending_;    // converted bytes not yet handed out
  std::size_t pending_pos_ = 0;
  bool last_was_cr_ = false;
};

}  // namespace mailmig
