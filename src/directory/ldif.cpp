#include "directory/ldif.h"

#include <fmt/format.h>
#include <lber.h>
#include <ldap.h>
#include <ldif.h>

#include <algorithm>
#include <cstring>

#include "core/error.h"

namespace mailmig::directory {

namespace {

// ldif_getline marks each fold ("\n ") with this pair; ldif_parse_line2 squeezes it out.
constexpr char kFoldMarker = '\r';

std::string squeeze_folds(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c != kFoldMarker) out.push_back(c);
  }
  return out;
}

std::string trim(std::string_view text) {
  const auto first = text.find_first_not_of(" \t");
  if (first == std::string_view::npos) return {};
  const auto last = text.find_last_not_of(" \t");
  return std::string(text.substr(first, last - first + 1));
}

bool valid_dn(const std::string& dn) {
  LDAPDN parsed = nullptr;
  const int rc = ldap_str2dn(dn.c_str(), &parsed, LDAP_DN_FORMAT_LDAPV3);
  if (parsed != nullptr) ldap_dnfree(parsed);
  return rc == LDAP_SUCCESS;
}

bool is_modify_verb(const std::string& name) {
  return ascii_iequals(name, "add") || ascii_iequals(name, "delete") || ascii_iequals(name, "replace") ||
         ascii_iequals(name, "increment");
}

// The attribute type of "cn;lang-de": options do not change which attribute it is.
std::string_view base_type(std::string_view name) {
  return name.substr(0, name.find(';'));
}

using LdifLines = std::vector<LdifLine>;

[[noreturn]] void fail_at(const std::string& origin, unsigned long line, const std::string& message) {
  throw LdifError(origin, line, message);
}

// No "-" separator from `from` on: it belongs to modify records only.
void check_no_separator(const LdifLines& lines, std::size_t from, const std::string& origin,
                        const char* what) {
  for (std::size_t i = from; i < lines.size(); ++i) {
    if (lines[i].kind == LdifLine::Kind::Separator) fail_at(origin, lines[i].line, what);
  }
}

void check_modrdn(const LdifLines& lines, std::size_t from, const std::string& kind,
                  const std::string& origin) {
  for (std::size_t i = from; i < lines.size(); ++i) {
    const std::string& name = lines[i].name;
    if (!ascii_iequals(name, "newrdn") && !ascii_iequals(name, "deleteoldrdn") &&
        !ascii_iequals(name, "newsuperior")) {
      fail_at(origin, lines[i].line, fmt::format("\"{}\" in a {} record", name, kind));
    }
  }
}

// One "add:/delete:/replace:/increment: TYPE" block starting at `i`: its values
// are all of TYPE and it ends with "-". Returns the index after the "-".
std::size_t check_modify_block(const LdifLines& lines, std::size_t i, const std::string& origin) {
  const LdifLine& spec = lines[i];
  if (spec.kind != LdifLine::Kind::Value || !is_modify_verb(spec.name)) {
    fail_at(origin, spec.line,
            fmt::format("expected add:, delete:, replace: or increment: in a modify record, not \"{}\"",
                        spec.kind == LdifLine::Kind::Separator ? "-" : spec.name));
  }
  for (++i; i < lines.size() && lines[i].kind != LdifLine::Kind::Separator; ++i) {
    if (!ascii_iequals(base_type(lines[i].name), base_type(spec.value))) {
      fail_at(origin, lines[i].line,
              fmt::format("a value of \"{}\" under \"{}: {}\" (missing \"-\"?)", lines[i].name, spec.name,
                          spec.value));
    }
  }
  if (i == lines.size())
    fail_at(origin, spec.line, fmt::format("\"{}: {}\" is not closed by \"-\"", spec.name, spec.value));
  return i + 1;  // past the "-"
}

// The lines after "changetype: X" (at `i`) as RFC 2849 shapes a change record of that kind.
void check_change(const LdifLines& lines, std::size_t i, const LdifLine& type, const std::string& origin) {
  const std::string kind = ascii_lower(type.value);
  if (kind == "add") {
    check_no_separator(lines, i, origin, "\"-\" in an add record");
  } else if (kind == "delete") {
    if (i < lines.size()) fail_at(origin, lines[i].line, "a delete record has no further lines");
  } else if (kind == "modrdn" || kind == "moddn") {
    check_modrdn(lines, i, kind, origin);
  } else if (kind == "modify") {
    while (i < lines.size()) i = check_modify_block(lines, i, origin);
  } else {
    fail_at(origin, type.line, fmt::format("unknown changetype \"{}\"", type.value));
  }
}

// Checks the structure RFC 2849 gives each kind of record.
void check_record(const LdifRecord& record, const std::string& origin) {
  const LdifLines& lines = record.lines;
  std::size_t i = 0;
  while (i < lines.size() && ascii_iequals(lines[i].name, "control")) ++i;
  if (i < lines.size() && ascii_iequals(lines[i].name, "changetype")) {
    check_change(lines, i + 1, lines[i], origin);
  } else {
    check_no_separator(lines, i, origin, "\"-\" outside a modify record");
  }
}

// File line numbers inside one record buffer: ldif_getline overwrites the
// newlines, so they are noted before it runs.
class BufferLines {
 public:
  BufferLines(const char* buffer, unsigned long first_line) : buffer_(buffer), first_line_(first_line) {
    for (const char* p = buffer; *p != '\0'; ++p) {
      if (*p == '\n') newlines_.push_back(static_cast<std::size_t>(p - buffer));
    }
  }
  unsigned long line_of(const char* at) const {
    const auto offset = static_cast<std::size_t>(at - buffer_);
    return first_line_ +
           static_cast<unsigned long>(std::lower_bound(newlines_.begin(), newlines_.end(), offset) -
                                      newlines_.begin());
  }

 private:
  const char* buffer_;
  unsigned long first_line_;
  std::vector<std::size_t> newlines_;
};

// "name: value", "name:: base64" or "name:< url" (one unfolded line, not "-").
LdifLine parse_attribute_line(char* line, unsigned long lineno, const std::string& origin) {
  LdifLine parsed;
  parsed.line = lineno;
  const char* colon = std::strchr(line, ':');
  if (colon == nullptr || colon == line) {
    fail_at(origin, lineno,
            fmt::format("not \"attribute: value\": \"{}\"", squeeze_folds(line).substr(0, 60)));
  }
  if (colon[1] == '<') {
    // Kept as a URL: fetching file:// URLs is not this tool's business.
    parsed.kind = LdifLine::Kind::Url;
    parsed.name = squeeze_folds(std::string_view(line, static_cast<std::size_t>(colon - line)));
    parsed.value = trim(squeeze_folds(colon + 2));
    // RFC 2849: "<" FILL url -- a URL line without its URL is malformed (it was
    // written back as an empty value, another record).
    if (parsed.value.empty()) fail_at(origin, lineno, fmt::format("\"{}:<\" without a URL", parsed.name));
  } else {
    berval type{};
    berval value{};
    int free_value = 0;
    if (ldif_parse_line2(line, &type, &value, &free_value) < 0) {
      fail_at(origin, lineno, "malformed line (bad base64 or attribute name)");
    }
    // ldif_parse_line2 ends the type at blanks before the colon ("cn : x") with a NUL
    // but counts them in bv_len: the name is what comes before that NUL.
    parsed.name.assign(type.bv_val, ::strnlen(type.bv_val, type.bv_len));
    if (value.bv_val != nullptr) parsed.value.assign(value.bv_val, value.bv_len);
    if (free_value != 0) ber_memfree(value.bv_val);
  }
  if (parsed.name.find_first_of(" \t") != std::string::npos) {
    fail_at(origin, lineno, fmt::format("attribute name \"{}\" contains a space", parsed.name));
  }
  return parsed;
}

LdifLine parse_line(char* line, unsigned long lineno, const std::string& origin) {
  if (std::strcmp(line, "-") == 0 || std::strcmp(line, "-\r") == 0) {
    LdifLine separator;
    separator.line = lineno;
    separator.kind = LdifLine::Kind::Separator;
    return separator;
  }
  return parse_attribute_line(line, lineno, origin);
}

// The first line of a record: "dn:" with a valid DN.
void take_dn(LdifLine& parsed, const std::string& origin, LdifRecord& out) {
  if (!ascii_iequals(parsed.name, "dn") || parsed.kind != LdifLine::Kind::Value) {
    fail_at(origin, parsed.line, "a record must start with \"dn:\"");
  }
  if (!valid_dn(parsed.value)) fail_at(origin, parsed.line, fmt::format("invalid DN \"{}\"", parsed.value));
  out.dn = std::move(parsed.value);
  out.line = parsed.line;
}

// Splits one record buffer (as ldif_read_record returns it, modified in place)
// into lines. first_line is the file line of the buffer's first byte.
// Returns false for a buffer that holds only comments or a "version:" line.
bool parse_buffer(char* buffer, unsigned long first_line, const std::string& origin, bool may_be_version,
                  LdifRecord& out) {
  const BufferLines lines(buffer, first_line);
  out = LdifRecord{};
  bool have_dn = false;
  char* next = buffer;
  while (char* line = ldif_getline(&next)) {
    LdifLine parsed = parse_line(line, lines.line_of(line), origin);
    if (have_dn) {
      out.lines.push_back(std::move(parsed));
    } else if (may_be_version && ascii_iequals(parsed.name, "version")) {
      if (parsed.value != "1")
        fail_at(origin, parsed.line, fmt::format("LDIF version {} (only 1 exists)", parsed.value));
      may_be_version = false;
    } else {
      take_dn(parsed, origin, out);
      have_dn = true;
    }
  }
  if (!have_dn) return false;
  check_record(out, origin);
  return true;
}

}  // namespace

LdifError::LdifError(const std::string& file, unsigned long line, const std::string& message)
    : std::runtime_error(fmt::format("{}:{}: {}", file, line, message)), line_(line) {}

std::string LdifRecord::changetype() const {
  for (const LdifLine& l : lines) {
    if (ascii_iequals(l.name, "control")) continue;
    return ascii_iequals(l.name, "changetype") ? ascii_lower(l.value) : std::string();
  }
  return {};
}

Entry to_entry(const LdifRecord& record) {
  Entry entry;
  entry.dn = record.dn;
  for (const LdifLine& line : record.lines) entry.add(line.name, line.value);
  return entry;
}

struct LdifReader::LdifFile {
  LDIFFP* fp = nullptr;
};

LdifReader::LdifReader(const std::string& path) : path_(path), file_(std::make_unique<LdifFile>()) {
  file_->fp = ldif_open(path.c_str(), "r");
  if (file_->fp == nullptr)
    throw std::runtime_error(fmt::format("{}: cannot open: {}", path, error_text(errno)));
}

LdifReader::~LdifReader() {
  if (file_->fp != nullptr) ldif_close(file_->fp);
  ber_memfree(buffer_);
}

bool LdifReader::next(LdifRecord& out) {
  for (;;) {
    // ldif_read_record skips lines starting with a digit before a record (the
    // entry numbers of old slapcat output); a "record" of only such lines
    // returns 1 and leaves the buffer as it was: null at the start, else the
    // previous record, which was then read twice. Cleared, such a record is
    // seen to be empty and skipped.
    if (buffer_ != nullptr) buffer_[0] = '\0';
    const int rc = ldif_read_record(file_->fp, &lineno_, &buffer_, &buffer_size_);
    if (rc == 0) return false;
    if (rc < 0) throw std::runtime_error(fmt::format("{}: cannot read after line {}", path_, lineno_));
    if (buffer_ == nullptr || buffer_[0] == '\0') continue;
    // lineno_ is now the last line read, the blank line ending the record included
    // (none at the end of the file).
    const auto lines_in_buffer =
        static_cast<unsigned long>(std::count(buffer_, buffer_ + std::strlen(buffer_), '\n'));
    const bool ended_by_blank = feof(file_->fp->fp) == 0;
    const unsigned long first_line = lineno_ - lines_in_buffer - (ended_by_blank ? 1 : 0) + 1;
    const bool may_be_version = first_;
    first_ = false;
    if (parse_buffer(buffer_, first_line, path_, may_be_version, out)) return true;
  }
}

LdifRecord parse_ldif_record(const std::string& text, const std::string& origin, unsigned long first_line) {
  std::string copy = text;
  if (copy.empty() || copy.back() != '\n') copy.push_back('\n');
  LdifRecord record;
  if (!parse_buffer(copy.data(), first_line, origin, false, record))
    throw LdifError(origin, first_line, "no record");
  return record;
}

void LdifWriter::put(const std::string& name, const std::string& value, bool url) {
  char* text = ldif_put_wrap(url ? LDIF_PUT_URL : LDIF_PUT_VALUE, name.c_str(), value.data(),
                             static_cast<ber_len_t>(value.size()), 0);
  if (text == nullptr) throw std::bad_alloc();
  out_ << text;
  ber_memfree(text);
}

void LdifWriter::write(const LdifRecord& record) {
  put("dn", record.dn);
  for (const LdifLine& line : record.lines) {
    if (line.kind == LdifLine::Kind::Separator) {
      out_ << "-\n";
    } else {
      put(line.name, line.value, line.kind == LdifLine::Kind::Url);
    }
  }
  out_ << '\n';
}

void LdifWriter::write(const Entry& entry) {
  put("dn", entry.dn);
  for (const Attribute& attribute : entry.attributes) {
    for (const std::string& value : attribute.values) put(attribute.name, value);
  }
  out_ << '\n';
}

void LdifWriter::write(const ModifyRecord& change) {
  put("dn", change.dn);
  put("changetype", "modify");
  for (const Modification& mod : change.mods) {
    put(mod.op == ModOp::Add ? "add" : mod.op == ModOp::Delete ? "delete" : "replace", mod.attribute);
    for (const std::string& value : mod.values) put(mod.attribute, value);
    out_ << "-\n";
  }
  out_ << '\n';
}

}  // namespace mailmig::directory
