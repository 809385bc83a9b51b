#include "cli/target_options.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "core/error.h"
#include "core/user_db.h"
#include "target/maildir/maildir_target.h"

namespace mailmig::cli {

namespace {

std::string read_private_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw std::runtime_error(fmt::format("cannot read {}: {}", path, error_text(errno)));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    throw std::runtime_error(fmt::format("{} is not a regular file", path));
  }
  if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    ::close(fd);
    throw std::runtime_error(
        fmt::format("{} holds a password but is readable by group or others (mode {:o}); "
                    "chmod 600 it",
                    path, st.st_mode & 07777));
  }
  std::string text;
  std::array<char, 4096> buf{};
  for (;;) {
    const ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    text.append(buf.data(), static_cast<std::size_t>(n));
  }
  ::close(fd);
  return text;
}

}  // namespace

void add_target_options(CLI::App& command, TargetArgs& args) {
  command
      .add_option(
          "--target", args.target,
          "Target: imap://HOST:PORT, imaps://HOST:PORT, or maildir:PATH (a Dovecot Maildir++ tree written "
          "directly)")
      ->required();
  command.add_option("--auth", args.auth, "Login: user | dovecot-master | sasl-authzid | kerio-master")
      ->check(CLI::IsMember({"user", "dovecot-master", "sasl-authzid", "kerio-master"}));
  command.add_option("--master-user", args.master_user,
                     "Master/admin login name (dovecot-master, sasl-authzid)");
  command.add_option("--master-password-file", args.master_password_file,
                     "File holding the master password (mode 600); or set MAILMIG_MASTER_PASSWORD");
  command.add_option("--login-format", args.login_format,
                     "Target login name: %u account, %d domain (default %u@%d)");
  command.add_option("--master-separator", args.master_separator,
                     "dovecot-master: user<SEP>master (default *)");
  command.add_option("--ca-file", args.ca_file, "PEM file of CA certificates to trust for the target");
  command.add_flag("--insecure", args.insecure, "Do not verify the target's TLS certificate (warned)");
  command.add_flag("--allow-plaintext", args.allow_plaintext,
                   "Allow credentials over an unencrypted connection to a non-loopback host");
  command.add_option("--trace", args.trace,
                     "Write the IMAP conversation to FILE (secrets and bodies redacted)");
  command.add_option(
      "--passwords", args.passwords_file,
      "--auth user: file of \"account@domain password\" lines, for accounts whose source password "
      "is not readable (mode 600)");
  command.add_option("--append-mode", args.append_mode, "auto | multiappend | pipelined | roundtrip")
      ->check(CLI::IsMember({"auto", "multiappend", "pipelined", "roundtrip"}));
  command.add_option("--timeout", args.timeout_seconds,
                     "Seconds without progress before a connection is dropped");
  command.add_option(
      "--target-user-path", args.target_user_path,
      "maildir target: each account's Maildir below PATH: %d domain, %n local part, %u address "
      "(default %d/%n/Maildir)");
  command.add_option("--fsync", args.fsync, "maildir target: never | batch | always (default batch)")
      ->check(CLI::IsMember({"never", "batch", "always"}));
  command.add_option("--owner", args.owner,
                     "maildir target: USER[:GROUP] to own what is written (when run as root)");
}

bool target_is_imap(const TargetArgs& args) {
  return !args.target.starts_with("maildir:");
}

namespace {

std::unique_ptr<Target> make_maildir_target(const TargetArgs& args) {
  MaildirTargetOptions options;
  options.root = args.target.substr(std::string_view("maildir:").size());
  if (options.root.empty()) throw std::invalid_argument("--target maildir:PATH needs a PATH");
  options.path_pattern = args.target_user_path;
  options.fsync = args.fsync == "never"    ? MaildirTargetOptions::Fsync::Never
                  : args.fsync == "always" ? MaildirTargetOptions::Fsync::Always
                                           : MaildirTargetOptions::Fsync::Batch;
  if (!args.owner.empty()) {
    const auto colon = args.owner.find(':');
    const std::string user = args.owner.substr(0, colon);
    const std::optional<UserIds> ids = lookup_user(user);
    if (!ids) throw std::invalid_argument(fmt::format("--owner: no user \"{}\"", user));
    options.owner_uid = ids->uid;
    options.owner_gid = ids->gid;
    if (colon != std::string::npos) {
      const std::string group_name = args.owner.substr(colon + 1);
      const std::optional<gid_t> gid = lookup_group(group_name);
      if (!gid) throw std::invalid_argument(fmt::format("--owner: no group \"{}\"", group_name));
      options.owner_gid = *gid;
    }
  }
  return std::make_unique<MaildirTarget>(std::move(options));
}

}  // namespace

std::string login_password_for(const AccountInfo& account,
                               const std::map<std::string, std::string>& passwords) {
  if (auto it = passwords.find(account.name + "@" + account.domain); it != passwords.end()) return it->second;
  if (account.password.kind == PasswordInfo::Kind::Plain) return account.password.value;
  return {};
}

std::string read_secret_file(const std::string& path) {
  std::string text = read_private_file(path);
  if (auto eol = text.find_first_of("\r\n"); eol != std::string::npos) text.resize(eol);
  return text;
}

std::map<std::string, std::string> read_password_list(const std::string& path) {
  std::map<std::string, std::string> out;
  std::istringstream in(read_private_file(path));
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || line.front() == '#') continue;
    const auto space = line.find_first_of(" \t");
    if (space == std::string::npos)
      throw std::runtime_error(fmt::format("{}: a line without a password", path));
    out[line.substr(0, space)] = line.substr(line.find_first_not_of(" \t", space));
  }
  return out;
}

std::unique_ptr<Target> make_target(const TargetArgs& args) {
  if (!target_is_imap(args)) return make_maildir_target(args);
  ImapTargetOptions options;
  options.connect.server = imap::parse_server_url(args.target);
  options.connect.tls.ca_file = args.ca_file;
  options.connect.tls.insecure = args.insecure;
  options.connect.allow_plaintext = args.allow_plaintext;
  options.connect.timeout = std::chrono::seconds(args.timeout_seconds);
  if (args.insecure) spdlog::warn("--insecure: the target's TLS certificate is not verified");
  options.auth = imap::parse_auth_method(args.auth);
  options.master_user = args.master_user;
  options.master_separator = args.master_separator;
  options.login_format = args.login_format;
  if (options.auth != imap::AuthMethod::User) {
    if ((options.auth == imap::AuthMethod::DovecotMaster || options.auth == imap::AuthMethod::SaslAuthzid) &&
        args.master_user.empty()) {
      throw std::invalid_argument(fmt::format("--auth {} needs --master-user", args.auth));
    }
    if (!args.master_password.empty()) {
      options.master_password = args.master_password;
    } else if (!args.master_password_file.empty()) {
      options.master_password = read_secret_file(args.master_password_file);
      // NOLINTNEXTLINE(concurrency-mt-unsafe): read before any thread starts
    } else if (const char* env = std::getenv("MAILMIG_MASTER_PASSWORD"); env != nullptr) {
      options.master_password = env;
    } else {
      throw std::invalid_argument(fmt::format(
          "--auth {} needs the master password: --master-password-file FILE or MAILMIG_MASTER_PASSWORD",
          args.auth));
    }
  }
  if (args.append_mode == "multiappend")
    options.append.mode = imap::AppendMode::MultiAppend;
  else if (args.append_mode == "pipelined")
    options.append.mode = imap::AppendMode::Pipelined;
  else if (args.append_mode == "roundtrip")
    options.append.mode = imap::AppendMode::RoundTrip;
  if (!args.trace.empty()) options.connect.trace = std::make_shared<imap::Trace>(args.trace);
  return std::make_unique<ImapTarget>(std::move(options));
}

}  // namespace mailmig::cli
