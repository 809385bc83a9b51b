// archive:FILE -- a full backup archive (tar, tar.gz, tar.zst, ..., whatever
// libarchive reads) read in place, never exploded to disk.
//
// How, given that a compressed stream cannot seek and the engine reads each
// message twice (hash, then send, up to ~40 MiB of messages later):
//
// * Opening reads the archive once, headers only (plus the small metadata
//   files): the catalogue of domains, accounts, folders and, per folder, its
//   message entries in archive order. folders() lists folders in archive
//   order (INBOX first, parents before children), so an account's folders
//   are read front to back.
// * Reading a folder takes a forward-only reader from a small pool (one per
//   account read in parallel): a parked reader at or before the folder's
//   first entry is reused, otherwise the archive is opened again.
// * scan() reads the folder's entries in archive order -- which is also the
//   order it delivers them in; a Maildir's UIDs still travel in
//   MessageInfo::uid -- and keeps each body in a MessageCache (memory for
//   small, unlinked temporary files for large ones, separate budgets), so
//   both open() calls are served without touching the archive. If a body was
//   evicted anyway, open() reads the archive again up to that entry: slow,
//   correct, logged.
// * CommuniGate mailboxes are the exception: the .mbox and .mdir readers
//   (cgp/mailbox_files.h) work on files, and their format conventions must
//   stay in one place. So one folder at a time is spooled to a private
//   temporary directory (0700) and read there by those readers; the spool is
//   bounded by that folder's size and deleted when the folder is closed.
//
// Memory stays bounded for any message size; the archive is opened read-only.
#pragma once

#include <memory>
#include <string>

#include "source/archive/layout.h"
#include "source/archive/message_cache.h"
#include "source/source.h"

namespace mailmig::archive {

struct ArchiveOptions {
  LayoutOptions layout;
  CacheBudget cache;
  std::size_t parked_readers = 4;
};

struct OpenedArchive {
  std::unique_ptr<Source> source;
  std::string description;  // which layout was detected, for the user
};

// Throws ArchiveError (not a readable archive) or maildir::SourceError (no
// mail found, a needed domain not given). Damage further in is reported
// through Source::domains() as problems naming the entry and the offset.
OpenedArchive open_archive(const std::string& path, const ArchiveOptions& options);

}  // namespace mailmig::archive
