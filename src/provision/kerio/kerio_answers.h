// How the Kerio Connect admin API client reads the JSON-RPC answers it gets
// (docs/protocols.md#kerio-administration-api). Kept apart from the connection so that every answer a
// server may send, however malformed, can be fed to it directly (the fuzz
// target tests/fuzz/fuzz_kerio_answers.cpp does): nothing here may crash,
// hang or throw anything but the documented exceptions.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "provision/provisioner.h"

namespace mailmig::kerio {

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
std::string expand_message(const nlohmann::json& holder);
// The integer `code` of an error object, 0 when absent.
int error_code(const nlohmann::json& holder);
// Removes a secret (4 bytes or longer) from a server-supplied message.
std::string redact(std::string text, const std::string& secret);

struct RpcAnswer {
  int status = 0;    // HTTP status
  std::string body;  // HTTP body
};

// The `result` of the answer to request `id` of `method`. Throws ApiError for
// a JSON-RPC error (its message with `secret` and `admin_password` redacted),
// a non-200 status, something that is no JSON-RPC answer, or another id.
// `origin` names the server in messages.
nlohmann::json rpc_result(const RpcAnswer& answer, const std::string& method, std::int64_t id,
                          const std::string& origin, const std::string& secret,
                          const std::string& admin_password);

// Session.login: the token; throws ProvisionError when there is none.
std::string login_token(const nlohmann::json& result);
// Users.get: whether the list names `account` (or account@domain),
// case-insensitively. Throws ProvisionError when there is no list.
bool user_listed(const nlohmann::json& result, const std::string& account, const std::string& domain);
// Users.create: throws ProvisionError naming `who` for an errors[] entry (its
// message with the passwords redacted) or when no id came back.
void check_created(const nlohmann::json& result, const std::string& who, const std::string& password,
                   const std::string& admin_password);
// Domains.get: the id of `domain` (case-insensitive), nullopt when not
// listed. Throws ProvisionError when there is no list.
std::optional<std::string> domain_id(const nlohmann::json& result, const std::string& domain);

}  // namespace mailmig::kerio
