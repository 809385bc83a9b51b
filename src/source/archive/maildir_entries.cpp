#include "source/archive/maildir_entries.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <cerrno>

#include "core/error.h"
#include "format/maildir/file_name.h"
#include "format/maildir/keywords.h"
#include "format/maildir/uidlist.h"
#include "source/maildir/maildir_meta.h"

namespace mailmig::archive {
namespace {

constexpr std::size_t kBuffer = std::size_t{256} << 10U;

std::shared_ptr<MessageBody> read_body(ArchiveReader& reader, const MessageCache& cache,
                                       const MessageEntry& entry, std::span<char> buffer,
                                       CrlfCounter* counter) {
  std::shared_ptr<MessageBody> body = cache.make_body(entry.size);
  copy_entry(reader, buffer, [&](std::string_view chunk) {
    body->append(chunk);
    if (counter != nullptr) counter->feed(chunk);
  });
  return body;
}

void count_body(const std::shared_ptr<MessageBody>& body, CrlfCounter& counter, std::span<char> buffer) {
  const std::unique_ptr<ByteReader> reader = MessageBody::open(body);
  while (const std::size_t n = reader->read(buffer)) counter.feed(std::string_view(buffer.data(), n));
}

}  // namespace

void MaildirEntriesFolder::scan(const std::function<void(const MessageInfo&)>& on_message,
                                const ProblemFn& problem) {
  const std::string archive = context_->catalogue.archive;
  std::unordered_map<std::string, std::uint32_t> uids;
  if (!folder_.uidlist.empty()) {
    const maildir::UidlistRead read = maildir::parse_uidlist(folder_.uidlist);
    if (read.list) uids = maildir::uids_by_base(*read.list);
    if (auto message = maildir::uidlist_problem(read)) {
      problem(Problem{.scope = Scope::Folder,
                      .file = entry_location(archive, folder_.uidlist_path),
                      .message = *message});
    }
  }
  const maildir::Keywords keywords = maildir::Keywords::parse(folder_.keywords);
  const auto buffer = std::make_unique_for_overwrite<char[]>(kBuffer);
  store_->claim(folder_);
  EntryWalker walker(*context_, store_.get());
  for (std::size_t index = 0; index < folder_.entries.size(); ++index) {
    const MessageEntry& entry = folder_.entries[index];
    const std::string file = entry_location(archive, entry.path);
    if (entry.size == 0) {
      problem(Problem{
          .scope = Scope::Message, .file = file, .message = "empty message file (0 bytes): not delivered"});
      continue;
    }
    CrlfCounter counter;
    std::shared_ptr<MessageBody> body;
    try {
      if (std::shared_ptr<MessageBody> kept = walker.kept(entry)) {
        // Passed over (and kept) while an earlier folder of the account was read.
        count_body(kept, counter, std::span<char>(buffer.get(), kBuffer));
        body = std::move(kept);
      } else {
        body = read_body(walker.at(entry), cache_, entry, std::span<char>(buffer.get(), kBuffer), &counter);
      }
    } catch (const ArchiveError& e) {
      problem(Problem{.scope = Scope::Message, .file = file, .offset = e.offset(), .message = e.detail()});
      continue;
    } catch (const IoError& e) {
      problem(Problem{.scope = Scope::Message, .file = file, .message = e.what()});
      continue;
    }
    if (body->size() != entry.size) {
      problem(Problem{.scope = Scope::Message,
                      .file = file,
                      .message = fmt::format("entry holds {} bytes but its header says {}: skipped",
                                             body->size(), entry.size)});
      continue;
    }
    const std::string_view base_name = std::string_view(entry.name).substr(4);  // after "cur/" or "new/"
    const maildir::FileName parsed = maildir::parse_file_name(base_name);
    MessageInfo info{.id = entry.name,
                     .file = file,
                     .size = counter.size(),
                     .stored_size = body->size(),
                     .flags = parsed.flags,
                     .internal_date = DateTime{entry.mtime, 0},
                     .data_offset = index,
                     .data_length = body->size()};
    if (auto it = uids.find(parsed.base); it != uids.end()) info.uid = it->second;
    info.keywords = keywords.names_of(parsed.keyword_letters, [&](char letter) {
      problem(
          Problem{.scope = Scope::Message, .file = file, .message = maildir::unknown_keyword_letter(letter)});
    });
    cache_.put(index, std::move(body));
    on_message(info);
  }
}

std::unique_ptr<ByteReader> MaildirEntriesFolder::open(const MessageInfo& message) const {
  if (message.data_offset >= folder_.entries.size() ||
      folder_.entries[message.data_offset].name != message.id) {
    throw IoError(message.file, EINVAL, "not a message of this folder");
  }
  if (std::shared_ptr<MessageBody> body = cache_.get(message.data_offset))
    return MessageBody::open(std::move(body));
  // Evicted before the engine's second read: the archive is read again up to it.
  const MessageEntry& entry = folder_.entries[message.data_offset];
  spdlog::warn("{}: message no longer cached; reading the archive again up to it (slow)", message.file);
  const auto buffer = std::make_unique_for_overwrite<char[]>(kBuffer);
  EntryWalker walker(*context_, store_.get());
  std::shared_ptr<MessageBody> body;
  try {
    body = read_body(walker.at(entry), cache_, entry, std::span<char>(buffer.get(), kBuffer), nullptr);
  } catch (const ArchiveError& e) {
    throw IoError(message.file, EIO, e.detail(), e.offset());
  }
  cache_.put(message.data_offset, body);
  return MessageBody::open(std::move(body));
}

}  // namespace mailmig::archive
