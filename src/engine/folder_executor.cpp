#include "engine/folder_executor.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <set>
#include <thread>

#include "core/crlf.h"
#include "core/error.h"
#include "engine/source_scan.h"

namespace mailmig {

namespace {

constexpr std::chrono::milliseconds kSettle{1500};  // quiet time before reconciling after a crash

// The state's source UIDs still name the same messages: the source keeps
// UIDs and its UIDVALIDITY is the one they were recorded under.
bool source_uids_known(const FolderInfo& folder, const FolderMark& mark) {
  return folder.uidvalidity && mark.source_uidvalidity == folder.uidvalidity;
}

// The target's flags of messages copied before the state recorded source
// flags (schema 1): the delta is taken against what the target holds.
std::map<std::uint32_t, MessageFlags> target_flags_of(TargetAccount& out_account, const std::string& target,
                                                      const std::set<std::uint32_t>& wanted) {
  std::map<std::uint32_t, MessageFlags> out;
  if (wanted.empty()) return out;
  out_account.read_folder(
      target, [](const StoredMessage&) { return false; },
      [&](const StoredMessage& s) {
        if (!wanted.contains(s.uid)) return;
        MessageFlags f{.flags = s.flags, .keywords = s.keywords};
        std::sort(f.keywords.begin(), f.keywords.end());
        f.keywords.erase(std::unique(f.keywords.begin(), f.keywords.end()), f.keywords.end());
        out.emplace(s.uid, std::move(f));
      });
  return out;
}

}  // namespace

// A message queued for APPEND: its write-ahead record and where it came from.
struct FolderExecutor::Queued {
  PendingMessage record;
  std::string file;
  std::uint64_t offset;
};

// Where one folder is copied from and to.
struct FolderExecutor::Copy {
  const Account& in;
  const FolderInfo& folder;
  const std::string& target_folder;  // neutral name on the target
  TargetAccount& out_account;
  TargetFolder& out;
};

void FolderExecutor::copy_folder(const Account& in, const FolderInfo& folder, const PlannedFolder& planned,
                                 TargetAccount& out_account, FolderResult& r) {
  State& state = ctx_.state;
  const std::string& key = ctx_.key;
  std::vector<Queued> queued;
  auto on_result = [&](std::size_t i, const Delivery& d) {
    const Queued& q = queued[i];
    if (d.ok) {
      state.mark_done(key, folder.name, q.record.key, d.uid);
      ++r.copied;
      ++progress_;
      r.bytes += q.record.size;
      if (!d.error.empty()) {  // delivered, with a loss the target could not avoid (e.g. KEYWORDS-DROPPED)
        ctx_.problem(Problem{.scope = Scope::Message,
                             .file = q.file,
                             .offset = q.offset,
                             .message = fmt::format("delivered, but {} ({})", d.error, d.code)},
                     folder.name);
      }
      return;
    }
    state.drop(key, folder.name, q.record.key);
    ++r.failed;
    if (d.code == "OVERQUOTA" && !over_quota_) over_quota_ = d.error;
    ctx_.problem(Problem{.scope = Scope::Message,
                         .file = q.file,
                         .offset = q.offset,
                         .message = fmt::format("target refused the message: {}", d.error)},
                 folder.name);
  };
  std::unique_ptr<TargetFolder> out;
  try {
    out = out_account.open_folder(planned.target, folder.subscribed, on_result);
  } catch (const ScopedError& e) {
    if (!ctx_.options.stateless || e.scope() != Scope::Folder) throw;
    throw ScopedError(Scope::Folder, fmt::format("cannot create the folder on the target: {}", e.what()),
                      e.code());
  }
  r.target_name = out->display_name();
  r.rename_note = join_notes(planned.note, out->rename_note());
  if (folder.selectable && plan_.refuse_nonempty) {
    const std::size_t known = state.done_messages(key, folder.name).size();
    if (auto why = refusal_to_append(plan_, out->existing_messages(), known, r.target_name)) {
      r.skipped = true;
      r.note = *why;
      ctx_.problem(Problem{.scope = Scope::Folder, .message = *why}, folder.name);
      return;
    }
  }
  // Before the mark is compared and noted: keeping the source's UIDs may
  // give a new target folder the source's UIDVALIDITY.
  if (folder.uidvalidity && out->keep_uids(*folder.uidvalidity)) {
    spdlog::debug("{} {}: source UIDs kept (UIDVALIDITY {})", key, folder.name, *folder.uidvalidity);
  }

  FolderMark mark = state.folder_mark(key, folder.name);
  if (mark.uidvalidity && out->uidvalidity() && *mark.uidvalidity != *out->uidvalidity()) {
    ctx_.problem(Problem{.scope = Scope::Folder,
                         .message = fmt::format(
                             "target folder {} was recreated (UIDVALIDITY {} -> {}): what the state "
                             "says was copied is gone; copying the folder again",
                             r.target_name, *mark.uidvalidity, *out->uidvalidity())},
                 folder.name);
    state.forget_folder(key, folder.name);
    mark = {};
  }
  reconcile(*out, folder.name, mark, r);
  const bool uids_known = source_uids_known(folder, mark);
  state.set_folder_mark(key, folder.name, r.target_name, planned.target,
                        FolderMark{out->uidvalidity(), out->uidnext(), folder.uidvalidity});

  DoneSet done(state.done_messages(key, folder.name));
  std::vector<FlagChange> changes;
  bool clean = true;
  const Copy copy{
      .in = in, .folder = folder, .target_folder = planned.target, .out_account = out_account, .out = *out};
  if (folder.selectable) clean = copy_new_messages(copy, queued, done, uids_known, changes, r);
  r.other_source_kept = done.unseen_from_other_sources();
  state.flush();
  if (plan_.sync) {
    apply_flag_changes(out_account, planned.target, *out, folder.name, changes, r);
    settle_deletions(in, folder, *out, done.unseen(), clean, r);
  }
  state.flush();
}

void FolderExecutor::reconcile(TargetFolder& out, const std::string& folder, const FolderMark& mark,
                               FolderResult& r) {
  State& state = ctx_.state;
  std::vector<MessageKey> pending = state.pending(ctx_.key, folder);
  if (pending.empty()) return;
  // The server may still be storing what the killed run sent (the data was
  // on its socket): wait until the folder's UIDNEXT stays put for a while,
  // or a late arrival would be missed here and copied twice.
  std::optional<std::uint32_t> last = out.current_uidnext();
  for (int i = 0; i < 15; ++i) {
    std::this_thread::sleep_for(kSettle);
    const std::optional<std::uint32_t> now = out.current_uidnext();
    if (now == last) break;
    last = now;
  }
  // UIDs per hash, highest first so pop_back() hands them out in UID order:
  // identical messages get their UIDs in the order they were sent (by ordinal).
  std::map<std::string, std::vector<std::uint32_t>> found;
  for (const auto& [uid, sha] : out.hashes_from(mark.uidnext.value_or(1))) found[sha].push_back(uid);
  for (auto& [sha, uids] : found) std::sort(uids.rbegin(), uids.rend());
  std::sort(pending.begin(), pending.end());
  for (const MessageKey& k : pending) {
    std::vector<std::uint32_t>& uids = found[k.sha256];
    if (uids.empty()) {
      state.drop(ctx_.key, folder, k);
      continue;
    }
    state.mark_done(ctx_.key, folder, k, uids.back());
    uids.pop_back();
    ++r.reconciled;
    ++progress_;
  }
  state.flush();
  spdlog::info("{} {}: {} of {} messages in flight at the last stop were found on the target", ctx_.key,
               folder, r.reconciled, pending.size());
}

// Appends what neither the state nor the target has; notes the flag changes of what the state has.
bool FolderExecutor::copy_new_messages(const Copy& c, std::vector<Queued>& queued, DoneSet& done,
                                       bool uids_known, std::vector<FlagChange>& changes, FolderResult& r) {
  const FolderInfo& folder = c.folder;
  State& state = ctx_.state;
  c.out.set_before_send([&](const std::vector<std::size_t>& indices) {
    std::vector<PendingMessage> records;
    records.reserve(indices.size());
    for (std::size_t i : indices) records.push_back(queued[i].record);
    state.mark_pending(ctx_.key, folder.name, records);
  });
  const std::unique_ptr<Folder> box = c.in.open_folder(folder);
  const Folder* reader = box.get();
  // Source UIDs are recorded only under a UIDVALIDITY, or they mean nothing.
  const auto source_uid = [&](const MessageInfo& m) { return folder.uidvalidity ? m.uid : std::nullopt; };
  TargetContents found;
  bool clean = true;
  try {
    clean = scan_identities(
        ctx_, *box, folder.name, r,
        [&](const MessageInfo& m, MessageKey key) {
          const MessageAction action = plan_message(done, m, key, source_uid(m), plan_);
          if (action.kind == MessageAction::Kind::Already) {
            ++r.already;
            if (action.note_source_uid) state.set_source_uid(ctx_.key, folder.name, key, source_uid(m));
            if (action.flags_unapplied) ++r.flags_unapplied;
            if (action.flag_change) {
              ctx_.log_message("flags changed", folder.name, key, &m, action.flag_change->uid);
              changes.push_back(*action.flag_change);
            }
            return;
          }
          PendingMessage record{std::move(key), m.size, MessageFlags::of(m), source_uid(m)};
          if (adopt_from_target(c, done, found, record, m, changes, r)) return;
          ctx_.log_message("copy", folder.name, record.key, &m, std::nullopt);
          queued.push_back(Queued{std::move(record), m.file, m.offset});
          c.out.add(m, [reader, m] { return std::make_unique<CrlfReader>(reader->open(m)); });
        },
        uids_known ? &done.by_source_uid() : nullptr);
    c.out.finish();
  } catch (const ScopedError&) {
    throw;
  } catch (const std::exception&) {
    if (ctx_.options.stateless) {
      // No state to reconcile from next time: what was in flight is reported.
      for (std::size_t index : c.out.unresolved()) {
        ++r.failed;
        ctx_.problem(Problem{.scope = Scope::Message,
                             .file = queued[index].file,
                             .offset = queued[index].offset,
                             .message = "outcome unknown: the connection failed while the message was being "
                                        "appended"},
                     folder.name);
      }
    }
    throw;
  }
  r.target_hashed = found.hashed();
  return clean;
}

// A message the state does not know may still be on the target: put there
// by a run with another (or a lost) state, or from another source of the
// same mail. The folder is read once, when it holds more than the state
// accounts for and a message is about to be appended; a message found
// there by content is recorded instead of appended.
bool FolderExecutor::adopt_from_target(const Copy& c, const DoneSet& done, TargetContents& found,
                                       PendingMessage& record, const MessageInfo& m,
                                       std::vector<FlagChange>& changes, FolderResult& r) {
  if (!found.loaded()) {
    if (!must_read_target(c.out.existing_messages(), done.size())) return false;
    found.load(c.out_account, c.target_folder, done.target_uids());
    r.target_hashed = found.hashed();
    spdlog::info(
        "{} {}: the target holds {} messages, the state knows {}: {} read to find copies made elsewhere",
        ctx_.key, c.folder.name, c.out.existing_messages(), done.size(), found.hashed());
  }
  std::optional<TargetContents::Found> stored = found.claim(record.key.sha256);
  if (!stored) return false;
  ++r.found_on_target;
  ctx_.log_message("found on the target", c.folder.name, record.key, &m, stored->uid);
  Adoption adoption = plan_adoption(std::move(record), *stored, plan_);
  ctx_.state.adopt(ctx_.key, c.folder.name, adoption.record, adoption.uid);
  if (adoption.flag_change) changes.push_back(std::move(*adoption.flag_change));
  return true;
}

// Applies each change as a delta, so a flag set on the target meanwhile
// survives unless the source changed that same flag.
void FolderExecutor::apply_flag_changes(TargetAccount& out_account, const std::string& target,
                                        TargetFolder& out, const std::string& folder,
                                        const std::vector<FlagChange>& changes, FolderResult& r) {
  if (r.flags_unapplied != 0) {
    ctx_.problem(Problem{.scope = Scope::Folder,
                         .message = fmt::format(
                             "{} messages changed flags on the source, but the target never told "
                             "their UIDs (no UIDPLUS): flag changes cannot be applied in this folder",
                             r.flags_unapplied)},
                 folder);
  }
  if (changes.empty()) return;
  const std::map<std::uint32_t, MessageFlags> unknown =
      target_flags_of(out_account, target, uids_without_known_flags(changes));
  for (const FlagChange& c : changes) {
    const std::optional<MessageFlags> before = flags_before(c, unknown);
    if (!before) continue;
    const FlagDelta delta = flag_delta(*before, c.after);
    if (!delta.empty()) {
      out.change_flags(c.uid, delta.add, delta.remove, delta.add_keywords, delta.remove_keywords);
      ++r.flag_changes;
    }
    ctx_.state.set_flags(ctx_.key, folder, c.key, c.after);
  }
}

// Deleted on the source: counted, and listed in a dry run.
void FolderExecutor::count_deletions(const std::string& folder, const std::vector<DoneMessage>& gone,
                                     bool clean, FolderResult& r) const {
  const DeletionPlan plan = plan_deletions(gone, clean, false, plan_);
  r.deleted_on_source = plan.deleted_on_source;
  if (plan.held_back) {
    r.note = join_notes(r.note, plan.note);
    return;
  }
  if (gone.empty() || !ctx_.options.dry_run) return;
  const char* action = plan_.delete_removed ? "would delete" : "deleted on the source, kept:";
  for (const DoneMessage& g : gone) ctx_.log_message(action, folder, g.key, nullptr, g.uid);
}

void FolderExecutor::settle_deletions(const Account& in, const FolderInfo& folder, TargetFolder& out,
                                      std::vector<DoneMessage> gone, bool clean, FolderResult& r) {
  count_deletions(folder.name, gone, clean, r);
  const DeletionPlan plan = plan_deletions(gone, clean, ctx_.options.live_source, plan_);
  if (!plan.remove) return;
  if (plan.confirm_first && folder.selectable && !confirm_gone(in, folder, gone)) {
    r.note = join_notes(r.note,
                        "the running server changed the folder while it was read: nothing is deleted "
                        "from the target this time");
    return;
  }
  remove_from_target(out, folder.name, gone, r);
}

// A live store's mailbox may be rewritten while it is read: a second scan
// must agree before anything is removed. Keeps in `gone` what both missed.
bool FolderExecutor::confirm_gone(const Account& in, const FolderInfo& folder,
                                  std::vector<DoneMessage>& gone) {
  std::set<MessageKey> seen;
  FolderResult scratch;
  const std::unique_ptr<Folder> box = in.open_folder(folder);
  const bool clean =
      scan_identities(ctx_, *box, folder.name, scratch,
                      [&](const MessageInfo&, MessageKey key) { seen.insert(std::move(key)); });
  if (!clean) return false;
  std::erase_if(gone, [&](const DoneMessage& g) { return seen.contains(g.key); });
  return true;
}

// Only messages the state says this tool copied, by their UIDs: mail that
// arrived on the target directly is never touched.
void FolderExecutor::remove_from_target(TargetFolder& out, const std::string& folder,
                                        const std::vector<DoneMessage>& gone, FolderResult& r) {
  const Removal removal = plan_removal(gone);
  for (const DoneMessage& g : gone) {
    if (g.uid) ctx_.log_message("remove", folder, g.key, nullptr, g.uid);
  }
  if (!removal.uids.empty()) {
    out.remove(removal.uids);
    ctx_.state.forget_messages(ctx_.key, folder, removal.keys);
    r.removed += removal.uids.size();
  }
  if (removal.unknown != 0) {
    ctx_.problem(
        Problem{.scope = Scope::Folder,
                .message = fmt::format("{} messages deleted on the source cannot be removed from the target: "
                                       "the target never told their UIDs (no UIDPLUS)",
                                       removal.unknown)},
        folder);
  }
}

void FolderExecutor::settle_vanished_folder(TargetAccount* out, const FolderRecord& record,
                                            const std::vector<DoneMessage>& gone, bool listing_clean,
                                            FolderResult& r) {
  // The listing had problems: a folder missing from it may only be unreadable.
  count_deletions(record.folder, gone, listing_clean, r);
  if (out != nullptr && listing_clean && plan_.delete_removed) remove_vanished(*out, record, gone, r);
}

void FolderExecutor::remove_vanished(TargetAccount& out_account, const FolderRecord& record,
                                     const std::vector<DoneMessage>& gone, FolderResult& r) {
  State& state = ctx_.state;
  const std::string target = record.target.empty() ? record.folder : record.target;
  const std::vector<std::string> existing = out_account.folders();
  if (std::find(existing.begin(), existing.end(), target) == existing.end()) {
    state.forget_folder(ctx_.key, record.folder);
    r.note = "gone from the target as well";
    return;
  }
  std::unique_ptr<TargetFolder> out =
      out_account.open_folder(target, false, [](std::size_t, const Delivery&) {});
  const FolderMark mark = state.folder_mark(ctx_.key, record.folder);
  if (mark.uidvalidity && out->uidvalidity() && *mark.uidvalidity != *out->uidvalidity()) {
    // Recreated since: its UIDs are not the ones we copied.
    state.forget_folder(ctx_.key, record.folder);
    r.note = "the target folder was recreated since: nothing removed";
    return;
  }
  remove_from_target(*out, record.folder, gone, r);
  if (r.removed == gone.size()) state.forget_folder(ctx_.key, record.folder);
}

void FolderExecutor::preview_folder(const Account& in, const FolderInfo& folder, FolderResult& r) {
  State& state = ctx_.state;
  DoneSet done(state.done_messages(ctx_.key, folder.name));
  const bool uids_known = source_uids_known(folder, state.folder_mark(ctx_.key, folder.name));
  bool clean = true;
  std::uint64_t unknown_flags = 0;
  if (folder.selectable) {
    const auto source_uid = [&](const MessageInfo& m) { return folder.uidvalidity ? m.uid : std::nullopt; };
    const std::unique_ptr<Folder> box = in.open_folder(folder);
    clean = scan_identities(
        ctx_, *box, folder.name, r,
        [&](const MessageInfo& m, const MessageKey& key) {
          const MessageAction action = plan_message(done, m, key, source_uid(m), plan_);
          if (action.kind == MessageAction::Kind::New) {
            ++r.would_copy;
            r.bytes += m.size;
            ctx_.log_message("would copy", folder.name, key, &m, std::nullopt);
            return;
          }
          ++r.already;
          if (action.flags_unknown) {
            ++unknown_flags;
          } else if (action.flag_change || action.flags_unapplied) {
            ++(action.flag_change ? r.flag_changes : r.flags_unapplied);
            ctx_.log_message(
                "would change flags of", folder.name, key, &m,
                action.flag_change ? std::optional<std::uint32_t>(action.flag_change->uid) : std::nullopt);
          }
        },
        uids_known ? &done.by_source_uid() : nullptr);
  }
  if (unknown_flags != 0) {
    r.note =
        fmt::format("{} copied by an earlier mailmig without their flags: compared with the target's on sync",
                    unknown_flags);
  }
  if (plan_.sync) {
    count_deletions(folder.name, done.unseen(), clean, r);
    // As the real run reports it: what another source (the backup) copied is kept.
    r.other_source_kept = done.unseen_from_other_sources();
  }
}

}  // namespace mailmig
