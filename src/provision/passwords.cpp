#include "provision/passwords.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <ctime>
#include <stdexcept>

#include "core/error.h"

namespace mailmig {

const char* password_how_name(PasswordHow how) {
  switch (how) {
    case PasswordHow::Forced:
      return "forced";
    case PasswordHow::Migrated:
      return "migrated";
    case PasswordHow::Set:
      return "set";
    case PasswordHow::Generated:
      return "generated";
  }
  return "generated";
}

ChosenPassword choose_password(const PasswordRules& rules, const PasswordInfo& source) {
  if (!rules.force_set_pass.empty()) return {rules.force_set_pass, PasswordHow::Forced};
  // An empty plain password is not a password worth migrating (the target
  // would either refuse it or open the account to anyone): it counts as missing.
  if (source.kind == PasswordInfo::Kind::Plain && !source.value.empty()) {
    return {source.value, PasswordHow::Migrated};
  }
  // Encrypted or missing. The seed splits -setPass into exactly two cases:
  // "the password saved in the plain format ... is detected" -> the original,
  // and "the password cannot be read (i.e. it is encrypted)" -> PASSWORD. A
  // missing password is not a plain one that was detected, and there is
  // nothing to read either, so it takes the second branch: the
  // administrator's -setPass wins over a generated password. Only without
  // -setPass is one generated ("If a password stored at CommuniGate cannot be
  // read, a new one will be generated").
  if (!rules.set_pass.empty()) return {rules.set_pass, PasswordHow::Set};
  return {generate_password(), PasswordHow::Generated};
}

namespace {

constexpr std::string_view kUpper = "ABCDEFGHJKLMNPQRSTUVWXYZ";  // no I, O
constexpr std::string_view kLower = "abcdefghijkmnpqrstuvwxyz";  // no l, o
constexpr std::string_view kDigits = "23456789";                 // no 0, 1
constexpr std::string_view kSymbols = "-._~";  // RFC 3986 unreserved: no quoting in CSV, URLs, shells

// Uniform draws below a bound from RAND_bytes, fetched in blocks.
class RandomDraws {
 public:
  RandomDraws() = default;
  RandomDraws(const RandomDraws&) = delete;
  RandomDraws& operator=(const RandomDraws&) = delete;
  ~RandomDraws() { OPENSSL_cleanse(buffer_.data(), buffer_.size()); }

  // A uniform value in [0, bound), bound <= 256, by rejection sampling.
  std::size_t below(std::size_t bound) {
    const std::size_t limit = 256 - (256 % bound);
    for (;;) {
      if (pos_ == buffer_.size()) refill();
      const std::size_t byte = buffer_[pos_++];
      if (byte < limit) return byte % bound;
    }
  }

 private:
  void refill() {
    if (RAND_bytes(buffer_.data(), static_cast<int>(buffer_.size())) != 1) {
      throw std::runtime_error("the OpenSSL random generator failed");
    }
    pos_ = 0;
  }

  std::array<unsigned char, 256> buffer_{};
  std::size_t pos_ = buffer_.size();
};

bool acceptable(const std::string& password) {
  auto has = [&](std::string_view set) { return password.find_first_of(set) != std::string::npos; };
  const bool starts_alnum = kSymbols.find(password.front()) == std::string_view::npos;
  return starts_alnum && has(kUpper) && has(kLower) && has(kDigits) && has(kSymbols);
}

std::string directory_of(const std::string& path) {
  const auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

}  // namespace

std::string generate_password(std::size_t length) {
  if (length < 4) throw std::invalid_argument("a generated password needs at least 4 characters");
  std::string alphabet;
  alphabet.append(kUpper).append(kLower).append(kDigits).append(kSymbols);
  RandomDraws draws;
  std::string password(length, '\0');
  // Drawing whole candidates and rejecting those without every class keeps
  // the result uniform over the acceptable passwords (no position bias). At
  // length 16 about two in three candidates pass; at 4, about one in thirty.
  for (;;) {
    for (char& c : password) c = alphabet[draws.below(alphabet.size())];
    if (acceptable(password)) return password;
  }
}

namespace {
constexpr std::string_view kPassHeader = "account,password,how\r\n";
}  // namespace

bool PassFile::open_ours() {
  const int fd = ::open(path_.c_str(), O_RDWR | O_APPEND | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return false;
    throw IoError(path_, errno, "cannot open the password file to continue it");
  }
  struct stat st {};
  std::array<char, kPassHeader.size()> head{};
  const bool ours = ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == ::geteuid() &&
                    (st.st_mode & 07777) == (S_IRUSR | S_IWUSR) &&
                    ::pread(fd, head.data(), head.size(), 0) == static_cast<ssize_t>(head.size()) &&
                    std::string_view(head.data(), head.size()) == kPassHeader;
  if (!ours) {
    ::close(fd);
    throw IoError(
        path_, EEXIST,
        "refusing to add passwords to a file that is not a password file of this user (a regular file "
        "owned by you, mode 600, starting with the header \"account,password,how\")");
  }
  // A row cut short (a full disk before this fix, a crash mid-write) would
  // glue itself to the next row: the file continues after the last whole one.
  std::string text(static_cast<std::size_t>(st.st_size), '\0');
  if (::pread(fd, text.data(), text.size(), 0) != static_cast<ssize_t>(text.size())) {
    const int err = errno;
    ::close(fd);
    throw IoError(path_, err, "cannot read the password file to continue it");
  }
  const std::size_t whole = PassFile::whole_rows_length(text);
  OPENSSL_cleanse(text.data(), text.size());
  if (whole != text.size() && ::ftruncate(fd, static_cast<off_t>(whole)) != 0) {
    const int err = errno;
    ::close(fd);
    throw IoError(path_, err, "cannot remove a row cut short from the password file");
  }
  fd_ = fd;
  return true;
}

std::size_t PassFile::whole_rows_length(std::string_view text) {
  const std::size_t last = text.rfind("\r\n");
  return last == std::string_view::npos ? 0 : last + 2;
}

PassFile::PassFile(std::string path, Existing existing) : path_(std::move(path)) {
  if (existing == Existing::Resume && open_ours()) return;
  // O_EXCL: never reuse (or truncate) a file someone else prepared, and with
  // O_NOFOLLOW never follow a planted symlink. 0600 from the start; the
  // fchmod repeats it because the umask may only have taken bits away.
  fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd_ < 0) throw IoError(path_, errno, "cannot create the password file");
  try {
    if (::fchmod(fd_, S_IRUSR | S_IWUSR) != 0) throw IoError(path_, errno, "cannot set mode 0600");
    write_all(kPassHeader);
  } catch (...) {
    ::close(fd_);
    fd_ = -1;
    ::unlink(path_.c_str());  // holds no password yet
    throw;
  }
}

PassFile::~PassFile() {
  try {
    close();
  } catch (const std::exception&) {  // NOLINT(bugprone-empty-catch): documented; close() reports
  }
}

void PassFile::add(const std::string& account_at_domain, const std::string& password, PasswordHow how) {
  std::string row;
  row.reserve(account_at_domain.size() + password.size() + 16);
  row.append(csv_field(account_at_domain))
      .append(",")
      .append(csv_field(password))
      .append(",")
      .append(password_how_name(how))
      .append("\r\n");
  const std::lock_guard lock(mutex_);
  if (fd_ < 0) {
    OPENSSL_cleanse(row.data(), row.size());
    throw std::logic_error("password file " + path_ + " is already closed");
  }
  struct stat before {};
  const bool sized = ::fstat(fd_, &before) == 0;
  try {
    write_all(row);
  } catch (...) {
    OPENSSL_cleanse(row.data(), row.size());
    // A full disk may take part of the row: cut it off again, so the next
    // row (this run's or a resumed one's) does not glue onto it.
    if (sized) (void)::ftruncate(fd_, before.st_size);
    throw;
  }
  OPENSSL_cleanse(row.data(), row.size());
}

void PassFile::close() {
  const std::lock_guard lock(mutex_);
  if (fd_ < 0) return;
  const int fd = fd_;
  fd_ = -1;
  if (::fsync(fd) != 0) {
    const int err = errno;
    ::close(fd);
    throw IoError(path_, err, "cannot fsync the password file");
  }
  if (::close(fd) != 0) throw IoError(path_, errno, "cannot close the password file");
  // Make the directory entry durable too; best effort (some file systems
  // refuse fsync on a directory).
  const std::string dir = directory_of(path_);
  const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd >= 0) {
    (void)::fsync(dir_fd);
    ::close(dir_fd);
  }
}

void PassFile::write_all(std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd_, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      throw IoError(path_, errno, "cannot write the password file");
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
}

std::string PassFile::default_name(std::chrono::system_clock::time_point when, const std::string& prefix) {
  const std::time_t t = std::chrono::system_clock::to_time_t(when);
  std::tm local{};
  if (::localtime_r(&t, &local) == nullptr) throw std::runtime_error("cannot convert the time to local time");
  std::array<char, 32> stamp{};
  const std::size_t n = std::strftime(stamp.data(), stamp.size(), "%Y-%m-%d_%H-%M-%S", &local);
  return prefix + "_" + std::string(stamp.data(), n) + ".pass";
}

std::string PassFile::csv_field(std::string_view field) {
  const bool special = field.find_first_of(",\"\r\n") != std::string_view::npos;
  const auto blank = [](char c) { return c == ' ' || c == '\t'; };
  const bool padded = !field.empty() && (blank(field.front()) || blank(field.back()));
  if (!special && !padded) return std::string(field);
  std::string out;
  out.reserve(field.size() + 2);
  out += '"';
  for (char c : field) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

}  // namespace mailmig
