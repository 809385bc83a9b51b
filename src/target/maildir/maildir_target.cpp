#include "target/maildir/maildir_target.h"

#include <fmt/format.h>
#include <sys/stat.h>

#include <algorithm>

#include "core/error.h"
#include "core/fs.h"
#include "format/maildir/file_name.h"
#include "format/maildir/folder_names.h"
#include "imap/appender.h"
#include "target/maildir/dotlock.h"
#include "target/maildir/maildir_folder.h"
#include "target/maildir/path_pattern.h"

namespace mailmig {

namespace {

using maildir::FolderName;
using maildir::Mailbox;
using maildir::Settings;

// Dovecot's SUBSCRIPTION_FILE_CHANGE_TIMEOUT (stale) and _LOCK_TIMEOUT.
constexpr std::chrono::seconds kSubscriptionsStale{30};
constexpr std::chrono::seconds kSubscriptionsTimeout{120};

const char* fsync_name(MaildirTargetOptions::Fsync f) {
  switch (f) {
    case MaildirTargetOptions::Fsync::Never:
      return "never";
    case MaildirTargetOptions::Fsync::Batch:
      return "batch";
    case MaildirTargetOptions::Fsync::Always:
      return "always";
  }
  return "?";
}

class MaildirAccount final : public TargetAccount {
 public:
  explicit MaildirAccount(Settings settings) : settings_(std::move(settings)) {}

  std::unique_ptr<TargetFolder> open_folder(const std::string& neutral_name, bool subscribe,
                                            ResultFn on_result) override {
    FolderName name = maildir::map_folder(neutral_name);
    try {
      Mailbox box = mailbox(name);
      box.create();
      if (subscribe) add_subscription(name.neutral);
      return std::make_unique<maildir::MaildirTargetFolder>(std::move(box), std::move(name),
                                                            std::move(on_result));
    } catch (const IoError& e) {
      throw scoped_write_error(e);
    }
  }

  std::vector<std::string> folders() override {
    std::vector<std::string> out{"INBOX"};
    for (const fs::Entry& e : fs::list_directory(settings_.maildir_root)) {
      if (e.type != fs::Type::Directory) continue;
      if (auto folder = maildir::folder_of_directory(e.name)) out.push_back(folder->name);
    }
    std::sort(out.begin() + 1, out.end());
    return out;
  }

  std::string stored_name(const std::string& neutral_name) override {
    return maildir::map_folder(neutral_name).neutral;
  }

  void read_folder(const std::string& neutral_name, const WantBody& want_body,
                   const std::function<void(const StoredMessage&)>& on_message) override;

  void close() override {}

 private:
  [[nodiscard]] Mailbox mailbox(const FolderName& name) const {
    const bool inbox = name.directory.empty();
    return Mailbox(inbox ? settings_.maildir_root : fs::join(settings_.maildir_root, name.directory), inbox,
                   settings_);
  }

  // Dovecot's subsfile_set_subscribed(): under subscriptions.lock, the new
  // file is written into the lock file and renamed over the old one.
  void add_subscription(const std::string& neutral) {
    const std::string path = fs::join(settings_.maildir_root, "subscriptions");
    maildir::DotLock lock(path, kSubscriptionsStale, kSubscriptionsTimeout, settings_.owner);
    const std::optional<std::string> text = maildir::read_small_file(path);
    std::vector<std::string> names = text ? maildir::parse_subscriptions(*text) : std::vector<std::string>{};
    if (std::find(names.begin(), names.end(), neutral) != names.end()) return;
    names.push_back(neutral);
    maildir::replace_file(lock.lock_path(), path, maildir::format_subscriptions(names), settings_.syncing(),
                          settings_.owner);
    lock.replaced();
  }

  Settings settings_;
};

void MaildirAccount::read_folder(const std::string& neutral_name, const WantBody& want_body,
                                 const std::function<void(const StoredMessage&)>& on_message) {
  const FolderName name = maildir::map_folder(neutral_name);
  Mailbox box = mailbox(name);
  if (!box.exists())
    throw TargetFolderMissing(fmt::format("folder {} does not exist in {}", name.neutral, box.dir()));
  // Like Dovecot's SELECT, this numbers files the uidlist does not name yet.
  const maildir::Snapshot snap = box.sync();
  for (const maildir::UidRecord& r : snap.list.records) {
    std::optional<std::string> rel = snap.file_of(r.uid);
    if (!rel) continue;
    std::string path = box.path(*rel);
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
      rel = box.find_file(r.base);  // renamed by a flag change meanwhile
      if (!rel) continue;
      path = box.path(*rel);
      if (::stat(path.c_str(), &st) != 0) continue;
    }
    const maildir::FileName parsed = maildir::parse_file_name(rel->substr(4));
    StoredMessage m;
    m.uid = r.uid;
    m.flags = parsed.flags;
    m.keywords = snap.keywords.names_of(parsed.keyword_letters, nullptr);
    m.internal_date = DateTime{.epoch = st.st_mtime, .zone_minutes = 0};
    const bool want = !want_body || want_body(m);
    if (want || !parsed.rfc822_size) {
      // The bytes as Dovecot serves them: bare LF as CRLF.
      const maildir::Served served = maildir::read_served(path);
      m.size = served.size;
      if (want) m.sha256 = served.sha256;
    } else {
      m.size = *parsed.rfc822_size;
    }
    on_message(m);
  }
}

}  // namespace

MaildirTarget::MaildirTarget(MaildirTargetOptions options) : options_(std::move(options)) {}

std::string MaildirTarget::describe() const {
  return fmt::format("maildir:{} (accounts at {}, fsync {})", options_.root, options_.path_pattern,
                     fsync_name(options_.fsync));
}

// dovecot-keywords holds only IMAP atoms (format/maildir/keywords.h): the
// delivery stores what an IMAP APPEND to Dovecot would (maildir_folder.cpp).
std::optional<std::string> MaildirTarget::stored_keyword(const std::string& keyword) const {
  return imap::sanitize_keyword(keyword);
}

std::unique_ptr<TargetAccount> MaildirTarget::open_account(const std::string& account,
                                                           const std::string& domain,
                                                           const std::string& /*user_password*/) {
  const maildir::Owner owner{options_.owner_uid, options_.owner_gid};
  const std::string relative = maildir::expand_path_pattern(options_.path_pattern, account, domain);
  // Directories above the Maildir root (the domain's, shared by its accounts)
  // get 0711: a mail server running as the owner can pass, nobody can list them.
  maildir::ensure_dir(options_.root, 0711, {});
  std::string path = options_.root;
  std::size_t start = 0;
  for (;;) {
    const std::size_t slash = relative.find('/', start);
    path = fs::join(path,
                    relative.substr(start, slash == std::string::npos ? std::string::npos : slash - start));
    if (slash == std::string::npos) break;
    maildir::ensure_dir(path, 0711, owner);
    start = slash + 1;
  }
  Settings settings{.maildir_root = path, .fsync = options_.fsync, .owner = owner};
  Mailbox(path, true, settings).create();
  return std::make_unique<MaildirAccount>(std::move(settings));
}

}  // namespace mailmig
