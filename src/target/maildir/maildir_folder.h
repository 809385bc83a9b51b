// TargetFolder for one Maildir folder: messages are written to tmp/ in
// batches, renamed into cur/ with their flags in the name and numbered in
// dovecot-uidlist under its lock; results are reported once the uidlist names
// them (so a UID the engine records is the UID Dovecot will show).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "format/maildir/folder_names.h"
#include "target/maildir/mailbox.h"
#include "target/target.h"

namespace mailmig::maildir {

// Not "MaildirFolder": the maildir source has a class of that name in this
// namespace, and two inline-emitted vtables of one name are merged by the
// linker (the target's folders then ran the source's virtual functions).
class MaildirTargetFolder final : public TargetFolder {
 public:
  MaildirTargetFolder(Mailbox box, FolderName name, TargetAccount::ResultFn on_result);

  void add(const MessageInfo& message, OpenMessage open) override;
  void finish() override { flush(); }
  [[nodiscard]] std::vector<std::size_t> unresolved() const override { return unresolved_; }
  [[nodiscard]] std::uint64_t existing_messages() const override { return existing_; }
  [[nodiscard]] std::string display_name() const override { return name_.neutral; }
  [[nodiscard]] std::optional<std::uint32_t> uidvalidity() const override { return uidvalidity_; }
  [[nodiscard]] std::optional<std::uint32_t> uidnext() const override { return uidnext_; }
  std::optional<std::uint32_t> current_uidnext() override { return box_.sync().list.nextuid; }
  std::vector<std::pair<std::uint32_t, std::string>> hashes_from(std::uint32_t first_uid) override;
  bool keep_uids(std::uint32_t source_uidvalidity) override;
  void set_before_send(std::function<void(const std::vector<std::size_t>&)> hook) override {
    before_send_ = std::move(hook);
  }
  void change_flags(std::uint32_t uid, Flags add, Flags remove, const std::vector<std::string>& add_keywords,
                    const std::vector<std::string>& remove_keywords) override;
  void remove(const std::vector<std::uint32_t>& uids) override;
  [[nodiscard]] std::string rename_note() const override;

 private:
  struct Pending {
    std::size_t index = 0;
    Flags flags = 0;
    std::vector<std::string> keywords;
    std::optional<DateTime> date;
    std::optional<std::uint32_t> source_uid;
    OpenMessage open;
  };
  struct Written {
    const Pending* pending = nullptr;
    std::string stem;
    std::uint64_t size = 0;
    std::uint64_t vsize = 0;
  };

  // Writes, commits and reports everything queued.
  void flush();
  std::vector<Written> write_batch(std::vector<Delivery>& results);
  void commit_batch(const std::vector<Written>& written, std::vector<Delivery>& results);
  // The UID for the next message: the source's when keep_uids allows it.
  std::uint32_t choose_uid(Uidlist& list, const Pending& p);
  // Flag changes work on a snapshot taken once and refreshed when a file moved.
  Snapshot& snapshot();

  Mailbox box_;
  FolderName name_;
  TargetAccount::ResultFn on_result_;
  std::function<void(const std::vector<std::size_t>&)> before_send_;
  std::vector<Pending> queue_;
  std::uint64_t queued_bytes_ = 0;
  std::size_t next_index_ = 0;
  std::vector<std::size_t> unresolved_;
  std::uint64_t existing_ = 0;
  std::optional<std::uint32_t> uidvalidity_;
  std::optional<std::uint32_t> uidnext_;
  bool keep_uids_ = false;
  std::uint64_t uids_not_kept_ = 0;
  std::optional<Snapshot> snapshot_;
};

}  // namespace mailmig::maildir
