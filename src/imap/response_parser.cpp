#include "imap/response_parser.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <iterator>
#include <limits>
#include <utility>

#include "core/ascii.h"

namespace mailmig::imap {
namespace {

bool is_control(char c) {
  const auto u = static_cast<unsigned char>(c);
  return u < 0x20 || u == 0x7f;
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// Atom scanning is one table lookup per byte. Code mode (inside "[...]" of a
// status response) additionally stops at "]".
enum ByteClass : std::uint8_t { kAtomByte = 0, kStop = 1, kOpenBracket = 2 };

constexpr std::array<std::uint8_t, 256> atom_table(bool code_mode) {
  std::array<std::uint8_t, 256> table{};
  for (std::size_t c = 0; c < 0x20; ++c) table[c] = kStop;
  table[0x7f] = kStop;
  table[' '] = kStop;
  table['('] = kStop;
  table[')'] = kStop;
  table['['] = kOpenBracket;
  if (code_mode) table[']'] = kStop;
  return table;
}
constexpr auto kDataAtom = atom_table(false);
constexpr auto kCodeAtom = atom_table(true);

// RFC 3501 ASTRING-CHAR: CHAR except atom-specials, "]" allowed.
constexpr std::array<bool, 256> tag_table() {
  std::array<bool, 256> table{};
  for (std::size_t c = 0x21; c < 0x7f; ++c) table[c] = true;
  for (const char c : {'(', ')', '{', '"', '\\', '%', '*'}) table[static_cast<unsigned char>(c)] = false;
  return table;
}
constexpr auto kTagByte = tag_table();

bool is_status_word(std::string_view word) {
  return word == "OK" || word == "NO" || word == "BAD" || word == "PREAUTH" || word == "BYE";
}

// Untagged data responses of RFC 3501 and the extensions the client uses;
// their syntax is item lists, so a line that does not parse is an error.
bool is_known_keyword(std::string_view word) {
  static constexpr std::array<std::string_view, 24> kKnown = {
      "FETCH", "EXISTS",    "EXPUNGE",  "RECENT",     "FLAGS",     "SEARCH",  "ESEARCH",    "LIST",
      "LSUB",  "XLIST",     "STATUS",   "CAPABILITY", "NAMESPACE", "ENABLED", "ID",         "VANISHED",
      "QUOTA", "QUOTAROOT", "METADATA", "SORT",       "THREAD",    "ACL",     "LISTRIGHTS", "MYRIGHTS"};
  return std::find(kKnown.begin(), kKnown.end(), word) != kKnown.end();
}

// Position of the quote closing the quoted string opening at `open`, or npos.
std::size_t closing_quote(std::string_view line, std::size_t open) {
  for (std::size_t p = open + 1; p < line.size(); ++p) {
    if (line[p] == '\\') {
      ++p;
    } else if (line[p] == '"') {
      return p;
    }
  }
  return std::string_view::npos;
}

std::string printable_excerpt(std::string_view line) {
  constexpr std::size_t kMax = 160;
  std::string out;
  for (std::size_t i = 0; i < line.size() && i < kMax; ++i) {
    const auto u = static_cast<unsigned char>(line[i]);
    if (u >= 0x20 && u < 0x7f) {
      out += line[i];
    } else {
      out += fmt::format("\\x{:02x}", u);
    }
  }
  if (line.size() > kMax) out += "...";
  return out;
}

// A position in one line (the bytes between two literals, CRLF excluded);
// errors carry the line and the column.
class Cursor {
 public:
  Cursor(std::string_view line, std::size_t pos, std::uint64_t stream_offset)
      : line_(line), pos_(pos), stream_offset_(stream_offset) {}

  [[nodiscard]] bool at_end() const { return pos_ >= line_.size(); }
  [[nodiscard]] char peek() const { return line_[pos_]; }
  [[nodiscard]] bool peek_is(std::size_t ahead, char c) const {
    return pos_ + ahead < line_.size() && line_[pos_ + ahead] == c;
  }
  [[nodiscard]] std::size_t pos() const { return pos_; }
  [[nodiscard]] std::string_view line() const { return line_; }
  void skip(std::size_t n) { pos_ += n; }
  void set_pos(std::size_t pos) { pos_ = pos; }
  void skip_spaces() {
    while (pos_ < line_.size() && line_[pos_] == ' ') ++pos_;
  }
  // Bytes up to a space, parenthesis or control byte (tags, keywords).
  std::string_view word() {
    const std::size_t start = pos_;
    while (pos_ < line_.size() && kDataAtom[static_cast<unsigned char>(line_[pos_])] != kStop) ++pos_;
    return line_.substr(start, pos_ - start);
  }

  [[noreturn]] void fail(const std::string& message) const {
    throw ProtocolError(message, line_, stream_offset_, pos_ + 1);
  }

 private:
  std::string_view line_;
  std::size_t pos_;
  std::uint64_t stream_offset_;
};

enum class Stop { LineEnd, Literal, CodeEnd };

// The open lists of the response being parsed, over vectors owned by the
// parser. Level vectors stay allocated between lists and responses and a
// closed list gets an exact-size copy: one allocation per list instead of one
// per capacity doubling.
class ListStack {
 public:
  ListStack(std::vector<std::vector<Item>>& levels, std::size_t& depth) : levels_(levels), depth_(depth) {}

  // One empty level: the response's own items.
  void reset() {
    if (levels_.empty()) levels_.emplace_back();
    levels_.front().clear();
    depth_ = 1;
  }
  [[nodiscard]] std::size_t depth() const { return depth_; }
  std::vector<Item>& top() { return levels_[depth_ - 1]; }
  void open() {
    if (depth_ == levels_.size()) levels_.emplace_back();
    levels_[depth_].clear();  // a level abandoned by an error may hold items
    ++depth_;
  }
  void close() {
    Item list = Item::list_of(take(top()));
    --depth_;
    top().push_back(std::move(list));
  }
  // The level's items in an exact-size vector; the level keeps its capacity
  // unless one huge list made it big (memory stays bounded between responses).
  static std::vector<Item> take(std::vector<Item>& level) {
    constexpr std::size_t kKeepCapacity = 4096;
    std::vector<Item> items(std::make_move_iterator(level.begin()), std::make_move_iterator(level.end()));
    if (level.capacity() > kKeepCapacity) {
      std::vector<Item>().swap(level);
    } else {
      level.clear();
    }
    return items;
  }

 private:
  std::vector<std::vector<Item>>& levels_;
  std::size_t& depth_;
};

// Reads data items from one line into a stack of open lists until the line
// ends, a literal header ends it, or (code mode) the "]" closing a response
// code. The stack carries open lists across literals.
class ItemReader {
 public:
  ItemReader(Cursor& cursor, ListStack stack, std::size_t& items, const ResponseParser::Limits& limits,
             bool code_mode)
      : c_(cursor), stack_(stack), items_(items), limits_(limits), code_mode_(code_mode) {}

  Stop run() {
    for (;;) {
      c_.skip_spaces();
      if (c_.at_end()) return Stop::LineEnd;
      switch (c_.peek()) {
        case '(':
          open_list();
          break;
        case ')':
          close_list();
          break;
        case '"':
          add(Item::string(quoted()));
          break;
        case '{':
          literal_header();
          return Stop::Literal;
        case '~':
          if (!c_.peek_is(1, '{')) {
            add(atom());
            break;
          }
          c_.skip(1);
          literal_header();
          return Stop::Literal;
        case ']':
          if (!code_mode_) {
            add(atom());
            break;
          }
          if (stack_.depth() != 1) c_.fail("unclosed '(' in response code");
          return Stop::CodeEnd;
        default:
          if (is_control(c_.peek())) c_.fail("unexpected control byte");
          add(atom());
      }
    }
  }

  [[nodiscard]] std::uint64_t literal_size() const { return literal_size_; }

 private:
  void count_item() {
    if (++items_ > limits_.max_items)
      c_.fail(fmt::format("more than {} items in one response", limits_.max_items));
  }

  void add(Item item) {
    count_item();
    stack_.top().push_back(std::move(item));
  }

  void open_list() {
    if (stack_.depth() > limits_.max_depth)
      c_.fail(fmt::format("lists nested deeper than {}", limits_.max_depth));
    count_item();
    c_.skip(1);
    stack_.open();
  }

  void close_list() {
    if (stack_.depth() == 1) c_.fail("unbalanced ')'");
    c_.skip(1);
    stack_.close();
  }

  // "..." with \" and \\ decoded; other backslashes are kept with their byte
  // (lenient towards servers that do not escape Windows paths).
  std::string quoted() {
    const std::string_view line = c_.line();
    const std::size_t from = c_.pos() + 1;
    const void* hit = std::memchr(line.data() + from, '"', line.size() - from);
    if (hit == nullptr) c_.fail("unterminated quoted string");
    const auto close = static_cast<std::size_t>(static_cast<const char*>(hit) - line.data());
    if (std::memchr(line.data() + from, '\\', close - from) == nullptr) {
      c_.set_pos(close + 1);
      return std::string(line.substr(from, close - from));
    }
    return quoted_with_escapes(from);
  }

  std::string quoted_with_escapes(std::size_t from) {
    const std::string_view line = c_.line();
    std::string out;
    for (std::size_t p = from; p < line.size(); ++p) {
      const char ch = line[p];
      if (ch == '"') {
        c_.set_pos(p + 1);
        return out;
      }
      if (ch == '\\' && p + 1 < line.size()) {
        const char next = line[++p];
        if (next != '"' && next != '\\') out += '\\';
        out += next;
      } else {
        out += ch;
      }
    }
    c_.fail("unterminated quoted string");
  }

  Item atom() {
    const auto& table = code_mode_ ? kCodeAtom : kDataAtom;
    const std::string_view line = c_.line();
    const std::size_t start = c_.pos();
    std::size_t p = start;
    while (p < line.size()) {
      const std::uint8_t cls = table[static_cast<unsigned char>(line[p])];
      if (cls == kAtomByte) {
        ++p;
      } else if (cls == kStop) {
        break;
      } else {
        p = after_section(line, p);
      }
    }
    c_.set_pos(p);
    const std::string_view text = line.substr(start, p - start);
    if (ascii_iequals(text, "NIL")) return Item::nil();
    return Item::atom(std::string(text));
  }

  // A "[" inside an atom opens a section (BODY[HEADER.FIELDS (A B)]) that
  // runs to the matching "]". Without a match the "[" is an ordinary byte,
  // and so is every later "[" on this line: rescanning each would make a line
  // of "[[[[..." quadratic.
  std::size_t after_section(std::string_view line, std::size_t open) {
    if (brackets_ok_) {
      std::size_t depth = 0;
      for (std::size_t p = open; p < line.size(); ++p) {
        if (line[p] == '[') {
          ++depth;
        } else if (line[p] == ']') {
          if (--depth == 0) return p + 1;
        } else if (line[p] == '"') {
          p = closing_quote(line, p);
          if (p == std::string_view::npos) break;
        }
      }
      brackets_ok_ = false;
    }
    return open + 1;
  }

  // "{" digits ["+"] "}" at the end of the line; the cursor is on "{".
  void literal_header() {
    c_.skip(1);
    std::uint64_t size = 0;
    const std::size_t digits_from = c_.pos();
    while (!c_.at_end() && is_digit(c_.peek())) {
      const auto digit = static_cast<std::uint64_t>(c_.peek() - '0');
      if (size > (std::numeric_limits<std::uint64_t>::max() - digit) / 10) c_.fail("literal size too large");
      size = size * 10 + digit;
      c_.skip(1);
    }
    if (c_.pos() == digits_from) c_.fail("bad literal size");
    if (!c_.at_end() && c_.peek() == '+') c_.skip(1);
    if (c_.at_end() || c_.peek() != '}') c_.fail("bad literal header");
    c_.skip(1);
    if (!c_.at_end()) c_.fail("literal header not at the end of the line");
    literal_size_ = size;
  }

  Cursor& c_;
  ListStack stack_;
  std::size_t& items_;
  const ResponseParser::Limits& limits_;
  bool code_mode_;
  bool brackets_ok_ = true;
  std::uint64_t literal_size_ = 0;
};

std::vector<Item> split_raw_words(std::string_view raw) {
  std::vector<Item> words;
  std::size_t p = 0;
  while (p < raw.size()) {
    const std::size_t end = std::min(raw.find(' ', p), raw.size());
    if (end > p) words.push_back(Item::atom(std::string(raw.substr(p, end - p))));
    p = end + 1;
  }
  return words;
}

void render(const Item& item, std::string& out) {
  switch (item.kind) {
    case Item::Kind::Atom:
      out += item.text;
      break;
    case Item::Kind::Nil:
      out += "NIL";
      break;
    case Item::Kind::StreamedLiteral:
      out += fmt::format("{{{}:streamed}}", item.literal_size);
      break;
    case Item::Kind::String:
      out += '"';
      for (const char ch : item.text) {
        if (ch == '"' || ch == '\\') {
          out += '\\';
          out += ch;
        } else if (is_control(ch) || static_cast<unsigned char>(ch) >= 0x80) {
          out += fmt::format("\\x{:02x}", static_cast<unsigned char>(ch));
        } else {
          out += ch;
        }
      }
      out += '"';
      break;
    case Item::Kind::List:
      out += '(';
      for (std::size_t i = 0; i < item.list.size(); ++i) {
        if (i > 0) out += ' ';
        render(item.list[i], out);
      }
      out += ')';
      break;
  }
}

}  // namespace

// ---- Item, Response ----

bool Item::is_atom(std::string_view name) const {
  return kind == Kind::Atom && ascii_iequals(text, name);
}

std::optional<std::uint64_t> Item::as_number() const {
  if (kind != Kind::Atom || text.empty() || text.size() > 20) return std::nullopt;
  std::uint64_t value = 0;
  for (const char ch : text) {
    if (!is_digit(ch)) return std::nullopt;
    const auto digit = static_cast<std::uint64_t>(ch - '0');
    if (value > (std::numeric_limits<std::uint64_t>::max() - digit) / 10) return std::nullopt;
    value = value * 10 + digit;
  }
  return value;
}

std::optional<std::string_view> Item::as_astring() const {
  if (kind != Kind::Atom && kind != Kind::String) return std::nullopt;
  return std::string_view(text);
}

const Item* Item::get(std::string_view key) const {
  if (kind != Kind::List) return nullptr;
  for (std::size_t i = 0; i + 1 < list.size(); i += 2) {
    if (list[i].is_atom(key)) return &list[i + 1];
  }
  return nullptr;
}

bool Response::has_code(std::string_view name) const {
  return code && ascii_iequals(code->name, name);
}

std::string to_debug_string(const Item& item) {
  std::string out;
  render(item, out);
  return out;
}

std::string to_debug_string(const Response& response) {
  std::string out;
  switch (response.type) {
    case Response::Type::Continuation:
      out = "+";
      break;
    case Response::Type::Tagged:
      out = response.tag + ' ' + response.keyword;
      break;
    case Response::Type::Untagged:
      out = "* ";
      if (response.number) out += fmt::format("{} ", *response.number);
      out += response.keyword;
      break;
  }
  if (response.code) {
    out += " [" + response.code->name;
    for (const auto& arg : response.code->args) {
      out += ' ';
      render(arg, out);
    }
    out += ']';
  }
  for (const auto& item : response.data) {
    out += ' ';
    render(item, out);
  }
  if (!response.text.empty()) out += ' ' + response.text;
  return out;
}

// ---- ProtocolError ----

namespace {
std::string describe_error(const std::string& message, std::string_view line, std::uint64_t offset,
                           std::size_t column) {
  const std::string where = column > 0 ? fmt::format("column {} of the line at byte {}", column, offset)
                                       : fmt::format("byte {}", offset);
  return fmt::format("IMAP protocol error: {} ({}): \"{}\"", message, where, printable_excerpt(line));
}
}  // namespace

ProtocolError::ProtocolError(const std::string& message, std::string_view line, std::uint64_t stream_offset,
                             std::size_t column)
    : std::runtime_error(describe_error(message, line, stream_offset, column)),
      excerpt_(printable_excerpt(line)),
      stream_offset_(stream_offset) {}

// ---- ResponseParser ----

ResponseParser::ResponseParser() : ResponseParser(Limits{}) {}

ResponseParser::ResponseParser(Limits limits) : limits_(limits) {}

void ResponseParser::set_literal_sink(LiteralSink sink) {
  sink_ = std::move(sink);
}

void ResponseParser::feed(std::string_view bytes) {
  if (failed_ || bytes.empty()) return;
  compact();
  buf_.append(bytes);
}

// Drops consumed bytes once they are at least half the buffer, so each byte
// is moved O(1) times on average.
void ResponseParser::compact() {
  if (pos_ == 0 || pos_ * 2 < buf_.size()) return;
  buf_.erase(0, pos_);
  dropped_ += pos_;
  scan_ -= std::min(scan_, pos_);
  pos_ = 0;
}

std::optional<Response> ResponseParser::next() {
  if (failed_) throw *failed_;
  try {
    return advance();
  } catch (const ProtocolError& error) {
    failed_ = error;
    throw;
  }
}

std::optional<Response> ResponseParser::advance() {
  for (;;) {
    if (phase_ == Phase::Literal) {
      if (!pump_literal()) return std::nullopt;
      continue;
    }
    const auto line = take_line();
    if (!line) return std::nullopt;
    const bool done = phase_ == Phase::Start ? parse_first_line(*line) : parse_items_line(*line, 0);
    if (done) return finish();
  }
}

// The next line without its CRLF (or bare LF), consumed; nullopt until its LF
// arrives. The view is valid until the next feed().
std::optional<std::string_view> ResponseParser::take_line() {
  scan_ = std::max(scan_, pos_);
  const std::string_view buffer(buf_);
  const std::size_t lf = buffer.find('\n', scan_);  // memchr underneath
  if (lf == std::string_view::npos) {
    scan_ = buffer.size();
    // One byte of slack: a trailing CR may still get its LF.
    const std::size_t partial = buffer.size() - pos_;
    if (partial > 0 && partial - 1 > limits_.max_line) {
      throw ProtocolError(fmt::format("line longer than {} bytes", limits_.max_line), buffer.substr(pos_),
                          dropped_ + pos_);
    }
    return std::nullopt;
  }
  const std::size_t end = lf > pos_ && buffer[lf - 1] == '\r' ? lf - 1 : lf;
  const std::string_view line = buffer.substr(pos_, end - pos_);
  line_start_ = dropped_ + pos_;
  pos_ = scan_ = lf + 1;
  if (line.size() > limits_.max_line) {
    throw ProtocolError(fmt::format("line longer than {} bytes", limits_.max_line), line, line_start_);
  }
  return line;
}

// The line that starts a response; true if it completes the response.
bool ResponseParser::parse_first_line(std::string_view line) {
  if (line.empty()) return false;  // tolerated: stray blank line between responses
  Cursor c(line, 0, line_start_);
  if (line[0] == '+' && (line.size() == 1 || line[1] == ' ')) {
    cur_.type = Response::Type::Continuation;
    cur_.text = std::string(line.substr(std::min<std::size_t>(2, line.size())));
    return true;
  }
  if (line[0] == '*') {
    if (!c.peek_is(1, ' ')) c.fail("expected SP after '*'");
    return parse_untagged(line, 2);
  }
  const std::string_view tag = c.word();
  if (tag.empty()) c.fail("missing tag");
  for (std::size_t i = 0; i < tag.size(); ++i) {
    if (!kTagByte[static_cast<unsigned char>(tag[i])]) Cursor(line, i, line_start_).fail("bad tag");
  }
  if (!c.peek_is(0, ' ')) c.fail("expected SP after tag");
  c.skip(1);
  const std::string status = ascii_upper(c.word());
  if (status != "OK" && status != "NO" && status != "BAD") c.fail("tagged response must be OK, NO or BAD");
  cur_.type = Response::Type::Tagged;
  cur_.tag = std::string(tag);
  cur_.status = cur_.keyword = status;
  parse_status(line, c.pos());
  return true;
}

bool ResponseParser::parse_untagged(std::string_view line, std::size_t from) {
  Cursor c(line, from, line_start_);
  cur_.type = Response::Type::Untagged;
  if (!c.at_end() && is_digit(c.peek())) {
    std::uint64_t number = 0;
    while (!c.at_end() && is_digit(c.peek())) {
      number = number * 10 + static_cast<std::uint64_t>(c.peek() - '0');
      if (number > std::numeric_limits<std::uint32_t>::max()) c.fail("message number out of range");
      c.skip(1);
    }
    if (!c.peek_is(0, ' ')) c.fail("expected SP after message number");
    c.skip_spaces();
    cur_.number = static_cast<std::uint32_t>(number);
  }
  cur_.keyword = ascii_upper(c.word());
  if (cur_.keyword.empty()) c.fail("missing response keyword");
  if (!cur_.number && is_status_word(cur_.keyword)) {
    cur_.status = cur_.keyword;
    parse_status(c.line(), c.pos());
    return true;
  }
  ListStack(levels_, depth_).reset();
  items_ = 0;
  return parse_data(c.line(), c.pos());
}

// Items after the keyword; an unknown keyword whose first line does not parse
// keeps the line as text instead of failing.
bool ResponseParser::parse_data(std::string_view line, std::size_t from) {
  if (is_known_keyword(cur_.keyword)) return parse_items_line(line, from);
  std::optional<std::uint64_t> literal;
  try {
    literal = read_items(line, from);
  } catch (const ProtocolError&) {
    ListStack(levels_, depth_).reset();
    items_ = 0;
    const std::size_t text_from = std::min(line.find_first_not_of(' ', from), line.size());
    cur_.text = std::string(line.substr(text_from));
    return true;
  }
  if (!literal) return true;
  begin_literal(*literal, line);
  return false;
}

bool ResponseParser::parse_items_line(std::string_view line, std::size_t from) {
  const auto literal = read_items(line, from);
  if (!literal) return true;
  begin_literal(*literal, line);
  return false;
}

// Items of one line into the open lists; the literal's size if a literal
// header ends the line, nullopt if the line ends the response.
std::optional<std::uint64_t> ResponseParser::read_items(std::string_view line, std::size_t from) {
  Cursor c(line, from, line_start_);
  ItemReader reader(c, ListStack(levels_, depth_), items_, limits_, false);
  if (reader.run() == Stop::Literal) return reader.literal_size();
  if (depth_ != 1) c.fail("unclosed '('");
  return std::nullopt;
}

// After the status word: ["[" code "]"] [SP] text.
void ResponseParser::parse_status(std::string_view line, std::size_t from) {
  std::size_t text_from = from;
  if (text_from < line.size() && line[text_from] == ' ') ++text_from;
  if (text_from < line.size() && line[text_from] == '[') {
    if (const std::size_t after = parse_code(line, text_from); after != 0) {
      text_from = after < line.size() && line[after] == ' ' ? after + 1 : after;
    }
  }
  cur_.text = std::string(line.substr(std::min(text_from, line.size())));
}

// The response code whose "[" is at `open`; returns the position after its
// "]", or 0 if this is not a code (then the bracket belongs to the text).
std::size_t ResponseParser::parse_code(std::string_view line, std::size_t open) {
  std::size_t p = open + 1;
  while (p < line.size() && line[p] != ' ' && line[p] != ']' && !is_control(line[p])) ++p;
  if (p == open + 1 || p >= line.size() || is_control(line[p])) return 0;
  ResponseCode code{ascii_upper(line.substr(open + 1, p - open - 1)), {}};
  if (line[p] == ']') {
    cur_.code = std::move(code);
    return p + 1;
  }
  const std::size_t args_from = p + 1;
  if (auto after = parse_code_args(line, args_from, code.args); after != 0) {
    cur_.code = std::move(code);
    return after;
  }
  const std::size_t close = line.find(']', args_from);
  if (close == std::string_view::npos) return 0;
  code.args = split_raw_words(line.substr(args_from, close - args_from));
  cur_.code = std::move(code);
  return close + 1;
}

// Code arguments as items up to the closing "]"; 0 if they do not parse.
std::size_t ResponseParser::parse_code_args(std::string_view line, std::size_t from,
                                            std::vector<Item>& args) {
  std::vector<std::vector<Item>> levels;
  std::size_t depth = 0;
  ListStack stack(levels, depth);
  stack.reset();
  std::size_t count = 0;
  Cursor c(line, from, line_start_);
  ItemReader reader(c, stack, count, limits_, true);
  try {
    if (reader.run() != Stop::CodeEnd) return 0;
  } catch (const ProtocolError&) {
    return 0;
  }
  args = std::move(levels.front());
  return c.pos() + 1;
}

void ResponseParser::begin_literal(std::uint64_t size, std::string_view line) {
  const Cursor c(line, line.size(), line_start_);
  if (++items_ > limits_.max_items)
    c.fail(fmt::format("more than {} items in one response", limits_.max_items));
  literal_streamed_ = size > limits_.max_buffered_literal;
  if (literal_streamed_ && !sink_) {
    c.fail(fmt::format("literal of {} bytes is over the {}-byte buffer limit and no literal sink is set",
                       size, limits_.max_buffered_literal));
  }
  literal_size_ = literal_left_ = size;
  literal_text_.clear();
  if (!literal_streamed_) literal_text_.reserve(static_cast<std::size_t>(size));
  phase_ = Phase::Literal;
}

// Moves available literal bytes to the literal; false if it needs more input.
bool ResponseParser::pump_literal() {
  const std::size_t available = buf_.size() - pos_;
  if (available == 0 && literal_left_ > 0) return false;
  const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(available, literal_left_));
  const std::string_view chunk(buf_.data() + pos_, n);
  const std::uint64_t offset = literal_size_ - literal_left_;
  // State first: a throwing sink leaves the parser consistent.
  pos_ += n;
  literal_left_ -= n;
  if (!literal_streamed_) {
    literal_text_.append(chunk);
  } else if (n > 0) {
    sink_(stream_index_, offset, chunk);
  }
  if (literal_left_ == 0) end_literal();
  return true;
}

void ResponseParser::end_literal() {
  if (literal_streamed_) {
    levels_[depth_ - 1].push_back(Item::streamed(literal_size_));
    ++stream_index_;
  } else {
    levels_[depth_ - 1].push_back(Item::string(std::move(literal_text_)));
    literal_text_.clear();
  }
  phase_ = Phase::Items;
}

Response ResponseParser::finish() {
  if (depth_ > 0) cur_.data = ListStack::take(levels_.front());
  depth_ = 0;
  items_ = 0;
  phase_ = Phase::Start;
  return std::exchange(cur_, Response{});
}

}  // namespace mailmig::imap
