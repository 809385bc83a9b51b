// A ByteReader over a string for unit tests, optionally in small chunks to
// drive every buffer-boundary path of the code that reads it.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <limits>
#include <span>
#include <string>
#include <utility>

#include "core/byte_reader.h"

namespace mailmig::testing {

class StringReader final : public ByteReader {
 public:
  explicit StringReader(std::string data, std::size_t chunk = std::numeric_limits<std::size_t>::max())
      : data_(std::move(data)), chunk_(chunk) {}
  std::size_t read(std::span<char> buffer) override {
    const std::size_t n = std::min({buffer.size(), chunk_, data_.size() - pos_});
    std::memcpy(buffer.data(), data_.data() + pos_, n);
    pos_ += n;
    return n;
  }

 private:
  std::string data_;
  std::size_t chunk_;
  std::size_t pos_ = 0;
};

}  // namespace mailmig::testing
