// What an IMAP4rev1 server sends back (RFC 3501 §7), as the response parser
// (response_parser.h) produces it: one generic tree of data items instead of a
// type per response, so the client interprets only what it asked for and an
// unknown extension response still parses.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mailmig::imap {

// One data item: atom, string, NIL, parenthesized list, or a literal that went
// to the literal sink instead of into memory.
struct Item {
  enum class Kind { Atom, String, Nil, List, StreamedLiteral };

  Kind kind = Kind::Atom;
  // Atom: as written ("\\Seen", "BODY[HEADER.FIELDS (From To)]<0>", "123").
  // String: the decoded bytes of a quoted string or literal.
  std::string text;
  std::vector<Item> list;          // List: the items inside (...)
  std::uint64_t literal_size = 0;  // StreamedLiteral: its size in bytes

  static Item atom(std::string text) { return Item{Kind::Atom, std::move(text), {}, 0}; }
  static Item string(std::string bytes) { return Item{Kind::String, std::move(bytes), {}, 0}; }
  static Item nil() { return Item{Kind::Nil, {}, {}, 0}; }
  static Item list_of(std::vector<Item> items) { return Item{Kind::List, {}, std::move(items), 0}; }
  static Item streamed(std::uint64_t size) { return Item{Kind::StreamedLiteral, {}, {}, size}; }

  [[nodiscard]] bool is_atom() const { return kind == Kind::Atom; }
  // An atom equal to `name` ignoring ASCII case: is_atom("UID"), is_atom("\\Seen").
  [[nodiscard]] bool is_atom(std::string_view name) const;
  [[nodiscard]] bool is_string() const { return kind == Kind::String; }
  [[nodiscard]] bool is_nil() const { return kind == Kind::Nil; }
  [[nodiscard]] bool is_list() const { return kind == Kind::List; }
  [[nodiscard]] bool is_streamed() const { return kind == Kind::StreamedLiteral; }

  // An atom of 1-20 decimal digits that fits in 64 bits; nullopt otherwise.
  [[nodiscard]] std::optional<std::uint64_t> as_number() const;
  // RFC 3501 astring (atom or string) as text; nullopt for NIL, lists and
  // streamed literals. For mailbox names, flags, header values.
  [[nodiscard]] std::optional<std::string_view> as_astring() const;
  // In a list of key/value pairs (FETCH "(UID 7 FLAGS (...))", STATUS
  // "(MESSAGES 3 ...)"): the value after the first atom key equal to `key`
  // ignoring case; nullptr if absent or not a list.
  [[nodiscard]] const Item* get(std::string_view key) const;

  friend bool operator==(const Item&, const Item&) = default;
};

// The bracketed code of a status response: "[APPENDUID 38505 3955]".
struct ResponseCode {
  std::string name;        // uppercase: APPENDUID, TRYCREATE, PERMANENTFLAGS, READ-WRITE ...
  std::vector<Item> args;  // parsed as items; raw space-separated atoms if they do not parse

  friend bool operator==(const ResponseCode&, const ResponseCode&) = default;
};

struct Response {
  enum class Type { Tagged, Untagged, Continuation };

  Type type = Type::Untagged;
  std::string tag;                      // Tagged only
  std::string status;                   // OK NO BAD PREAUTH BYE (uppercase); empty for data responses
  std::optional<std::uint32_t> number;  // "* 23 EXISTS", "* 5 FETCH (...)", "* 3 EXPUNGE"
  std::string keyword;               // uppercase: FETCH, LIST, CAPABILITY ...; == status for status responses
  std::optional<ResponseCode> code;  // status responses: the [...] code
  std::vector<Item> data;            // data responses: the items after the keyword
  std::string text;                  // status: text after the code; continuation: text after "+ "

  [[nodiscard]] bool is_status() const { return !status.empty(); }
  // A status response whose code is `name` (ignoring case).
  [[nodiscard]] bool has_code(std::string_view name) const;

  friend bool operator==(const Response&, const Response&) = default;
};

// IMAP-like rendering for logs and test failure messages: atoms as written,
// strings quoted with non-printable bytes as \xHH, lists in parentheses,
// streamed literals as {N:streamed}. Not meant to be sent to a server.
std::string to_debug_string(const Item& item);
std::string to_debug_string(const Response& response);

}  // namespace mailmig::imap
