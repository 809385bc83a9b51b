#include "engine/hooks.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <csignal>
#include <map>

#include "core/error.h"
#include "core/unique_fd.h"

namespace mailmig {

namespace {

constexpr std::size_t kOutputLimit = std::size_t{64} * 1024;
// How often the child is checked for having exited while its output pipe is
// quiet: a backgrounded grandchild may hold the pipe open long after.
constexpr int kTickMs = 50;
// After SIGTERM, how long the group gets to go before SIGKILL.
constexpr auto kTermGrace = std::chrono::seconds(2);

using Clock = std::chrono::steady_clock;

// Keeps the tail: a chatty hook cannot grow memory without bound.
void keep_tail(std::string& output, std::string_view more) {
  output.append(more);
  if (output.size() > 2 * kOutputLimit) output.erase(0, output.size() - kOutputLimit);
}

// The current environment with `env` set on top (later entries win).
std::vector<std::string> build_environment(const std::vector<std::pair<std::string, std::string>>& env) {
  std::map<std::string, std::string> merged;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    const std::string_view text(*entry);
    const auto eq = text.find('=');
    if (eq == std::string_view::npos) continue;
    merged.insert_or_assign(std::string(text.substr(0, eq)), std::string(text.substr(eq + 1)));
  }
  for (const auto& [name, value] : env) merged.insert_or_assign(name, value);
  std::vector<std::string> out;
  out.reserve(merged.size());
  for (const auto& [name, value] : merged) out.push_back(fmt::format("{}={}", name, value));
  return out;
}

int status_code(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

// Reaps `pid` without blocking; true (and the status) once it has exited.
bool reaped(pid_t pid, int& status) {
  for (;;) {
    const pid_t done = ::waitpid(pid, &status, WNOHANG);
    if (done == pid) return true;
    if (done < 0 && errno == EINTR) continue;
    if (done < 0) {  // ECHILD: someone else reaped it (a SIGCHLD handler); the status is lost
      status = -1;
      return true;
    }
    return false;
  }
}

bool group_alive(pid_t group) {
  return ::kill(-group, 0) == 0 || errno == EPERM;
}

// Reads what is in the pipe now; false at end of file.
bool drain(int fd, std::string& output) {
  std::array<char, 16384> buffer{};
  for (;;) {
    const ssize_t n = ::read(fd, buffer.data(), buffer.size());
    if (n > 0) {
      keep_tail(output, std::string_view(buffer.data(), static_cast<std::size_t>(n)));
      continue;
    }
    if (n == 0) return false;
    if (errno == EINTR) continue;
    return errno == EAGAIN || errno == EWOULDBLOCK;
  }
}

// SIGTERM to the whole group, a grace period, then SIGKILL to whatever of it is
// left, grandchildren included. Returns the shell's wait status.
int stop_group(pid_t pid, int status, bool shell_done) {
  ::kill(-pid, SIGTERM);
  const auto until = Clock::now() + kTermGrace;
  while (Clock::now() < until) {
    if (!shell_done) shell_done = reaped(pid, status);
    // The group outlives the shell while a grandchild lives; its id cannot be
    // reused for a new process meanwhile, so signalling it stays safe.
    if (shell_done && !group_alive(pid)) return status;
    ::poll(nullptr, 0, kTickMs);
  }
  ::kill(-pid, SIGKILL);
  if (!shell_done) {
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
  }
  return status;
}

struct Spawned {
  pid_t pid = -1;
  std::string error;
};

Spawned spawn_shell(const std::string& command, const std::vector<std::string>& environment, int output_fd) {
  posix_spawn_file_actions_t actions{};
  posix_spawnattr_t attr{};
  posix_spawn_file_actions_init(&actions);
  posix_spawnattr_init(&attr);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, output_fd, STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, output_fd, STDERR_FILENO);
  // Own process group (so a timeout can kill everything the hook started), no
  // blocked signals, and default actions for the ones a migration ignores
  // (SIGPIPE) or handles (SIGINT for a clean stop) so the hook behaves as in a shell.
  sigset_t none;
  sigemptyset(&none);
  sigset_t defaults;
  sigemptyset(&defaults);
  for (int sig : {SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGCHLD, SIGUSR1, SIGUSR2})
    sigaddset(&defaults, sig);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

  std::vector<char*> envp;
  envp.reserve(environment.size() + 1);
  for (const std::string& entry : environment) envp.push_back(const_cast<char*>(entry.c_str()));
  envp.push_back(nullptr);
  std::string shell = "/bin/sh";
  std::string dash_c = "-c";
  std::string text = command;
  std::array<char*, 4> argv{shell.data(), dash_c.data(), text.data(), nullptr};

  Spawned out;
  const int rc = ::posix_spawn(&out.pid, shell.c_str(), &actions, &attr, argv.data(), envp.data());
  if (rc != 0) {
    out.pid = -1;
    out.error = fmt::format("cannot run /bin/sh: {}", error_text(rc));
  }
  posix_spawnattr_destroy(&attr);
  posix_spawn_file_actions_destroy(&actions);
  return out;
}

}  // namespace

HookResult run_hook(const std::string& command, const std::vector<std::pair<std::string, std::string>>& env,
                    std::chrono::seconds timeout) {
  HookResult result;
  std::array<int, 2> fds{};
  // Close-on-exec: hooks started by other threads at the same time must not
  // inherit this pipe, or its end of file would wait for them too.
  if (::pipe2(fds.data(), O_CLOEXEC) != 0) {
    result.exit_code = -1;
    result.output = fmt::format("cannot create a pipe: {}", error_text(errno));
    return result;
  }
  UniqueFd read_end(fds[0]);
  UniqueFd write_end(fds[1]);

  const Spawned child = spawn_shell(command, build_environment(env), write_end.get());
  write_end.reset();
  if (child.pid < 0) {
    result.exit_code = -1;
    result.output = child.error;
    return result;
  }
  ::fcntl(read_end.get(), F_SETFL, ::fcntl(read_end.get(), F_GETFL) | O_NONBLOCK);

  // A timeout of zero or less means none: the administrator asked to wait.
  const bool limited = timeout.count() > 0;
  const auto deadline = Clock::now() + timeout;
  int status = 0;
  bool shell_done = false;
  bool pipe_open = true;
  while (!shell_done) {
    if (limited && Clock::now() >= deadline) {
      result.timed_out = true;
      break;
    }
    if (pipe_open) {
      pollfd pfd{.fd = read_end.get(), .events = POLLIN, .revents = 0};
      if (::poll(&pfd, 1, kTickMs) > 0) pipe_open = drain(read_end.get(), result.output);
    } else {
      ::poll(nullptr, 0, kTickMs);
    }
    shell_done = reaped(child.pid, status);
  }
  if (result.timed_out) {
    status = stop_group(child.pid, status, shell_done);
  }
  // What the shell wrote before it exited is in the pipe now; a grandchild that
  // keeps the pipe open is not waited for.
  if (pipe_open) drain(read_end.get(), result.output);
  if (result.output.size() > kOutputLimit) result.output.erase(0, result.output.size() - kOutputLimit);
  result.exit_code = status < 0 ? -1 : status_code(status);
  return result;
}

namespace {

// The last non-empty line of a hook's output: usually the reason it gives.
std::string last_line(const std::string& text) {
  const auto end = text.find_last_not_of("\r\n");
  if (end == std::string::npos) return {};
  const auto newline = text.rfind('\n', end);
  const std::size_t start = newline == std::string::npos ? 0 : newline + 1;
  return text.substr(start, end + 1 - start);
}

}  // namespace

std::string hook_failure(const HookResult& h) {
  std::string why;
  if (h.timed_out)
    why = "timed out";
  else if (h.exit_code < 0)
    why = "could not be run";
  else
    why = fmt::format("exited with status {}", h.exit_code);
  const std::string line = last_line(h.output);
  return line.empty() ? why : fmt::format("{} ({})", why, line);
}

}  // namespace mailmig
