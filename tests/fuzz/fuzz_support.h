// Shared helpers of the libFuzzer targets: a scratch directory per process
// for the parsers that read files, input splitting, and a property check that
// crashes (so libFuzzer keeps the input) with a message.
#pragma once

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "core/byte_reader.h"

namespace mailmig::fuzz {

// A property the parser must keep; failing it aborts like a sanitizer finding.
inline void require(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "fuzz property violated: %s\n", what);
    std::abort();
  }
}

// A private directory created on first use, removed at exit.
inline const std::string& scratch_dir() {
  static const std::string dir = [] {
    const char* base = std::getenv("TMPDIR");
    std::string pattern =
        std::string(base != nullptr && *base != '\0' ? base : "/tmp") + "/mailmig-fuzz-XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) {
      std::perror("mkdtemp");
      std::abort();
    }
    static const std::string kept = pattern;
    std::atexit([] {
      std::error_code ignored;
      std::filesystem::remove_all(kept, ignored);
    });
    return pattern;
  }();
  return dir;
}

// Writes `bytes` to `path` (replacing it).
inline void write_file(const std::string& path, std::string_view bytes) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  require(fd >= 0, "cannot create the scratch file");
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    require(n > 0, "cannot write the scratch file");
    done += static_cast<std::size_t>(n);
  }
  ::close(fd);
}

// Reads a whole ByteReader; returns the byte count and keeps the bytes.
inline std::uint64_t drain(ByteReader& reader, std::string* keep = nullptr) {
  char buffer[4096];
  std::uint64_t total = 0;
  for (;;) {
    const std::size_t n = reader.read(std::span<char>(buffer, sizeof buffer));
    if (n == 0) return total;
    total += n;
    if (keep != nullptr) keep->append(buffer, n);
  }
}

// Splits `data` at every occurrence of `separator` (the usual way a target
// gets several inputs from one).
inline std::vector<std::string_view> split(std::string_view data, std::string_view separator) {
  std::vector<std::string_view> parts;
  for (;;) {
    const std::size_t at = data.find(separator);
    if (at == std::string_view::npos) {
      parts.push_back(data);
      return parts;
    }
    parts.push_back(data.substr(0, at));
    data.remove_prefix(at + separator.size());
  }
}

inline std::string_view as_view(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

}  // namespace mailmig::fuzz
