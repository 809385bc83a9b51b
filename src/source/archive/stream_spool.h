// archive:- -- a tar stream on standard input, read in one pass.
//
// A stream cannot be read again, and the layouts need the whole catalogue
// (the e-smith databases may come last) before any folder is read, while the
// engine reads each message twice. So the one pass writes the entries the
// layouts may read -- message files (in cur/ or new/, CommuniGate .mbox,
// .mdir and .macnt), the metadata files (catalogue.h) and every directory,
// symbolic link and hard link -- into a private directory (mkdtemp, 0700,
// files 0600, mtimes kept), memory bounded by one copy buffer. Nothing else
// is written (a full backup's other files are only counted). The directory
// is then read like archive:DIR, so every layout rule stays in one place,
// and it is removed with the StreamSpool (at the end of the run). Its name
// carries the run's PID (mailmig-stream-PID-XXXXXX), so the next run removes
// the spool of a run that was killed (its PID is gone) without being asked.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/problem.h"

namespace mailmig::archive {

class StreamSpool {
 public:
  StreamSpool() = default;
  StreamSpool(const StreamSpool&) = delete;
  StreamSpool& operator=(const StreamSpool&) = delete;
  ~StreamSpool();  // removes the directory and everything in it

  std::string directory;
  std::string format;       // e.g. "gzip GNU tar format"
  std::uint64_t bytes = 0;  // data written to the spool
  std::uint64_t files = 0;
  std::uint64_t skipped_files = 0;  // regular files no layout reads: not written
  std::uint64_t skipped_bytes = 0;
  std::vector<Problem> problems;  // damage in the stream, entries that could not be written
};

// True for the regular files the spool keeps (see above).
bool spooled_path(std::string_view path);

// The PID in a spool directory name "mailmig-stream-PID-XXXXXX", or 0 when
// `name` is not one.
int spool_owner_pid(std::string_view name);

// Reads `path` ("-": standard input) once into a new spool under $TMPDIR (or
// /tmp). Problems name `shown`, the entry and the stream offset. Throws
// ArchiveError when it is no archive, IoError when no spool can be made.
std::unique_ptr<StreamSpool> spool_stream(const std::string& path, const std::string& shown);

}  // namespace mailmig::archive
