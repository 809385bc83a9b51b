#include "core/crlf.h"

#include <algorithm>
#include <cstring>
#include <utility>

namespace mailmig {

void CrlfCounter::feed(std::string_view chunk) {
  size_ += chunk.size();
  const char* p = chunk.data();
  const char* end = p + chunk.size();
  bool prev_cr = last_was_cr_;
  while (p < end) {
    const void* hit = std::memchr(p, '\n', static_cast<std::size_t>(end - p));
    if (hit == nullptr) break;
    const char* lf = static_cast<const char*>(hit);
    const bool cr_before = lf == chunk.data() ? prev_cr : lf[-1] == '\r';
    if (!cr_before) ++size_;
    p = lf + 1;
  }
  if (!chunk.empty()) last_was_cr_ = chunk.back() == '\r';
}

void crlf_convert(std::string_view chunk, bool& last_was_cr, std::string& out) {
  out.reserve(out.size() + chunk.size() + chunk.size() / 32);
  std::size_t start = 0;
  for (std::size_t i = 0; i < chunk.size(); ++i) {
    if (chunk[i] != '\n') continue;
    const bool cr_before = i == 0 ? last_was_cr : chunk[i - 1] == '\r';
    if (cr_before) continue;
    out.append(chunk.substr(start, i - start));
    out.append("\r\n");
    start = i + 1;
  }
  out.append(chunk.substr(start));
  if (!chunk.empty()) last_was_cr = chunk.back() == '\r';
}

CrlfReader::CrlfReader(std::unique_ptr<ByteReader> inner) : inner_(std::move(inner)) {}

std::size_t CrlfReader::read(std::span<char> buffer) {
  if (buffer.empty()) return 0;
  while (pending_pos_ >= pending_.size()) {
    pending_.clear();
    pending_pos_ = 0;
    if (raw_.empty()) raw_.resize(kBlock);
    const std::size_t n = inner_->read(raw_);
    if (n == 0) return 0;
    crlf_convert(std::string_view(raw_.data(), n), last_was_cr_, pending_);
  }
  const std::size_t n = std::min(buffer.size(), pending_.size() - pending_pos_);
  std::memcpy(buffer.data(), pending_.data() + pending_pos_, n);
  pending_pos_ += n;
  return n;
}

}  // namespace mailmig
