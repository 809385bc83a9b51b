// The sync_maildirs command line: the seed's -h -n -p -s with their meaning,
// the long options that override the SME/NethServer defaults, and the
// maildir+ssh:// source they make.
#include "cli/sync_maildirs.h"

#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

namespace mailmig::cli {
namespace {

SyncMaildirsParse parse(std::vector<std::string> args) {
  args.insert(args.begin(), "sync_maildirs");
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  return parse_sync_maildirs(static_cast<int>(argv.size()), argv.data());
}

TEST(SyncMaildirs, SeedOptionsAndDefaults) {
  const auto p = parse({"-n", "-p", "2222", "-s", "192.0.2.10"});
  ASSERT_EQ("", p.error);
  EXPECT_TRUE(p.options.dry_run);
  EXPECT_EQ(2222, p.options.port);
  EXPECT_EQ("192.0.2.10", p.options.host);
  EXPECT_EQ("maildir+ssh://root@192.0.2.10:2222/home/e-smith/files/users", sync_maildirs_source(p.options));
  EXPECT_EQ("%n/Maildir", p.options.source_user_path);
  EXPECT_EQ("/var/lib/nethserver/vmail", p.options.target_path);
  EXPECT_EQ("%n/Maildir", p.options.target_user_path);
  EXPECT_EQ("", p.options.state_dir);  // mailmig's default state
  const auto plain = parse({"-s", "old.example.org"});
  ASSERT_EQ("", plain.error);
  EXPECT_FALSE(plain.options.dry_run);
  EXPECT_EQ(22, plain.options.port);
}

TEST(SyncMaildirs, LongOptionsOverride) {
  const auto p = parse({"-s",
                        "2001:db8::1",
                        "--source-path",
                        "/srv/homes",
                        "--target-path=/var/vmail",
                        "--target-user-path",
                        "%d/%n",
                        "--ssh-user",
                        "admin",
                        "--ssh-key",
                        "/k",
                        "--ssh-known-hosts",
                        "/kh",
                        "--state",
                        "/st",
                        "--user",
                        "alice",
                        "--user",
                        "bob",
                        "--domain",
                        "example.com",
                        "--jobs",
                        "2"});
  ASSERT_EQ("", p.error);
  EXPECT_EQ("maildir+ssh://admin@[2001:db8::1]:22/srv/homes", sync_maildirs_source(p.options));
  EXPECT_EQ("/var/vmail", p.options.target_path);
  EXPECT_EQ("%d/%n", p.options.target_user_path);
  EXPECT_EQ("/k", p.options.ssh_key);
  EXPECT_EQ("/kh", p.options.ssh_known_hosts);
  EXPECT_EQ("/st", p.options.state_dir);
  EXPECT_EQ((std::vector<std::string>{"alice", "bob"}), p.options.users);
  EXPECT_EQ("example.com", p.options.domain);
  EXPECT_EQ(2U, p.options.jobs);
}

TEST(SyncMaildirs, UsageErrors) {
  EXPECT_NE("", parse({}).error);                      // -s is required
  EXPECT_NE("", parse({"-s"}).error);                  // without its value
  EXPECT_NE("", parse({"-s", "h", "-p", "0"}).error);  // not a port
  EXPECT_NE("", parse({"-s", "h", "-p", "22x"}).error);
  EXPECT_NE("", parse({"-s", "h", "--bogus"}).error);
  EXPECT_NE("", parse({"-s", "h", "--jobs", "0"}).error);
  const auto help = parse({"-h"});
  EXPECT_EQ("", help.error);
  EXPECT_TRUE(help.options.help);
  std::ostringstream text;
  print_sync_maildirs_help(text);
  EXPECT_NE(std::string::npos, text.str().find("sync_maildirs [-h] [-n] [-p PORT] -s IPADDR"));
  EXPECT_NE(std::string::npos, text.str().find("-p PORT     ssh port on source host (default 22)"));
  EXPECT_NE(std::string::npos, text.str().find("--target-path"));
}

}  // namespace
}  // namespace mailmig::cli
