// HttpClient against a tiny scripted plain-HTTP server on 127.0.0.1.
#include "provision/http_client.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace mailmig::provision {
namespace {

using namespace std::chrono_literals;

struct SeenRequest {
  std::string head;  // request line and headers
  std::string body;
  int connection = 0;     // 1-based index of the connection it came on
  int on_connection = 0;  // 1-based index within that connection

  [[nodiscard]] std::string header(const std::string& name) const {
    const std::string needle = "\r\n" + name + ": ";
    const std::size_t at = head.find(needle);
    if (at == std::string::npos) return {};
    const std::size_t start = at + needle.size();
    return head.substr(start, head.find("\r\n", start) - start);
  }
};

// What the server does with a request: the bytes to answer with, and whether
// to close the connection afterwards. An empty reply with close = true drops
// the connection without answering.
struct Reply {
  std::string bytes;
  bool close = false;
};

// Serves one connection at a time (the client uses one at a time), calling
// the handler for each request read.
class TinyServer {
 public:
  using Handler = std::function<Reply(const SeenRequest&)>;

  explicit TinyServer(Handler handler) : handler_(std::move(handler)) {
    listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (listener_ < 0) throw std::runtime_error("socket");
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = 0;
    if (::bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
        ::listen(listener_, 8) != 0) {
      ::close(listener_);
      throw std::runtime_error("bind/listen");
    }
    socklen_t length = sizeof address;
    ::getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
    thread_ = std::thread([this] { run(); });
  }
  TinyServer(const TinyServer&) = delete;
  TinyServer& operator=(const TinyServer&) = delete;
  ~TinyServer() {
    stop_ = true;
    thread_.join();
    ::close(listener_);
  }

  [[nodiscard]] std::uint16_t port() const { return port_; }
  [[nodiscard]] std::vector<SeenRequest> requests() {
    const std::lock_guard lock(mutex_);
    return requests_;
  }
  [[nodiscard]] int connections() const { return connections_; }

 private:
  // Waits for `fd` to be readable; false when stopping.
  bool wait_readable(int fd) const {
    while (!stop_) {
      pollfd entry{fd, POLLIN, 0};
      const int rc = ::poll(&entry, 1, 50);
      if (rc > 0) return true;
    }
    return false;
  }

  void run() {
    while (wait_readable(listener_)) {
      const int fd = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      ++connections_;
      serve(fd, connections_);
      ::close(fd);
    }
  }

  void serve(int fd, int connection) {
    std::string buffer;
    int count = 0;
    for (;;) {
      // Read one request: head up to the blank line, then Content-Length bytes.
      std::size_t head_end = std::string::npos;
      while ((head_end = buffer.find("\r\n\r\n")) == std::string::npos) {
        if (!read_more(fd, buffer)) return;
      }
      SeenRequest request;
      request.head = buffer.substr(0, head_end + 2);
      buffer.erase(0, head_end + 4);
      const std::size_t length =
          std::stoul(request.header("Content-Length").empty() ? "0" : request.header("Content-Length"));
      while (buffer.size() < length) {
        if (!read_more(fd, buffer)) return;
      }
      request.body = buffer.substr(0, length);
      buffer.erase(0, length);
      request.connection = connection;
      request.on_connection = ++count;
      {
        const std::lock_guard lock(mutex_);
        requests_.push_back(request);
      }
      const Reply reply = handler_(request);
      std::string_view out(reply.bytes);
      while (!out.empty()) {
        const ssize_t n = ::send(fd, out.data(), out.size(), MSG_NOSIGNAL);
        if (n <= 0) return;
        out.remove_prefix(static_cast<std::size_t>(n));
      }
      if (reply.close) return;
    }
  }

  bool read_more(int fd, std::string& buffer) const {
    if (!wait_readable(fd)) return false;
    char chunk[4096];
    const ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
    if (n <= 0) return false;
    buffer.append(chunk, static_cast<std::size_t>(n));
    return true;
  }

  Handler handler_;
  int listener_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> connections_{0};
  std::mutex mutex_;
  std::vector<SeenRequest> requests_;
  std::thread thread_;
};

std::string ok_response(const std::string& body, const std::string& extra_headers = {}) {
  return "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n" + extra_headers +
         "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

HttpClientOptions plain_options(std::uint16_t port) {
  HttpClientOptions options;
  options.host = "127.0.0.1";
  options.port = port;
  options.tls = false;
  options.timeout = 5s;
  return options;
}

TEST(HttpClient, ContentLengthResponseAndRequestFraming) {
  TinyServer server([](const SeenRequest& request) { return Reply{ok_response("echo:" + request.body)}; });
  HttpClient client(plain_options(server.port()));
  const HttpResponse response = client.post("/admin/api/jsonrpc/", R"({"a":1})", {{"X-Token", "t1"}});
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.reason, "OK");
  EXPECT_EQ(response.body, R"(echo:{"a":1})");
  EXPECT_EQ(response.header("content-type"), "application/json");
  EXPECT_EQ(response.header("CONTENT-LENGTH"), std::to_string(response.body.size()));
  EXPECT_FALSE(response.header("X-Missing").has_value());

  const auto requests = server.requests();
  ASSERT_EQ(requests.size(), 1U);
  EXPECT_EQ(requests[0].head.substr(0, requests[0].head.find("\r\n")), "POST /admin/api/jsonrpc/ HTTP/1.1");
  EXPECT_EQ(requests[0].header("Host"), "127.0.0.1:" + std::to_string(server.port()));
  EXPECT_EQ(requests[0].header("Content-Length"), "7");
  EXPECT_EQ(requests[0].header("X-Token"), "t1");
  EXPECT_EQ(requests[0].header("Cookie"), "");
  EXPECT_EQ(client.origin(), "http://127.0.0.1:" + std::to_string(server.port()));
}

TEST(HttpClient, ChunkedResponseWithExtensionsAndTrailers) {
  TinyServer server([](const SeenRequest&) {
    return Reply{
        "HTTP/1.1 200 OK\r\ntransfer-encoding: Chunked\r\n\r\n"
        "5;name=value\r\nhello\r\n"
        "1\r\n,\r\n"
        "A\r\n0123456789\r\n"
        "0\r\nX-Trailer: yes\r\n\r\n"};
  });
  HttpClient client(plain_options(server.port()));
  EXPECT_EQ(client.post("/", "x").body, "hello,0123456789");
  // The connection stays usable: the chunked body was framed exactly.
  EXPECT_EQ(client.post("/", "y").body, "hello,0123456789");
  EXPECT_EQ(server.connections(), 1);
}

TEST(HttpClient, KeepAliveTwoRequestsOnOneConnection) {
  TinyServer server([](const SeenRequest& request) { return Reply{ok_response(request.body)}; });
  HttpClient client(plain_options(server.port()));
  EXPECT_EQ(client.post("/p", "first").body, "first");
  EXPECT_TRUE(client.connected());
  EXPECT_EQ(client.post("/p", "second").body, "second");
  const auto requests = server.requests();
  ASSERT_EQ(requests.size(), 2U);
  EXPECT_EQ(requests[1].connection, 1);
  EXPECT_EQ(requests[1].on_connection, 2);
  EXPECT_EQ(server.connections(), 1);
  EXPECT_EQ(client.connections_opened(), 1);
}

TEST(HttpClient, ConnectionCloseHeaderClosesAndNextRequestReconnects) {
  TinyServer server([](const SeenRequest& request) {
    return Reply{ok_response(request.body, "Connection: close\r\n"), true};
  });
  HttpClient client(plain_options(server.port()));
  EXPECT_EQ(client.post("/", "one").body, "one");
  EXPECT_FALSE(client.connected());
  EXPECT_EQ(client.post("/", "two").body, "two");
  EXPECT_EQ(server.connections(), 2);
}

TEST(HttpClient, ReconnectsWhenServerClosedIdleConnection) {
  // The server closes after each answer without saying so (a keep-alive timeout).
  TinyServer server([](const SeenRequest& request) { return Reply{ok_response(request.body), true}; });
  HttpClient client(plain_options(server.port()));
  EXPECT_EQ(client.post("/", "one").body, "one");
  std::this_thread::sleep_for(100ms);  // let the FIN arrive
  EXPECT_EQ(client.post("/", "two").body, "two");
  EXPECT_EQ(server.connections(), 2);
  EXPECT_EQ(client.connections_opened(), 2);
}

TEST(HttpClient, RetriesOnceWhenReusedConnectionDropsBeforeAnswering) {
  // Second request on the first connection: read, then dropped unanswered
  // (the race where the server times the connection out as the request goes).
  TinyServer server([](const SeenRequest& request) {
    if (request.connection == 1 && request.on_connection == 2) return Reply{"", true};
    return Reply{ok_response(request.body)};
  });
  HttpClient client(plain_options(server.port()));
  EXPECT_EQ(client.post("/", "one").body, "one");
  EXPECT_EQ(client.post("/", "two").body, "two");
  const auto requests = server.requests();
  ASSERT_EQ(requests.size(), 3U);
  EXPECT_EQ(requests[2].connection, 2);
  EXPECT_EQ(requests[2].body, "two");
}

TEST(HttpClient, FreshConnectionDroppedIsAnErrorNotRetried) {
  TinyServer server([](const SeenRequest&) { return Reply{"", true}; });
  HttpClient client(plain_options(server.port()));
  EXPECT_THROW((void)client.post("/", "x"), HttpError);
  EXPECT_EQ(server.requests().size(), 1U);
}

TEST(HttpClient, CookieRoundTrip) {
  TinyServer server([](const SeenRequest& request) {
    if (request.on_connection == 1) {
      return Reply{ok_response("login",
                               "Set-Cookie: SESSION=abc123; path=/admin/; Secure; HttpOnly\r\n"
                               "set-cookie: TOKEN=\"q1\"; path=/\r\n")};
    }
    if (request.on_connection == 2) {
      return Reply{ok_response("update", "Set-Cookie: SESSION=def456\r\n")};
    }
    if (request.on_connection == 3) {
      return Reply{ok_response("logout", "Set-Cookie: SESSION=; Max-Age=0\r\n")};
    }
    return Reply{ok_response("after")};
  });
  HttpClient client(plain_options(server.port()));
  (void)client.post("/", "1");
  ASSERT_EQ(client.cookies().size(), 2U);
  (void)client.post("/", "2");
  (void)client.post("/", "3");
  (void)client.post("/", "4");
  const auto requests = server.requests();
  ASSERT_EQ(requests.size(), 4U);
  EXPECT_EQ(requests[0].header("Cookie"), "");
  EXPECT_EQ(requests[1].header("Cookie"), "SESSION=abc123; TOKEN=q1");
  EXPECT_EQ(requests[2].header("Cookie"), "SESSION=def456; TOKEN=q1");
  EXPECT_EQ(requests[3].header("Cookie"), "TOKEN=q1");
  client.clear_cookies();
  EXPECT_TRUE(client.cookies().empty());
}

TEST(HttpClient, OversizeResponsesAreRefused) {
  TinyServer server([](const SeenRequest& request) {
    if (request.body == "length") return Reply{ok_response(std::string(2048, 'x'))};
    if (request.body == "chunked") {
      return Reply{"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n400\r\n" + std::string(1024, 'y') +
                   "\r\n400\r\n" + std::string(1024, 'y') + "\r\n0\r\n\r\n"};
    }
    if (request.body == "huge") {
      return Reply{"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\n"};
    }
    if (request.body == "to-close") {
      return Reply{"HTTP/1.1 200 OK\r\n\r\n" + std::string(4096, 'z'), true};
    }
    return Reply{ok_response(std::string(1024, 'x'))};
  });
  HttpClientOptions options = plain_options(server.port());
  options.max_response_bytes = 1024;
  HttpClient client(options);
  EXPECT_EQ(client.post("/", "exact").body.size(), 1024U);
  for (const char* kind : {"length", "chunked", "huge", "to-close"}) {
    try {
      (void)client.post("/", kind);
      ADD_FAILURE() << kind << ": no error";
    } catch (const HttpError& e) {
      EXPECT_NE(std::string(e.what()).find("limit"), std::string::npos) << kind << ": " << e.what();
    }
    EXPECT_FALSE(client.connected()) << kind;
  }
  EXPECT_EQ(client.post("/", "exact").body.size(), 1024U);
}

TEST(HttpClient, BodyDelimitedByCloseAndInterimResponses) {
  TinyServer server([](const SeenRequest& request) {
    if (request.body == "close") return Reply{"HTTP/1.0 200 OK\r\n\r\nuntil the end", true};
    return Reply{"HTTP/1.1 100 Continue\r\n\r\n" + ok_response("final")};
  });
  HttpClient client(plain_options(server.port()));
  EXPECT_EQ(client.post("/", "close").body, "until the end");
  EXPECT_FALSE(client.connected());
  EXPECT_EQ(client.post("/", "interim").body, "final");
}

TEST(HttpClient, NonSuccessStatusIsReturned) {
  TinyServer server([](const SeenRequest&) {
    return Reply{"HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\nnot found"};
  });
  HttpClient client(plain_options(server.port()));
  const HttpResponse response = client.post("/nowhere", "");
  EXPECT_EQ(response.status, 404);
  EXPECT_EQ(response.reason, "Not Found");
  EXPECT_EQ(response.body, "not found");
}

TEST(HttpClient, MalformedResponsesAreErrors) {
  TinyServer server([](const SeenRequest& request) {
    if (request.body == "garbage") return Reply{"SMTP ready\r\n\r\n", true};
    if (request.body == "short") return Reply{"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", true};
    if (request.body == "lengths") {
      return Reply{"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", true};
    }
    return Reply{"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", true};
  });
  HttpClient client(plain_options(server.port()));
  for (const char* kind : {"garbage", "short", "lengths", "badchunk"}) {
    EXPECT_THROW((void)client.post("/", kind), HttpError) << kind;
  }
}

TEST(HttpClient, RefusesHeaderInjection) {
  HttpClient client(plain_options(1));  // never connects: the request is checked first
  EXPECT_THROW((void)client.post("/", "", {{"X-Token", "a\r\nX-Evil: 1"}}), std::invalid_argument);
  EXPECT_THROW((void)client.post("/", "", {{"Bad Name", "v"}}), std::invalid_argument);
  EXPECT_THROW((void)client.post("/", "", {{"Content-Length", "5"}}), std::invalid_argument);
  EXPECT_THROW((void)client.post("no-slash", ""), std::invalid_argument);
  EXPECT_THROW((void)client.post("/a b", ""), std::invalid_argument);
}

TEST(HttpClient, ConnectFailureIsHttpError) {
  // Bind and close a socket to get a port nobody listens on.
  std::uint16_t port = 0;
  {
    TinyServer probe([](const SeenRequest&) { return Reply{}; });
    port = probe.port();
  }
  HttpClient client(plain_options(port));
  EXPECT_THROW((void)client.post("/", "x"), HttpError);
}

}  // namespace
}  // namespace mailmig::provision
