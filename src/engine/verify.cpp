#include "engine/verify.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <deque>
#include <memory>
#include <set>
#include <utility>

#include "core/ascii.h"
#include "core/crlf.h"
#include "core/sha256.h"
#include "engine/migrate.h"

namespace mailmig {

namespace {

// One message as the comparison needs it. Kept small: a folder's messages are
// held while its target side is read (the bodies never are).
struct SourceMsg {
  std::uint64_t size = 0;
  Flags flags = 0;
  std::vector<std::string> keywords;  // normalised (see normal_keywords)
  std::optional<std::int64_t> date;
  std::uint32_t file = 0;  // index into Folder::files
  std::uint64_t offset = 0;
  std::string sha;  // empty: not hashed (outside the sample, or unreadable)
  bool sampled = true;
  bool paired = false;
};

struct TargetMsg {
  StoredMessage stored;
  std::vector<std::string> keywords;  // normalised
  bool paired = false;
};

// IMAP keywords are case-insensitive; order carries no meaning.
std::vector<std::string> sorted_unique(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
  return v;
}

// "INBOX" in any case is the one inbox (RFC 3501 5.1).
std::string folder_key(const std::string& name) {
  return ascii_lower(name) == "inbox" ? std::string("INBOX") : name;
}

std::string flag_text(Flags flags, const std::vector<std::string>& keywords) {
  std::string out = flags_to_imap(flags);
  for (const std::string& k : keywords) out += (out.empty() ? "" : " ") + k;
  return out.empty() ? "(none)" : out;
}

std::string short_hash(const std::string& sha) {
  return sha.substr(0, 12);
}

// splitmix64: spreads neighbouring positions evenly over the sample space.
std::uint64_t mix(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30U)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27U)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31U);
}

class AccountVerifier {
 public:
  AccountVerifier(Source& source, const AccountInfo& account, Target& target, const VerifyOptions& options,
                  ProblemSink& sink)
      : source_(source),
        account_(account),
        target_(target),
        options_(options),
        sink_(sink),
        key_(account_key(account)),
        name_(target_account_name(options.naming, account)),
        sampled_(options.sample_percent < 100) {
    result_.domain = account.domain;
    result_.account = account.name;
    result_.target_account = name_.key();
    result_.login.method = options.login_method;
  }

  AccountCheck run() {
    const auto started = std::chrono::steady_clock::now();
    if (log_in()) {
      check_recorded_password();
      compare_account();
      if (out_) out_->close();
    } else {
      check_recorded_password();
    }
    result_.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    if (result_.status == "ok") {
      if (result_.difference_count() != 0)
        result_.status = "differs";
      else if (result_.problems != 0)
        result_.status = "problems";
    }
    return std::move(result_);
  }

 private:
  void problem(Problem p, const std::string& folder = "") {
    p.domain = account_.domain;
    p.account = account_.name;
    if (p.folder.empty()) p.folder = folder;
    ++result_.problems;
    sink_.add(std::move(p));
  }

  void differ(Difference d, FolderCheck* folder = nullptr) {
    ++result_.by_kind[d.kind];
    if (folder != nullptr) ++folder->differences;
    if (result_.differences.size() < options_.max_differences) result_.differences.push_back(std::move(d));
  }

  void open_target() {
    const std::string password = options_.login_password ? options_.login_password(account_) : std::string();
    out_ = target_.open_account(name_.account, name_.domain, password);
  }

  bool log_in() {
    try {
      open_target();
      result_.login.ok = true;
      return true;
    } catch (const TargetAuthError& e) {
      result_.login.error = e.what();
      differ(Difference{.kind = DiffKind::LoginFailed,
                        .detail = fmt::format("target login refused: {}", e.what())});
    } catch (const std::exception& e) {
      result_.login.error = e.what();
      problem(Problem{.scope = Scope::Account,
                      .message = fmt::format("cannot log in on the target: {}", e.what())});
    }
    result_.status = "failed";
    return false;
  }

  // The password migrate recorded must let the user in: the one thing the
  // master-user verification cannot show.
  void check_recorded_password() {
    if (!options_.recorded_password || !options_.user_login) return;
    const std::optional<std::string> password = options_.recorded_password(account_, name_);
    if (!password) return;
    LoginCheck check{.method = "password-file"};
    check.error = options_.user_login(name_, *password);
    check.ok = check.error.empty();
    if (!check.ok) {
      differ(
          Difference{.kind = DiffKind::LoginFailed,
                     .detail = fmt::format("the password in the .pass file was refused: {}", check.error)});
    }
    result_.password_login = std::move(check);
  }

  void compare_account() {
    std::unique_ptr<Account> in;
    std::vector<FolderInfo> folders;
    try {
      in = source_.open_account(account_);
      folders = in->folders([&](Problem p) { problem(std::move(p)); });
    } catch (const std::exception& e) {
      problem(Problem{.scope = Scope::Account,
                      .file = account_.location,
                      .message = fmt::format("cannot read the account: {}", e.what())});
      result_.status = "failed";
      return;
    }
    std::vector<PlannedFolder> planned;
    std::vector<std::string> existing;
    try {
      existing = out_->folders();
      const auto earlier = options_.history != nullptr ? options_.history->target_folders(key_)
                                                       : std::map<std::string, std::string>{};
      planned = plan_folder_names(
          options_.naming, folders, [&](const std::string& n) { return out_->stored_name(n); }, earlier);
    } catch (const std::exception& e) {
      problem(Problem{.scope = Scope::Account,
                      .message = fmt::format("cannot list the target's folders: {}", e.what())});
      result_.status = "failed";
      return;
    }
    std::set<std::string> on_target;
    for (const std::string& f : existing) on_target.insert(folder_key(f));
    std::set<std::string> implied;  // target folders some source folder accounts for (and their parents)
    std::map<std::string, std::string> target_of;
    for (const PlannedFolder& p : planned) target_of[p.source] = p.target;
    for (const FolderInfo& folder : folders) {
      if (options_.stop != nullptr && options_.stop->load()) {
        problem(Problem{.scope = Scope::Account, .message = "interrupted: not every folder was verified"});
        return;
      }
      const std::string target = target_of.contains(folder.name) ? target_of[folder.name] : folder.name;
      // The listing gives neutral names; a component the target had to change
      // (it held the server's delimiter) is listed as stored_name() has it.
      const std::string neutral = folder_key(target);
      const std::string stored = folder_key(out_->stored_name(target));
      for (const std::string& name : {neutral, stored}) {
        for (std::string parent = name; !parent.empty();) {
          implied.insert(parent);
          const auto slash = parent.rfind('/');
          parent = slash == std::string::npos ? std::string() : parent.substr(0, slash);
        }
      }
      bool exists = on_target.contains(neutral) || on_target.contains(stored);
      // A directory-only source folder may exist on the target only as the
      // parent of its children (\Noselect, not listed as a mailbox).
      if (!exists && !folder.selectable &&
          std::any_of(on_target.begin(), on_target.end(),
                      [&](const std::string& t) { return t.starts_with(neutral + "/"); })) {
        continue;
      }
      verify_folder(*in, folder, target, exists);
    }
    for (const std::string& t : existing) {
      if (implied.contains(folder_key(t)) || folder_key(t) == "INBOX") continue;
      target_only_folder(t);
    }
  }

  void verify_folder(const Account& in, const FolderInfo& folder, const std::string& target, bool exists) {
    FolderCheck check{.name = folder.name, .target_name = target};
    std::vector<std::string> files;
    std::vector<SourceMsg> source;
    if (folder.selectable) read_source(in, folder, check, files, source);
    std::vector<TargetMsg> stored;
    const ReadResult read = exists ? read_target(target, folder.name,
                                                 sampled_ ? sample_filter(source) : WantBody(), check, stored)
                                   : ReadResult::Missing;
    if (read == ReadResult::Missing) {
      differ(
          Difference{.kind = DiffKind::FolderMissingOnTarget,
                     .folder = folder.name,
                     .detail = fmt::format("target folder \"{}\" does not exist ({} messages in the source)",
                                           target, check.messages_source)},
          &check);
    }
    if (read != ReadResult::Read) {
      result_.folders.push_back(std::move(check));
      return;
    }
    compare(folder.name, files, source, stored, check);
    result_.folders.push_back(std::move(check));
  }

  std::vector<std::string> normal_source_keywords(const std::vector<std::string>& keywords) const {
    std::vector<std::string> out;
    for (const std::string& k : keywords) {
      if (auto stored = target_.stored_keyword(k)) out.push_back(ascii_lower(*stored));
    }
    return sorted_unique(std::move(out));
  }

  void read_source(const Account& in, const FolderInfo& folder, FolderCheck& check,
                   std::vector<std::string>& files, std::vector<SourceMsg>& out) {
    try {
      std::unique_ptr<Folder> box = in.open_folder(folder);
      std::uint64_t position = 0;
      box->scan(
          [&](const MessageInfo& m) {
            ++check.messages_source;
            check.bytes_source += m.size;
            if (files.empty() || files.back() != m.file) files.push_back(m.file);
            SourceMsg s{
                .size = m.size,
                .flags = m.flags,
                .keywords = normal_source_keywords(m.keywords),
                .file = static_cast<std::uint32_t>(files.size() - 1),
                .offset = m.offset,
                .sampled = !sampled_ || in_sample(key_, folder.name, position, options_.sample_percent)};
            ++position;
            if (m.internal_date) s.date = m.internal_date->epoch;
            if (s.sampled) {
              try {
                // The engine's identity: SHA-256 of the bytes the target received.
                CrlfReader reader(box->open(m));
                s.sha = sha256_of(reader);
                ++check.checked;
              } catch (const std::exception& e) {
                problem(Problem{.scope = Scope::Message,
                                .file = m.file,
                                .offset = m.offset,
                                .message = fmt::format("cannot read the source message: {}", e.what())},
                        folder.name);
              }
            }
            out.push_back(std::move(s));
          },
          [&](Problem p) { problem(std::move(p), folder.name); });
    } catch (const std::exception& e) {
      problem(Problem{.scope = Scope::Folder,
                      .file = folder.location,
                      .message = fmt::format("cannot read the source folder: {}", e.what())},
              folder.name);
    }
  }

  // With a sample, only target messages that could be the copy of a sampled
  // source message are fetched whole: same size and (when the source has
  // one) same date.
  static WantBody sample_filter(const std::vector<SourceMsg>& source) {
    auto wanted = std::make_shared<std::set<std::pair<std::uint64_t, std::optional<std::int64_t>>>>();
    for (const SourceMsg& s : source) {
      if (s.sampled) wanted->emplace(s.size, s.date);
    }
    return [wanted](const StoredMessage& m) {
      const std::optional<std::int64_t> date =
          m.internal_date ? std::optional<std::int64_t>(m.internal_date->epoch) : std::nullopt;
      return wanted->contains({m.size, date}) || wanted->contains({m.size, std::nullopt});
    };
  }

  enum class ReadResult : std::uint8_t { Read, Missing, Failed };

  // Reads the target folder; a dropped connection is retried once on a new
  // session. A failure is reported here; a missing folder is the caller's.
  ReadResult read_target(const std::string& target, const std::string& folder, const WantBody& want,
                         FolderCheck& check, std::vector<TargetMsg>& out) {
    for (int attempt = 0;; ++attempt) {
      out.clear();
      try {
        out_->read_folder(target, want, [&](const StoredMessage& m) {
          TargetMsg t{.stored = m};
          for (const std::string& k : m.keywords) {
            if (!k.starts_with('\\')) t.keywords.push_back(ascii_lower(k));  // \Recent is session state
          }
          t.keywords = sorted_unique(std::move(t.keywords));
          out.push_back(std::move(t));
        });
        break;
      } catch (const TargetFolderMissing&) {
        return ReadResult::Missing;
      } catch (const std::exception& e) {
        if (attempt == 0) {
          spdlog::warn("{} {}: reading the target folder failed ({}); retrying on a new connection", key_,
                       folder, e.what());
          try {
            open_target();
            continue;
          } catch (const std::exception& again) {
            problem(Problem{.scope = Scope::Folder,
                            .message = fmt::format("cannot reconnect to the target: {}", again.what())},
                    folder);
            return ReadResult::Failed;
          }
        }
        problem(Problem{.scope = Scope::Folder,
                        .message = fmt::format("cannot read the target folder \"{}\": {}", target, e.what())},
                folder);
        return ReadResult::Failed;
      }
    }
    for (const TargetMsg& t : out) {
      ++check.messages_target;
      check.bytes_target += t.stored.size;
    }
    return ReadResult::Read;
  }

  void compare(const std::string& folder, const std::vector<std::string>& files,
               std::vector<SourceMsg>& source, std::vector<TargetMsg>& stored, FolderCheck& check) {
    auto source_diff = [&](DiffKind kind, const SourceMsg& s, std::optional<std::uint32_t> uid,
                           std::string detail) {
      differ(Difference{.kind = kind,
                        .folder = folder,
                        .sha256 = s.sha,
                        .source_file = files[s.file],
                        .source_offset = s.offset,
                        .target_uid = uid,
                        .detail = std::move(detail)},
             &check);
    };
    auto pair = [&](SourceMsg& s, TargetMsg& t) {
      s.paired = t.paired = true;
      if (s.flags != t.stored.flags || s.keywords != t.keywords) {
        source_diff(DiffKind::FlagsDiffer, s, t.stored.uid,
                    fmt::format("source {}, target {}", flag_text(s.flags, s.keywords),
                                flag_text(t.stored.flags, t.keywords)));
      }
      const bool future_refused =
          s.date && t.stored.internal_date && *s.date > now_ && t.stored.internal_date->epoch < *s.date;
      if (future_refused) {
        // Servers (Dovecot) store the arrival time instead of a date in the
        // future: the source's own oddity, not a migration fault.
        spdlog::info("{}: target UID {}: source date {} lies in the future; the server stored {}", folder,
                     t.stored.uid, format_iso8601(DateTime{.epoch = *s.date}),
                     format_iso8601(*t.stored.internal_date));
      } else if (s.date && t.stored.internal_date && *s.date != t.stored.internal_date->epoch) {
        source_diff(DiffKind::DateDiffers, s, t.stored.uid,
                    fmt::format("source {}, target {}", format_iso8601(DateTime{.epoch = *s.date}),
                                format_iso8601(*t.stored.internal_date)));
      }
    };

    // 1. Through the state: the source message (hash, ordinal) went to UID U.
    //    Only a full run knows every ordinal, as migrate counted them.
    std::map<std::uint32_t, std::size_t> by_uid;
    for (std::size_t i = 0; i < stored.size(); ++i) by_uid[stored[i].stored.uid] = i;
    if (options_.history != nullptr && !sampled_) {
      const std::map<MessageKey, std::uint32_t> copied = options_.history->copied(key_, folder);
      std::map<std::string, std::uint32_t> seen;
      for (SourceMsg& s : source) {
        if (s.sha.empty()) continue;
        const MessageKey key{s.sha, seen[s.sha]++};
        const auto c = copied.find(key);
        if (c == copied.end()) continue;
        const auto u = by_uid.find(c->second);
        if (u == by_uid.end() || stored[u->second].paired || stored[u->second].stored.sha256.empty())
          continue;
        TargetMsg& t = stored[u->second];
        if (t.stored.sha256 == s.sha) {
          pair(s, t);
        } else {
          s.paired = t.paired = true;
          source_diff(DiffKind::Altered, s, t.stored.uid,
                      fmt::format("target UID {} now holds content {} ({} bytes, source {} bytes)",
                                  t.stored.uid, short_hash(t.stored.sha256), t.stored.size, s.size));
        }
      }
    }

    // 2. By content, copies in source order against UIDs in order.
    std::map<std::string, std::deque<std::size_t>> pool;
    for (std::size_t i = 0; i < stored.size(); ++i) {
      if (!stored[i].paired && !stored[i].stored.sha256.empty()) pool[stored[i].stored.sha256].push_back(i);
    }
    std::map<std::string, std::uint64_t> in_source;
    for (SourceMsg& s : source) {
      if (s.sha.empty()) continue;
      ++in_source[s.sha];
      if (s.paired) continue;
      auto p = pool.find(s.sha);
      if (p != pool.end() && !p->second.empty()) {
        pair(s, stored[p->second.front()]);
        p->second.pop_front();
      } else {
        source_diff(DiffKind::Missing, s, std::nullopt, fmt::format("{} bytes, not on the target", s.size));
      }
    }

    // 3. What is left on the target. With a sample, a hashed target message
    //    may be the copy of an unsampled source message: the totals speak.
    if (!sampled_) {
      for (const TargetMsg& t : stored) {
        if (t.paired || t.stored.sha256.empty()) continue;
        const bool known = in_source.contains(t.stored.sha256);
        differ(
            Difference{.kind = known ? DiffKind::Duplicated : DiffKind::Extra,
                       .folder = folder,
                       .sha256 = t.stored.sha256,
                       .target_uid = t.stored.uid,
                       .detail = known ? fmt::format("another copy of a message the source holds {} time(s)",
                                                     in_source[t.stored.sha256])
                                       : fmt::format("{} bytes, not in the source folder", t.stored.size)},
            &check);
      }
    } else if (check.messages_source != check.messages_target || check.bytes_source != check.bytes_target) {
      differ(Difference{.kind = DiffKind::TotalsDiffer,
                        .folder = folder,
                        .detail = fmt::format("source {} messages / {} bytes, target {} messages / {} bytes",
                                              check.messages_source, check.bytes_source,
                                              check.messages_target, check.bytes_target)},
             &check);
    }
  }

  void target_only_folder(const std::string& name) {
    FolderCheck check{.target_name = name};
    std::vector<TargetMsg> stored;
    // Metadata only: there is nothing to compare the bodies with.
    const bool read =
        read_target(
            name, name, [](const StoredMessage&) { return false; }, check, stored) == ReadResult::Read;
    differ(
        Difference{.kind = DiffKind::FolderMissingInSource,
                   .folder = name,
                   .detail = read ? fmt::format("target folder \"{}\" ({} messages) matches no source folder",
                                                name, check.messages_target)
                                  : fmt::format("target folder \"{}\" matches no source folder", name)},
        &check);
    result_.folders.push_back(std::move(check));
  }

  Source& source_;
  const AccountInfo& account_;
  Target& target_;
  const VerifyOptions& options_;
  ProblemSink& sink_;
  std::string key_;
  TargetAccountName name_;
  const bool sampled_;
  std::unique_ptr<TargetAccount> out_;
  AccountCheck result_;
  const std::int64_t now_ =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
};

}  // namespace

const char* diff_kind_name(DiffKind kind) {
  switch (kind) {
    case DiffKind::Missing:
      return "missing";
    case DiffKind::Extra:
      return "extra";
    case DiffKind::Duplicated:
      return "duplicated";
    case DiffKind::Altered:
      return "altered";
    case DiffKind::FlagsDiffer:
      return "flags_differ";
    case DiffKind::DateDiffers:
      return "date_differs";
    case DiffKind::FolderMissingOnTarget:
      return "folder_missing_on_target";
    case DiffKind::FolderMissingInSource:
      return "folder_missing_in_source";
    case DiffKind::LoginFailed:
      return "login_failed";
    case DiffKind::TotalsDiffer:
      return "totals_differ";
  }
  return "unknown";
}

std::uint64_t AccountCheck::difference_count() const {
  std::uint64_t n = 0;
  for (const auto& [kind, count] : by_kind) n += count;
  return n;
}

bool in_sample(const std::string& account_key, const std::string& folder, std::uint64_t position,
               double percent) {
  if (percent >= 100) return true;
  // FNV-1a over account and folder, then mixed with the position.
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (const std::string* part : {&account_key, &folder}) {
    for (char c : *part) h = (h ^ static_cast<unsigned char>(c)) * 0x100000001b3ULL;
    h = (h ^ 0xffU) * 0x100000001b3ULL;
  }
  constexpr std::uint64_t kScale = 1000000;  // percent with four decimals
  constexpr double kPerPercent = 10000.0;    // kScale / 100
  return mix(h ^ mix(position)) % kScale < static_cast<std::uint64_t>(percent * kPerPercent);
}

AccountCheck verify_account(Source& source, const AccountInfo& account, Target& target,
                            const VerifyOptions& options, ProblemSink& sink) {
  return AccountVerifier(source, account, target, options, sink).run();
}

}  // namespace mailmig
