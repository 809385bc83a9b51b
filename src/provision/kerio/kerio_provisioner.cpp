#include "provision/kerio/kerio_provisioner.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netinet/in.h>

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string_view>
#include <utility>

#include "provision/http_client.h"

namespace mailmig {
namespace {

using nlohmann::json;

constexpr std::string_view kApiPath = "/admin/api/jsonrpc/";
constexpr std::uint16_t kDefaultPort = 4040;
// kerio::web::ApiException "Session expired." (Kerio API reference, Session
// interface: "-32001 Session expired. - The user is not logged in.").
constexpr int kSessionExpired = -32001;
constexpr const char* kApplicationName = "mailmig";
constexpr const char* kApplicationVendor = "mailmig";
constexpr const char* kApplicationVersion = "0.1.0";

char lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

std::string to_lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), lower);
  return out;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return lower(x) == lower(y); });
}

struct Endpoint {
  bool tls = true;
  std::string host;
  std::uint16_t port = kDefaultPort;
};

bool is_loopback_host(const std::string& host) {
  if (iequals(host, "localhost")) return true;
  in_addr v4{};
  if (::inet_pton(AF_INET, host.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  if (::inet_pton(AF_INET6, host.c_str(), &v6) == 1) {
    if (IN6_IS_ADDR_LOOPBACK(&v6)) return true;
    return IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127;
  }
  return false;
}

Endpoint parse_url(const std::string& url) {
  const auto bad = [&](const std::string& why) {
    return std::invalid_argument(
        fmt::format("kerio: bad URL \"{}\": {} (expected https://HOST[:4040])", url, why));
  };
  Endpoint endpoint;
  std::string_view rest(url);
  if (rest.size() >= 8 && iequals(rest.substr(0, 8), "https://")) {
    rest.remove_prefix(8);
  } else if (rest.size() >= 7 && iequals(rest.substr(0, 7), "http://")) {
    endpoint.tls = false;
    rest.remove_prefix(7);
  } else {
    throw bad("the scheme must be https://");
  }
  const std::size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  const std::string_view path = slash == std::string_view::npos ? std::string_view() : rest.substr(slash);
  if (!path.empty() && path != "/" && path != "/admin" && path != "/admin/" && path != "/admin/api/jsonrpc" &&
      path != kApiPath) {
    throw bad("unexpected path (the API path /admin/api/jsonrpc/ is added automatically)");
  }
  if (authority.find('@') != std::string_view::npos)
    throw bad("credentials in the URL are not allowed; use the admin user and password options");
  if (authority.find_first_of("?# ") != std::string_view::npos) throw bad("unexpected characters");
  std::string_view port_text;
  if (!authority.empty() && authority.front() == '[') {
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos) throw bad("unterminated [IPv6 address]");
    endpoint.host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') throw bad("junk after the IPv6 address");
      port_text = after.substr(1);
      if (port_text.empty()) throw bad("empty port");
    }
  } else {
    const std::size_t colon = authority.find(':');
    endpoint.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) {
      port_text = authority.substr(colon + 1);
      if (port_text.empty()) throw bad("empty port");
    }
  }
  if (endpoint.host.empty()) throw bad("no host");
  if (!port_text.empty()) {
    unsigned value = 0;
    const auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), value);
    if (ec != std::errc() || end != port_text.data() + port_text.size() || value == 0 || value > 65535)
      throw bad("invalid port");
    endpoint.port = static_cast<std::uint16_t>(value);
  }
  if (!endpoint.tls && !is_loopback_host(endpoint.host)) {
    throw std::invalid_argument(
        fmt::format("kerio: plain http:// is allowed only for a loopback test server, not {}; use https://",
                    endpoint.host));
  }
  return endpoint;
}

// A JSON-RPC `error` object, or an unexpected answer, for one method.
class ApiError : public ProvisionError {
 public:
  ApiError(const std::string& message, int code) : ProvisionError(message), code_(code) {}
  [[nodiscard]] int code() const { return code_; }

 private:
  int code_;
};

// Kerio messages carry %1, %2 placeholders with the values in
// messageParameters.positionalParameters (kerio::web::Error).
std::string expand_message(const json& holder) {
  std::string message = holder.contains("message") && holder["message"].is_string()
                            ? holder["message"].get<std::string>()
                            : std::string("(no message)");
  const json* parameters = nullptr;
  if (holder.contains("messageParameters")) {
    parameters = &holder["messageParameters"];
  } else if (holder.contains("data") && holder["data"].is_object() &&
             holder["data"].contains("messageParameters")) {
    parameters = &holder["data"]["messageParameters"];
  }
  if (parameters == nullptr || !parameters->is_object() || !parameters->contains("positionalParameters") ||
      !(*parameters)["positionalParameters"].is_array()) {
    return message;
  }
  const json& values = (*parameters)["positionalParameters"];
  std::string out;
  for (std::size_t i = 0; i < message.size(); ++i) {
    if (message[i] == '%' && i + 1 < message.size() && message[i + 1] >= '1' && message[i + 1] <= '9') {
      const auto index = static_cast<std::size_t>(message[i + 1] - '1');
      if (index < values.size() && values[index].is_string()) {
        out += values[index].get<std::string>();
        ++i;
        continue;
      }
    }
    out += message[i];
  }
  return out;
}

int error_code(const json& holder) {
  return holder.contains("code") && holder["code"].is_number_integer() ? holder["code"].get<int>() : 0;
}

// Removes a secret from a server-supplied message (a server that echoes input).
std::string redact(std::string text, const std::string& secret) {
  if (secret.size() < 4) return text;
  for (std::size_t at = text.find(secret); at != std::string::npos; at = text.find(secret, at)) {
    text.replace(at, secret.size(), "<redacted>");
    at += 10;
  }
  return text;
}

json condition_eq(const char* field, const std::string& value) {
  return json{{"fieldName", field}, {"comparator", "Eq"}, {"value", value}};
}

class KerioProvisioner final : public Provisioner {
 public:
  KerioProvisioner(const Endpoint& endpoint, const ProvisionOptions& options)
      : http_(make_http_options(endpoint, options)),
        admin_user_(options.admin_user),
        admin_password_(options.admin_password) {}
  KerioProvisioner(const KerioProvisioner&) = delete;
  KerioProvisioner& operator=(const KerioProvisioner&) = delete;
  ~KerioProvisioner() override = default;

  [[nodiscard]] std::string describe() const override {
    return fmt::format("Kerio Connect admin API at {}", http_.origin());
  }

  bool exists(const std::string& account, const std::string& domain) override {
    if (account.empty() || domain.empty()) throw ProvisionError("kerio: empty account or domain name");
    const std::lock_guard lock(mutex_);
    const std::string domain_id = find_domain(domain);
    json params = {{"query",
                    {{"fields", json::array({"id", "loginName"})},
                     {"conditions", json::array({condition_eq("loginName", account)})},
                     {"combining", "And"},
                     {"start", 0},
                     {"limit", -1}}},
                   {"domainId", domain_id}};
    const json result = call("Users.get", params);
    if (!result.contains("list") || !result["list"].is_array())
      throw ProvisionError("Kerio admin API Users.get: the answer has no user list");
    const std::string qualified = account + "@" + domain;
    for (const json& user : result["list"]) {
      if (!user.is_object() || !user.contains("loginName") || !user["loginName"].is_string()) continue;
      const auto login = user["loginName"].get<std::string>();
      // Kerio login names are case-insensitive.
      if (iequals(login, account) || iequals(login, qualified)) return true;
    }
    return false;
  }

  Created create(const NewUser& user) override {
    if (user.account.empty() || user.domain.empty())
      throw ProvisionError("kerio: empty account or domain name");
    const std::string who = user.account + "@" + user.domain;
    const std::lock_guard lock(mutex_);
    const std::string domain_id = find_domain(user.domain);
    json entry = {{"loginName", user.account},
                  {"fullName", user.real_name},
                  {"password", user.password},
                  {"domainId", domain_id},
                  {"authType", 0},
                  {"isEnabled", true}};
    json params = {{"users", json::array({std::move(entry)})}};
    json result;
    try {
      result = call("Users.create", params, user.password);
    } catch (const ProvisionError& e) {
      throw ProvisionError(fmt::format("creating {}: {}", who, e.what()));
    }
    if (result.contains("errors") && result["errors"].is_array() && !result["errors"].empty()) {
      const json& error = result["errors"].front();
      const std::string message = error.is_object() ? expand_message(error) : std::string("(no message)");
      throw ProvisionError(fmt::format("Kerio Connect did not create user {}: {} (code {})", who,
                                       redact(redact(message, user.password), admin_password_),
                                       error.is_object() ? error_code(error) : 0));
    }
    bool has_id = false;
    if (result.contains("result") && result["result"].is_array()) {
      for (const json& created : result["result"]) {
        if (created.is_object() && created.contains("id") && created["id"].is_string() &&
            !created["id"].get<std::string>().empty()) {
          has_id = true;
        }
      }
    }
    if (!has_id)
      throw ProvisionError(
          fmt::format("Kerio admin API Users.create: no id returned for {} and no error", who));
    return Created{false};
  }

  void finish() override {
    const std::lock_guard lock(mutex_);
    if (logged_in_) {
      try {
        (void)rpc("Session.logout", json::object());
      } catch (const ProvisionError&) {
        // Best effort: the session times out on the server anyway.
      }
    }
    logged_in_ = false;
    token_.clear();
    domain_ids_.clear();
    http_.clear_cookies();
    http_.close();
  }

 private:
  static provision::HttpClientOptions make_http_options(const Endpoint& endpoint,
                                                        const ProvisionOptions& options) {
    provision::HttpClientOptions http;
    http.host = endpoint.host;
    http.port = endpoint.port;
    http.tls = endpoint.tls;
    http.tls_options.ca_file = options.ca_file;
    http.tls_options.insecure = options.insecure;
    return http;
  }

  // One JSON-RPC request and its `result`. Caller holds the mutex.
  json rpc(const std::string& method, const json& params, const std::string& secret = {}) {
    const std::int64_t id = next_id_++;
    std::string body;
    try {
      body = json{{"jsonrpc", "2.0"}, {"id", id}, {"method", method}, {"params", params}}.dump();
    } catch (const json::type_error&) {
      // dump() refuses invalid UTF-8; its message names no content.
      throw ProvisionError(fmt::format("Kerio admin API {}: a name or password is not valid UTF-8", method));
    }
    provision::HttpHeaders headers = {{"Accept", "application/json-rpc"},
                                      {"Content-Type", "application/json-rpc; charset=UTF-8"}};
    if (!token_.empty()) headers.emplace_back("X-Token", token_);
    provision::HttpResponse response;
    try {
      response = http_.post(kApiPath, body, headers);
    } catch (const provision::HttpError& e) {
      throw ProvisionError(fmt::format("Kerio admin API {}: {}", method, e.what()));
    }
    const json answer = json::parse(response.body, nullptr, /*allow_exceptions=*/false);
    const bool is_rpc = answer.is_object() && answer.contains("jsonrpc");
    if (is_rpc && answer.contains("error") && answer["error"].is_object()) {
      const json& error = answer["error"];
      const int code = error_code(error);
      throw ApiError(fmt::format("Kerio admin API {}: {} (code {})", method,
                                 redact(redact(expand_message(error), secret), admin_password_), code),
                     code);
    }
    if (response.status != 200) {
      throw ApiError(fmt::format("Kerio admin API {}: HTTP {} {} from {}", method, response.status,
                                 response.reason, http_.origin()),
                     0);
    }
    if (!is_rpc || !answer.contains("result")) {
      throw ApiError(fmt::format("Kerio admin API {}: the answer from {} is not a JSON-RPC response", method,
                                 http_.origin()),
                     0);
    }
    if (answer.contains("id") &&
        !(answer["id"].is_number_integer() && answer["id"].get<std::int64_t>() == id)) {
      throw ApiError(
          fmt::format("Kerio admin API {}: the answer is for another request (id mismatch)", method), 0);
    }
    return answer["result"];
  }

  void login() {
    token_.clear();
    http_.clear_cookies();
    logged_in_ = false;
    if (admin_user_.empty())
      throw ProvisionError("kerio: no admin user given to log in to the Kerio admin API");
    const json params = {
        {"userName", admin_user_},
        {"password", admin_password_},
        {"application",
         {{"name", kApplicationName}, {"vendor", kApplicationVendor}, {"version", kApplicationVersion}}}};
    const json result = rpc("Session.login", params);
    if (!result.is_object() || !result.contains("token") || !result["token"].is_string() ||
        result["token"].get<std::string>().empty()) {
      throw ProvisionError("Kerio admin API Session.login: the answer has no token");
    }
    token_ = result["token"].get<std::string>();
    logged_in_ = true;
  }

  // A call on the session: logs in first if needed, and once more when the
  // server says the session expired (the request was not carried out then).
  json call(const std::string& method, const json& params, const std::string& secret = {}) {
    if (!logged_in_) login();
    try {
      return rpc(method, params, secret);
    } catch (const ApiError& e) {
      if (e.code() != kSessionExpired) throw;
    }
    login();
    return rpc(method, params, secret);
  }

  std::string find_domain(const std::string& domain) {
    const std::string key = to_lower(domain);
    if (const auto it = domain_ids_.find(key); it != domain_ids_.end()) return it->second;
    const json params = {{"query",
                          {{"fields", json::array({"id", "name"})},
                           {"conditions", json::array({condition_eq("name", domain)})},
                           {"combining", "And"},
                           {"start", 0},
                           {"limit", -1}}}};
    const json result = call("Domains.get", params);
    if (!result.contains("list") || !result["list"].is_array())
      throw ProvisionError("Kerio admin API Domains.get: the answer has no domain list");
    for (const json& entry : result["list"]) {
      if (!entry.is_object() || !entry.contains("name") || !entry["name"].is_string() ||
          !entry.contains("id") || !entry["id"].is_string())
        continue;
      if (!iequals(entry["name"].get<std::string>(), domain)) continue;
      auto id = entry["id"].get<std::string>();
      domain_ids_.emplace(key, id);
      return id;
    }
    throw ProvisionError(fmt::format("domain {} does not exist in Kerio Connect; create it first", domain));
  }

  std::mutex mutex_;
  provision::HttpClient http_;
  std::string admin_user_;
  std::string admin_password_;  // secret
  std::string token_;
  bool logged_in_ = false;
  std::int64_t next_id_ = 1;
  std::map<std::string, std::string> domain_ids_;  // lower-case name -> id
};

}  // namespace

std::unique_ptr<Provisioner> make_kerio_provisioner(const std::string& url, const ProvisionOptions& options) {
  const Endpoint endpoint = parse_url(url);
  if (options.admin_user.empty())
    throw std::invalid_argument("kerio: an admin user is needed to log in to the Kerio admin API");
  return std::make_unique<KerioProvisioner>(endpoint, options);
}

}  // namespace mailmig
