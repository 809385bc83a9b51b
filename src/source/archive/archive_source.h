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
// * A folder's entries need not be together: an account's cur/ and new/ lie
//   around its subfolders, INBOX comes first wherever it lies. So while a
//   reader moves forward to the folder's next entry, the entries it passes
//   over that belong to the account's folders not read yet are kept in the
//   account's PassedStore (message_cache.h: the same bodies, memory for
//   small and unlinked temporary files for large ones, its own budget,
//   ArchiveOptions::store), and those folders are then served from it
//   without a reader: one pass for the whole account. An entry that does not
//   fit the budget is left where it is (logged once per account); its folder
//   then starts behind the reader and opens the archive again, as before.
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

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "source/archive/esmith_accounts.h"
#include "source/archive/layout.h"
#include "source/archive/message_cache.h"
#include "source/source.h"

namespace mailmig::archive {

struct ArchiveOptions {
  LayoutOptions layout;
  CacheBudget cache;  // per folder being read
  CacheBudget store;  // per account being read: entries passed over for its later folders
  std::size_t parked_readers = 4;
};

struct OpenedArchive {
  std::unique_ptr<Source> source;
  std::string description;  // which layout was detected, for the user
  // Readers opened after the catalogue pass so far: each one is another pass
  // over the archive from its start (tests, diagnostics).
  std::function<std::uint64_t()> reader_opens;
  EsmithAliases aliases;  // SME Server: groups and pseudonyms (import-backup)
};

// `path`: an archive file, a directory (an exploded backup, read the same
// way: directory_entries.h) or "-", a stream on standard input read once
// (stream_spool.h). Throws ArchiveError (not a readable archive) or
// maildir::SourceError (no
// mail found, a needed domain not given). Damage further in is reported
// through Source::domains() as problems naming the entry and the offset.
OpenedArchive open_archive(const std::string& path, const ArchiveOptions& options);

}  // namespace mailmig::archive
