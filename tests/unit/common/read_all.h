// Everything a ByteReader yields, read `chunk` bytes at a time (small chunks
// drive the reader's buffer-boundary paths).
#pragma once

#include <cstddef>
#include <span>
#include <string>

#include "core/byte_reader.h"

namespace mailmig::testing {

inline std::string read_all(ByteReader& reader, std::size_t chunk = 8192) {
  std::string out;
  std::string buffer(chunk, '\0');
  while (const std::size_t n = reader.read(std::span<char>(buffer.data(), buffer.size())))
    out.append(buffer.data(), n);
  return out;
}

}  // namespace mailmig::testing
