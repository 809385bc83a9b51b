// The pure parts of the libcurl-based HttpClient: loopback addresses, origins,
// the headers it accepts, and the checks that run before anything connects.
// Its behaviour on the wire (keep-alive, cookies, TLS, limits, dropped
// connections) is tested against the HTTPS test server in
// kerio_provisioner_test.cpp.
#include "provision/http_client.h"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

namespace mailmig::provision {
namespace {

TEST(HttpClient, LoopbackAddresses) {
  for (const char* address : {"127.0.0.1", "127.255.0.9", "::1", "::ffff:127.0.0.1", "0:0:0:0:0:0:0:1"}) {
    EXPECT_TRUE(is_loopback_address(address)) << address;
  }
  for (const char* address : {"10.0.0.1", "128.0.0.1", "::2", "::ffff:10.0.0.1", "2001:db8::1", "localhost",
                              "127.0.0.1.example.com", "", "127.1"}) {
    EXPECT_FALSE(is_loopback_address(address)) << address;
  }
}

TEST(HttpClient, Origin) {
  HttpClientOptions options;
  options.host = "mail.example.com";
  options.port = 4040;
  EXPECT_EQ(http_origin(options), "https://mail.example.com:4040");
  options.tls = false;
  options.host = "::1";
  options.port = 8080;
  EXPECT_EQ(http_origin(options), "http://[::1]:8080");
  EXPECT_EQ(HttpClient(options).origin(), "http://[::1]:8080");
}

TEST(HttpClient, AcceptableHeaders) {
  EXPECT_TRUE(is_acceptable_header("X-Token", "abc123"));
  EXPECT_TRUE(is_acceptable_header("Content-Type", "application/json-rpc; charset=UTF-8"));
  EXPECT_FALSE(is_acceptable_header("X-Token", "a\r\nX-Evil: 1")) << "header injection";
  EXPECT_FALSE(is_acceptable_header("X-Token", std::string("a\0b", 3)));
  EXPECT_FALSE(is_acceptable_header("X-Token", "")) << "curl would drop it silently";
  EXPECT_FALSE(is_acceptable_header("X Token", "a"));
  EXPECT_FALSE(is_acceptable_header("X-Token:", "a"));
  EXPECT_FALSE(is_acceptable_header("", "a"));
  for (const char* reserved :
       {"Host", "content-length", "COOKIE", "Connection", "Transfer-Encoding", "Expect"}) {
    EXPECT_FALSE(is_acceptable_header(reserved, "x")) << reserved;
  }
}

TEST(HttpClient, BadOptionsAreRefused) {
  HttpClientOptions options;
  options.port = 4040;
  EXPECT_THROW(HttpClient{options}, std::invalid_argument) << "empty host";
  options.host = "127.0.0.1";
  options.port = 0;
  EXPECT_THROW(HttpClient{options}, std::invalid_argument) << "port 0";
}

TEST(HttpClient, BadRequestsAreRefusedBeforeConnecting) {
  HttpClientOptions options;
  options.host = "127.0.0.1";
  options.port = 1;  // nothing listens there; the checks come first
  HttpClient client(options);
  for (const char* path : {"", "admin/api", "/a b", "/a\r\nHost: x", "/a?b", "/a#b"}) {
    EXPECT_THROW((void)client.post(path, "{}"), std::invalid_argument) << path;
  }
  EXPECT_THROW((void)client.post("/", "{}", {{"X-Token", "a\nb"}}), std::invalid_argument);
  EXPECT_THROW((void)client.post("/", "{}", {{"Cookie", "a=b"}}), std::invalid_argument);
}

}  // namespace
}  // namespace mailmig::provision
