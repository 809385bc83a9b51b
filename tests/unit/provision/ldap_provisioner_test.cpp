// The LDAP provisioner against a private OpenLDAP slapd. The server comes from
// tests/integration/servers/slapd.py --serve, run as a child with a pipe on its
// stdin: it prints "URL <url> BASE <people dn> ADMIN <admin dn> PWFILE <file>"
// and stops its slapd when that pipe closes (teardown, or this process dying).
#include "provision/ldap/ldap_provisioner.h"

#include <crypt.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <lber.h>
#include <ldap.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

extern char** environ;  // NOLINT(readability-redundant-declaration)

namespace mailmig {
namespace {

namespace fs = std::filesystem;

// tests/data may not exist, so no "data/.." in the path.
const std::string kSlapdPy =
    (fs::path(MAILMIG_TEST_DATA).parent_path() / "integration/servers/slapd.py").string();

// slappasswd -h '{SSHA}' -s 'Kept#Pw1'
const std::string kSshaOfKept = "{SSHA}cwHyNspLShVG8zuoIvhVT+5Sw9CGH4YU";
// openssl passwd -6 -salt mailmigSalt 'Crypt#Pw1'
const std::string kSha512CryptOfCrypt =
    "$6$mailmigSalt$T7yq0ah.4olDGgkhm7vYLHmUZb498agfh.cDFzQUcOVdnAemVWwyNfvowvEiuGLXn.d8el70W85i6If3rK1Zj0";
// openssl passwd -1 -salt abcd 'Md5#Pw1'
const std::string kMd5CryptOfMd5 = "$1$abcd$3BTkIvKKi7EqZumQybMys.";

// ------------------------------------------------------------- the server

struct ServedSlapd {
  pid_t pid = -1;
  int to_child = -1;  // its stdin; closing it stops the server
  std::string url, base, admin_dn, admin_password, pwfile;
  std::string ldaps_url, ca_file, wrong_ca_file;  // only with --tls
  std::string error;                              // why it could not be started

  ServedSlapd() = default;
  ServedSlapd(const ServedSlapd&) = delete;
  ServedSlapd& operator=(const ServedSlapd&) = delete;
  ~ServedSlapd() { stop(); }

  bool start(const std::vector<std::string>& extra_args = {}) {
    int in_pipe[2] = {-1, -1};
    int out_pipe[2] = {-1, -1};
    if (::pipe2(in_pipe, O_CLOEXEC) != 0 || ::pipe2(out_pipe, O_CLOEXEC) != 0) {
      error = "pipe2 failed";
      return false;
    }
    std::vector<std::string> args = {"python3", kSlapdPy, "--serve"};
    args.insert(args.end(), extra_args.begin(), extra_args.end());
    std::vector<char*> argv;
    argv.reserve(args.size() + 1);
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, in_pipe[0], 0);  // dup2 clears O_CLOEXEC
    posix_spawn_file_actions_adddup2(&actions, out_pipe[1], 1);
    const int rc = ::posix_spawnp(&pid, "python3", &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(in_pipe[0]);
    ::close(out_pipe[1]);
    to_child = in_pipe[1];
    if (rc != 0) {
      pid = -1;
      ::close(out_pipe[0]);
      error = "cannot run python3";
      return false;
    }
    std::string line;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (line.find('\n') == std::string::npos && std::chrono::steady_clock::now() < deadline) {
      pollfd pfd{out_pipe[0], POLLIN, 0};
      if (::poll(&pfd, 1, 1000) <= 0) continue;
      char buffer[512];
      const ssize_t n = ::read(out_pipe[0], buffer, sizeof buffer);
      if (n <= 0) break;
      line.append(buffer, static_cast<std::size_t>(n));
    }
    ::close(out_pipe[0]);
    std::istringstream words(line);
    std::string key;
    std::string value;
    std::map<std::string, std::string> fields;
    while (words >> key >> value) fields[key] = value;
    if (!fields.contains("URL") || !fields.contains("BASE") || !fields.contains("ADMIN") ||
        !fields.contains("PWFILE")) {
      error = "slapd.py --serve printed no server line: \"" + line + "\"";
      stop();
      return false;
    }
    url = fields["URL"];
    base = fields["BASE"];
    admin_dn = fields["ADMIN"];
    pwfile = fields["PWFILE"];
    ldaps_url = fields["LDAPS"];
    ca_file = fields["CA"];
    wrong_ca_file = fields["WRONGCA"];
    std::ifstream in(pwfile);
    std::getline(in, admin_password, '\0');
    return !admin_password.empty();
  }

  void stop() {
    if (to_child >= 0) {
      ::close(to_child);
      to_child = -1;
    }
    if (pid <= 0) return;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    int status = 0;
    while (::waitpid(pid, &status, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() > deadline) {
        ::kill(pid, SIGKILL);
        ::waitpid(pid, &status, 0);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    pid = -1;
  }
};

NewUser user(const std::string& account, const std::string& real_name, const std::string& password) {
  return NewUser{.account = account,
                 .domain = "example.com",
                 .real_name = real_name,
                 .password = password,
                 .source_password = {}};
}

bool have_openldap() {
  return ::access("/usr/sbin/slapd", X_OK) == 0 && ::access("/usr/sbin/slapadd", X_OK) == 0;
}

// ------------------------------------------------- reading the directory back

struct Entry {
  std::string dn;
  std::map<std::string, std::vector<std::string>> attributes;  // lower-case names

  [[nodiscard]] std::vector<std::string> values(std::string name) const {
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
    auto it = attributes.find(name);
    return it == attributes.end() ? std::vector<std::string>{} : it->second;
  }
  [[nodiscard]] std::string first(const std::string& name) const {
    auto v = values(name);
    return v.empty() ? std::string() : v.front();
  }
};

using LdapHandle = std::unique_ptr<LDAP, void (*)(LDAP*)>;

void unbind(LDAP* ld) {
  ldap_unbind_ext_s(ld, nullptr, nullptr);
}

// A simple bind; returns the LDAP result code and the handle.
int bind_as(const std::string& url, const std::string& dn, std::string password, LdapHandle& handle) {
  LDAP* ld = nullptr;
  if (ldap_initialize(&ld, url.c_str()) != LDAP_SUCCESS) return LDAP_OTHER;
  handle = LdapHandle(ld, unbind);
  const int version = LDAP_VERSION3;
  ldap_set_option(ld, LDAP_OPT_PROTOCOL_VERSION, &version);
  berval cred{static_cast<ber_len_t>(password.size()), password.data()};
  return ldap_sasl_bind_s(ld, dn.c_str(), LDAP_SASL_SIMPLE, &cred, nullptr, nullptr, nullptr);
}

bool can_bind(const std::string& url, const std::string& dn, const std::string& password) {
  LdapHandle handle(nullptr, unbind);
  return bind_as(url, dn, password, handle) == LDAP_SUCCESS;
}

// Crypt check of a "{CRYPT}..." value, as slapd does it.
bool crypt_matches(const std::string& stored, const std::string& password) {
  if (!stored.starts_with("{CRYPT}")) return false;
  const std::string hash = stored.substr(7);
  auto data = std::make_unique<crypt_data>();
  const char* out = crypt_r(password.c_str(), hash.c_str(), data.get());
  return out != nullptr && hash == out;
}

class LdapProvisionerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!have_openldap()) return;
    server_ = new ServedSlapd();
    server_->start();
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }

  void SetUp() override {
    if (!have_openldap())
      GTEST_SKIP() << "OpenLDAP slapd is not installed (Debian packages slapd, ldap-utils)";
    ASSERT_NE(server_, nullptr);
    ASSERT_TRUE(server_->error.empty()) << server_->error;
    tmp_ = fs::temp_directory_path() / ("mailmig-ldap-test-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(tmp_);
  }
  void TearDown() override {
    std::error_code ignored;
    if (!tmp_.empty()) fs::remove_all(tmp_, ignored);
  }

  [[nodiscard]] ProvisionOptions options() const {
    return ProvisionOptions{.admin_user = server_->admin_dn,
                            .admin_password = server_->admin_password,
                            .ca_file = {},
                            .insecure = false,
                            .ldap_base = server_->base,
                            .ldap_template = {}};
  }

  static std::vector<Entry> search(const std::string& filter) {
    LdapHandle handle(nullptr, unbind);
    EXPECT_EQ(bind_as(server_->url, server_->admin_dn, server_->admin_password, handle), LDAP_SUCCESS);
    LDAPMessage* result = nullptr;
    const int rc = ldap_search_ext_s(handle.get(), server_->base.c_str(), LDAP_SCOPE_SUBTREE, filter.c_str(),
                                     nullptr, 0, nullptr, nullptr, nullptr, 0, &result);
    EXPECT_EQ(rc, LDAP_SUCCESS) << ldap_err2string(rc);
    std::vector<Entry> entries;
    for (LDAPMessage* m = ldap_first_entry(handle.get(), result); m != nullptr;
         m = ldap_next_entry(handle.get(), m)) {
      Entry entry;
      char* dn = ldap_get_dn(handle.get(), m);
      entry.dn = dn;
      ldap_memfree(dn);
      BerElement* ber = nullptr;
      for (char* a = ldap_first_attribute(handle.get(), m, &ber); a != nullptr;
           a = ldap_next_attribute(handle.get(), m, ber)) {
        std::string name(a);
        std::transform(name.begin(), name.end(), name.begin(),
                       [](unsigned char c) { return std::tolower(c); });
        berval** values = ldap_get_values_len(handle.get(), m, a);
        for (int i = 0; values != nullptr && values[i] != nullptr; ++i) {
          entry.attributes[name].emplace_back(values[i]->bv_val, values[i]->bv_len);
        }
        ldap_value_free_len(values);
        ldap_memfree(a);
      }
      if (ber != nullptr) ber_free(ber, 0);
      entries.push_back(std::move(entry));
    }
    ldap_msgfree(result);
    return entries;
  }

  static Entry only(const std::string& filter) {
    auto entries = search(filter);
    EXPECT_EQ(entries.size(), 1U) << filter;
    return entries.empty() ? Entry{} : entries.front();
  }

  std::string write_template(const std::string& text) {
    const fs::path path = tmp_ / "entry.template";
    std::ofstream(path, std::ios::binary) << text;
    return path.string();
  }

  static ServedSlapd* server_;
  fs::path tmp_;
};

ServedSlapd* LdapProvisionerTest::server_ = nullptr;

// ------------------------------------------------------------------ tests

TEST(LdapEscape, FilterValues) {
  EXPECT_EQ(ldap_filter_escape("alice"), "alice");
  EXPECT_EQ(ldap_filter_escape(std::string("a*b(c)d\\e\0f", 11)), "a\\2Ab\\28c\\29d\\5Ce\\00f");
  EXPECT_EQ(ldap_filter_escape("*)(uid=*"), "\\2A\\29\\28uid=\\2A");
  EXPECT_EQ(ldap_filter_escape("Jörg"), "J\\C3\\B6rg");
}

TEST(LdapEscape, DnValues) {
  EXPECT_EQ(ldap_dn_escape("alice"), "alice");
  EXPECT_EQ(ldap_dn_escape("Müller, Jörg"), "Müller\\2C Jörg");
  EXPECT_EQ(ldap_dn_escape("a+b;c<d>e\"f\\g=h"), "a\\2Bb\\3Bc\\3Cd\\3Ee\\22f\\5Cg\\3Dh");
  EXPECT_EQ(ldap_dn_escape("#x y "), "\\23x y\\20");
  EXPECT_EQ(ldap_dn_escape(" lead"), "\\20lead");
  EXPECT_EQ(ldap_dn_escape(std::string("a\0b", 3)), "a\\00b");
  EXPECT_EQ(ldap_dn_escape("x*)(y"), "x*)(y");
  EXPECT_THROW(ldap_dn_escape("a\xE9z"), ProvisionError);  // Latin-1, not UTF-8: no DN holds it
  EXPECT_EQ(ldap_dn_escape(""), "");
}

TEST(LdapProvisionerConfig, RejectsBadSettings) {
  ProvisionOptions good{.admin_user = "cn=admin,dc=example,dc=com",
                        .admin_password = "pw",
                        .ca_file = {},
                        .insecure = false,
                        .ldap_base = "ou=people,dc=example,dc=com",
                        .ldap_template = {}};
  EXPECT_NO_THROW(make_ldap_provisioner("ldap://127.0.0.1:1/", good));
  EXPECT_NO_THROW(make_ldap_provisioner("ldaps://ldap.example.com", good));
  EXPECT_NO_THROW(make_ldap_provisioner("ldapi://%2Frun%2Fslapd%2Fldapi", good));
  EXPECT_THROW(make_ldap_provisioner("http://ldap.example.com", good), std::invalid_argument);
  EXPECT_THROW(make_ldap_provisioner("not a url", good), std::invalid_argument);
  EXPECT_THROW(make_ldap_provisioner("ldap://a ldap://b", good), std::invalid_argument);
  auto no_base = good;
  no_base.ldap_base.clear();
  EXPECT_THROW(make_ldap_provisioner("ldap://127.0.0.1/", no_base), std::invalid_argument);
  auto no_admin = good;
  no_admin.admin_user.clear();
  EXPECT_THROW(make_ldap_provisioner("ldap://127.0.0.1/", no_admin), std::invalid_argument);
  auto missing_template = good;
  missing_template.ldap_template = "/nonexistent/mailmig.template";
  EXPECT_THROW(make_ldap_provisioner("ldap://127.0.0.1/", missing_template), std::invalid_argument);

  const fs::path dir = fs::temp_directory_path() / ("mailmig-ldap-config-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  auto with_template = [&](const std::string& text) {
    const fs::path path = dir / "t";
    std::ofstream(path, std::ios::binary) << text;
    auto options = good;
    options.ldap_template = path.string();
    return make_ldap_provisioner("ldap://127.0.0.1/", options);
  };
  EXPECT_NO_THROW(with_template("# c\n\ndn: uid=%u,ou=people,dc=example,dc=com\nuid: %u\ncn: 100%%\n"));
  EXPECT_THROW(with_template("uid: %u\ndn: uid=%u,dc=x\n"), std::invalid_argument);  // dn not first
  EXPECT_THROW(with_template("dn: uid=%u,dc=x\nuid: %x\n"), std::invalid_argument);  // unknown placeholder
  EXPECT_THROW(with_template("dn: uid=%p,dc=x\nuid: %u\n"), std::invalid_argument);  // hash in the DN
  EXPECT_NO_THROW(with_template("dn: uid=%u,dc=x\ncn:: Zm9v\n"));                    // base64
  EXPECT_THROW(with_template("dn: uid=%u,dc=x\ncn:< file:///etc/passwd\n"), std::invalid_argument);  // URL
  EXPECT_THROW(with_template("dn: uid=%u,,dc=x\nuid: %u\n"), std::invalid_argument);  // not a DN
  EXPECT_THROW(with_template("dn: uid=%u,dc=x\nno colon here\n"), std::invalid_argument);
  EXPECT_THROW(with_template("dn: uid=%u,dc=x\nuid: %u\ndn: uid=y,dc=x\n"), std::invalid_argument);
  EXPECT_THROW(with_template("dn: nodn\nuid: %u\n"), std::invalid_argument);
  std::error_code ignored;
  fs::remove_all(dir, ignored);
}

TEST_F(LdapProvisionerTest, CreatesTheDefaultEntry) {
  auto provisioner = make_ldap_provisioner(server_->url, options());
  EXPECT_NE(provisioner->describe().find(server_->url), std::string::npos);
  EXPECT_FALSE(provisioner->exists("alice", "example.com"));

  const Created created = provisioner->create(user("alice", "Alice Pleasance Liddell", "Alice#Pw1"));
  EXPECT_FALSE(created.kept_source_hash);
  EXPECT_TRUE(provisioner->exists("alice", "example.com"));
  EXPECT_TRUE(provisioner->exists("Alice", "example.com"));  // uid and mail match case-insensitively

  const Entry e = only("(uid=alice)");
  EXPECT_EQ(e.dn, "uid=alice," + server_->base);
  auto classes = e.values("objectClass");
  std::sort(classes.begin(), classes.end());
  EXPECT_EQ(classes, (std::vector<std::string>{"inetOrgPerson", "organizationalPerson", "person", "top"}));
  EXPECT_EQ(e.values("cn"), std::vector<std::string>{"Alice Pleasance Liddell"});
  EXPECT_EQ(e.values("sn"), std::vector<std::string>{"Liddell"});
  EXPECT_EQ(e.values("uid"), std::vector<std::string>{"alice"});
  EXPECT_EQ(e.values("mail"), std::vector<std::string>{"alice@example.com"});
  const std::string stored = e.first("userPassword");
  EXPECT_TRUE(stored.starts_with("{CRYPT}$6$")) << stored;
  EXPECT_TRUE(crypt_matches(stored, "Alice#Pw1"));
  EXPECT_FALSE(crypt_matches(stored, "Alice#Pw2"));
  // slapd checks the {CRYPT} value itself.
  EXPECT_TRUE(can_bind(server_->url, e.dn, "Alice#Pw1"));
  EXPECT_FALSE(can_bind(server_->url, e.dn, "wrong"));

  // No real name: cn and sn are the account.
  provisioner->create(user("nobody.named", "", "Pw#12345"));
  const Entry n = only("(uid=nobody.named)");
  EXPECT_EQ(n.first("cn"), "nobody.named");
  EXPECT_EQ(n.first("sn"), "nobody.named");

  provisioner->finish();
  provisioner->finish();                                     // safe twice
  EXPECT_TRUE(provisioner->exists("alice", "example.com"));  // connects again after finish()
  provisioner->finish();
}

TEST_F(LdapProvisionerTest, ExistsMatchesMailToo) {
  auto provisioner = make_ldap_provisioner(server_->url, options());
  // An entry whose uid differs but which also has the mail bob@example.com.
  provisioner->create(user("robert", "Robert", "Rob#Pw12"));
  EXPECT_FALSE(provisioner->exists("bob", "example.com"));
  LdapHandle handle(nullptr, unbind);
  ASSERT_EQ(bind_as(server_->url, server_->admin_dn, server_->admin_password, handle), LDAP_SUCCESS);
  std::string mail = "bob@example.com";
  berval value{static_cast<ber_len_t>(mail.size()), mail.data()};
  berval* values[] = {&value, nullptr};
  char attribute[] = "mail";
  LDAPMod mod{};
  mod.mod_op = LDAP_MOD_ADD | LDAP_MOD_BVALUES;
  mod.mod_type = attribute;
  mod.mod_vals.modv_bvals = values;
  LDAPMod* mods[] = {&mod, nullptr};
  ASSERT_EQ(ldap_modify_ext_s(handle.get(), ("uid=robert," + server_->base).c_str(), mods, nullptr, nullptr),
            LDAP_SUCCESS);
  EXPECT_TRUE(provisioner->exists("bob", "example.com"));
  EXPECT_FALSE(provisioner->exists("bob", "example.org"));
}

TEST_F(LdapProvisionerTest, KeepsHashesOpenLdapUnderstands) {
  auto provisioner = make_ldap_provisioner(server_->url, options());
  auto kept = [&](const std::string& account, PasswordInfo source) {
    NewUser u = user(account, "Kept " + account, "Other#Pw2");
    u.source_password = std::move(source);
    return provisioner->create(u).kept_source_hash;
  };
  using Kind = PasswordInfo::Kind;

  EXPECT_TRUE(kept("kept.ssha", {.kind = Kind::Encrypted, .scheme = "{SSHA}", .value = kSshaOfKept}));
  EXPECT_EQ(only("(uid=kept.ssha)").first("userPassword"), kSshaOfKept);
  EXPECT_TRUE(can_bind(server_->url, "uid=kept.ssha," + server_->base, "Kept#Pw1"));
  EXPECT_FALSE(can_bind(server_->url, "uid=kept.ssha," + server_->base, "Other#Pw2"));

  // A bare crypt(3) string becomes {CRYPT}...
  EXPECT_TRUE(kept("kept.sha512", {.kind = Kind::Encrypted, .scheme = "$6$", .value = kSha512CryptOfCrypt}));
  EXPECT_EQ(only("(uid=kept.sha512)").first("userPassword"), "{CRYPT}" + kSha512CryptOfCrypt);
  EXPECT_TRUE(can_bind(server_->url, "uid=kept.sha512," + server_->base, "Crypt#Pw1"));

  // ... so does CommuniGate's U-crpt (its \001 is already gone from `value`).
  EXPECT_TRUE(
      kept("kept.ucrpt", {.kind = Kind::Encrypted, .scheme = "U-crpt", .value = "U-crpt" + kMd5CryptOfMd5}));
  EXPECT_EQ(only("(uid=kept.ucrpt)").first("userPassword"), "{CRYPT}" + kMd5CryptOfMd5);
  EXPECT_TRUE(can_bind(server_->url, "uid=kept.ucrpt," + server_->base, "Md5#Pw1"));

  // Hashes slapd cannot check without extra modules, and CommuniGate's own
  // A-crpt, get the chosen password instead.
  EXPECT_FALSE(kept("new.sha512", {.kind = Kind::Encrypted, .scheme = "{SHA512}", .value = "{SHA512}abcd"}));
  EXPECT_FALSE(kept("new.acrpt", {.kind = Kind::Encrypted, .scheme = "A-crpt", .value = "A-crpt0123456789"}));
  EXPECT_FALSE(kept("new.plain", {.kind = Kind::Plain, .scheme = {}, .value = "{SSHA}looks-like-a-hash"}));
  for (const char* account : {"new.sha512", "new.acrpt", "new.plain"}) {
    const std::string stored = only(std::string("(uid=") + account + ")").first("userPassword");
    EXPECT_TRUE(crypt_matches(stored, "Other#Pw2")) << account << ": " << stored;
  }
}

TEST_F(LdapProvisionerTest, TemplateWithNonAsciiRealName) {
  auto opts = options();
  opts.ldap_template = write_template(
      "# mailmig entry template\n"
      "dn: cn=%n,ou=people,dc=example,dc=com\n"
      "objectClass: inetOrgPerson\n"
      "objectClass: posixAccount\n"
      "cn: %n\n"
      "sn: Müller\n"
      "uid: %u\n"
      "mail: %u@%d\n"
      "uidNumber: 2001\n"
      "gidNumber: 100\n"
      "homeDirectory: /home/%u\n"
      "description: 100%% migrated from %d\n"
      "userPassword: %p\n");
  ASSERT_EQ(server_->base, "ou=people,dc=example,dc=com");
  auto provisioner = make_ldap_provisioner(server_->url, opts);
  EXPECT_FALSE(provisioner->exists("jmueller", "example.com"));
  const std::string real_name = "Jörg Müller, Jr.";
  EXPECT_FALSE(provisioner->create(user("jmueller", real_name, "Jörg#Pw1")).kept_source_hash);
  EXPECT_TRUE(provisioner->exists("jmueller", "example.com"));  // %n names the entry: found by uid/mail

  const Entry e = only("(uid=jmueller)");
  EXPECT_EQ(e.dn, "cn=Jörg Müller\\2C Jr.," + server_->base);  // slapd's form of "\\,"
  EXPECT_EQ(e.values("cn"), std::vector<std::string>{real_name});
  EXPECT_EQ(e.first("sn"), "Müller");
  EXPECT_EQ(e.first("homeDirectory"), "/home/jmueller");
  EXPECT_EQ(e.first("description"), "100% migrated from example.com");
  EXPECT_EQ(e.first("mail"), "jmueller@example.com");
  EXPECT_TRUE(crypt_matches(e.first("userPassword"), "Jörg#Pw1"));
  EXPECT_TRUE(can_bind(server_->url, e.dn, "Jörg#Pw1"));
  EXPECT_EQ(search("(cn=" + ldap_filter_escape(real_name) + ")").size(), 1U);

  // A template named by mail and without a password; exists() searches its naming attribute.
  auto by_mail = options();
  by_mail.ldap_template = write_template(
      "dn: mail=%u@%d,ou=people,dc=example,dc=com\n"
      "objectClass: inetOrgPerson\nobjectClass: extensibleObject\n"
      "mail: %u@%d\ncn: %n\nsn: %n\n");
  auto second = make_ldap_provisioner(server_->url, by_mail);
  EXPECT_FALSE(second->exists("aero", "example.com"));
  EXPECT_FALSE(second->create(user("aero", "Ærø Ø", "Pw#12345")).kept_source_hash);
  const Entry m = only("(cn=Ærø Ø)");
  EXPECT_EQ(m.dn, "mail=aero@example.com," + server_->base);
  EXPECT_EQ(m.first("sn"), "Ærø Ø");
  EXPECT_TRUE(m.values("userPassword").empty());
  EXPECT_TRUE(second->exists("AERO", "example.com"));
}

TEST_F(LdapProvisionerTest, DuplicateCreateNamesTheDn) {
  auto provisioner = make_ldap_provisioner(server_->url, options());
  provisioner->create(user("dup", "Dup Licate", "Dup#Secret1"));
  try {
    provisioner->create(user("dup", "Dup Licate", "Dup#Secret1"));
    FAIL() << "the second create did not throw";
  } catch (const ProvisionError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("uid=dup," + server_->base), std::string::npos) << what;
    EXPECT_NE(what.find("dup@example.com"), std::string::npos) << what;
    EXPECT_NE(what.find("Already exists"), std::string::npos) << what;
    EXPECT_EQ(what.find("Dup#Secret1"), std::string::npos) << what;
  }
  EXPECT_EQ(search("(uid=dup)").size(), 1U);
}

TEST_F(LdapProvisionerTest, WrongBindPasswordFails) {
  auto opts = options();
  opts.admin_password = "Wrong#Admin9";
  auto provisioner = make_ldap_provisioner(server_->url, opts);
  try {
    (void)provisioner->exists("alice", "example.com");
    FAIL() << "exists() with a wrong bind password did not throw";
  } catch (const ProvisionError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("Invalid credentials"), std::string::npos) << what;
    EXPECT_NE(what.find(server_->admin_dn), std::string::npos) << what;
    EXPECT_EQ(what.find("Wrong#Admin9"), std::string::npos) << what;
  }
  EXPECT_THROW(provisioner->create(user("never", "Never", "Never#Pw1")), ProvisionError);
  EXPECT_TRUE(search("(uid=never)").empty());

  auto unreachable = make_ldap_provisioner("ldap://127.0.0.1:1/", options());
  EXPECT_THROW((void)unreachable->exists("alice", "example.com"), ProvisionError);
}

TEST_F(LdapProvisionerTest, FilterEscapingOfSpecialAccounts) {
  auto provisioner = make_ldap_provisioner(server_->url, options());
  provisioner->create(user("plain.user", "Plain", "Plain#Pw1"));
  // Wildcards and parentheses in an account name are data, not filter syntax.
  EXPECT_FALSE(provisioner->exists("*", "example.com"));
  EXPECT_FALSE(provisioner->exists("plain*", "example.com"));
  EXPECT_FALSE(provisioner->exists("*)(uid=*", "example.com"));
  EXPECT_FALSE(provisioner->exists("x)(|(uid=*", "example.com"));
  EXPECT_FALSE(provisioner->exists("plain.user\\", "example.com"));

  const std::string odd = "ev*)(il";
  EXPECT_FALSE(provisioner->exists(odd, "example.com"));
  provisioner->create(user(odd, "Evil, Esq.", "Evil#Pw1"));
  EXPECT_TRUE(provisioner->exists(odd, "example.com"));
  EXPECT_FALSE(provisioner->exists("ev*", "example.com"));
  const Entry e = only("(uid=" + ldap_filter_escape(odd) + ")");
  EXPECT_EQ(e.first("uid"), odd);
  EXPECT_EQ(e.first("mail"), odd + "@example.com");
  EXPECT_EQ(e.first("sn"), "Esq.");
  EXPECT_TRUE(can_bind(server_->url, e.dn, "Evil#Pw1"));

  // A DN-special account name is escaped in the DN.
  provisioner->create(user("a,b+c", "Comma", "Comma#Pw1"));
  EXPECT_TRUE(provisioner->exists("a,b+c", "example.com"));
  EXPECT_EQ(only("(uid=a,b+c)").dn, "uid=a\\2Cb\\2Bc," + server_->base);  // slapd's form of "\\," "\\+"
}

TEST_F(LdapProvisionerTest, ConcurrentCallsShareOneConnection) {
  auto provisioner = make_ldap_provisioner(server_->url, options());
  std::vector<std::thread> threads;
  threads.reserve(4);
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 5; ++i) {
        const std::string account = "thread" + std::to_string(t) + "." + std::to_string(i);
        try {
          if (provisioner->exists(account, "example.com")) ++failures;
          provisioner->create(user(account, "T " + account, "Thread#Pw1"));
          if (!provisioner->exists(account, "example.com")) ++failures;
        } catch (const ProvisionError&) {
          ++failures;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(search("(uid=thread*)").size(), 20U);
}

// ldaps:// with certificate checking against ca_file; insecure turns the check off.
TEST(LdapProvisionerTls, LdapsVerifiesTheServerCertificate) {
  if (!have_openldap()) GTEST_SKIP() << "OpenLDAP slapd is not installed";
  ServedSlapd server;
  ASSERT_TRUE(server.start({"--tls"})) << server.error;
  ASSERT_FALSE(server.ldaps_url.empty());
  ProvisionOptions opts{.admin_user = server.admin_dn,
                        .admin_password = server.admin_password,
                        .ca_file = server.ca_file,
                        .insecure = false,
                        .ldap_base = server.base,
                        .ldap_template = {}};
  auto verified = make_ldap_provisioner(server.ldaps_url, opts);
  EXPECT_FALSE(verified->exists("tls.user", "example.com"));
  verified->create(user("tls.user", "Tls User", "Tls#Pw1"));
  EXPECT_TRUE(verified->exists("tls.user", "example.com"));
  verified->finish();

  // The server name is checked too: "localhost" is in the certificate.
  const std::string by_name = "ldaps://localhost:" + server.ldaps_url.substr(server.ldaps_url.rfind(':') + 1);
  EXPECT_TRUE(make_ldap_provisioner(by_name, opts)->exists("tls.user", "example.com"));

  auto wrong = opts;
  wrong.ca_file = server.wrong_ca_file;
  try {
    (void)make_ldap_provisioner(server.ldaps_url, wrong)->exists("tls.user", "example.com");
    FAIL() << "a certificate from an unknown CA was accepted";
  } catch (const ProvisionError& e) {
    EXPECT_NE(std::string(e.what()).find(server.ldaps_url), std::string::npos) << e.what();
  }
  auto system_cas = opts;
  system_cas.ca_file.clear();
  EXPECT_THROW((void)make_ldap_provisioner(server.ldaps_url, system_cas)->exists("tls.user", "example.com"),
               ProvisionError);

  auto insecure = wrong;
  insecure.insecure = true;
  EXPECT_TRUE(make_ldap_provisioner(server.ldaps_url, insecure)->exists("tls.user", "example.com"));
}

// A connection the server dropped (idle timeout) is replaced once, transparently.
TEST(LdapProvisionerReconnect, ReconnectsAfterTheServerDroppedTheConnection) {
  if (!have_openldap()) GTEST_SKIP() << "OpenLDAP slapd is not installed";
  ServedSlapd server;
  ASSERT_TRUE(server.start({"--idle-timeout", "1"})) << server.error;
  ProvisionOptions opts{.admin_user = server.admin_dn,
                        .admin_password = server.admin_password,
                        .ca_file = {},
                        .insecure = false,
                        .ldap_base = server.base,
                        .ldap_template = {}};
  auto provisioner = make_ldap_provisioner(server.url, opts);
  EXPECT_FALSE(provisioner->exists("idle", "example.com"));
  std::this_thread::sleep_for(std::chrono::milliseconds(3500));  // slapd closes the idle connection
  EXPECT_NO_THROW(provisioner->create(user("idle", "Idle User", "Idle#Pw1")));
  EXPECT_TRUE(provisioner->exists("idle", "example.com"));
}

// ------------------------------------------------------ groups and pseudonyms

std::vector<std::string> sorted(std::vector<std::string> values) {
  std::sort(values.begin(), values.end());
  return values;
}

TEST(LdapAliasEntry, DnAndAttributes) {
  const NewAlias group{.address = "sales@example.com", .targets = {"a@example.com"}, .group = true};
  EXPECT_EQ(ldap_alias_dn(group, "ou=people,dc=example,dc=com"), "cn=sales,ou=people,dc=example,dc=com");
  const NewAlias odd{.address = "a,b+c@example.com", .targets = {"x@example.com"}, .group = true};
  EXPECT_EQ(ldap_alias_dn(odd, "dc=x"), "cn=a\\2Cb\\2Bc,dc=x");
  // A pseudonym with several targets is named by its whole address: no clash with a group.
  const NewAlias several{
      .address = "info@example.org", .targets = {"a@example.com", "b@example.com"}, .group = false};
  EXPECT_EQ(ldap_alias_dn(several, "dc=x"), "cn=info@example.org,dc=x");

  const LdapAttributes attributes = ldap_alias_entry(group, {"uid=a,dc=x", "uid=b,dc=x"});
  const LdapAttributes expected = {{"objectClass", {"top", "groupOfNames", "extensibleObject"}},
                                   {"cn", {"sales"}},
                                   {"mail", {"sales@example.com"}},
                                   {"member", {"uid=a,dc=x", "uid=b,dc=x"}}};
  EXPECT_EQ(attributes, expected);
  EXPECT_EQ(ldap_alias_entry(several, {"uid=a,dc=x"})[1].second,
            std::vector<std::string>{"info@example.org"});
}

TEST_F(LdapProvisionerTest, GroupsAndPseudonymsAreIdempotent) {
  auto provisioner = make_ldap_provisioner(server_->url, options());
  ASSERT_TRUE(provisioner->can_create_aliases());
  for (const char* name : {"gina", "gus", "gil"}) provisioner->create(user(name, name, "Group#Pw1"));
  const std::string base = server_->base;
  const NewAlias team{.address = "team@example.com",
                      .targets = {"gina@example.com", "gus@example.com", "ghost@example.com"},
                      .group = true};
  EXPECT_NE(provisioner->alias_plan(team).find("cn=team," + base), std::string::npos);

  AliasOutcome first = provisioner->create_alias(team);
  EXPECT_NE(first.done.find("created cn=team," + base + " with 2 member(s)"), std::string::npos)
      << first.done;
  ASSERT_EQ(first.problems.size(), 1U);
  EXPECT_NE(first.problems[0].find("ghost@example.com"), std::string::npos) << first.problems[0];
  Entry group = only("(cn=team)");
  EXPECT_EQ(group.dn, "cn=team," + base);
  EXPECT_EQ(sorted(group.values("member")), sorted({"uid=gina," + base, "uid=gus," + base}));
  EXPECT_EQ(group.values("mail"), std::vector<std::string>{"team@example.com"});
  EXPECT_EQ(sorted(group.values("objectClass")),
            (std::vector<std::string>{"extensibleObject", "groupOfNames", "top"}));

  // Again, with one member more: only that one is added.
  NewAlias bigger = team;
  bigger.targets.push_back("gil@example.com");
  const AliasOutcome second = provisioner->create_alias(bigger);
  EXPECT_NE(second.done.find("1 member(s) added"), std::string::npos) << second.done;
  EXPECT_EQ(provisioner->create_alias(bigger).done,
            "cn=team," + base + " exists with every member: unchanged");
  group = only("(cn=team)");
  EXPECT_EQ(group.values("member").size(), 3U);
  EXPECT_EQ(group.values("mail").size(), 1U);

  // A pseudonym of a user, and of the group: another mail value, once.
  const NewAlias gina_alias{.address = "gina.g@example.com", .targets = {"gina@example.com"}, .group = false};
  EXPECT_NE(provisioner->alias_plan(gina_alias).find("would add mail gina.g@example.com"), std::string::npos);
  EXPECT_NE(provisioner->create_alias(gina_alias).done.find("added to uid=gina," + base), std::string::npos);
  EXPECT_NE(provisioner->create_alias(gina_alias).done.find("unchanged"), std::string::npos);
  EXPECT_EQ(sorted(only("(uid=gina)").values("mail")),
            (std::vector<std::string>{"gina.g@example.com", "gina@example.com"}));
  const NewAlias team_alias{.address = "crew@example.com", .targets = {"team@example.com"}, .group = false};
  provisioner->create_alias(team_alias);
  provisioner->create_alias(team_alias);
  EXPECT_EQ(sorted(only("(cn=team)").values("mail")),
            (std::vector<std::string>{"crew@example.com", "team@example.com"}));

  // An address another entry has already is refused: mail stays unambiguous.
  const NewAlias taken{.address = "gina.g@example.com", .targets = {"gus@example.com"}, .group = false};
  try {
    provisioner->create_alias(taken);
    FAIL() << "an address of gina given to gus";
  } catch (const ProvisionError& e) {
    EXPECT_NE(std::string(e.what()).find("already the mail address of uid=gina," + base), std::string::npos)
        << e.what();
  }
  EXPECT_EQ(only("(uid=gus)").values("mail"), std::vector<std::string>{"gus@example.com"});
  // A target without an entry, a group without any member in the directory.
  EXPECT_THROW(provisioner->create_alias(NewAlias{
                   .address = "nobody.here@example.com", .targets = {"ghost@example.com"}, .group = false}),
               ProvisionError);
  EXPECT_THROW(provisioner->create_alias(
                   NewAlias{.address = "empty@example.com", .targets = {"ghost@example.com"}, .group = true}),
               ProvisionError);
  EXPECT_TRUE(search("(cn=empty)").empty());

  // A pseudonym with several targets is an entry of its own.
  provisioner->create_alias(NewAlias{
      .address = "both@example.org", .targets = {"gina@example.com", "gus@example.com"}, .group = false});
  EXPECT_EQ(only("(mail=both@example.org)").dn, "cn=both@example.org," + base);
}

TEST_F(LdapProvisionerTest, PseudonymOfAnEntryThatTakesNoMailFails) {
  // An entry of another shape (objectClass account: no mail attribute).
  LdapHandle handle(nullptr, unbind);
  ASSERT_EQ(bind_as(server_->url, server_->admin_dn, server_->admin_password, handle), LDAP_SUCCESS);
  std::string classes[] = {"top", "account"};
  std::string uid = "shaped";
  berval class_values[] = {{classes[0].size(), classes[0].data()}, {classes[1].size(), classes[1].data()}};
  berval uid_value{uid.size(), uid.data()};
  berval* class_pointers[] = {&class_values[0], &class_values[1], nullptr};
  berval* uid_pointers[] = {&uid_value, nullptr};
  char object_class[] = "objectClass";
  char uid_name[] = "uid";
  LDAPMod class_mod{.mod_op = LDAP_MOD_ADD | LDAP_MOD_BVALUES, .mod_type = object_class, .mod_vals = {}};
  class_mod.mod_vals.modv_bvals = class_pointers;
  LDAPMod uid_mod{.mod_op = LDAP_MOD_ADD | LDAP_MOD_BVALUES, .mod_type = uid_name, .mod_vals = {}};
  uid_mod.mod_vals.modv_bvals = uid_pointers;
  LDAPMod* mods[] = {&class_mod, &uid_mod, nullptr};
  ASSERT_EQ(ldap_add_ext_s(handle.get(), ("uid=shaped," + server_->base).c_str(), mods, nullptr, nullptr),
            LDAP_SUCCESS);

  auto provisioner = make_ldap_provisioner(server_->url, options());
  try {
    provisioner->create_alias(
        NewAlias{.address = "shape@example.com", .targets = {"shaped@example.com"}, .group = false});
    FAIL() << "mail added to an account entry";
  } catch (const ProvisionError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("uid=shaped," + server_->base), std::string::npos) << what;
    EXPECT_NE(what.find("shape@example.com"), std::string::npos) << what;
  }
  // As a group member it is fine (member names any entry).
  const AliasOutcome group = provisioner->create_alias(
      NewAlias{.address = "shapes@example.com", .targets = {"shaped@example.com"}, .group = true});
  EXPECT_TRUE(group.problems.empty());
  EXPECT_EQ(only("(cn=shapes)").values("member"), std::vector<std::string>{"uid=shaped," + server_->base});
}

}  // namespace
}  // namespace mailmig
