#include "engine/hooks.h"

#include <gtest/gtest.h>

#include <csignal>
#include <fstream>
#include <string>

#include "common/temp_tree.h"

namespace mailmig {
namespace {

using std::chrono::seconds;
using testing::TempTree;

TEST(RunHook, EnvironmentIsVisibleAndNeverParsed) {
  // The value would run a command if the shell parsed it; it only reaches the hook as data.
  const HookResult r = run_hook(
      "printf '%s|%s|%s' \"$MAILMIG_ACCOUNT\" \"$MAILMIG_DOMAIN\" \"${PATH:+path}\"",
      {{"MAILMIG_ACCOUNT", "o'brien; touch /tmp/x$(id -u)"}, {"MAILMIG_DOMAIN", "b.example"}}, seconds(10));
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_FALSE(r.timed_out);
  EXPECT_EQ(r.output, "o'brien; touch /tmp/x$(id -u)|b.example|path");
}

TEST(RunHook, ExitCodesAndStdinIsEmpty) {
  EXPECT_EQ(run_hook("exit 3", {}, seconds(10)).exit_code, 3);
  EXPECT_EQ(run_hook("true", {}, seconds(10)).exit_code, 0);
  EXPECT_EQ(run_hook("no-such-command-here 2>/dev/null", {}, seconds(10)).exit_code, 127);
  const HookResult r = run_hook("cat; echo end", {}, seconds(10));  // stdin is /dev/null: cat ends at once
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.output, "end\n");
}

TEST(RunHook, StdoutAndStderrTogether) {
  const HookResult r = run_hook("echo out; echo err >&2; exit 1", {}, seconds(10));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.output, "out\nerr\n");
}

TEST(RunHook, KilledBySignal) {
  const HookResult r = run_hook("kill -USR1 $$", {}, seconds(10));
  EXPECT_EQ(r.exit_code, 128 + SIGUSR1);
  EXPECT_FALSE(r.timed_out);
}

TEST(RunHook, KeepsTheLast64KiB) {
  // 100000 lines "NNNNNN\n" then a marker: only the tail survives.
  const HookResult r = run_hook("seq -w 100000 199999; echo THE-END", {}, seconds(30));
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.output.size(), 64U * 1024U);
  EXPECT_TRUE(r.output.ends_with("199999\nTHE-END\n"));
}

bool process_alive(const std::string& pid) {
  std::ifstream stat("/proc/" + pid + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return false;
  const auto close = line.rfind(')');
  return close != std::string::npos && close + 2 < line.size() && line[close + 2] != 'Z';
}

TEST(RunHook, TimeoutKillsTheWholeGroup) {
  const TempTree tree;
  // A grandchild that ignores SIGTERM: only the SIGKILL to the group ends it.
  const std::string command =
      "echo started; sh -c 'trap \"\" TERM; echo $$ > " + tree.path("pid") + "; exec sleep 60' & wait";
  const auto start = std::chrono::steady_clock::now();
  const HookResult r = run_hook(command, {}, seconds(1));
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_TRUE(r.timed_out);
  EXPECT_EQ(r.exit_code, 128 + SIGTERM);
  EXPECT_EQ(r.output, "started\n");
  EXPECT_LT(took, seconds(10));
  std::string pid;
  std::ifstream(tree.path("pid")) >> pid;
  ASSERT_FALSE(pid.empty());
  // The orphan is reaped by init shortly after the kill.
  for (int i = 0; i < 100 && process_alive(pid); ++i) ::usleep(20000);
  EXPECT_FALSE(process_alive(pid)) << "grandchild " << pid << " survived";
}

TEST(RunHook, ABackgroundedChildDoesNotHoldTheCaller) {
  const TempTree tree;
  const auto start = std::chrono::steady_clock::now();
  const HookResult r = run_hook("sleep 30 & echo $! > " + tree.path("pid") + "; echo done", {}, seconds(20));
  EXPECT_LT(std::chrono::steady_clock::now() - start, seconds(5));
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_FALSE(r.timed_out);
  EXPECT_EQ(r.output, "done\n");
  std::string pid;
  std::ifstream(tree.path("pid")) >> pid;
  if (!pid.empty()) ::kill(std::stoi(pid), SIGKILL);  // our test's own leftover
}

}  // namespace
}  // namespace mailmig
