#include "provision/kerio/kerio_answers.h"

#include <fmt/format.h>

#include <algorithm>
#include <string_view>

#include "core/ascii.h"

namespace mailmig::kerio {
namespace {

using nlohmann::json;

// The array under `key` of an object, nullptr otherwise (a const json's
// operator[] must never be used on a missing key).
const json* array_member(const json& holder, const char* key) {
  if (!holder.is_object()) return nullptr;
  const auto it = holder.find(key);
  return it != holder.end() && it->is_array() ? &*it : nullptr;
}

const std::string* string_member(const json& holder, const char* key) {
  if (!holder.is_object()) return nullptr;
  const auto it = holder.find(key);
  return it != holder.end() && it->is_string() ? it->get_ptr<const std::string*>() : nullptr;
}

}  // namespace

std::string expand_message(const json& holder) {
  const std::string* text = string_member(holder, "message");
  std::string message = text != nullptr ? *text : std::string("(no message)");
  const json* parameters = nullptr;
  if (holder.is_object() && holder.contains("messageParameters")) {
    parameters = &holder["messageParameters"];
  } else if (holder.is_object() && holder.contains("data") && holder["data"].is_object() &&
             holder["data"].contains("messageParameters")) {
    parameters = &holder["data"]["messageParameters"];
  }
  const json* values = parameters != nullptr ? array_member(*parameters, "positionalParameters") : nullptr;
  if (values == nullptr) return message;
  std::string out;
  for (std::size_t i = 0; i < message.size(); ++i) {
    if (message[i] == '%' && i + 1 < message.size() && message[i + 1] >= '1' && message[i + 1] <= '9') {
      const auto index = static_cast<std::size_t>(message[i + 1] - '1');
      if (index < values->size() && (*values)[index].is_string()) {
        out += (*values)[index].get<std::string>();
        ++i;
        continue;
      }
    }
    out += message[i];
  }
  return out;
}

int error_code(const json& holder) {
  if (!holder.is_object()) return 0;
  const auto it = holder.find("code");
  if (it == holder.end() || !it->is_number_integer()) return 0;
  // A code outside int's range is no Kerio code; get<int>() would overflow.
  const auto value = it->get<std::int64_t>();
  return value >= INT32_MIN && value <= INT32_MAX ? static_cast<int>(value) : 0;
}

std::string redact(std::string text, const std::string& secret) {
  if (secret.size() < 4) return text;
  for (std::size_t at = text.find(secret); at != std::string::npos; at = text.find(secret, at)) {
    text.replace(at, secret.size(), "<redacted>");
    at += 10;
  }
  return text;
}

json rpc_result(const RpcAnswer& response, const std::string& method, std::int64_t id,
                const std::string& origin, const std::string& secret, const std::string& admin_password) {
  json answer = json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  const bool is_rpc = answer.is_object() && answer.contains("jsonrpc");
  if (is_rpc && answer.contains("error") && answer["error"].is_object()) {
    const json& error = answer["error"];
    const int code = error_code(error);
    throw ApiError(fmt::format("Kerio admin API {}: {} (code {})", method,
                               redact(redact(expand_message(error), secret), admin_password), code),
                   code);
  }
  if (response.status != 200) {
    throw ApiError(fmt::format("Kerio admin API {}: HTTP status {} from {}", method, response.status, origin),
                   0);
  }
  if (!is_rpc || !answer.contains("result")) {
    throw ApiError(
        fmt::format("Kerio admin API {}: the answer from {} is not a JSON-RPC response", method, origin), 0);
  }
  if (answer.contains("id")) {
    const json& got = answer["id"];
    // Compare as the type it has: get<int64_t>() of an unsigned id above
    // INT64_MAX would wrap.
    const bool same = got.is_number_unsigned()
                          ? id >= 0 && got.get<std::uint64_t>() == static_cast<std::uint64_t>(id)
                      : got.is_number_integer() ? got.get<std::int64_t>() == id
                                                : false;
    if (!same)
      throw ApiError(
          fmt::format("Kerio admin API {}: the answer is for another request (id mismatch)", method), 0);
  }
  return std::move(answer["result"]);
}

std::string login_token(const json& result) {
  const std::string* token = string_member(result, "token");
  if (token == nullptr || token->empty())
    throw ProvisionError("Kerio admin API Session.login: the answer has no token");
  return *token;
}

bool user_listed(const json& result, const std::string& account, const std::string& domain) {
  const json* list = array_member(result, "list");
  if (list == nullptr) throw ProvisionError("Kerio admin API Users.get: the answer has no user list");
  const std::string qualified = account + "@" + domain;
  for (const json& user : *list) {
    const std::string* login = string_member(user, "loginName");
    // Kerio login names are case-insensitive.
    if (login != nullptr && (ascii_iequals(*login, account) || ascii_iequals(*login, qualified))) return true;
  }
  return false;
}

void check_created(const json& result, const std::string& who, const std::string& password,
                   const std::string& admin_password) {
  if (const json* errors = array_member(result, "errors"); errors != nullptr && !errors->empty()) {
    const json& error = errors->front();
    const std::string message = error.is_object() ? expand_message(error) : std::string("(no message)");
    throw ProvisionError(fmt::format("Kerio Connect did not create user {}: {} (code {})", who,
                                     redact(redact(message, password), admin_password), error_code(error)));
  }
  bool has_id = false;
  if (const json* created = array_member(result, "result")) {
    for (const json& entry : *created) {
      const std::string* id = string_member(entry, "id");
      if (id != nullptr && !id->empty()) has_id = true;
    }
  }
  if (!has_id)
    throw ProvisionError(
        fmt::format("Kerio admin API Users.create: no id returned for {} and no error", who));
}

std::optional<std::string> domain_id(const json& result, const std::string& domain) {
  const json* list = array_member(result, "list");
  if (list == nullptr) throw ProvisionError("Kerio admin API Domains.get: the answer has no domain list");
  for (const json& entry : *list) {
    const std::string* name = string_member(entry, "name");
    const std::string* id = string_member(entry, "id");
    if (name != nullptr && id != nullptr && ascii_iequals(*name, domain)) return *id;
  }
  return std::nullopt;
}

}  // namespace mailmig::kerio
