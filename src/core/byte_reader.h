// Pull interface for streaming message bytes with bounded memory: a reader
// fills the caller's buffer and returns 0 at the end.
#pragma once

#include <cstddef>
#include <span>

namespace mailmig {

class ByteReader {
 public:
  ByteReader() = default;
  ByteReader(const ByteReader&) = delete;
  ByteReader& operator=(const ByteReader&) = delete;
  virtual ~ByteReader() = default;

  // Reads up to buffer.size() bytes; returns how many, 0 at the end of the
  // stream. Throws mailmig::IoError on a read failure.
  virtual std::size_t read(std::span<char> buffer) = 0;
};

}  // namespace mailmig
