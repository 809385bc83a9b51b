// The comparison of one folder, without I/O: what the source holds (read by
// verify_source.h) against what the target returned, paired through the
// state first, then by content; what is left over is a difference. Kept apart
// from the reading so each way two folders can differ is tested as a plain
// function call.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "engine/state.h"
#include "engine/verify.h"
#include "target/target.h"

namespace mailmig {

// One source message as the comparison needs it. Kept small: a folder's
// messages are held while its target side is read (the bodies never are).
struct SourceCopy {
  std::uint64_t size = 0;
  Flags flags = 0;
  std::vector<std::string> keywords;  // as the target stores them, lower case, sorted, unique
  std::optional<std::int64_t> date;
  std::uint32_t file = 0;  // index into SourceFolderRead::files
  std::uint64_t offset = 0;
  std::string sha;  // empty: not hashed (outside the sample, or unreadable)
  bool sampled = true;
  bool paired = false;
};

struct SourceFolderRead {
  std::vector<std::string> files;  // the files the messages came from, in order
  std::vector<SourceCopy> messages;
};

// One target message with its keywords normalised as SourceCopy's are.
struct TargetCopy {
  StoredMessage stored;
  std::vector<std::string> keywords;
  bool paired = false;
};

// \Recent and the other system flags are session state or carried in
// StoredMessage::flags: only keywords remain, lower case, sorted, unique.
TargetCopy target_copy(const StoredMessage& stored);

// Keywords compared without case and order (IMAP keywords are case-insensitive).
std::vector<std::string> normal_keywords(std::vector<std::string> keywords);

// With a sample, only target messages that could be the copy of a sampled
// source message are fetched whole: same size and (when the source has one)
// same date.
WantBody sample_filter(const std::vector<SourceCopy>& source);

struct FolderComparison {
  const std::string& folder;  // the source folder's name, for the differences
  // What the state says went where; null without state or with a sample
  // (only a full read knows every ordinal, as migrate counted them).
  const std::map<MessageKey, std::uint32_t>* copied = nullptr;
  bool sampled = false;
  std::int64_t now = 0;  // epoch seconds: a source date later than this is in the future
};

// Pairs `source` with `stored` and hands each difference to `differ`.
void compare_folder(const FolderComparison& c, SourceFolderRead& source, std::vector<TargetCopy>& stored,
                    const FolderCheck& check, const std::function<void(Difference)>& differ);

}  // namespace mailmig
