// Incremental parser for IMAP4rev1 server responses (RFC 3501 §7, §9) with
// LITERAL+ {n+} (RFC 7888) and literal8 ~{n} (RFC 3516). The client feeds
// whatever the socket returned and drains complete responses in order; memory
// stays bounded: consumed bytes are dropped, a line (the text between two
// literals) is capped, and literals above a size go to a sink in chunks.
//
// Parsing rules and tolerances:
// - Lines end with CRLF; a bare LF is accepted. Empty lines between responses
//   are skipped.
// - "+" alone or "+ text" is a continuation request; the text is kept verbatim
//   (a base64 SASL challenge or Kerio's X-MASTERAUTH challenge).
// - A tag is 1*ASTRING-CHAR; a tagged response must be OK, NO or BAD.
// - Status responses: "[" code "]" is recognised only right after the status
//   word; the rest of the line is free text kept as-is. Code arguments are
//   parsed as items; if they do not parse (unbalanced quote or paren), they
//   are the raw space-separated words up to the first "]", as atoms. A "["
//   without a "]" on the line is text, not a code.
// - Items: atoms, "quoted" (\" and \\ escapes; a backslash before any other
//   byte is kept), literals, NIL (any case), nested lists. An atom runs to a
//   space, parenthesis or control byte; a "[" inside an atom starts a section
//   that runs to its matching "]" with spaces, parens and quoted strings
//   inside it, so "BODY[HEADER.FIELDS (From To)]<0>" is one atom. A "[" with
//   no match on the line is an ordinary atom byte (mailbox atoms may hold it).
//   Runs of spaces count as one separator; lists need no space between them
//   (THREAD "(1)(2 3)").
// - An untagged data response with a keyword outside the ones RFC 3501 and
//   the extensions we use define, whose first line does not parse as items,
//   keeps that line raw in `text` (an odd vendor response must not end a
//   migration); known keywords are strict.
// - Literal bytes may be anything (CRLF, NUL); a literal header must end its
//   line.
// After a ProtocolError the stream is out of sync: next() rethrows the same
// error and feed() ignores further bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "imap/response.h"

namespace mailmig::imap {

// Malformed server data. what() names the problem, the column and the byte
// offset of the line in the stream, and quotes the line (truncated, with
// non-printable bytes as \xHH).
class ProtocolError : public std::runtime_error {
 public:
  ProtocolError(const std::string& message, std::string_view line, std::uint64_t stream_offset,
                std::size_t column = 0);
  // The offending line, printable and truncated.
  [[nodiscard]] const std::string& excerpt() const { return excerpt_; }
  // Byte offset of the start of that line since the parser was constructed.
  [[nodiscard]] std::uint64_t stream_offset() const { return stream_offset_; }

 private:
  std::string excerpt_;
  std::uint64_t stream_offset_;
};

class ResponseParser {
 public:
  struct Limits {
    std::size_t max_line = 1 << 20;              // bytes between two literals, CRLF excluded
    std::size_t max_buffered_literal = 1 << 20;  // larger literals go to the sink
    std::size_t max_items = 1'000'000;           // items (atoms, strings, lists) in one response
    std::size_t max_depth = 1000;                // list nesting; Item trees are destroyed recursively
  };
  // Receives each literal larger than max_buffered_literal in chunks, in
  // stream order, before next() returns the response holding it (as a
  // StreamedLiteral item). `index` counts streamed literals since
  // construction from 0, `offset` is the chunk's position in that literal.
  // `data` points into the parser's buffer: copy what you keep. The sink
  // must not call feed() or next(); if it throws, the exception leaves next()
  // and the chunk counts as delivered.
  using LiteralSink = std::function<void(std::uint64_t index, std::uint64_t offset, std::string_view data)>;

  ResponseParser();
  explicit ResponseParser(Limits limits);

  // Without a sink a literal over max_buffered_literal is a ProtocolError.
  void set_literal_sink(LiteralSink sink);
  // Appends bytes; parsing happens in next(). Call next() until it returns
  // nullopt after each feed so the buffer stays small.
  void feed(std::string_view bytes);
  // The next complete response, or nullopt until more bytes arrive. Streams
  // literal bytes to the sink as they become available.
  // Throws ProtocolError on malformed input.
  std::optional<Response> next();

  // Bytes fed but not yet consumed (a partial line or literal chunk).
  [[nodiscard]] std::size_t buffered() const { return buf_.size() - pos_; }

 private:
  enum class Phase { Start, Items, Literal };

  std::optional<Response> advance();
  std::optional<std::string_view> take_line();
  bool parse_first_line(std::string_view line);
  bool parse_untagged(std::string_view line, std::size_t from);
  bool parse_data(std::string_view line, std::size_t from);
  bool parse_items_line(std::string_view line, std::size_t from);
  std::optional<std::uint64_t> read_items(std::string_view line, std::size_t from);
  void parse_status(std::string_view line, std::size_t from);
  std::size_t parse_code(std::string_view line, std::size_t open);
  std::size_t parse_code_args(std::string_view line, std::size_t from, std::vector<Item>& args);
  void begin_literal(std::uint64_t size, std::string_view line);
  bool pump_literal();
  void end_literal();
  Response finish();
  void compact();

  Limits limits_;
  LiteralSink sink_;
  std::string buf_;
  std::size_t pos_ = 0;           // first unconsumed byte in buf_
  std::size_t scan_ = 0;          // where the search for the next LF resumes
  std::uint64_t dropped_ = 0;     // bytes erased from the front of buf_ so far
  std::uint64_t line_start_ = 0;  // stream offset of the line being parsed

  Phase phase_ = Phase::Start;
  Response cur_;
  std::vector<std::vector<Item>> levels_;  // open lists, [0] the response's items; reused
  std::size_t depth_ = 0;                  // levels in use
  std::size_t items_ = 0;                  // items in cur_ so far

  std::uint64_t literal_size_ = 0;
  std::uint64_t literal_left_ = 0;
  bool literal_streamed_ = false;
  std::string literal_text_;        // a buffered literal being collected
  std::uint64_t stream_index_ = 0;  // index of the next streamed literal

  std::optional<ProtocolError> failed_;
};

}  // namespace mailmig::imap
