#include "cli/source_spec.h"

#include <fmt/format.h>

#include "cli/target_options.h"
#include "core/error.h"
#include "imap/login.h"
#include "source/archive/archive_reader.h"
#include "source/archive/archive_source.h"
#include "source/cgp/store.h"
#include "source/imap/imap_source.h"
#include "source/maildir/maildir_source.h"
#include "source/maildir/user_paths.h"
#include "source/mbox/mbox_source.h"
#include "source/sftp/sftp_tree.h"
#include "source/sftp/ssh_url.h"

namespace mailmig::cli {

namespace {

bool is_glob(const std::string& text) {
  return text.find_first_of("*?[") != std::string::npos;
}

OpenedSource open_imap_source(const std::string& spec, const SourceOptions& o) {
  ImapSourceOptions options;
  options.connect.server = imap::parse_server_url(spec);
  options.connect.tls.ca_file = o.source_ca_file;
  options.connect.tls.insecure = o.source_insecure;
  options.connect.allow_plaintext = o.source_allow_plaintext;
  options.connect.timeout = std::chrono::seconds(o.source_timeout_seconds);
  options.auth = imap::parse_auth_method(o.source_auth);
  options.master_user = o.source_master_user;
  options.master_separator = o.source_master_separator;
  options.login_format = o.source_login_format;
  if (!o.source_passwords.empty()) options.passwords = read_password_list(o.source_passwords);
  if (options.auth != imap::AuthMethod::User) {
    if (o.source_master_password_file.empty()) {
      throw std::invalid_argument(
          fmt::format("--source-auth {} needs --source-master-password-file", o.source_auth));
    }
    options.master_password = read_secret_file(o.source_master_password_file);
  } else if (options.passwords.empty()) {
    throw std::invalid_argument("--source-auth user needs the users' passwords: --source-passwords FILE");
  }
  options.accounts = o.accounts;
  options.default_domain = o.domain;
  auto source = make_imap_source(std::move(options));
  return OpenedSource{std::move(source), fmt::format("IMAP server {} ({} login)", spec, o.source_auth)};
}

// maildir+ssh://: the Maildir source read over SFTP.
OpenedSource open_maildir_ssh_source(const std::string& spec, const SourceOptions& o,
                                     const maildir::TreeOptions& tree_options) {
  sftp::SshOptions ssh;
  try {
    ssh.url = sftp::parse_maildir_ssh_url(spec);
  } catch (const std::invalid_argument& e) {
    throw SpecError(e.what());
  }
  ssh.key_file = o.ssh_key;
  if (!o.ssh_key_passphrase_file.empty()) ssh.key_passphrase = read_secret_file(o.ssh_key_passphrase_file);
  ssh.known_hosts = o.ssh_known_hosts.empty() ? sftp::default_known_hosts() : o.ssh_known_hosts;
  std::shared_ptr<FileTree> tree;
  try {
    tree = sftp::open_sftp_tree(ssh);
  } catch (const sftp::SshError& e) {
    throw SpecError(fmt::format("maildir+ssh source {}: {}", sftp::ssh_endpoint(ssh.url), e.what()));
  } catch (const IoError& e) {
    throw SpecError(fmt::format("maildir+ssh source: {}", e.what()));
  }
  maildir::OpenedTree opened = maildir::open_maildir_tree(ssh.url.path, tree_options, tree);
  return OpenedSource{std::move(opened.source),
                      fmt::format("Maildir++ tree {} on {} over SFTP ({}; host key checked against {})",
                                  ssh.url.path, sftp::ssh_endpoint(ssh.url), opened.layout, ssh.known_hosts)};
}

}  // namespace

void add_source_options(CLI::App& command, SourceOptions& o) {
  command.add_option("--main-domain,--primary-domain", o.main_domain, "CommuniGate: name of the main domain");
  command.add_flag(
      "--allow-live-store", o.allow_live,
      "CommuniGate: read a running server's store (messages still being written wait for the next sync)");
  command.add_option("--user-path", o.user_path,
                     "maildir/mbox source: where the accounts are, e.g. /var/vmail/%d/%n/Maildir (%d %n %u)");
  command.add_option("--inbox-path", o.inbox_path,
                     "mbox source: each account's INBOX file, e.g. /var/mail/%n");
  command.add_option("--mbox-format", o.mbox_format, "mbox source: auto | mboxo | mboxrd | mboxcl | mboxcl2");
  command
      .add_option(
          "--archive-layout", o.archive_layout,
          "archive source: what the backup holds: auto | sme (SME Server full backup) | maildir | cgp")
      ->check(CLI::IsMember({"auto", "sme", "maildir", "cgp"}));
  command
      .add_option("--source-auth", o.source_auth,
                  "IMAP source login: user | dovecot-master | sasl-authzid | kerio-master")
      ->check(CLI::IsMember({"user", "dovecot-master", "sasl-authzid", "kerio-master"}));
  command.add_option("--source-master-user", o.source_master_user, "IMAP source: master/admin login name");
  command.add_option("--source-master-password-file", o.source_master_password_file,
                     "IMAP source: file holding the master password (mode 600)");
  command.add_option("--source-master-separator", o.source_master_separator,
                     "IMAP source, dovecot-master: user<SEP>master");
  command.add_option("--source-login-format", o.source_login_format,
                     "IMAP source login name: %u account, %d domain");
  command.add_option(
      "--source-passwords", o.source_passwords,
      "IMAP source: file of \"account@domain password\" lines (mode 600); also names the accounts");
  command.add_option("--source-ca-file", o.source_ca_file,
                     "IMAP source: PEM file of CA certificates to trust");
  command.add_flag("--source-insecure", o.source_insecure,
                   "IMAP source: do not verify the TLS certificate (warned)");
  command.add_flag("--source-allow-plaintext", o.source_allow_plaintext,
                   "IMAP source: allow credentials over an unencrypted connection to a non-loopback host");
  command.add_option(
      "--ssh-key", o.ssh_key,
      "maildir+ssh source: private key to log in with (default: the ssh agent, then ~/.ssh/id_*)");
  command.add_option("--ssh-key-passphrase-file", o.ssh_key_passphrase_file,
                     "maildir+ssh source: file holding the passphrase of --ssh-key (mode 600)");
  command.add_option(
      "--ssh-known-hosts", o.ssh_known_hosts,
      "maildir+ssh source: known_hosts file the host key must be in (default ~/.ssh/known_hosts)");
}

bool is_imap_spec(const std::string& spec) {
  return spec.starts_with("imap://") || spec.starts_with("imaps://");
}

void take_selection(SourceOptions& o, const std::string& spec, const Selection& selection) {
  if (!is_glob(selection.domain)) o.domain = selection.domain;
  std::string user = selection.user;
  if (!is_glob(user)) {
    o.user = user;
    if (auto at = user.rfind('@'); at != std::string::npos) {
      o.user = user.substr(0, at);
      if (o.domain.empty()) o.domain = user.substr(at + 1);
    }
  }
  if (!is_imap_spec(spec)) return;
  if (!user.empty() && !is_glob(user))
    o.accounts.push_back(user.find('@') != std::string::npos || o.domain.empty() ? user
                                                                                 : user + "@" + o.domain);
  if (selection.listed)
    o.accounts.insert(o.accounts.end(), selection.listed->begin(), selection.listed->end());
}

archive::ArchiveOptions archive_options(const SourceOptions& o) {
  const auto layout = archive::parse_layout(o.archive_layout);
  if (!layout)
    throw SpecError(
        fmt::format("--archive-layout \"{}\": expected auto, sme, maildir or cgp", o.archive_layout));
  archive::ArchiveOptions options;
  options.layout = archive::LayoutOptions{.layout = *layout,
                                          .user_path = o.user_path,
                                          .domain = o.domain,
                                          .user = o.user,
                                          .main_domain = o.main_domain};
  return options;
}

OpenedSource open_source(const std::string& spec, const SourceOptions& options) {
  if (is_imap_spec(spec)) return open_imap_source(spec, options);
  const auto colon = spec.find(':');
  if (colon == std::string::npos || colon == 0) {
    throw SpecError(
        fmt::format("source \"{}\" must be written scheme:location, e.g. cgp:/var/CommuniGate", spec));
  }
  const std::string scheme = spec.substr(0, colon);
  const std::string location = spec.substr(colon + 1);
  if (scheme == "cgp") {
    auto store =
        std::make_unique<cgp::Store>(location, cgp::StoreOptions{options.main_domain, options.allow_live});
    std::string description = fmt::format("CommuniGate Pro store {} (main domain {}, from {})", store->root(),
                                          store->main_domain(), store->main_domain_origin());
    return OpenedSource{std::move(store), std::move(description)};
  }
  const maildir::TreeOptions tree{
      .user_path = options.user_path, .domain = options.domain, .user = options.user};
  try {
    if (sftp::is_maildir_ssh_spec(spec)) return open_maildir_ssh_source(spec, options, tree);
    if (scheme == "maildir") {
      maildir::OpenedTree opened = maildir::open_maildir_tree(location, tree);
      return OpenedSource{std::move(opened.source),
                          fmt::format("Maildir++ tree {} ({})", location, opened.layout)};
    }
    if (scheme == "archive") {
      const archive::ArchiveOptions archive_options = cli::archive_options(options);
      try {
        archive::OpenedArchive opened = archive::open_archive(location, archive_options);
        return OpenedSource{std::move(opened.source), std::move(opened.description)};
      } catch (const archive::ArchiveError& e) {
        throw SpecError(e.what());
      }
    }
    if (scheme == "mbox") {
      const auto format = mbox::parse_mbox_format(options.mbox_format);
      if (!format) {
        throw SpecError(fmt::format("--mbox-format \"{}\": expected auto, mboxo, mboxrd, mboxcl or mboxcl2",
                                    options.mbox_format));
      }
      maildir::OpenedTree opened = mbox::open_mbox_tree(
          location, mbox::MboxTreeOptions{.tree = tree, .inbox_path = options.inbox_path, .format = *format});
      std::string description = fmt::format(
          "mbox tree {} ({}; format {}{})", location, opened.layout, mbox::mbox_format_name(*format),
          options.inbox_path.empty() ? "" : "; INBOX " + options.inbox_path);
      return OpenedSource{std::move(opened.source), std::move(description)};
    }
  } catch (const maildir::SourceError& e) {
    throw SpecError(e.what());
  }
  throw SpecError(
      fmt::format("source scheme \"{}\" is not supported (supported: cgp, maildir, maildir+ssh://, mbox, "
                  "archive, imap, imaps)",
                  scheme));
}

}  // namespace mailmig::cli
