#include "provision/kerio/kerio_provisioner.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string_view>
#include <utility>

#include "core/ascii.h"
#include "provision/http_client.h"
#include "provision/kerio/kerio_answers.h"

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

struct Endpoint {
  bool tls = true;
  std::string host;
  std::uint16_t port = kDefaultPort;
};

bool is_loopback_host(const std::string& host) {
  return ascii_iequals(host, "localhost") || provision::is_loopback_address(host);
}

Endpoint parse_url(const std::string& url) {
  const auto bad = [&](const std::string& why) {
    return std::invalid_argument(
        fmt::format("kerio: bad URL \"{}\": {} (expected https://HOST[:4040])", url, why));
  };
  Endpoint endpoint;
  std::string_view rest(url);
  if (rest.size() >= 8 && ascii_iequals(rest.substr(0, 8), "https://")) {
    rest.remove_prefix(8);
  } else if (rest.size() >= 7 && ascii_iequals(rest.substr(0, 7), "http://")) {
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

using kerio::ApiError;

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
    return kerio::user_listed(call("Users.get", params), account, domain);
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
    kerio::check_created(result, who, user.password, admin_password_);
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
    http_.close();  // and the cookies with it
  }

 private:
  static provision::HttpClientOptions make_http_options(const Endpoint& endpoint,
                                                        const ProvisionOptions& options) {
    provision::HttpClientOptions http;
    http.host = endpoint.host;
    http.port = endpoint.port;
    http.tls = endpoint.tls;
    http.ca_file = options.ca_file;
    http.insecure = options.insecure;
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
      // A dropped or refused connection is an HttpError (curl has already
      // sent the request once more when a reused connection was found dead).
      response = http_.post(kApiPath, body, headers);
    } catch (const provision::HttpError& e) {
      throw ProvisionError(fmt::format("Kerio admin API {}: {}", method, e.what()));
    }
    return kerio::rpc_result(kerio::RpcAnswer{response.status, std::move(response.body)}, method, id,
                             http_.origin(), secret, admin_password_);
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
    token_ = kerio::login_token(result);
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
    const std::string key = ascii_lower(domain);
    if (const auto it = domain_ids_.find(key); it != domain_ids_.end()) return it->second;
    const json params = {{"query",
                          {{"fields", json::array({"id", "name"})},
                           {"conditions", json::array({condition_eq("name", domain)})},
                           {"combining", "And"},
                           {"start", 0},
                           {"limit", -1}}}};
    const json result = call("Domains.get", params);
    if (std::optional<std::string> id = kerio::domain_id(result, domain)) {
      domain_ids_.emplace(key, *id);
      return *id;
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
