// The answers of the Kerio Connect admin API (src/provision/kerio): any HTTP
// status and body reach the client's interpretation of login, Domains.get,
// Users.get and Users.create answers without crashing; only ApiError and
// ProvisionError come out, and neither ever contains the passwords.
#include <cstdint>
#include <string>

#include "fuzz_support.h"
#include "provision/kerio/kerio_answers.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace mailmig;
  if (size < 2) return 0;
  static const std::string kPassword = "user-secret-Pw1";
  static const std::string kAdminPassword = "admin-secret-Pw2";
  kerio::RpcAnswer answer;
  answer.status = (data[0] & 1U) != 0 ? 200 : 400 + data[1];
  answer.body.assign(reinterpret_cast<const char*>(data + 2), size - 2);
  const auto clean = [](const std::string& text) {
    fuzz::require(text.find(kPassword) == std::string::npos, "no user password in a message");
    fuzz::require(text.find(kAdminPassword) == std::string::npos, "no admin password in a message");
  };
  nlohmann::json result;
  try {
    result = kerio::rpc_result(answer, "Users.create", data[1], "https://kerio.test:4040", kPassword,
                               kAdminPassword);
  } catch (const kerio::ApiError& e) {
    clean(e.what());
    return 0;
  }
  // The result of any method may be any JSON: each interpreter gets it.
  try {
    (void)kerio::login_token(result);
  } catch (const ProvisionError& e) {
    clean(e.what());
  }
  try {
    (void)kerio::user_listed(result, "alice", "example.com");
  } catch (const ProvisionError& e) {
    clean(e.what());
  }
  try {
    kerio::check_created(result, "alice@example.com", kPassword, kAdminPassword);
  } catch (const ProvisionError& e) {
    clean(e.what());
  }
  try {
    (void)kerio::domain_id(result, "example.com");
  } catch (const ProvisionError& e) {
    clean(e.what());
  }
  return 0;
}
