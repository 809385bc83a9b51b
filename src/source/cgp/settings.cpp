#include "source/cgp/settings.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cctype>
#include <cerrno>
#include <cstring>

#include "core/error.h"
#include "core/fs.h"

namespace mailmig::cgp {

namespace {

// Settings files are small dictionaries; anything bigger is not one.
constexpr off_t kMaxSettingsSize = 64L * 1024 * 1024;

// Hash prefixes that mark a stored password as not usable for a login.
constexpr std::array<std::string_view, 9> kHashPrefixes = {
    "{SHA}", "{SSHA}", "{MD5}", "{CRYPT}", "{SHA256}", "{SHA512}", "$1$", "$5$", "$6$"};

std::optional<std::string> slurp(const std::string& path, const ProblemFn& problem) {
  // A FIFO named account.settings must not hang the run: open_regular.
  const int fd = fs::open_regular(AT_FDCWD, path.c_str());
  if (fd < 0) {
    problem(Problem{.file = path, .message = fmt::format("cannot open settings: {}", error_text(errno))});
    return std::nullopt;
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > kMaxSettingsSize) {
    ::close(fd);
    problem(Problem{.file = path, .message = "not a regular settings file of sane size"});
    return std::nullopt;
  }
  std::string text(static_cast<std::size_t>(st.st_size), '\0');
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::pread(fd, text.data() + done, text.size() - done, static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int err = n < 0 ? errno : EIO;
      ::close(fd);
      problem(
          Problem{.file = path, .offset = done, .message = fmt::format("read error: {}", error_text(err))});
      return std::nullopt;
    }
    done += static_cast<std::size_t>(n);
  }
  ::close(fd);
  return text;
}

}  // namespace

std::optional<Value> read_settings_file(const std::string& path, const ProblemFn& problem) {
  auto text = slurp(path, problem);
  if (!text) return std::nullopt;
  try {
    return parse(*text);
  } catch (const ParseError& e) {
    problem(Problem{.file = path,
                    .line = e.line(),
                    .column = e.column(),
                    .message = fmt::format("settings syntax error: {}", e.reason())});
    return std::nullopt;
  }
}

PasswordInfo interpret_password(const Value* password) {
  PasswordInfo info;
  if (password == nullptr || !password->is_string() || password->text().empty()) return info;
  const std::string& text = password->text();
  if (text.front() == '\x01') {
    // "\001U-crpt<data>": the method tag is "<name>-crpt" when present (the
    // data may follow without a separator), else the leading run of tag
    // characters. The whole stored form is kept for a hash-aware target.
    std::size_t end = 1;
    if (auto crpt = text.find("-crpt", 1); crpt <= 16) {
      end = crpt + 5;
    } else {
      auto tag_char = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-'; };
      while (end < text.size() && end < 17 && tag_char(text[end])) ++end;
    }
    info.kind = PasswordInfo::Kind::Encrypted;
    info.scheme = text.substr(1, end - 1);
    info.value = text.substr(1);
    return info;
  }
  for (std::string_view prefix : kHashPrefixes) {
    if (text.starts_with(prefix)) {
      info.kind = PasswordInfo::Kind::Encrypted;
      info.scheme = std::string(prefix);
      info.value = text;
      return info;
    }
  }
  info.kind = PasswordInfo::Kind::Plain;
  info.value = text;
  return info;
}

AccountSettings interpret_account_settings(const Value& settings) {
  AccountSettings out;
  out.password = interpret_password(settings.find("Password"));
  if (const Value* name = settings.find("RealName"); name != nullptr && name->is_string())
    out.real_name = name->text();
  return out;
}

AccountState interpret_account_info(const Value& info) {
  AccountState out;
  for (const char* key : {"Subscription", "SubscribedMailboxes"}) {
    const Value* list = info.find(key);
    if (list == nullptr) continue;
    for (const Value& item : list->items()) {
      if (item.is_string()) out.subscribed.push_back(item.text());
    }
  }
  return out;
}

std::optional<std::string> main_domain_name(const Value& main_settings) {
  const Value* name = main_settings.find("DomainName");
  if (name == nullptr || !name->is_string() || name->text().empty()) return std::nullopt;
  return name->text();
}

std::vector<std::string> domain_aliases(const Value& domain_settings) {
  std::vector<std::string> out;
  const Value* list = domain_settings.find("DomainAliases");
  if (list == nullptr) return out;
  if (list->is_string()) {
    out.push_back(list->text());
    return out;
  }
  for (const Value& item : list->items()) {
    if (item.is_string()) out.push_back(item.text());
  }
  return out;
}

}  // namespace mailmig::cgp
