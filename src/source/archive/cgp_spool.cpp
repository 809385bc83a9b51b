#include "source/archive/cgp_spool.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

#include "core/error.h"
#include "core/file_read.h"
#include "core/fs.h"
#include "source/cgp/mailbox_files.h"

namespace mailmig::archive {
namespace {

constexpr std::size_t kBuffer = std::size_t{256} << 10U;

}  // namespace

CgpSpoolFolder::~CgpSpoolFolder() {
  remove_spool();
}

void CgpSpoolFolder::remove_spool() {
  reader_.reset();
  for (const std::string& file : files_) ::unlink(file.c_str());
  files_.clear();
  if (!mailbox_.empty() && folder_.info.format == "mdir") ::rmdir(mailbox_.c_str());
  if (!spool_dir_.empty()) ::rmdir(spool_dir_.c_str());
  spool_dir_.clear();
  mailbox_.clear();
}

std::string CgpSpoolFolder::shown(const std::string& path) const {
  if (mailbox_.empty() || !path.starts_with(mailbox_)) return path;
  return folder_.info.location + path.substr(mailbox_.size());
}

void CgpSpoolFolder::scan(const std::function<void(const MessageInfo&)>& on_message,
                          const ProblemFn& problem) {
  remove_spool();
  const std::string archive = context_->catalogue.archive;
  const bool mdir = folder_.info.format == "mdir";
  try {
    std::string pattern = fs::temp_dir() + "/mailmig-archive-XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr)
      throw IoError(fs::temp_dir(), errno, "cannot create a spool directory");
    spool_dir_ = pattern;
    mailbox_ = spool_dir_ + "/mailbox";
    if (mdir && ::mkdir(mailbox_.c_str(), 0700) != 0)
      throw IoError(mailbox_, errno, "cannot create a spool directory");
  } catch (const IoError& e) {
    problem(Problem{.scope = Scope::Folder, .file = folder_.info.location, .message = e.what()});
    return;
  }
  const auto buffer = std::make_unique_for_overwrite<char[]>(kBuffer);
  {
    store_->claim(folder_);
    EntryWalker walker(*context_, store_.get());
    for (const MessageEntry& entry : folder_.entries) {
      const std::string target = mdir ? fmt::format("{}/{}", mailbox_, entry.name) : mailbox_;
      const std::string file = entry_location(archive, entry.path);
      try {
        // Kept when an earlier folder's reader passed over it, else read from the archive.
        const std::shared_ptr<MessageBody> kept = walker.kept(entry);
        ArchiveReader* reader = kept ? nullptr : &walker.at(entry);
        const UniqueFd fd(::open(target.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
        if (fd.get() < 0) throw IoError(target, errno, "cannot create the spool file");
        files_.push_back(target);
        const std::span<char> span(buffer.get(), kBuffer);
        const auto sink = [&](std::string_view chunk) { fs::write_all(fd.get(), chunk, target); };
        if (reader != nullptr) {
          copy_entry(*reader, span, sink);
        } else {
          const std::unique_ptr<ByteReader> bytes = MessageBody::open(kept);
          while (const std::size_t n = bytes->read(span)) sink(std::string_view(span.data(), n));
        }
      } catch (const ArchiveError& e) {
        problem(Problem{.scope = mdir ? Scope::Message : Scope::Folder,
                        .file = file,
                        .offset = e.offset(),
                        .message = e.detail()});
        if (!mdir) return;
      } catch (const IoError& e) {
        problem(Problem{.scope = mdir ? Scope::Message : Scope::Folder, .file = file, .message = e.what()});
        if (!mdir) return;
      }
      if (!mdir) break;  // one .mbox entry
    }
  }
  if (mdir) {
    reader_ = std::make_unique<cgp::MdirDirectory>(mailbox_);
  } else if (!files_.empty()) {
    reader_ = std::make_unique<cgp::MboxFile>(mailbox_);
  } else {
    return;  // an empty .mbox directory entry or nothing spooled
  }
  MessageInfo shown_info;
  reader_->scan(
      [&](const MessageInfo& info) {
        shown_info = info;
        shown_info.file = shown(info.file);
        on_message(shown_info);
      },
      [&](Problem p) {
        p.file = shown(p.file);
        problem(std::move(p));
      });
}

std::unique_ptr<ByteReader> CgpSpoolFolder::open(const MessageInfo& message) const {
  if (!reader_) throw IoError(message.file, ENOENT, "the mailbox was not scanned");
  return reader_->open(message);
}

}  // namespace mailmig::archive
