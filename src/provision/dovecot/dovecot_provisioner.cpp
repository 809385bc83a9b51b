#include "provision/dovecot/dovecot_provisioner.h"

#include <crypt.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <filesystem>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string_view>

#include "core/ascii.h"
#include "core/error.h"
#include "core/fs.h"
#include "core/text_fields.h"

namespace mailmig {

namespace {

bool ascii_alnum(char c) {
  return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}
bool crypt64(char c) {
  return ascii_alnum(c) || c == '.' || c == '/';
}
bool hex_digit(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
// struct crypt_data is about 32 KB: on the heap, zeroed before use (as
// crypt_rn requires) and wiped after.
class CryptArea {
 public:
  CryptArea() : data_(std::make_unique<crypt_data>()) {}
  CryptArea(const CryptArea&) = delete;
  CryptArea& operator=(const CryptArea&) = delete;
  ~CryptArea() { OPENSSL_cleanse(data_.get(), sizeof(crypt_data)); }
  const char* crypt(const char* phrase, const char* setting) {
    return ::crypt_rn(phrase, setting, data_.get(), static_cast<int>(sizeof(crypt_data)));
  }

 private:
  std::unique_ptr<crypt_data> data_;
};

// A complete crypt(3) hash that this host's libcrypt accepts: hashing any
// phrase with it as the setting yields a string of the same length with the
// same setting part (everything up to the last '$'; the 2-character salt for
// traditional DES).
bool is_crypt_string(std::string_view value) {
  if (value.empty()) return false;
  for (char c : value) {
    if (!crypt64(c) && c != '$' && c != '=' && c != ',') return false;
  }
  std::size_t setting_end = 2;
  if (value.front() == '$') {
    setting_end = value.rfind('$') + 1;
    if (setting_end < 3 || setting_end == value.size()) return false;  // "$id$" alone, or no hash part
  } else if (value.size() != 13) {
    return false;  // traditional DES: 2 salt + 11 hash characters
  }
  const std::string setting(value);
  CryptArea area;
  const char* out = area.crypt("mailmig-probe", setting.c_str());
  if (out == nullptr || out[0] == '*') return false;
  const std::string_view result(out);
  return result.size() == value.size() && result.substr(0, setting_end) == value.substr(0, setting_end);
}

// Base64 or hex data; with raw_length, exactly the encoded length of a
// digest of that many bytes (Dovecot detects the encoding from the length).
bool is_digest_data(std::string_view data, std::size_t raw_length) {
  if (data.empty()) return false;
  for (char c : data) {
    if (!ascii_alnum(c) && c != '+' && c != '/' && c != '=') return false;
  }
  if (raw_length == 0) return true;
  const bool hex = data.size() == raw_length * 2 && std::all_of(data.begin(), data.end(), hex_digit);
  const bool base64 = data.size() == 4 * ((raw_length + 2) / 3);
  return hex || base64;
}

struct DovecotScheme {
  std::string_view name;
  bool crypt;                     // the data is a crypt(3) string
  std::string_view crypt_prefix;  // crypt: the one family this scheme takes, empty for any
  std::size_t raw_length;         // digest: the digest size in bytes, 0 for salted (variable)
};

constexpr std::array<DovecotScheme, 15> kSchemes = {{
    {"CRYPT", true, "", 0},
    {"MD5-CRYPT", true, "$1$", 0},
    {"SHA256-CRYPT", true, "$5$", 0},
    {"SHA512-CRYPT", true, "$6$", 0},
    {"BLF-CRYPT", true, "$2", 0},
    {"SHA", false, "", 20},
    {"SHA1", false, "", 20},
    {"SSHA", false, "", 0},
    {"SHA256", false, "", 32},
    {"SSHA256", false, "", 0},
    {"SHA512", false, "", 64},
    {"SSHA512", false, "", 0},
    {"SMD5", false, "", 0},
    {"PLAIN-MD5", false, "", 16},
    {"LDAP-MD5", false, "", 16},
}};

// "{NAME}data" -> the field Dovecot verifies, or nullopt.
std::optional<std::string> braced_hash(std::string_view value) {
  const auto close = value.find('}');
  if (close == std::string_view::npos) return std::nullopt;
  const std::string name = ascii_upper(value.substr(1, close - 1));
  const std::string_view data = value.substr(close + 1);
  if (name == "MD5") {
    // Dovecot's {MD5} is MD5-CRYPT; RFC 2307's (LDAP's) {MD5} is a plain
    // digest, which Dovecot calls LDAP-MD5 (base64) or PLAIN-MD5 (hex).
    if (data.starts_with("$1$")) {
      if (is_crypt_string(data)) return "{MD5}" + std::string(data);
      return std::nullopt;
    }
    if (!is_digest_data(data, 16)) return std::nullopt;
    return (data.size() == 32 ? "{PLAIN-MD5}" : "{LDAP-MD5}") + std::string(data);
  }
  for (const DovecotScheme& scheme : kSchemes) {
    if (scheme.name != name) continue;
    const bool ok = scheme.crypt ? data.starts_with(scheme.crypt_prefix) && is_crypt_string(data)
                                 : is_digest_data(data, scheme.raw_length);
    if (!ok) return std::nullopt;
    return "{" + name + "}" + std::string(data);
  }
  return std::nullopt;
}

// Dovecot's user name for account@domain, lower case. Throws ProvisionError
// for a name that cannot be a passwd-file user.
std::string user_name(const std::string& account, const std::string& domain) {
  const std::string name = account + "@" + domain;
  auto bad = [&](const std::string& why) {
    return ProvisionError("cannot use \"" + name + "\" as a Dovecot user: " + why);
  };
  if (account.empty() || domain.empty()) throw bad("empty account or domain");
  if (account.front() == '#') throw bad("a leading '#' would make the line a comment");
  // Dovecot's mail_location expands %n, %d and %u into paths: ".." would put
  // the user's mail in the mail root (or above it), "/" in another user's tree.
  for (const std::string* part : {&account, &domain}) {
    if (*part == "." || *part == ".." || part->find_first_of("/\\") != std::string::npos)
      throw bad("\".\", \"..\", '/' or '\\' would make its mail directory a path outside its own");
  }
  for (const std::string* part : {&account, &domain}) {
    for (char c : *part) {
      const auto u = static_cast<unsigned char>(c);
      if (c == ':' || c == '@' || u <= 0x20 || u == 0x7f)
        throw bad("it holds ':', '@', a space or a control character");
    }
  }
  return ascii_lower(name);
}

bool has_user(std::string_view text, std::string_view name) {
  for (const std::string_view line : text_lines(text)) {
    if (line.empty() || line.front() == '#' || line.front() == ':') continue;  // Dovecot skips these too
    if (ascii_iequals(line.substr(0, line.find(':')), name)) return true;
  }
  return false;
}

ProvisionError file_error(const std::string& path, const std::string& what, int err) {
  return ProvisionError(path + ": " + what + ": " + error_text(err));
}

struct CurrentFile {
  std::string text;
  struct stat st {};
};

std::optional<CurrentFile> read_current(const std::string& path) {
  const int fd =
      ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);  // a FIFO must not block
  if (fd < 0) {
    if (errno == ENOENT) return std::nullopt;
    throw file_error(path, "cannot open", errno);
  }
  CurrentFile current;
  try {
    if (::fstat(fd, &current.st) != 0) throw file_error(path, "cannot stat", errno);
    if (!S_ISREG(current.st.st_mode)) throw ProvisionError(path + ": not a regular file");
    std::array<char, 65536> buffer{};
    for (;;) {
      const ssize_t n = ::read(fd, buffer.data(), buffer.size());
      if (n < 0) {
        if (errno == EINTR) continue;
        throw file_error(path, "cannot read", errno);
      }
      if (n == 0) break;
      current.text.append(buffer.data(), static_cast<std::size_t>(n));
    }
  } catch (...) {
    ::close(fd);
    throw;
  }
  ::close(fd);
  return current;
}

// flock(LOCK_EX) on "<file>.lock" for the lifetime of the object. The lock
// file is never removed (removing it would let two writers lock different files).
class FileLock {
 public:
  explicit FileLock(const std::string& path) {
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd_ < 0) throw file_error(path, "cannot open the lock file", errno);
    while (::flock(fd_, LOCK_EX) != 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd_);
      throw file_error(path, "cannot lock", err);
    }
  }
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;
  ~FileLock() { ::close(fd_); }  // releases the lock

 private:
  int fd_ = -1;
};

void fsync_directory_of(const std::string& path) {
  const auto slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;  // best effort: the rename itself has happened
  (void)::fsync(fd);
  ::close(fd);
}

// "<name>.tmp.<digits>": a temporary file of replace_file below.
bool is_temporary_of(std::string_view entry, std::string_view name) {
  if (!entry.starts_with(name) || !entry.substr(name.size()).starts_with(".tmp.")) return false;
  const std::string_view pid = entry.substr(name.size() + 5);
  return !pid.empty() && pid.find_first_not_of("0123456789") == std::string_view::npos;
}

// Temporary files a killed run left next to `path` (whatever its pid: the
// caller holds the lock, so no other writer is between create and rename).
void remove_stale_temporaries(const std::string& path) {
  const std::filesystem::path file(path);
  const std::string name = file.filename().string();
  std::error_code ec;
  for (const auto& entry :
       std::filesystem::directory_iterator(file.parent_path().empty() ? "." : file.parent_path(), ec)) {
    const std::string entry_name = entry.path().filename().string();
    if (!is_temporary_of(entry_name, name)) continue;
    if (::unlink(entry.path().c_str()) != 0 && errno != ENOENT)
      throw file_error(entry.path().string(), "cannot remove a stale temporary file", errno);
  }
}

// Replaces `path` by `text`: "<path>.tmp.<pid>" in the same directory, with
// the existing file's owner, group and mode (0640 for a new file), written,
// fsynced and renamed over `path`. The caller holds the lock, so any
// temporary file there is the leftover of a killed run.
void replace_file(const std::string& path, std::string_view text, const struct stat* existing) {
  remove_stale_temporaries(path);
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) throw file_error(tmp, "cannot create", errno);
  try {
    struct stat st {};
    if (::fstat(fd, &st) != 0) throw file_error(tmp, "cannot stat", errno);
    if (existing != nullptr && (st.st_uid != existing->st_uid || st.st_gid != existing->st_gid)) {
      if (::fchown(fd, existing->st_uid, existing->st_gid) != 0) {
        throw file_error(tmp,
                         "cannot give it the owner and group of " + path + " (" +
                             std::to_string(existing->st_uid) + ":" + std::to_string(existing->st_gid) + ")",
                         errno);
      }
    }
    const mode_t mode = existing != nullptr ? (existing->st_mode & 07777) : 0640;
    if (::fchmod(fd, mode) != 0) throw file_error(tmp, "cannot set its mode", errno);
    std::string_view rest = text;
    while (!rest.empty()) {
      const ssize_t n = ::write(fd, rest.data(), rest.size());
      if (n < 0) {
        if (errno == EINTR) continue;
        throw file_error(tmp, "cannot write", errno);
      }
      rest.remove_prefix(static_cast<std::size_t>(n));
    }
    if (::fsync(fd) != 0) throw file_error(tmp, "cannot fsync", errno);
    const int closing = fd;
    fd = -1;
    if (::close(closing) != 0) throw file_error(tmp, "cannot close", errno);
    if (::rename(tmp.c_str(), path.c_str()) != 0)
      throw file_error(path, "cannot rename " + tmp + " over it", errno);
  } catch (...) {
    if (fd >= 0) ::close(fd);
    ::unlink(tmp.c_str());
    throw;
  }
  fsync_directory_of(path);
}

class DovecotProvisioner final : public Provisioner {
 public:
  explicit DovecotProvisioner(std::string file) : file_(std::move(file)) {}

  [[nodiscard]] std::string describe() const override { return "Dovecot passwd-file " + file_; }

  bool exists(const std::string& account, const std::string& domain) override {
    const std::string name = user_name(account, domain);
    // No lock needed: the file is only ever replaced whole by rename.
    const auto current = read_current(target_path());
    return current && has_user(current->text, name);
  }

  Created create(const NewUser& user) override {
    const std::string name = user_name(user.account, user.domain);
    try {
      Created created;
      std::string field;
      if (auto kept = dovecot_kept_hash(user.source_password)) {
        field = std::move(*kept);
        created.kept_source_hash = true;
      } else {
        field = dovecot_sha512_crypt(user.password);  // hashing (slow) happens outside the lock
      }
      const std::string line = name + ":" + field + "::::::\n";
      const std::lock_guard lock(mutex_);
      const std::string path = target_path();
      const FileLock file_lock(path + ".lock");
      auto current = read_current(path);
      if (current && has_user(current->text, name))
        throw ProvisionError("the user already exists in " + path);
      std::string text = current ? std::move(current->text) : std::string();
      if (!text.empty() && text.back() != '\n') text += '\n';
      text += line;
      replace_file(path, text, current ? &current->st : nullptr);
      return created;
    } catch (const ProvisionError& e) {
      throw ProvisionError("cannot create " + name + " in the Dovecot passwd-file: " + e.what());
    }
  }

 private:
  // The file itself, or what a symlink at that name points to (replacing the
  // symlink by a regular file would silently detach it from its target).
  [[nodiscard]] std::string target_path() const {
    struct stat st {};
    if (::lstat(file_.c_str(), &st) == 0 && S_ISLNK(st.st_mode)) {
      auto real = fs::real_path(file_);
      if (!real) throw ProvisionError(file_ + ": a symlink that does not resolve");
      return *real;
    }
    return file_;
  }

  std::string file_;
  std::mutex mutex_;
};

}  // namespace

std::optional<std::string> dovecot_kept_hash(const PasswordInfo& source) {
  if (source.kind != PasswordInfo::Kind::Encrypted || source.value.empty()) return std::nullopt;
  const std::string_view value = source.value;
  const std::string tag = ascii_lower(source.scheme);
  if (tag.ends_with("-crpt")) {
    // CommuniGate's own methods: only U-crpt (Unix crypt) is a standard hash.
    if (tag != "u-crpt") return std::nullopt;
    const std::string_view data = value.size() >= source.scheme.size() &&
                                          ascii_iequals(value.substr(0, source.scheme.size()), source.scheme)
                                      ? value.substr(source.scheme.size())
                                      : value;
    if (is_crypt_string(data)) return "{CRYPT}" + std::string(data);
    return std::nullopt;
  }
  if (value.front() == '{') return braced_hash(value);
  if (value.front() == '$' && is_crypt_string(value)) return "{CRYPT}" + std::string(value);
  return std::nullopt;
}

std::string dovecot_sha512_crypt(const std::string& password) {
  if (password.empty()) throw ProvisionError("no password to set");
  if (password.find('\0') != std::string::npos) throw ProvisionError("the password contains a NUL byte");
  std::array<unsigned char, 16> random{};
  if (RAND_bytes(random.data(), static_cast<int>(random.size())) != 1) {
    throw ProvisionError("the OpenSSL random generator failed");
  }
  std::array<char, CRYPT_GENSALT_OUTPUT_SIZE> setting{};
  errno = 0;
  const char* salt =
      ::crypt_gensalt_rn("$6$", 0, reinterpret_cast<const char*>(random.data()),
                         static_cast<int>(random.size()), setting.data(), static_cast<int>(setting.size()));
  OPENSSL_cleanse(random.data(), random.size());
  if (salt == nullptr) throw ProvisionError("libcrypt cannot make a SHA512-CRYPT salt: " + error_text(errno));
  CryptArea area;
  const char* hash = area.crypt(password.c_str(), setting.data());
  if (hash == nullptr || hash[0] == '*')
    throw ProvisionError("libcrypt cannot hash with SHA512-CRYPT: " + error_text(errno));
  return "{SHA512-CRYPT}" + std::string(hash);
}

std::unique_ptr<Provisioner> make_dovecot_provisioner(const std::string& file,
                                                      const ProvisionOptions& options) {
  (void)options;  // a passwd-file needs no credentials
  if (file.empty()) throw std::invalid_argument("dovecot: needs the passwd-file's path (dovecot:FILE)");
  return std::make_unique<DovecotProvisioner>(file);
}

}  // namespace mailmig
