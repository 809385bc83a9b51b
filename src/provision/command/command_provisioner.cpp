#include "provision/command/command_provisioner.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <ctime>
#include <optional>
#include <stdexcept>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "core/unique_fd.h"

extern char** environ;  // NOLINT(readability-redundant-declaration): POSIX declares it nowhere

namespace mailmig {

namespace {

using Clock = std::chrono::steady_clock;

constexpr std::size_t kKeepOutput = 2048;

// Moves a descriptor to 3 or above, so that a dup2 onto 0/1/2 in the child
// always makes a fresh (non-CLOEXEC) copy even when the parent runs with one
// of its standard descriptors closed.
UniqueFd above_stdio(int fd) {
  UniqueFd owned(fd);
  if (fd > 2) return owned;
  const int moved = ::fcntl(fd, F_DUPFD_CLOEXEC, 3);
  if (moved < 0) throw ProvisionError("cannot duplicate a pipe descriptor: " + error_text(errno));
  return UniqueFd(moved);
}

struct Pipe {
  UniqueFd read;
  UniqueFd write;
};

Pipe make_pipe() {
  std::array<int, 2> fds{};
  if (::pipe2(fds.data(), O_CLOEXEC) != 0) throw ProvisionError("cannot create a pipe: " + error_text(errno));
  Pipe p;
  p.read = above_stdio(fds[0]);
  p.write = above_stdio(fds[1]);
  return p;
}

void set_nonblocking(int fd) {
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0) {
    throw ProvisionError("cannot make a pipe non-blocking: " + error_text(errno));
  }
}

// write(2) to a pipe whose reader may have gone, without SIGPIPE ending the
// process (a library must not rely on the program ignoring it): SIGPIPE is
// blocked in this thread for the call and a SIGPIPE it raised is consumed.
ssize_t write_without_sigpipe(int fd, const char* data, std::size_t size) {
  sigset_t pipe_only;
  sigemptyset(&pipe_only);
  sigaddset(&pipe_only, SIGPIPE);
  sigset_t old;
  pthread_sigmask(SIG_BLOCK, &pipe_only, &old);
  sigset_t pending;
  sigemptyset(&pending);
  sigpending(&pending);
  const bool already_pending = sigismember(&pending, SIGPIPE) == 1;
  const ssize_t n = ::write(fd, data, size);
  const int err = errno;
  if (n < 0 && err == EPIPE && !already_pending) {
    const timespec no_wait{};
    while (sigtimedwait(&pipe_only, nullptr, &no_wait) < 0 && errno == EINTR) {
    }
  }
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  errno = err;
  return n;
}

// Output of the child: the first kKeepOutput bytes, the rest counted and dropped.
struct Captured {
  std::string text;
  bool truncated = false;

  void add(const char* data, std::size_t size) {
    const std::size_t room = kKeepOutput - std::min(kKeepOutput, text.size());
    text.append(data, std::min(room, size));
    if (size > room) truncated = true;
  }
};

// Reads what is available; returns false at end of file (or a read error).
bool drain(int fd, Captured& into) {
  std::array<char, 4096> buffer{};
  for (;;) {
    const ssize_t n = ::read(fd, buffer.data(), buffer.size());
    if (n > 0) {
      into.add(buffer.data(), static_cast<std::size_t>(n));
      continue;
    }
    if (n == 0) return false;
    if (errno == EINTR) continue;
    return errno == EAGAIN || errno == EWOULDBLOCK;
  }
}

struct Outcome {
  int status = 0;  // waitpid status
  Captured out;
  Captured err;
};

std::string describe_status(int status) {
  if (WIFEXITED(status)) return "exit status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return "killed by signal " + std::to_string(WTERMSIG(status));
  return "wait status " + std::to_string(status);
}

// The spawned shell; killed (with its process group) and reaped unless it
// was reaped already, so no path leaves a zombie or a runaway command.
class Child {
 public:
  explicit Child(pid_t pid) : pid_(pid) {}
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  ~Child() {
    if (!reaped_) kill_and_reap();
  }

  // Non-blocking; true once the child has been reaped.
  bool poll_exit() {
    if (reaped_) return true;
    for (;;) {
      const pid_t r = ::waitpid(pid_, &status_, WNOHANG);
      if (r == pid_) {
        reaped_ = true;
        return true;
      }
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) {  // ECHILD: someone else reaped it (a SIGCHLD handler set to SIG_IGN)
        reaped_ = true;
        status_ = 0;
        lost_ = true;
        return true;
      }
      return false;
    }
  }

  void kill_and_reap() {
    ::kill(-pid_, SIGKILL);  // the whole group: sh and what it started
    ::kill(pid_, SIGKILL);
    while (::waitpid(pid_, &status_, 0) < 0 && errno == EINTR) {
    }
    reaped_ = true;
  }

  [[nodiscard]] int status() const { return status_; }
  [[nodiscard]] bool status_lost() const { return lost_; }

 private:
  pid_t pid_;
  int status_ = 0;
  bool reaped_ = false;
  bool lost_ = false;
};

class CommandProvisioner final : public Provisioner {
 public:
  CommandProvisioner(std::string command, std::chrono::milliseconds timeout)
      : command_(std::move(command)), timeout_(timeout) {
    // The environment is taken once, here, minus our own MAILMIG_* variables
    // (a run's own settings never reach the command by accident).
    for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
      const std::string_view entry(*e);
      if (!entry.starts_with("MAILMIG_")) base_env_.emplace_back(entry);
    }
  }

  [[nodiscard]] std::string describe() const override { return "command: /bin/sh -c " + command_; }

  bool exists(const std::string& account, const std::string& domain) override {
    const std::string user = account + "@" + domain;
    const Outcome outcome = run(environment("exists", account, domain, nullptr), "", user, "exists");
    if (WIFEXITED(outcome.status) && WEXITSTATUS(outcome.status) == 0) return true;
    if (WIFEXITED(outcome.status) && WEXITSTATUS(outcome.status) == 1) return false;
    throw failure(user, "exists", outcome, "");
  }

  Created create(const NewUser& user) override {
    const std::string name = user.account + "@" + user.domain;
    if (user.password.empty()) throw ProvisionError("cannot create " + name + ": no password to set");
    if (user.password.find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos) {
      throw ProvisionError(
          "cannot create " + name +
          " with the command: the password holds a line break or NUL and cannot go on one line");
    }
    std::string input = user.password + "\n";
    Outcome outcome =
        run(environment("create", user.account, user.domain, &user.real_name), input, name, "create");
    std::fill(input.begin(), input.end(), '\0');
    if (WIFEXITED(outcome.status) && WEXITSTATUS(outcome.status) == 0) return Created{};
    throw failure(name, "create", outcome, user.password);
  }

 private:
  [[nodiscard]] std::vector<std::string> environment(const char* action, const std::string& account,
                                                     const std::string& domain,
                                                     const std::string* real_name) const {
    std::vector<std::string> env = base_env_;
    auto add = [&](const char* key, const std::string& value) {
      if (value.find('\0') != std::string::npos) {
        throw ProvisionError(std::string("cannot pass ") + key + " to the command: it holds a NUL byte");
      }
      env.push_back(std::string(key) + "=" + value);
    };
    add("MAILMIG_ACTION", action);
    add("MAILMIG_ACCOUNT", account);
    add("MAILMIG_DOMAIN", domain);
    add("MAILMIG_USER", account + "@" + domain);
    if (real_name != nullptr) add("MAILMIG_REAL_NAME", *real_name);
    return env;
  }

  [[nodiscard]] ProvisionError failure(const std::string& user, const char* action, const Outcome& outcome,
                                       const std::string& password) const {
    const Captured& shown =
        outcome.err.text.find_first_not_of(" \t\r\n") != std::string::npos ? outcome.err : outcome.out;
    std::string text = shown.text;
    if (!password.empty()) {
      for (auto pos = text.find(password); pos != std::string::npos; pos = text.find(password, pos + 3)) {
        text.replace(pos, password.size(), "***");
      }
    }
    while (!text.empty() && std::string_view(" \t\r\n").find(text.back()) != std::string_view::npos)
      text.pop_back();
    std::string message = std::string("provisioning command (") + action + ") for " + user + " failed with " +
                          describe_status(outcome.status);
    if (!text.empty()) message += ": " + text + (shown.truncated ? " [...]" : "");
    return ProvisionError(message);
  }

  Outcome run(const std::vector<std::string>& env, std::string_view input, const std::string& user,
              const char* action) const {
    Pipe in = make_pipe();
    Pipe out = make_pipe();
    Pipe err = make_pipe();

    std::vector<char*> envp;
    envp.reserve(env.size() + 1);
    for (const std::string& entry : env) envp.push_back(const_cast<char*>(entry.c_str()));
    envp.push_back(nullptr);
    std::string shell = "/bin/sh";
    std::string dash_c = "-c";
    std::string command = command_;
    std::array<char*, 4> argv = {shell.data(), dash_c.data(), command.data(), nullptr};

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, in.read.get(), STDIN_FILENO);
    posix_spawn_file_actions_adddup2(&actions, out.write.get(), STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&actions, err.write.get(), STDERR_FILENO);
    posix_spawn_file_actions_addclosefrom_np(&actions, 3);  // whatever someone forgot to mark CLOEXEC
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t none;
    sigemptyset(&none);
    sigset_t all;
    sigfillset(&all);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &all);  // e.g. SIGPIPE ignored by the program
    posix_spawnattr_setpgroup(&attr, 0);         // own group: killable as one, spared the terminal's ^C
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);
    pid_t pid = -1;
    const int rc = ::posix_spawn(&pid, shell.c_str(), &actions, &attr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    if (rc != 0) throw ProvisionError("cannot run /bin/sh for " + user + ": " + error_text(rc));
    Child child(pid);
    in.read.reset();
    out.write.reset();
    err.write.reset();

    set_nonblocking(in.write.get());
    set_nonblocking(out.read.get());
    set_nonblocking(err.read.get());
    if (input.empty()) in.write.reset();

    Outcome outcome;
    const auto deadline = Clock::now() + timeout_;
    while (!child.poll_exit()) {
      const auto now = Clock::now();
      if (now >= deadline) {
        child.kill_and_reap();
        throw ProvisionError(
            std::string("provisioning command (") + action + ") for " + user + " timed out after " +
            std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(timeout_).count()) +
            " ms and was killed");
      }
      std::array<pollfd, 3> fds{};
      std::array<UniqueFd*, 3> owners{};
      nfds_t n = 0;
      if (in.write.valid()) {
        fds[n] = pollfd{in.write.get(), POLLOUT, 0};
        owners[n++] = &in.write;
      }
      if (out.read.valid()) {
        fds[n] = pollfd{out.read.get(), POLLIN, 0};
        owners[n++] = &out.read;
      }
      if (err.read.valid()) {
        fds[n] = pollfd{err.read.get(), POLLIN, 0};
        owners[n++] = &err.read;
      }
      // While pipes are open, data or end of file wakes us; once they are
      // closed (or held open by something the command left running) the
      // child's exit is noticed by polling waitpid.
      const auto slice = std::chrono::milliseconds(n > 0 ? 100 : 5);
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now) +
                        std::chrono::milliseconds(1);
      const int wait_ms = static_cast<int>(std::min(slice, left).count());
      if (::poll(n > 0 ? fds.data() : nullptr, n, wait_ms) < 0 && errno != EINTR) {
        throw ProvisionError("poll failed while running the provisioning command: " + error_text(errno));
      }
      for (nfds_t i = 0; i < n; ++i) {
        if (fds[i].revents == 0) continue;
        UniqueFd& fd = *owners[i];
        if (&fd == &in.write) {
          const ssize_t w = write_without_sigpipe(fd.get(), input.data(), input.size());
          if (w > 0) input.remove_prefix(static_cast<std::size_t>(w));
          if (input.empty() || (w < 0 && errno != EAGAIN && errno != EINTR)) fd.reset();  // done, or EPIPE
        } else if (!drain(fd.get(), &fd == &out.read ? outcome.out : outcome.err)) {
          fd.reset();
        }
      }
    }
    // The child has gone: take what is already in the pipes, without waiting
    // for descriptors something else it started may still hold.
    if (out.read.valid()) drain(out.read.get(), outcome.out);
    if (err.read.valid()) drain(err.read.get(), outcome.err);
    if (child.status_lost()) {
      throw ProvisionError("the exit status of the provisioning command for " + user +
                           " was lost (is SIGCHLD ignored?)");
    }
    outcome.status = child.status();
    return outcome;
  }

  std::string command_;
  std::chrono::milliseconds timeout_;
  std::vector<std::string> base_env_;
};

}  // namespace

std::unique_ptr<Provisioner> make_command_provisioner(const std::string& command,
                                                      const ProvisionOptions& options,
                                                      std::chrono::milliseconds timeout) {
  (void)options;  // the command carries its own credentials
  if (command.empty()) throw std::invalid_argument("command: needs the command to run (command:CMD)");
  if (timeout <= std::chrono::milliseconds(0))
    throw std::invalid_argument("command: the timeout must be positive");
  return std::make_unique<CommandProvisioner>(command, timeout);
}

}  // namespace mailmig
