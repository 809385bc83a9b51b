// A Transport that replays a server script and records what the client wrote,
// so session logic (pipelining, literals, continuations) is tested exactly.
#pragma once

#include <cstring>
#include <deque>
#include <string>

#include "imap/transport.h"

namespace mailmig::imap::testing {

class ScriptedTransport final : public Transport {
 public:
  // Server bytes, handed out in the given chunks as the client reads.
  std::deque<std::string> script;
  std::string written;
  std::string* mirror = nullptr;  // also receives writes; outlives the transport in tests
  bool closed = false;
  bool loopback = true;

  void start_tls(const TlsOptions& /*options*/) override { tls_ = true; }
  [[nodiscard]] bool is_tls() const override { return tls_; }
  void write_all(std::string_view data) override {
    if (closed) throw NetError(NetError::Kind::Closed, "closed");
    written.append(data);
    if (mirror != nullptr) mirror->append(data);
  }
  std::size_t read_some(std::span<char> buffer) override {
    if (closed) throw NetError(NetError::Kind::Closed, "closed");
    if (script.empty()) return 0;  // the server hung up
    std::string& chunk = script.front();
    const std::size_t n = std::min(buffer.size(), chunk.size());
    std::memcpy(buffer.data(), chunk.data(), n);
    chunk.erase(0, n);
    if (chunk.empty()) script.pop_front();
    return n;
  }
  void set_timeout(std::chrono::milliseconds /*timeout*/) override {}
  [[nodiscard]] bool peer_is_loopback() const override { return loopback; }
  [[nodiscard]] std::string peer_description() const override { return "script:143"; }
  void close() override { closed = true; }

 private:
  bool tls_ = false;
};

}  // namespace mailmig::imap::testing
