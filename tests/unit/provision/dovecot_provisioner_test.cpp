#include "provision/dovecot/dovecot_provisioner.h"

#include <crypt.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common/temp_tree.h"

namespace mailmig {
namespace {

// ---- helpers ----

// One temp directory per test, from the shared helper.
class TempDir : public testing::TempTree {
 public:
  TempDir() : TempTree("mailmig-passwd-file-test") {}
  [[nodiscard]] const std::string& path() const { return root(); }
};

std::optional<std::string> slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void spit(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

std::string crypt_with(const std::string& password, const std::string& setting) {
  auto data = std::make_unique<crypt_data>();
  const char* out = ::crypt_r(password.c_str(), setting.c_str(), data.get());
  return out == nullptr ? std::string() : std::string(out);
}

PasswordInfo encrypted(const std::string& scheme, const std::string& value) {
  PasswordInfo info;
  info.kind = PasswordInfo::Kind::Encrypted;
  info.scheme = scheme;
  info.value = value;
  return info;
}

NewUser new_user(const std::string& account, const std::string& domain, const std::string& password,
                 PasswordInfo source = {}) {
  NewUser user;
  user.account = account;
  user.domain = domain;
  user.real_name = "Real " + account;
  user.password = password;
  user.source_password = std::move(source);
  return user;
}

// The password field of `user`'s line, or nullopt.
std::optional<std::string> field_of(const std::string& text, const std::string& user) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.starts_with(user + ":")) {
      const auto start = user.size() + 1;
      return line.substr(start, line.find(':', start) - start);
    }
  }
  return std::nullopt;
}

// "{SHA512-CRYPT}$6$..." verifies `password` with libcrypt.
void expect_sha512_crypt_of(const std::string& field, const std::string& password) {
  ASSERT_TRUE(field.starts_with("{SHA512-CRYPT}$6$")) << field;
  const std::string hash = field.substr(std::string("{SHA512-CRYPT}").size());
  EXPECT_EQ(hash, crypt_with(password, hash));
  EXPECT_NE(hash, crypt_with(password + "x", hash));
  EXPECT_TRUE(std::regex_match(hash, std::regex(R"(\$6\$[./0-9A-Za-z]{16}\$[./0-9A-Za-z]{86})"))) << hash;
}

constexpr const char* kSsha = "{SSHA}gVK8WC9YyFT1gMsQHTGCgT3sSv5zYWx0";  // "secret", salt "salt"
constexpr const char* kSha = "{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ=";        // "secret"
constexpr const char* kMd5Base64 = "Xr4ilOzQ4PCOq3aQ0qbuaQ==";           // MD5("secret")
constexpr const char* kMd5Hex = "5ebe2294ecd0e0f08eab7690d2a6ee69";

// ---- the scheme mapping ----

TEST(DovecotKeptHash, CommuniGateUnixCryptBecomesCrypt) {
  for (const char* setting : {"$1$abcdefgh$", "$5$abcdefgh$", "$6$abcdefgh$", "$6$rounds=5000$abcdefgh$",
                              "$2y$05$abcdefghijklmnopqrstuu", "$y$j9T$abcdefgh$", "ab"}) {
    const std::string hash = crypt_with("secret", setting);
    ASSERT_FALSE(hash.empty()) << setting;
    EXPECT_EQ("{CRYPT}" + hash, dovecot_kept_hash(encrypted("U-crpt", "U-crpt" + hash))) << hash;
  }
}

TEST(DovecotKeptHash, BareCryptStringsBecomeCrypt) {
  for (const char* setting :
       {"$1$abcdefgh$", "$5$abcdefgh$", "$6$abcdefgh$", "$2b$04$abcdefghijklmnopqrstuu"}) {
    const std::string hash = crypt_with("secret", setting);
    EXPECT_EQ("{CRYPT}" + hash, dovecot_kept_hash(encrypted(std::string(setting).substr(0, 3), hash)))
        << hash;
  }
}

TEST(DovecotKeptHash, BracedSchemesAsTheyAre) {
  EXPECT_EQ(kSsha, dovecot_kept_hash(encrypted("{SSHA}", kSsha)));
  EXPECT_EQ(kSha, dovecot_kept_hash(encrypted("{SHA}", kSha)));
  EXPECT_EQ("{SHA}" + std::string(40, 'a'),
            dovecot_kept_hash(encrypted("{SHA}", "{SHA}" + std::string(40, 'a'))));
  EXPECT_EQ("{SHA256}" + std::string(43, 'A') + "=",
            dovecot_kept_hash(encrypted("{SHA256}", "{SHA256}" + std::string(43, 'A') + "=")));
  EXPECT_EQ("{SHA512}" + std::string(86, 'A') + "==",
            dovecot_kept_hash(encrypted("{SHA512}", "{SHA512}" + std::string(86, 'A') + "==")));
  const std::string md5crypt = crypt_with("secret", "$1$abcdefgh$");
  EXPECT_EQ("{CRYPT}" + md5crypt, dovecot_kept_hash(encrypted("{CRYPT}", "{CRYPT}" + md5crypt)));
  EXPECT_EQ("{MD5-CRYPT}" + md5crypt, dovecot_kept_hash(encrypted("", "{MD5-CRYPT}" + md5crypt)));
  // scheme names come out upper case
  EXPECT_EQ(kSha, dovecot_kept_hash(encrypted("", "{sha}5en6G6MezRroT3XKqkdPOmY/BfQ=")));
}

TEST(DovecotKeptHash, Rfc2307Md5BecomesLdapMd5) {
  // Dovecot's own {MD5} means MD5-CRYPT; an LDAP-style digest gets an explicit name.
  EXPECT_EQ(std::string("{LDAP-MD5}") + kMd5Base64,
            dovecot_kept_hash(encrypted("{MD5}", std::string("{MD5}") + kMd5Base64)));
  EXPECT_EQ(std::string("{PLAIN-MD5}") + kMd5Hex,
            dovecot_kept_hash(encrypted("{MD5}", std::string("{MD5}") + kMd5Hex)));
  const std::string md5crypt = crypt_with("secret", "$1$abcdefgh$");
  EXPECT_EQ("{MD5}" + md5crypt, dovecot_kept_hash(encrypted("{MD5}", "{MD5}" + md5crypt)));
}

TEST(DovecotKeptHash, WhatDovecotCannotUse) {
  EXPECT_EQ(std::nullopt, dovecot_kept_hash(encrypted("A-crpt", "A-crptQWxhZGRpbg")));
  EXPECT_EQ(std::nullopt, dovecot_kept_hash(encrypted("B-crpt", "B-crpt$1$abcdefgh$cHJi5PXp/ki/ktXzqlk6I1")));
  EXPECT_EQ(std::nullopt, dovecot_kept_hash(encrypted("U-crpt", "U-crptgarbage")));
  EXPECT_EQ(std::nullopt, dovecot_kept_hash(encrypted("U-crpt", "U-crpt$1$abc")));        // no hash part
  EXPECT_EQ(std::nullopt, dovecot_kept_hash(encrypted("U-crpt", "U-crpt$1$abc$short")));  // wrong length
  EXPECT_EQ(std::nullopt, dovecot_kept_hash(encrypted("U-crpt", "U-crpt$9$abc$def")));    // unknown method
  EXPECT_EQ(std::nullopt, dovecot_kept_hash(encrypted("$1$", "$1$abc:def$x")));
  EXPECT_EQ(std::nullopt, dovecot_kept_hash(encrypted("{SHA}", "{SHA}tooshort")));
  EXPECT_EQ(std::nullopt, dovecot_kept_hash(encrypted("{SHA}", "{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ=\n")));
  EXPECT_EQ(std::nullopt, dovecot_kept_hash(encrypted("{SSHA}", "{SSHA}ab:cd")));
  EXPECT_EQ(std::nullopt, dovecot_kept_hash(encrypted("{SSHA}", "{SSHA}")));
  EXPECT_EQ(std::nullopt, dovecot_kept_hash(encrypted("{WHATEVER}", "{WHATEVER}abc")));
  EXPECT_EQ(std::nullopt, dovecot_kept_hash(encrypted("", "{SHA")));
  const std::string md5crypt = crypt_with("secret", "$1$abcdefgh$");
  EXPECT_EQ(std::nullopt, dovecot_kept_hash(encrypted("", "{SHA512-CRYPT}" + md5crypt)));  // wrong family
  PasswordInfo plain;
  plain.kind = PasswordInfo::Kind::Plain;
  plain.value = kSha;
  EXPECT_EQ(std::nullopt, dovecot_kept_hash(plain));
  EXPECT_EQ(std::nullopt, dovecot_kept_hash(PasswordInfo{}));
}

// doveadm (when installed) verifies every form we keep and the hash we make.
TEST(DovecotKeptHash, DoveadmVerifiesThem) {
  if (::access("/usr/bin/doveadm", X_OK) != 0) GTEST_SKIP() << "doveadm not installed";
  std::vector<std::string> fields = {
      *dovecot_kept_hash(encrypted("U-crpt", "U-crpt" + crypt_with("secret", "$1$abcdefgh$"))),
      *dovecot_kept_hash(encrypted("U-crpt", "U-crpt" + crypt_with("secret", "$6$abcdefgh$"))),
      *dovecot_kept_hash(encrypted("U-crpt", "U-crpt" + crypt_with("secret", "ab"))),
      *dovecot_kept_hash(encrypted("$5$", crypt_with("secret", "$5$abcdefgh$"))),
      *dovecot_kept_hash(encrypted("{SSHA}", kSsha)),
      *dovecot_kept_hash(encrypted("{SHA}", kSha)),
      *dovecot_kept_hash(encrypted("{MD5}", std::string("{MD5}") + kMd5Base64)),
      *dovecot_kept_hash(encrypted("{MD5}", std::string("{MD5}") + kMd5Hex)),
      dovecot_sha512_crypt("secret"),
  };
  for (const std::string& field : fields) {
    const std::string command = "doveadm pw -t '" + field + "' -p secret >/dev/null 2>&1";
    EXPECT_EQ(0, std::system(command.c_str())) << field;  // NOLINT(concurrency-mt-unsafe, cert-env33-c)
    const std::string wrong = "doveadm pw -t '" + field + "' -p wrong >/dev/null 2>&1";
    EXPECT_NE(0, std::system(wrong.c_str())) << field;  // NOLINT(concurrency-mt-unsafe, cert-env33-c)
  }
}

TEST(DovecotSha512Crypt, SaltsDifferAndHashesVerify) {
  const std::string a = dovecot_sha512_crypt("p\xC3\xA4ss word,\"");
  const std::string b = dovecot_sha512_crypt("p\xC3\xA4ss word,\"");
  expect_sha512_crypt_of(a, "p\xC3\xA4ss word,\"");
  expect_sha512_crypt_of(b, "p\xC3\xA4ss word,\"");
  EXPECT_NE(a, b);
  EXPECT_THROW(dovecot_sha512_crypt(""), ProvisionError);
  EXPECT_THROW(dovecot_sha512_crypt(std::string("a\0b", 3)), ProvisionError);
}

// ---- the provisioner ----

TEST(DovecotProvisioner, CreatesANewFile) {
  TempDir dir;
  const std::string path = dir.file("users");
  auto p = make_dovecot_provisioner(path, {});
  EXPECT_NE(std::string::npos, p->describe().find(path));
  EXPECT_FALSE(p->exists("bob", "example.com"));
  EXPECT_FALSE(std::filesystem::exists(path)) << "exists() must not create the file";

  const Created created = p->create(new_user("Bob", "Example.COM", "Secr3t-pw"));
  EXPECT_FALSE(created.kept_source_hash);
  const auto text = slurp(path);
  ASSERT_TRUE(text);
  EXPECT_TRUE(std::regex_match(*text, std::regex(R"(bob@example\.com:\{SHA512-CRYPT\}\$6\$[^:\n]+::::::\n)")))
      << *text;
  expect_sha512_crypt_of(*field_of(*text, "bob@example.com"), "Secr3t-pw");

  struct stat st {};
  ASSERT_EQ(0, ::stat(path.c_str(), &st));
  EXPECT_EQ(static_cast<mode_t>(0640), st.st_mode & 07777);
  EXPECT_TRUE(p->exists("bob", "example.com"));
  EXPECT_TRUE(p->exists("BOB", "EXAMPLE.com"));
  EXPECT_FALSE(p->exists("alice", "example.com"));
  EXPECT_EQ((std::set<std::string>{"users", "users.lock"}), dir.names());
  p->finish();
  p->finish();
}

TEST(DovecotProvisioner, ExistingLinesStayByteIdentical) {
  TempDir dir;
  const std::string path = dir.file("users");
  const std::string original =
      "# Dovecot users\n"
      "\n"
      "   \n"
      "old@example.com:{PLAIN}pw:1000:1000:Old User:/home/old::userdb_quota_rule=*:storage=1G\n"
      "crlf@example.com:{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ=::::::\r\n"
      "#disabled@example.com:{PLAIN}x\n"
      "onlyname\n"
      "last@example.com:{CRYPT}abNANd1rDfiNc:1001:1001::/home/last:/bin/false";  // no final newline
  spit(path, original);
  auto p = make_dovecot_provisioner(path, {});
  EXPECT_TRUE(p->exists("old", "example.com"));
  EXPECT_TRUE(p->exists("crlf", "example.com"));
  EXPECT_TRUE(p->exists("last", "example.com"));
  EXPECT_FALSE(p->exists("disabled", "example.com")) << "a comment is no user";

  p->create(new_user("new1", "example.com", "pw-one"));
  auto text = slurp(path);
  ASSERT_TRUE(text);
  ASSERT_TRUE(text->starts_with(original + "\n")) << *text;
  EXPECT_TRUE(text->substr(original.size() + 1).starts_with("new1@example.com:{SHA512-CRYPT}$6$"));

  const std::string after_first = *text;
  p->create(new_user("new2", "example.com", "pw-two", encrypted("{SSHA}", kSsha)));
  text = slurp(path);
  ASSERT_TRUE(text);
  EXPECT_EQ(after_first + "new2@example.com:" + kSsha + "::::::\n", *text);
  EXPECT_TRUE(p->exists("new1", "example.com"));
  EXPECT_TRUE(p->exists("new2", "example.com"));
}

TEST(DovecotProvisioner, KeepsSourceHashes) {
  TempDir dir;
  const std::string path = dir.file("users");
  auto p = make_dovecot_provisioner(path, {});

  EXPECT_TRUE(p->create(new_user("ssha", "d.test", "ignored", encrypted("{SSHA}", kSsha))).kept_source_hash);
  const std::string md5crypt = crypt_with("old-secret", "$1$saltsalt$");
  EXPECT_TRUE(p->create(new_user("ucrpt", "d.test", "ignored", encrypted("U-crpt", "U-crpt" + md5crypt)))
                  .kept_source_hash);
  const std::string sha512 = crypt_with("old-secret", "$6$saltsalt$");
  EXPECT_TRUE(p->create(new_user("bare", "d.test", "ignored", encrypted("$6$", sha512))).kept_source_hash);

  const auto text = slurp(path);
  ASSERT_TRUE(text);
  EXPECT_EQ(kSsha, field_of(*text, "ssha@d.test"));
  EXPECT_EQ("{CRYPT}" + md5crypt, field_of(*text, "ucrpt@d.test"));
  EXPECT_EQ("{CRYPT}" + sha512, field_of(*text, "bare@d.test"));
  // the kept hash still verifies the old password
  EXPECT_EQ(md5crypt, crypt_with("old-secret", md5crypt));
}

TEST(DovecotProvisioner, HashesThePlainPasswordWhenTheSourceHashIsUnusable) {
  TempDir dir;
  const std::string path = dir.file("users");
  auto p = make_dovecot_provisioner(path, {});
  EXPECT_FALSE(p->create(new_user("a", "d.test", "Chosen-1", encrypted("A-crpt", "A-crptQWxhZGRpbg")))
                   .kept_source_hash);
  EXPECT_FALSE(
      p->create(new_user("b", "d.test", "Chosen-2", encrypted("U-crpt", "U-crptnonsense"))).kept_source_hash);
  PasswordInfo plain;
  plain.kind = PasswordInfo::Kind::Plain;
  plain.value = "Chosen-3";
  EXPECT_FALSE(p->create(new_user("c", "d.test", "Chosen-3", plain)).kept_source_hash);
  const auto text = slurp(path);
  ASSERT_TRUE(text);
  expect_sha512_crypt_of(*field_of(*text, "a@d.test"), "Chosen-1");
  expect_sha512_crypt_of(*field_of(*text, "b@d.test"), "Chosen-2");
  expect_sha512_crypt_of(*field_of(*text, "c@d.test"), "Chosen-3");
  EXPECT_EQ(std::string::npos, text->find("Chosen-")) << "a plain password reached the file";
}

TEST(DovecotProvisioner, DuplicatesAreErrorsAndChangeNothing) {
  TempDir dir;
  const std::string path = dir.file("users");
  spit(path, "Mixed@Example.com:{PLAIN}x\n");
  auto p = make_dovecot_provisioner(path, {});
  EXPECT_TRUE(p->exists("mixed", "example.com"));
  EXPECT_THROW(p->create(new_user("mixed", "example.com", "pw")), ProvisionError);
  p->create(new_user("fresh", "example.com", "pw"));
  const auto before = slurp(path);
  try {
    p->create(new_user("Fresh", "EXAMPLE.com", "pw"));
    FAIL() << "no exception";
  } catch (const ProvisionError& e) {
    EXPECT_NE(std::string::npos, std::string(e.what()).find("fresh@example.com")) << e.what();
    EXPECT_NE(std::string::npos, std::string(e.what()).find("already exists")) << e.what();
  }
  EXPECT_EQ(before, slurp(path));
  EXPECT_EQ((std::set<std::string>{"users", "users.lock"}), dir.names());
}

TEST(DovecotProvisioner, RefusesNamesThatBreakTheFormat) {
  TempDir dir;
  const std::string path = dir.file("users");
  auto p = make_dovecot_provisioner(path, {});
  for (const auto& [account, domain] : std::vector<std::pair<std::string, std::string>>{{"a:b", "d.test"},
                                                                                        {"a", "d:test"},
                                                                                        {"#a", "d.test"},
                                                                                        {"a b", "d.test"},
                                                                                        {"a\nb", "d.test"},
                                                                                        {"a@b", "d.test"},
                                                                                        {"", "d.test"},
                                                                                        {"a", ""},
                                                                                        {"a\tb", "d.test"}}) {
    EXPECT_THROW(p->create(new_user(account, domain, "pw")), ProvisionError) << account << "@" << domain;
    EXPECT_THROW((void)p->exists(account, domain), ProvisionError) << account << "@" << domain;
  }
  EXPECT_THROW(p->create(new_user("nopass", "d.test", "")), ProvisionError);
  EXPECT_FALSE(std::filesystem::exists(path));
}

// Dovecot expands %n/%d/%u of mail_location into paths: an account ".." once
// got its mail in the mail root.
TEST(DovecotProvisioner, RefusesNamesThatWalkOutOfTheirMailDirectory) {
  TempDir dir;
  const std::string path = dir.file("users");
  auto p = make_dovecot_provisioner(path, {});
  for (const auto& [account, domain] : std::vector<std::pair<std::string, std::string>>{{"..", "x.com"},
                                                                                        {".", "x.com"},
                                                                                        {"a", ".."},
                                                                                        {"a", "."},
                                                                                        {"a/b", "x.com"},
                                                                                        {"../etc", "x.com"},
                                                                                        {"a", "x.com/../y"},
                                                                                        {"a\\b", "x.com"}}) {
    EXPECT_THROW(p->create(new_user(account, domain, "pw")), ProvisionError) << account << "@" << domain;
    EXPECT_THROW((void)p->exists(account, domain), ProvisionError) << account << "@" << domain;
  }
  EXPECT_FALSE(std::filesystem::exists(path));
  // Dots inside a name are ordinary.
  EXPECT_NO_THROW(p->create(new_user("a..b", "x.com", "pw")));
}

TEST(DovecotProvisioner, KeepsModeAndOwner) {
  TempDir dir;
  const std::string path = dir.file("users");
  spit(path, "x@d.test:{PLAIN}x\n");
  ASSERT_EQ(0, ::chmod(path.c_str(), 0604));
  const bool root = ::geteuid() == 0;
  if (root) {
    ASSERT_EQ(0, ::chown(path.c_str(), 4321, 8765));
  }
  struct stat before {};
  ASSERT_EQ(0, ::stat(path.c_str(), &before));
  auto p = make_dovecot_provisioner(path, {});
  p->create(new_user("y", "d.test", "pw"));
  struct stat after {};
  ASSERT_EQ(0, ::stat(path.c_str(), &after));
  EXPECT_NE(before.st_ino, after.st_ino) << "replaced by rename";
  EXPECT_EQ(static_cast<mode_t>(0604), after.st_mode & 07777);
  EXPECT_EQ(before.st_uid, after.st_uid);
  EXPECT_EQ(before.st_gid, after.st_gid);
  if (!root) GTEST_SKIP() << "owner change tested only as root";
}

TEST(DovecotProvisioner, NewFileIs0640WhateverTheUmask) {
  TempDir dir;
  const std::string path = dir.file("users");
  const mode_t old = ::umask(0077);
  auto p = make_dovecot_provisioner(path, {});
  p->create(new_user("y", "d.test", "pw"));
  ::umask(old);
  struct stat st {};
  ASSERT_EQ(0, ::stat(path.c_str(), &st));
  EXPECT_EQ(static_cast<mode_t>(0640), st.st_mode & 07777);
}

TEST(DovecotProvisioner, WritesThroughASymlink) {
  TempDir dir;
  std::filesystem::create_directory(dir.file("real"));
  const std::string target = dir.file("real/users");
  const std::string link = dir.file("users");
  spit(target, "x@d.test:{PLAIN}x\n");
  ASSERT_EQ(0, ::symlink("real/users", link.c_str()));
  auto p = make_dovecot_provisioner(link, {});
  p->create(new_user("y", "d.test", "pw"));
  EXPECT_TRUE(std::filesystem::is_symlink(link));
  EXPECT_TRUE(p->exists("y", "d.test"));
  EXPECT_TRUE(field_of(*slurp(target), "y@d.test"));
}

TEST(DovecotProvisioner, RemovesTheTemporaryFilesOfKilledRuns) {
  TempDir dir;
  const std::string path = dir.file("users");
  spit(path + ".tmp." + std::to_string(::getpid()), "half-writ");
  spit(path + ".tmp.4194000", "left by kill -9");  // another run's pid
  spit(path + ".tmp.notapid", "not ours");
  spit(dir.file("other.tmp.12"), "not ours either");
  auto p = make_dovecot_provisioner(path, {});
  p->create(new_user("y", "d.test", "pw"));
  EXPECT_EQ((std::set<std::string>{"users", "users.lock", "users.tmp.notapid", "other.tmp.12"}), dir.names());
  EXPECT_EQ(std::string::npos, slurp(path)->find("half-writ"));
}

// Every line of a complete file: ours, or the seed line.
bool well_formed(const std::string& text) {
  static const std::regex line(
      R"((seed@d\.test:\{PLAIN\}x|u\d+-\d+@d\.test:\{SHA512-CRYPT\}\$6\$[./0-9A-Za-z$]+::::::))");
  if (text.empty() || text.back() != '\n') return false;
  std::istringstream in(text);
  std::string l;
  while (std::getline(in, l)) {
    if (!std::regex_match(l, line)) return false;
  }
  return true;
}

TEST(DovecotProvisioner, ConcurrentCreatesAllLandAndNoReaderSeesAHalfFile) {
  TempDir dir;
  const std::string path = dir.file("users");
  spit(path, "seed@d.test:{PLAIN}x\n");
  constexpr int kThreads = 8;
  constexpr int kUsers = 12;
  auto shared = make_dovecot_provisioner(path, {});
  std::atomic<bool> done{false};
  std::atomic<int> reads{0};
  std::atomic<int> bad_reads{0};
  std::thread reader([&] {
    while (!done.load()) {
      const auto text = slurp(path);
      ++reads;
      if (!text || !well_formed(*text)) ++bad_reads;
    }
  });
  std::vector<std::thread> writers;
  writers.reserve(kThreads);
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    writers.emplace_back([&, t] {
      // odd threads use their own provisioner: only the flock keeps them apart
      std::unique_ptr<Provisioner> own = (t % 2 == 1) ? make_dovecot_provisioner(path, {}) : nullptr;
      Provisioner& p = own ? *own : *shared;
      for (int u = 0; u < kUsers; ++u) {
        try {
          p.create(new_user("u" + std::to_string(t) + "-" + std::to_string(u), "d.test", "pw"));
        } catch (const std::exception& e) {
          ADD_FAILURE() << e.what();
          ++failures;
        }
      }
    });
  }
  for (auto& w : writers) w.join();
  done = true;
  reader.join();
  EXPECT_EQ(0, failures.load());
  EXPECT_EQ(0, bad_reads.load()) << "of " << reads.load() << " reads";
  const auto text = slurp(path);
  ASSERT_TRUE(text);
  EXPECT_TRUE(well_formed(*text));
  EXPECT_TRUE(text->starts_with("seed@d.test:{PLAIN}x\n"));
  EXPECT_EQ(static_cast<long>(kThreads * kUsers + 1), std::count(text->begin(), text->end(), '\n'));
  for (int t = 0; t < kThreads; ++t) {
    for (int u = 0; u < kUsers; ++u) {
      EXPECT_TRUE(shared->exists("u" + std::to_string(t) + "-" + std::to_string(u), "d.test"));
    }
  }
  EXPECT_EQ((std::set<std::string>{"users", "users.lock"}), dir.names()) << "a temporary file remained";
}

TEST(DovecotProvisioner, ConcurrentProcessesDoNotLoseUsers) {
  TempDir dir;
  const std::string path = dir.file("users");
  constexpr int kProcesses = 4;
  constexpr int kUsers = 8;
  std::vector<pid_t> children;
  for (int c = 0; c < kProcesses; ++c) {
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      int rc = 0;
      try {
        auto p = make_dovecot_provisioner(path, {});
        for (int u = 0; u < kUsers; ++u)
          p->create(new_user("p" + std::to_string(c) + "-" + std::to_string(u), "d.test", "pw"));
      } catch (...) {
        rc = 1;
      }
      ::_exit(rc);
    }
    children.push_back(pid);
  }
  for (pid_t pid : children) {
    int status = 0;
    ASSERT_EQ(pid, ::waitpid(pid, &status, 0));
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  auto p = make_dovecot_provisioner(path, {});
  for (int c = 0; c < kProcesses; ++c) {
    for (int u = 0; u < kUsers; ++u)
      EXPECT_TRUE(p->exists("p" + std::to_string(c) + "-" + std::to_string(u), "d.test"));
  }
  EXPECT_EQ((std::set<std::string>{"users", "users.lock"}), dir.names());
}

TEST(DovecotProvisioner, FactoryChecksItsArgument) {
  EXPECT_THROW(make_dovecot_provisioner("", {}), std::invalid_argument);
}

}  // namespace
}  // namespace mailmig
