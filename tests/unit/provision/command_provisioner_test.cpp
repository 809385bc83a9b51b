#include "provision/command/command_provisioner.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common/temp_tree.h"

namespace mailmig {
namespace {

using namespace std::chrono_literals;

// One temp directory per test, from the shared helper.
class TempDir : public testing::TempTree {
 public:
  TempDir() : TempTree("mailmig-command") {}
  [[nodiscard]] const std::string& path() const { return root(); }
};

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void write_script(const std::string& path, const std::string& body) {
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << "#!/bin/sh\n" << body;
  }
  ASSERT_EQ(0, ::chmod(path.c_str(), 0755));
}

NewUser new_user(const std::string& account, const std::string& domain, const std::string& password) {
  NewUser user;
  user.account = account;
  user.domain = domain;
  user.real_name = "Bob the Builder";
  user.password = password;
  return user;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const ProvisionError& e) {
    return e.what();
  }
  ADD_FAILURE() << "no ProvisionError";
  return {};
}

// Shell-special characters and non-ASCII: nothing may interpret them.
const std::string kPassword = "Pa ss,w\"rd'$(touch pwned)`id`!\\*?\xC3\xA9";

TEST(CommandProvisioner, CreatePassesThePasswordOnStdinOnly) {
  TempDir dir;
  const std::string out = dir.file("out");
  std::filesystem::create_directory(out);
  write_script(dir.file("record.sh"), "printf '%s\\n' \"$#\" > " + out +
                                          "/argc\n"
                                          "printf '%s\\n' \"$@\" > " +
                                          out +
                                          "/args\n"
                                          "env > " +
                                          out +
                                          "/env\n"
                                          "tr '\\0' '\\n' < /proc/$$/cmdline > " +
                                          out +
                                          "/cmdline\n"
                                          "tr '\\0' '\\n' < /proc/$PPID/cmdline > " +
                                          out +
                                          "/parent_cmdline\n"
                                          "tr '\\0' '\\n' < /proc/$$/environ > " +
                                          out +
                                          "/environ\n"
                                          "cat > " +
                                          out + "/stdin\n");
  // The run's own MAILMIG_* variables never reach the command.
  ::setenv("MAILMIG_TEST_LEAK", "leaked", 1);  // NOLINT(concurrency-mt-unsafe): single-threaded here
  auto p = make_command_provisioner(dir.file("record.sh"), {});
  ::unsetenv("MAILMIG_TEST_LEAK");  // NOLINT(concurrency-mt-unsafe)
  EXPECT_NE(std::string::npos, p->describe().find("record.sh"));

  const Created created = p->create(new_user("bob", "example.com", kPassword));
  EXPECT_FALSE(created.kept_source_hash);

  EXPECT_EQ(kPassword + "\n", slurp(out + "/stdin"));
  EXPECT_EQ("0\n", slurp(out + "/argc")) << "the script got arguments";
  EXPECT_EQ("\n", slurp(out + "/args"));
  const std::string env = slurp(out + "/env");
  EXPECT_NE(std::string::npos, env.find("MAILMIG_ACTION=create\n")) << env;
  EXPECT_NE(std::string::npos, env.find("MAILMIG_ACCOUNT=bob\n"));
  EXPECT_NE(std::string::npos, env.find("MAILMIG_DOMAIN=example.com\n"));
  EXPECT_NE(std::string::npos, env.find("MAILMIG_USER=bob@example.com\n"));
  EXPECT_NE(std::string::npos, env.find("MAILMIG_REAL_NAME=Bob the Builder\n"));
  EXPECT_NE(std::string::npos, env.find("PATH=")) << "the parent's environment is passed on";
  EXPECT_EQ(std::string::npos, env.find("MAILMIG_TEST_LEAK"));
  for (const char* file : {"/env", "/environ", "/cmdline", "/parent_cmdline", "/args"}) {
    const std::string text = slurp(out + file);
    EXPECT_EQ(std::string::npos, text.find("Pa ss")) << file << ": " << text;
    EXPECT_EQ(std::string::npos, text.find("w\"rd")) << file;
  }
  EXPECT_FALSE(std::filesystem::exists(dir.file("pwned")));
  EXPECT_FALSE(std::filesystem::exists("pwned"));
}

TEST(CommandProvisioner, ExistsExitCodes) {
  TempDir dir;
  // exists gets no password and no real name, and an empty stdin
  const std::string check =
      "[ \"$MAILMIG_ACTION\" = exists ] && [ -z \"$(cat)\" ] && [ -z \"${MAILMIG_REAL_NAME+x}\" ] "
      "&& [ \"$MAILMIG_USER\" = alice@example.org ] || exit 9\n";
  write_script(dir.file("exists.sh"), check + "case \"$MAILMIG_ACCOUNT\" in alice) exit 0;; esac\nexit 1\n");
  auto p = make_command_provisioner(dir.file("exists.sh"), {});
  EXPECT_TRUE(p->exists("alice", "example.org"));

  EXPECT_FALSE(make_command_provisioner("exit 1", {})->exists("a", "b.c"));
  EXPECT_TRUE(make_command_provisioner("exit 0", {})->exists("a", "b.c"));
  const std::string odd =
      error_of([] { (void)make_command_provisioner("echo broken >&2; exit 7", {})->exists("a", "b.c"); });
  EXPECT_NE(std::string::npos, odd.find("exit status 7")) << odd;
  EXPECT_NE(std::string::npos, odd.find("broken")) << odd;
  EXPECT_NE(std::string::npos, odd.find("a@b.c")) << odd;
  const std::string killed =
      error_of([] { (void)make_command_provisioner("kill -9 $$", {})->exists("a", "b.c"); });
  EXPECT_NE(std::string::npos, killed.find("killed by signal 9")) << killed;
}

TEST(CommandProvisioner, CreateFailureCarriesStatusAndStderr) {
  auto p = make_command_provisioner("echo ignored; echo 'domain example.com not found' >&2; exit 3", {});
  const std::string message = error_of([&] { p->create(new_user("bob", "example.com", kPassword)); });
  EXPECT_NE(std::string::npos, message.find("exit status 3")) << message;
  EXPECT_NE(std::string::npos, message.find("domain example.com not found")) << message;
  EXPECT_NE(std::string::npos, message.find("bob@example.com")) << message;
  EXPECT_EQ(std::string::npos, message.find("ignored")) << "stderr wins over stdout";

  const std::string from_stdout = error_of(
      [] { make_command_provisioner("echo 'on stdout'; exit 2", {})->create(new_user("a", "b.c", "pw")); });
  EXPECT_NE(std::string::npos, from_stdout.find("on stdout")) << from_stdout;

  // a command that echoes the password back: it is masked in the message
  const std::string echoed = error_of(
      [] { make_command_provisioner("cat >&2; exit 1", {})->create(new_user("a", "b.c", kPassword)); });
  EXPECT_EQ(std::string::npos, echoed.find(kPassword)) << echoed;
  EXPECT_NE(std::string::npos, echoed.find("***")) << echoed;
}

TEST(CommandProvisioner, KeepsOnlyTheFirst2KBOfStderr) {
  auto p = make_command_provisioner("head -c 300000 /dev/zero | tr '\\0' x >&2; exit 1", {});
  const std::string message = error_of([&] { p->create(new_user("a", "b.c", "pw")); });
  EXPECT_NE(std::string::npos, message.find(std::string(2048, 'x'))) << message.size();
  EXPECT_EQ(std::string::npos, message.find(std::string(2049, 'x')));
  EXPECT_LT(message.size(), 2300U);
  EXPECT_NE(std::string::npos, message.find("[...]"));
}

TEST(CommandProvisioner, LargeOutputBeforeReadingStdinDoesNotDeadlock) {
  TempDir dir;
  auto p = make_command_provisioner(
      "head -c 500000 /dev/zero; head -c 500000 /dev/zero >&2; cat > " + dir.file("in"), {}, 10s);
  const std::string big(200000, 'p');  // more than a pipe holds
  p->create(new_user("a", "b.c", big));
  EXPECT_EQ(big + "\n", slurp(dir.file("in")));
}

TEST(CommandProvisioner, ACommandThatIgnoresStdinIsNoSigpipe) {
  // SIGPIPE keeps its default action: if the password write raised it, the
  // test binary would die here.
  auto p = make_command_provisioner("exit 0", {});
  for (int i = 0; i < 20; ++i) p->create(new_user("a", "b.c", std::string(300000, 'p')));
  EXPECT_THROW(
      make_command_provisioner("exec 0<&-; sleep 0.05; exit 4", {})->create(new_user("a", "b.c", "pw")),
      ProvisionError);
}

TEST(CommandProvisioner, TimeoutKillsTheCommandAndWhatItStarted) {
  TempDir dir;
  const std::string pid_file = dir.file("pid");
  auto p =
      make_command_provisioner("trap '' TERM INT; sleep 30 & echo $! > " + pid_file + "; wait", {}, 300ms);
  const auto start = std::chrono::steady_clock::now();
  const std::string message = error_of([&] { p->create(new_user("a", "b.c", "pw")); });
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_NE(std::string::npos, message.find("timed out")) << message;
  EXPECT_LT(elapsed, 5s);
  EXPECT_GE(elapsed, 250ms);
  const pid_t sleeper = std::stoi(slurp(pid_file));
  // Killed: gone, or a zombie waiting for whoever adopted it.
  std::string state;
  for (int i = 0; i < 100; ++i) {
    std::ifstream stat("/proc/" + std::to_string(sleeper) + "/stat");
    if (!stat) break;
    std::string line;
    std::getline(stat, line);
    const auto close = line.rfind(')');
    state = close == std::string::npos ? "" : line.substr(close + 2, 1);
    if (state == "Z") break;
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_TRUE(state.empty() || state == "Z") << "the background sleep still runs: state " << state;
}

TEST(CommandProvisioner, ABackgroundProcessHoldingThePipesDoesNotBlock) {
  auto p = make_command_provisioner("sleep 2 & exit 0", {}, 10s);
  const auto start = std::chrono::steady_clock::now();
  p->create(new_user("a", "b.c", "pw"));
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1500ms);
}

TEST(CommandProvisioner, OtherDescriptorsAreClosedInTheChild) {
  TempDir dir;
  const int plain = ::open("/dev/null", O_RDONLY);  // deliberately without O_CLOEXEC
  ASSERT_GE(plain, 0);
  const int high = ::fcntl(plain, F_DUPFD, 57);  // F_DUPFD: no FD_CLOEXEC on the copy
  ::close(plain);
  ASSERT_GE(high, 57);
  const std::string fd = std::to_string(high);
  auto p =
      make_command_provisioner("if [ -e /proc/$$/fd/" + fd + " ]; then echo open; else echo closed; fi > " +
                                   dir.file("fd") + "; ls /proc/$$/fd > " + dir.file("fds"),
                               {});
  p->create(new_user("a", "b.c", "pw"));
  ::close(high);
  EXPECT_EQ("closed\n", slurp(dir.file("fd")));
  // 0, 1, 2 -- and whatever the shell opened for the redirection itself
  std::istringstream fds(slurp(dir.file("fds")));
  int count = 0;
  for (std::string line; std::getline(fds, line);) {
    ++count;
    EXPECT_TRUE(line == "0" || line == "1" || line == "2" || std::stoi(line) < 57) << line;
  }
  EXPECT_LE(count, 5);
}

TEST(CommandProvisioner, RefusesPasswordsThatAreNoSingleLine) {
  TempDir dir;
  auto p = make_command_provisioner("touch " + dir.file("ran"), {});
  EXPECT_THROW(p->create(new_user("a", "b.c", "two\nlines")), ProvisionError);
  EXPECT_THROW(p->create(new_user("a", "b.c", "cr\rhere")), ProvisionError);
  EXPECT_THROW(p->create(new_user("a", "b.c", std::string("nul\0byte", 8))), ProvisionError);
  EXPECT_THROW(p->create(new_user("a", "b.c", "")), ProvisionError);
  EXPECT_FALSE(std::filesystem::exists(dir.file("ran")));
  p->create(new_user("a", "b.c", "fine"));
  EXPECT_TRUE(std::filesystem::exists(dir.file("ran")));
}

TEST(CommandProvisioner, ConcurrentCallsKeepTheirPasswordsApart) {
  TempDir dir;
  auto p = make_command_provisioner("cat > " + dir.file("") + "\"$MAILMIG_ACCOUNT\"", {});
  std::vector<std::thread> threads;
  threads.reserve(8);
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 5; ++i) {
        const std::string name = "u" + std::to_string(t) + "-" + std::to_string(i);
        p->create(new_user(name, "b.c", "pw-of-" + name));
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < 8; ++t) {
    for (int i = 0; i < 5; ++i) {
      const std::string name = "u" + std::to_string(t) + "-" + std::to_string(i);
      EXPECT_EQ("pw-of-" + name + "\n", slurp(dir.file(name)));
    }
  }
}

TEST(CommandProvisioner, FactoryChecksItsArguments) {
  EXPECT_THROW(make_command_provisioner("", {}), std::invalid_argument);
  EXPECT_THROW(make_command_provisioner("true", {}, 0ms), std::invalid_argument);
}

}  // namespace
}  // namespace mailmig
