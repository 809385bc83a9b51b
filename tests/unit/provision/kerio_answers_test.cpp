// How the Kerio admin API client reads answers (kerio_answers.h): malformed
// answers give ApiError/ProvisionError, never undefined behaviour (nlohmann's
// const operator[] on a missing key, get<int>() of a huge code), and never a
// password in a message.
#include "provision/kerio/kerio_answers.h"

#include <gtest/gtest.h>

#include <string>

namespace mailmig::kerio {
namespace {

using nlohmann::json;

RpcAnswer answer(const std::string& body, int status = 200) {
  return RpcAnswer{status, body};
}

TEST(KerioAnswers, ResultOfTheMatchingRequest) {
  const json r = rpc_result(answer(R"({"jsonrpc":"2.0","id":7,"result":{"token":"t"}})"), "Session.login", 7,
                            "o", "", "");
  EXPECT_EQ("t", login_token(r));
}

TEST(KerioAnswers, OddIdsCodesAndShapesAreErrorsNotCrashes) {
  EXPECT_THROW(
      rpc_result(answer(R"({"jsonrpc":"2.0","id":18446744073709551615,"result":1})"), "m", 1, "o", "", ""),
      ApiError);
  EXPECT_THROW(rpc_result(answer(R"({"jsonrpc":"2.0","id":"7","result":1})"), "m", 7, "o", "", ""), ApiError);
  EXPECT_THROW(rpc_result(answer("[1,2]"), "m", 1, "o", "", ""), ApiError);
  EXPECT_THROW(rpc_result(answer("not json", 500), "m", 1, "o", "", ""), ApiError);
  try {
    rpc_result(answer(R"({"jsonrpc":"2.0","error":{"code":99999999999,"message":"x"}})"), "m", 1, "o", "",
               "");
    FAIL();
  } catch (const ApiError& e) {
    EXPECT_EQ(0, e.code());  // out of int's range: no Kerio code
  }
  EXPECT_THROW(login_token(json::array()), ProvisionError);
  EXPECT_THROW(login_token(json{{"token", 5}}), ProvisionError);
  EXPECT_THROW(user_listed(json("list"), "a", "d"), ProvisionError);
  EXPECT_FALSE(user_listed(json{{"list", {1, "x", json::object(), {{"loginName", 3}}}}}, "a", "d"));
  EXPECT_TRUE(user_listed(json{{"list", {{{"loginName", "A@D"}}}}}, "a", "d"));
  EXPECT_THROW(domain_id(json{{"list", 1}}, "d"), ProvisionError);
  EXPECT_EQ(std::nullopt, domain_id(json{{"list", {{{"name", "d"}, {"id", 4}}}}}, "d"));
  EXPECT_EQ("i", domain_id(json{{"list", {{{"name", "D"}, {"id", "i"}}}}}, "d").value());
  EXPECT_THROW(check_created(json{{"errors", {7}}}, "a@d", "pw12", "ad12"), ProvisionError);
  EXPECT_NO_THROW(
      check_created(json{{"errors", json::array()}, {"result", {{{"id", "x"}}}}}, "a@d", "p", "q"));
}

TEST(KerioAnswers, PasswordsNeverInMessages) {
  const std::string body =
      R"({"jsonrpc":"2.0","id":1,"error":{"code":1,"message":"bad %1 / %2","messageParameters":{"positionalParameters":["UserPw#1","AdminPw#2"]}}})";
  try {
    rpc_result(answer(body), "Users.create", 1, "o", "UserPw#1", "AdminPw#2");
    FAIL();
  } catch (const ApiError& e) {
    EXPECT_EQ(std::string::npos, std::string(e.what()).find("UserPw#1"));
    EXPECT_EQ(std::string::npos, std::string(e.what()).find("AdminPw#2"));
    EXPECT_NE(std::string::npos, std::string(e.what()).find("<redacted>"));
  }
}

}  // namespace
}  // namespace mailmig::kerio
