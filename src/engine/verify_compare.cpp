#include "engine/verify_compare.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <utility>

#include "core/ascii.h"

namespace mailmig {

namespace {

std::string flag_text(Flags flags, const std::vector<std::string>& keywords) {
  std::string out = flags_to_imap(flags);
  for (const std::string& k : keywords) out += (out.empty() ? "" : " ") + k;
  return out.empty() ? "(none)" : out;
}

std::string short_hash(const std::string& sha) {
  return sha.substr(0, 12);
}

}  // namespace

std::vector<std::string> normal_keywords(std::vector<std::string> keywords) {
  for (std::string& k : keywords) k = ascii_lower(k);
  std::sort(keywords.begin(), keywords.end());
  keywords.erase(std::unique(keywords.begin(), keywords.end()), keywords.end());
  return keywords;
}

TargetCopy target_copy(const StoredMessage& stored) {
  TargetCopy t{.stored = stored};
  for (const std::string& k : stored.keywords) {
    if (!k.starts_with('\\')) t.keywords.push_back(k);  // \Recent is session state
  }
  t.keywords = normal_keywords(std::move(t.keywords));
  return t;
}

WantBody sample_filter(const std::vector<SourceCopy>& source) {
  auto wanted = std::make_shared<std::set<std::pair<std::uint64_t, std::optional<std::int64_t>>>>();
  for (const SourceCopy& s : source) {
    if (s.sampled) wanted->emplace(s.size, s.date);
  }
  return [wanted](const StoredMessage& m) {
    const std::optional<std::int64_t> date =
        m.internal_date ? std::optional<std::int64_t>(m.internal_date->epoch) : std::nullopt;
    return wanted->contains({m.size, date}) || wanted->contains({m.size, std::nullopt});
  };
}

namespace {

// Pairs one folder's source copies with its target copies, in three passes
// (through the state, by content, what is left), reporting each difference.
class FolderMatcher {
 public:
  FolderMatcher(const FolderComparison& c, SourceFolderRead& source, std::vector<TargetCopy>& stored,
                const std::function<void(Difference)>& differ)
      : c_(c), source_(source), stored_(stored), differ_(differ) {}

  // 1. Through the state: the source message (hash, ordinal) went to UID U.
  void match_through_state() {
    std::map<std::uint32_t, std::size_t> by_uid;
    for (std::size_t i = 0; i < stored_.size(); ++i) by_uid[stored_[i].stored.uid] = i;
    std::map<std::string, std::uint32_t> seen;
    for (SourceCopy& s : source_.messages) {
      if (s.sha.empty()) continue;
      const MessageKey key{s.sha, seen[s.sha]++};
      const auto copy = c_.copied->find(key);
      if (copy == c_.copied->end()) continue;
      const auto u = by_uid.find(copy->second);
      if (u == by_uid.end() || stored_[u->second].paired || stored_[u->second].stored.sha256.empty())
        continue;
      TargetCopy& t = stored_[u->second];
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
  void match_by_content() {
    std::map<std::string, std::deque<std::size_t>> pool;
    for (std::size_t i = 0; i < stored_.size(); ++i) {
      if (!stored_[i].paired && !stored_[i].stored.sha256.empty())
        pool[stored_[i].stored.sha256].push_back(i);
    }
    for (SourceCopy& s : source_.messages) {
      if (s.sha.empty()) continue;
      ++in_source_[s.sha];
      if (s.paired) continue;
      auto p = pool.find(s.sha);
      if (p != pool.end() && !p->second.empty()) {
        pair(s, stored_[p->second.front()]);
        p->second.pop_front();
      } else {
        source_diff(DiffKind::Missing, s, std::nullopt, fmt::format("{} bytes, not on the target", s.size));
      }
    }
  }

  // 3. What is left on the target: another copy of a source message, or mail
  //    the source never had.
  void report_leftovers() {
    for (const TargetCopy& t : stored_) {
      if (t.paired || t.stored.sha256.empty()) continue;
      const bool known = in_source_.contains(t.stored.sha256);
      differ_(Difference{.kind = known ? DiffKind::Duplicated : DiffKind::Extra,
                         .folder = c_.folder,
                         .sha256 = t.stored.sha256,
                         .target_uid = t.stored.uid,
                         .detail = known
                                       ? fmt::format("another copy of a message the source holds {} time(s)",
                                                     in_source_[t.stored.sha256])
                                       : fmt::format("{} bytes, not in the source folder", t.stored.size)});
    }
  }

 private:
  void source_diff(DiffKind kind, const SourceCopy& s, std::optional<std::uint32_t> uid, std::string detail) {
    differ_(Difference{.kind = kind,
                       .folder = c_.folder,
                       .sha256 = s.sha,
                       .source_file = source_.files[s.file],
                       .source_offset = s.offset,
                       .target_uid = uid,
                       .detail = std::move(detail)});
  }

  void pair(SourceCopy& s, TargetCopy& t) {
    s.paired = t.paired = true;
    if (s.flags != t.stored.flags || s.keywords != t.keywords) {
      source_diff(DiffKind::FlagsDiffer, s, t.stored.uid,
                  fmt::format("source {}, target {}", flag_text(s.flags, s.keywords),
                              flag_text(t.stored.flags, t.keywords)));
    }
    const bool future_refused =
        s.date && t.stored.internal_date && *s.date > c_.now && t.stored.internal_date->epoch < *s.date;
    if (future_refused) {
      // Servers (Dovecot) store the arrival time instead of a date in the
      // future: the source's own oddity, not a migration fault.
      spdlog::info("{}: target UID {}: source date {} lies in the future; the server stored {}", c_.folder,
                   t.stored.uid, format_iso8601(DateTime{.epoch = *s.date}),
                   format_iso8601(*t.stored.internal_date));
    } else if (s.date && t.stored.internal_date && *s.date != t.stored.internal_date->epoch) {
      source_diff(DiffKind::DateDiffers, s, t.stored.uid,
                  fmt::format("source {}, target {}", format_iso8601(DateTime{.epoch = *s.date}),
                              format_iso8601(*t.stored.internal_date)));
    }
  }

  const FolderComparison& c_;
  SourceFolderRead& source_;
  std::vector<TargetCopy>& stored_;
  const std::function<void(Difference)>& differ_;
  std::map<std::string, std::uint64_t> in_source_;  // copies of each content in the source folder
};

}  // namespace

void compare_folder(const FolderComparison& c, SourceFolderRead& source, std::vector<TargetCopy>& stored,
                    const FolderCheck& check, const std::function<void(Difference)>& differ) {
  FolderMatcher matcher(c, source, stored, differ);
  if (c.copied != nullptr && !c.sampled) matcher.match_through_state();
  matcher.match_by_content();
  // With a sample, a hashed target message may be the copy of an unsampled
  // source message: the totals speak.
  if (!c.sampled) {
    matcher.report_leftovers();
  } else if (check.messages_source != check.messages_target || check.bytes_source != check.bytes_target) {
    differ(Difference{.kind = DiffKind::TotalsDiffer,
                      .folder = c.folder,
                      .detail = fmt::format("source {} messages / {} bytes, target {} messages / {} bytes",
                                            check.messages_source, check.bytes_source, check.messages_target,
                                            check.bytes_target)});
  }
}

}  // namespace mailmig
