#include "source/sftp/sftp_tree.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <libssh/libssh.h>
#include <libssh/sftp.h>
#include <pwd.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include "core/error.h"
#include "core/retry_policy.h"
#include "source/sftp/known_hosts.h"

namespace mailmig::sftp {
namespace {

// A dropped connection (the host rebooted, the session was killed, the link
// broke) is opened again and the step redone as this policy says (3 retries,
// backing off from 500 ms), as the IMAP source does.
const RetryPolicy kReconnect{.attempts = 3, .backoff = std::chrono::milliseconds(500)};
// Reads are pipelined: kInFlight requests of kChunk bytes (1 MiB) are sent
// before the first answer is awaited, so a 100 ms link moves ~10 MB/s instead
// of 320 KB/s. 32 KiB is the read size every SFTP server answers in full.
constexpr std::uint32_t kChunk = 32U << 10U;
constexpr std::size_t kInFlight = 32;

// The connection broke: reconnect and redo the step.
class Dropped : public std::runtime_error {
  using std::runtime_error::runtime_error;
};

fs::Type type_of(const sftp_attributes a) {
  switch (a->type) {
    case SSH_FILEXFER_TYPE_REGULAR:
      return fs::Type::File;
    case SSH_FILEXFER_TYPE_DIRECTORY:
      return fs::Type::Directory;
    case SSH_FILEXFER_TYPE_SYMLINK:
      return fs::Type::Symlink;
    default:
      return fs::Type::Other;
  }
}

using Attributes = std::unique_ptr<sftp_attributes_struct, void (*)(sftp_attributes)>;
Attributes attributes(sftp_attributes a) {
  return Attributes(a, sftp_attributes_free);
}

// One SSH session with its SFTP channel. Readers keep the connection they
// opened their file on: after a reconnect they see it is no longer current
// and open the file again on the new one.
struct Connection {
  ssh_session session = nullptr;
  sftp_session sftp = nullptr;
  Connection() = default;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection() {
    if (sftp != nullptr) sftp_free(sftp);
    if (session != nullptr) {
      ssh_disconnect(session);
      ssh_free(session);
    }
  }
  [[nodiscard]] bool alive() const { return session != nullptr && ssh_is_connected(session) != 0; }
  // Ends the traffic for good: every later call on it fails at once instead of
  // waiting. Only the socket is shut down; ssh_disconnect would free the
  // channels under the SFTP session and the files readers still hold (their
  // sftp_close, and sftp_free here, would then use freed memory).
  void shut_down() const {
    if (session == nullptr) return;
    const socket_t fd = ssh_get_fd(session);
    if (fd != SSH_INVALID_SOCKET) ::shutdown(fd, SHUT_RDWR);
  }
};

std::string home_directory() {
  // NOLINTNEXTLINE(concurrency-mt-unsafe): nothing in mailmig sets the environment
  if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0') return home;
  std::array<char, 4096> buffer{};
  passwd entry{};
  passwd* result = nullptr;
  if (::getpwuid_r(::getuid(), &entry, buffer.data(), buffer.size(), &result) == 0 && result != nullptr) {
    return result->pw_dir;
  }
  return "/root";
}

HostKeyStatus status_of(ssh_known_hosts_e state) {
  switch (state) {
    case SSH_KNOWN_HOSTS_OK:
      return HostKeyStatus::Known;
    case SSH_KNOWN_HOSTS_CHANGED:
      return HostKeyStatus::Changed;
    case SSH_KNOWN_HOSTS_OTHER:
      return HostKeyStatus::OtherType;
    case SSH_KNOWN_HOSTS_UNKNOWN:
      return HostKeyStatus::Unknown;
    case SSH_KNOWN_HOSTS_NOT_FOUND:
      return HostKeyStatus::NoFile;
    case SSH_KNOWN_HOSTS_ERROR:
      break;
  }
  return HostKeyStatus::Error;
}

class SftpTree final : public FileTree, public std::enable_shared_from_this<SftpTree> {
 public:
  explicit SftpTree(SshOptions options) : options_(std::move(options)) {
    if (options_.known_hosts.empty()) options_.known_hosts = default_known_hosts();
  }

  // The first connection: refusals and unreachable hosts surface here.
  void connect_first() {
    std::lock_guard lock(mutex_);
    try {
      connection_ = connect();
    } catch (const Dropped& e) {
      throw IoError(endpoint(), ECONNREFUSED, fmt::format("cannot connect over ssh: {}", e.what()));
    }
  }

  static bool lost(Connection& c) {
    const int code = sftp_get_error(c.sftp);
    return code == SSH_FX_CONNECTION_LOST || code == SSH_FX_NO_CONNECTION ||
           ssh_get_error_code(c.session) == SSH_FATAL;
  }

  static std::string error_text(Connection& c) {
    const char* text = c.session != nullptr ? ssh_get_error(c.session) : nullptr;
    if (text != nullptr && *text != '\0') return text;
    switch (c.sftp != nullptr ? sftp_get_error(c.sftp) : -1) {
      case SSH_FX_NO_SUCH_FILE:
        return "no such file";
      case SSH_FX_PERMISSION_DENIED:
        return "permission denied";
      case SSH_FX_CONNECTION_LOST:
        return "connection lost";
      case SSH_FX_NO_CONNECTION:
        return "no connection";
      default:
        return "failed";
    }
  }

  // ---- used by SftpReader ----

  std::recursive_mutex& mutex() { return mutex_; }

  // Runs `fn` on a live connection; a dropped one is opened again and `fn`
  // run once more, a few times. `fn` must start from scratch. Call with mutex() held.
  template <typename Fn>
  auto guarded(const std::string& path, Fn&& fn) {
    Retries retries(kReconnect);
    for (;;) {
      try {
        if (!connection_) {
          try {
            connection_ = connect();
          } catch (const SshError& e) {
            // Refused now although the first connection was accepted.
            throw IoError(path, EACCES, e.what());
          }
        }
        return fn(*connection_);
      } catch (const Dropped& e) {
        // Closed for good, so that readers still holding it close their files
        // without waiting on it.
        if (connection_) connection_->shut_down();
        connection_.reset();
        const auto wait = retries.after_failure();
        if (!wait) {
          throw IoError(path, ECONNRESET,
                        fmt::format("ssh connection to {} lost ({}), {} attempts made", endpoint(), e.what(),
                                    retries.failures()));
        }
        spdlog::warn("source {}: {}; reconnecting in {} ms (attempt {} of {})", endpoint(), e.what(),
                     wait->count(), retries.failures() + 1, retries.policy().attempts + 1);
        retries.wait(*wait);
      }
    }
  }

  // The failed SFTP call was a broken connection (Dropped) or a refusal of
  // this one file (IoError with the errno that best says why).
  [[noreturn]] static void fail(Connection& c, const std::string& path, const char* what) {
    if (!c.alive() || lost(c)) throw Dropped(error_text(c));
    const int code = sftp_get_error(c.sftp);
    const int err = code == SSH_FX_NO_SUCH_FILE ? ENOENT : code == SSH_FX_PERMISSION_DENIED ? EACCES : EIO;
    throw IoError(path, err, fmt::format("{} (sftp: {})", what, error_text(c)));
  }

  [[nodiscard]] std::string endpoint() const { return ssh_endpoint(options_.url); }

  std::vector<TreeEntry> list(const std::string& directory) override {
    std::lock_guard lock(mutex_);
    return guarded(directory, [&](Connection& c) {
      std::vector<TreeEntry> out;
      sftp_dir dir = sftp_opendir(c.sftp, directory.c_str());
      if (dir == nullptr) fail(c, directory, "cannot open directory");
      const std::unique_ptr<sftp_dir_struct, int (*)(sftp_dir)> guard(dir, sftp_closedir);
      while (sftp_attributes raw = sftp_readdir(c.sftp, dir)) {
        const Attributes a = attributes(raw);
        const std::string name = a->name != nullptr ? a->name : "";
        if (name.empty() || name == "." || name == "..") continue;
        TreeEntry entry{.name = name, .type = type_of(a.get())};
        if ((a->flags & SSH_FILEXFER_ATTR_SIZE) != 0U) entry.size = a->size;
        if ((a->flags & SSH_FILEXFER_ATTR_ACMODTIME) != 0U) entry.mtime = static_cast<std::int64_t>(a->mtime);
        out.push_back(std::move(entry));
      }
      if (sftp_dir_eof(dir) == 0) fail(c, directory, "cannot read directory");
      std::sort(out.begin(), out.end(),
                [](const TreeEntry& a, const TreeEntry& b) { return a.name < b.name; });
      return out;
    });
  }

  std::optional<TreeStat> stat(const std::string& path) override {
    std::lock_guard lock(mutex_);
    return guarded(path, [&](Connection& c) -> std::optional<TreeStat> {
      sftp_attributes raw = sftp_stat(c.sftp, path.c_str());
      if (raw == nullptr) {
        if (!c.alive() || lost(c)) throw Dropped(error_text(c));
        return std::nullopt;
      }
      const Attributes a = attributes(raw);
      return TreeStat{
          .type = type_of(a.get()), .size = a->size, .mtime = static_cast<std::int64_t>(a->mtime)};
    });
  }

  std::string read_small(const std::string& path, std::uint64_t max_size) override {
    OpenedStream stream = open(path, std::nullopt);
    if (stream.size > max_size) {
      throw IoError(path, EFBIG, fmt::format("larger than {} bytes: not the small file expected", max_size));
    }
    std::string out;
    std::array<char, kChunk> buffer{};
    while (const std::size_t n = stream.reader->read(buffer)) {
      out.append(buffer.data(), n);
      if (out.size() > max_size) throw IoError(path, EFBIG, fmt::format("larger than {} bytes", max_size));
    }
    return out;
  }

  OpenedStream open(const std::string& path, std::optional<std::uint64_t> length) override;

  std::optional<std::string> real_path(const std::string& path) override {
    std::lock_guard lock(mutex_);
    return guarded(path, [&](Connection& c) -> std::optional<std::string> {
      char* resolved = sftp_canonicalize_path(c.sftp, path.c_str());
      if (resolved == nullptr) {
        if (!c.alive() || lost(c)) throw Dropped(error_text(c));
        return std::nullopt;
      }
      std::string out = resolved;
      ssh_string_free_char(resolved);
      return out;
    });
  }

  // SFTP v3 carries numeric owners only; the remote user database is not ours to read.
  std::optional<std::string> owner_name(const std::string& /*path*/) override { return std::nullopt; }

  // Accounts are read in parallel, each on its own connection (opened on first use).
  std::shared_ptr<FileTree> for_account() override { return std::make_shared<SftpTree>(options_); }

 private:
  std::shared_ptr<Connection> connect() {
    auto c = std::make_shared<Connection>();
    c->session = ssh_new();
    if (c->session == nullptr) throw SshError("cannot create an ssh session (out of memory?)");
    const SshUrl& url = options_.url;
    const int port = url.port;
    const long timeout = static_cast<long>(options_.timeout_seconds);
    const bool no = false;
    ssh_options_set(c->session, SSH_OPTIONS_HOST, url.host.c_str());
    ssh_options_set(c->session, SSH_OPTIONS_PORT, &port);
    if (!url.user.empty()) ssh_options_set(c->session, SSH_OPTIONS_USER, url.user.c_str());
    ssh_options_set(c->session, SSH_OPTIONS_TIMEOUT, &timeout);
    // What is trusted is decided here and documented, not by ~/.ssh/config.
    ssh_options_set(c->session, SSH_OPTIONS_PROCESS_CONFIG, &no);
    ssh_options_set(c->session, SSH_OPTIONS_KNOWNHOSTS, options_.known_hosts.c_str());
    if (ssh_connect(c->session) != SSH_OK) throw Dropped(ssh_get_error(c->session));
    check_host_key(*c);
    authenticate(*c);
    c->sftp = sftp_new(c->session);
    if (c->sftp == nullptr) throw Dropped(ssh_get_error(c->session));
    if (sftp_init(c->sftp) != SSH_OK) {
      if (!c->alive()) throw Dropped(ssh_get_error(c->session));
      throw SshError(fmt::format("{} offers no SFTP service (Subsystem sftp in sshd_config): {}", endpoint(),
                                 ssh_get_error(c->session)));
    }
    spdlog::debug("source {}: connected (sftp)", endpoint());
    return c;
  }

  void check_host_key(Connection& c) {
    HostKeyFacts facts{
        .host = options_.url.host, .port = options_.url.port, .known_hosts = options_.known_hosts};
    ssh_key key = nullptr;
    if (ssh_get_server_publickey(c.session, &key) != SSH_OK) throw Dropped(ssh_get_error(c.session));
    const std::unique_ptr<ssh_key_struct, void (*)(ssh_key)> key_guard(key, ssh_key_free);
    unsigned char* hash = nullptr;
    std::size_t hash_length = 0;
    if (ssh_get_publickey_hash(key, SSH_PUBLICKEY_HASH_SHA256, &hash, &hash_length) == 0) {
      char* fingerprint = ssh_get_fingerprint_hash(SSH_PUBLICKEY_HASH_SHA256, hash, hash_length);
      if (fingerprint != nullptr) facts.fingerprint = fingerprint;
      ssh_string_free_char(fingerprint);
      ssh_clean_pubkey_hash(&hash);
    }
    if (const char* type = ssh_key_type_to_char(ssh_key_type(key)); type != nullptr) facts.key_type = type;
    char* entry = nullptr;
    if (ssh_session_export_known_hosts_entry(c.session, &entry) == SSH_OK && entry != nullptr) {
      facts.entry = entry;
      while (!facts.entry.empty() && (facts.entry.back() == '\n' || facts.entry.back() == '\r'))
        facts.entry.pop_back();
      ssh_string_free_char(entry);
    }
    if (auto refusal = host_key_refusal(status_of(ssh_session_is_known_server(c.session)), facts)) {
      throw SshError(*refusal);
    }
  }

  void authenticate(Connection& c) {
    const std::string who = endpoint();
    int rc = SSH_AUTH_DENIED;
    if (!options_.key_file.empty()) {
      ssh_key key = nullptr;
      const char* passphrase = options_.key_passphrase.empty() ? nullptr : options_.key_passphrase.c_str();
      // No callback: an encrypted key without a passphrase fails instead of prompting.
      if (ssh_pki_import_privkey_file(options_.key_file.c_str(), passphrase, nullptr, nullptr, &key) !=
          SSH_OK) {
        throw SshError(fmt::format(
            "cannot load the private key {} (missing, not a key, or protected by a passphrase: give "
            "--ssh-key-passphrase-file or load the key into ssh-agent)",
            options_.key_file));
      }
      const std::unique_ptr<ssh_key_struct, void (*)(ssh_key)> guard(key, ssh_key_free);
      rc = ssh_userauth_publickey(c.session, nullptr, key);
    } else {
      // The agent ($SSH_AUTH_SOCK), then ~/.ssh/id_*; never a prompt.
      rc = ssh_userauth_publickey_auto(c.session, nullptr, nullptr);
    }
    if (rc == SSH_AUTH_SUCCESS) return;
    if (rc == SSH_AUTH_ERROR && !c.alive()) throw Dropped(ssh_get_error(c.session));
    throw SshError(fmt::format(
        "public-key authentication to {} refused ({}); passwords are never tried: authorise the key of this "
        "host "
        "there (~/.ssh/authorized_keys of the remote user), or name another key with --ssh-key FILE",
        who, options_.key_file.empty() ? "tried the ssh agent and ~/.ssh/id_*" : "key " + options_.key_file));
  }

  SshOptions options_;
  // Recursive: a reader replaced during a retry closes its file under the lock already held.
  std::recursive_mutex mutex_;
  std::shared_ptr<Connection> connection_;
  friend class SftpReader;
};

// A forward stream over one remote file with up to kInFlight read requests
// outstanding. Memory: one chunk buffer; the requests' answers wait in the
// SSH channel window, which libssh bounds.
class SftpReader final : public ByteReader {
 public:
  SftpReader(std::shared_ptr<SftpTree> tree, std::string path, std::uint64_t limit)
      : tree_(std::move(tree)), path_(std::move(path)), limit_(limit), buffer_(kChunk) {}
  SftpReader(const SftpReader&) = delete;
  SftpReader& operator=(const SftpReader&) = delete;
  SftpReader(SftpReader&&) = delete;
  SftpReader& operator=(SftpReader&&) = delete;

  ~SftpReader() override {
    std::lock_guard lock(tree_->mutex());
    close_file();
  }

  // Opens the file on the current connection at the current position.
  void open_locked(Connection& c) {
    close_file();
    sftp_file file = sftp_open(c.sftp, path_.c_str(), O_RDONLY, 0);
    if (file == nullptr) SftpTree::fail(c, path_, "cannot open");
    file_ = file;
    connection_ = tree_->connection_;
    if (position_ != 0 && sftp_seek64(file_, position_) != 0) SftpTree::fail(c, path_, "cannot seek");
    next_request_ = position_;
  }

  std::size_t read(std::span<char> out) override {
    if (out.empty()) return 0;
    std::lock_guard lock(tree_->mutex());
    return tree_->guarded(path_, [&](Connection& c) -> std::size_t {
      if (file_ == nullptr || connection_ != tree_->connection_) {
        inflight_.clear();  // answers of a dead connection never come
        begin_ = filled_ = 0;
        open_locked(c);
      }
      if (begin_ == filled_ && !refill(c)) return 0;
      const std::size_t n = std::min(out.size(), filled_ - begin_);
      std::copy_n(buffer_.data() + begin_, n, out.data());
      begin_ += n;
      position_ += n;
      return n;
    });
  }

 private:
  struct Request {
    std::uint32_t id;
    std::uint32_t length;
  };

  // The next chunk into buffer_; false at the end.
  bool refill(Connection& c) {
    begin_ = filled_ = 0;
    if (position_ >= limit_) return false;
    while (inflight_.size() < kInFlight && next_request_ < limit_) {
      const auto length = static_cast<std::uint32_t>(std::min<std::uint64_t>(kChunk, limit_ - next_request_));
      const int id = sftp_async_read_begin(file_, length);
      if (id < 0) SftpTree::fail(c, path_, "cannot request a read");
      inflight_.push_back(Request{static_cast<std::uint32_t>(id), length});
      next_request_ += length;
    }
    const Request request = inflight_.front();
    inflight_.pop_front();
    const int n = sftp_async_read(file_, buffer_.data(), request.length, request.id);
    if (n < 0) SftpTree::fail(c, path_, fmt::format("read failed at offset {}", position_).c_str());
    if (static_cast<std::uint32_t>(n) < request.length) {
      // End of file (shorter than listed) or a short answer: the requests
      // after it are for the wrong offsets. Collect them and ask again from here.
      drain();
      if (n == 0) {
        limit_ = position_;
        return false;
      }
      next_request_ = position_ + static_cast<std::uint64_t>(n);
      if (sftp_seek64(file_, next_request_) != 0) SftpTree::fail(c, path_, "cannot seek");
    }
    filled_ = static_cast<std::size_t>(n);
    return true;
  }

  // Reads and discards the answers still outstanding (libssh would keep them queued).
  void drain() {
    std::vector<char> scratch(kChunk);
    for (const Request& r : inflight_) {
      if (sftp_async_read(file_, scratch.data(), r.length, r.id) < 0) break;
    }
    inflight_.clear();
  }

  void close_file() {
    if (file_ == nullptr) return;
    if (connection_ && connection_ == tree_->connection_ && connection_->alive()) drain();
    // sftp_close also frees the handle, so it is called on a broken connection
    // too: its CLOSE request fails at once (Connection::shut_down), and our
    // shared_ptr keeps the session until then.
    sftp_close(file_);
    file_ = nullptr;
    connection_.reset();
  }

  std::shared_ptr<SftpTree> tree_;
  std::string path_;
  std::uint64_t limit_;
  std::vector<char> buffer_;
  std::size_t begin_ = 0;
  std::size_t filled_ = 0;
  std::uint64_t position_ = 0;      // bytes handed out
  std::uint64_t next_request_ = 0;  // offset of the next read request
  std::deque<Request> inflight_;
  sftp_file file_ = nullptr;
  std::shared_ptr<Connection> connection_;  // the one file_ belongs to
};

OpenedStream SftpTree::open(const std::string& path, std::optional<std::uint64_t> length) {
  std::unique_ptr<SftpReader> reader;
  OpenedStream out;
  std::lock_guard lock(mutex_);
  guarded(path, [&](Connection& c) {
    // lstat first: a symlink is never followed, and opening a FIFO would hang the server.
    sftp_attributes raw = sftp_lstat(c.sftp, path.c_str());
    if (raw == nullptr) fail(c, path, "cannot open");
    const Attributes a = attributes(raw);
    if (a->type == SSH_FILEXFER_TYPE_SYMLINK) throw IoError(path, ELOOP, "symbolic link: not followed");
    if (a->type != SSH_FILEXFER_TYPE_REGULAR) throw IoError(path, EINVAL, "not a regular file");
    out.size = a->size;
    out.mtime = static_cast<std::int64_t>(a->mtime);
    reader = std::make_unique<SftpReader>(shared_from_this(), path, length.value_or(out.size));
    reader->open_locked(c);
  });
  out.reader = std::move(reader);
  return out;
}

}  // namespace

std::string default_known_hosts() {
  return home_directory() + "/.ssh/known_hosts";
}

std::shared_ptr<FileTree> open_sftp_tree(const SshOptions& options) {
  auto tree = std::make_shared<SftpTree>(options);
  tree->connect_first();
  return tree;
}

}  // namespace mailmig::sftp
