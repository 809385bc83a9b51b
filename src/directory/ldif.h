// LDIF (RFC 2849) records, streamed. Reading uses libldap's LDIF routines
// (ldif_read_record for record framing, ldif_getline for unfolding,
// ldif_parse_line2 for base64); writing uses ldif_put_wrap, which chooses
// base64 exactly where RFC 2849 requires it and folds at 78 columns.
// What libldap does not do is here: `attr:<` URL values are kept as URLs
// (ldif_parse_line2 would fetch them), every line keeps its number in the
// file, and change records are checked for their structure.
#pragma once

#include <cstdio>
#include <memory>
#include <ostream>
#include <stdexcept>
#include <string>
#include <vector>

#include "directory/entry.h"

namespace mailmig::directory {

struct LdifLine {
  enum class Kind { Value, Url, Separator };  // attr: value, attr:< url, "-"
  Kind kind = Kind::Value;
  std::string name;
  std::string value;
  unsigned long line = 0;
};

struct LdifRecord {
  std::string dn;
  unsigned long line = 0;       // of the dn: line
  std::vector<LdifLine> lines;  // everything after dn:, in file order

  // "changetype: ..." is the first line after the dn (and its controls): empty for a content record.
  std::string changetype() const;
};

// A content record as an entry (URL values keep their URL text).
Entry to_entry(const LdifRecord& record);

class LdifError : public std::runtime_error {
 public:
  LdifError(const std::string& file, unsigned long line, const std::string& message);
  unsigned long line() const { return line_; }

 private:
  unsigned long line_;
};

class LdifReader {
 public:
  explicit LdifReader(const std::string& path);  // throws std::runtime_error when it cannot be opened
  LdifReader(const LdifReader&) = delete;
  LdifReader& operator=(const LdifReader&) = delete;
  ~LdifReader();

  // The next record; false at the end. A malformed record throws LdifError
  // naming its line; it is consumed, so the caller may go on with the next.
  bool next(LdifRecord& out);

 private:
  std::string path_;
  struct LdifFile;
  std::unique_ptr<LdifFile> file_;
  char* buffer_ = nullptr;
  int buffer_size_ = 0;
  unsigned long lineno_ = 0;
  bool first_ = true;
};

// Parses one record's text (unit tests, and LDIF given inline); lines are
// numbered from first_line.
LdifRecord parse_ldif_record(const std::string& text, const std::string& origin = "LDIF",
                             unsigned long first_line = 1);

class LdifWriter {
 public:
  explicit LdifWriter(std::ostream& out) : out_(out) {}
  void write(const LdifRecord& record);
  void write(const Entry& entry);
  void write(const ModifyRecord& change);

 private:
  void put(const std::string& name, const std::string& value, bool url = false);
  std::ostream& out_;
};

}  // namespace mailmig::directory
