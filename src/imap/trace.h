// Protocol trace (--trace FILE). The session reports what it sends and
// receives with the secret parts marked, so credentials, the Kerio MD5 answer
// and message bodies never reach the file.
#pragma once

#include <cstdio>
#include <mutex>
#include <string>
#include <string_view>

namespace mailmig::imap {

class Trace {
 public:
  // Opens FILE for appending, mode 0600. Throws std::runtime_error.
  explicit Trace(const std::string& path);
  Trace(const Trace&) = delete;
  Trace& operator=(const Trace&) = delete;
  ~Trace();

  // One line per event: "<time> <connection> C: ..." / "S: ...".
  void client(std::string_view connection, std::string_view line);
  void server(std::string_view connection, std::string_view line);
  void note(std::string_view connection, std::string_view line);

 private:
  void write(std::string_view connection, std::string_view direction, std::string_view line);
  std::mutex mutex_;
  std::FILE* file_ = nullptr;
};

}  // namespace mailmig::imap
