#include "format/mutf7.h"

#include <array>
#include <cstdint>
#include <vector>

namespace mailmig {
namespace {

// RFC 3501 modified base64: "," replaces "/", and there is no "=" padding.
constexpr std::string_view kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

int base64_value(char c) {
  const auto pos = kAlphabet.find(c);
  return pos == std::string_view::npos ? -1 : static_cast<int>(pos);
}

// Characters that stand for themselves (and so must never appear encoded).
bool is_direct(char32_t cp) {
  return cp >= 0x20 && cp <= 0x7e;
}

bool is_high_surrogate(char32_t u) {
  return u >= 0xd800 && u <= 0xdbff;
}
bool is_low_surrogate(char32_t u) {
  return u >= 0xdc00 && u <= 0xdfff;
}

void append_utf8(char32_t cp, std::string& out) {
  const auto byte = [&out](char32_t b) { out += static_cast<char>(b); };
  if (cp < 0x80) {
    byte(cp);
  } else if (cp < 0x800) {
    byte(0xc0 | (cp >> 6));
    byte(0x80 | (cp & 0x3f));
  } else if (cp < 0x10000) {
    byte(0xe0 | (cp >> 12));
    byte(0x80 | ((cp >> 6) & 0x3f));
    byte(0x80 | (cp & 0x3f));
  } else {
    byte(0xf0 | (cp >> 18));
    byte(0x80 | ((cp >> 12) & 0x3f));
    byte(0x80 | ((cp >> 6) & 0x3f));
    byte(0x80 | (cp & 0x3f));
  }
}

// Decodes the base64 run between "&" and "-" and appends it as UTF-8; false
// for anything an encoder would not have produced.
bool decode_run(std::string_view run, std::string& out) {
  std::uint32_t bits = 0;
  int nbits = 0;
  char32_t high = 0;  // pending high surrogate, 0 if none
  for (const char c : run) {
    const int v = base64_value(c);
    if (v < 0) return false;
    bits = (bits << 6) | static_cast<std::uint32_t>(v);
    nbits += 6;
    if (nbits < 16) continue;
    nbits -= 16;
    const auto unit = static_cast<char32_t>((bits >> nbits) & 0xffff);
    bits &= (1U << nbits) - 1;  // keep only the bits not yet used
    if (high != 0) {
      if (!is_low_surrogate(unit)) return false;
      append_utf8(0x10000 + ((high - 0xd800) << 10) + (unit - 0xdc00), out);
      high = 0;
    } else if (is_high_surrogate(unit)) {
      high = unit;
    } else if (is_low_surrogate(unit) || is_direct(unit)) {
      return false;  // lone low surrogate, or ASCII that must be written directly
    } else {
      append_utf8(unit, out);
    }
  }
  // Canonical padding is under one base64 digit of zero bits: a whole spare
  // digit means a partial 16-bit unit (e.g. an odd number of octets).
  return high == 0 && nbits < 6 && bits == 0;
}

// Next code point of `utf8` at `pos` (advanced past it); nullopt for invalid,
// overlong, surrogate or out-of-range sequences.
std::optional<char32_t> next_code_point(std::string_view utf8, std::size_t& pos) {
  const auto lead = static_cast<unsigned char>(utf8[pos++]);
  if (lead < 0x80) return lead;
  // Lead bytes 0x80..0xc1 (continuations, always-overlong) and > 0xf4 (> U+10FFFF) are invalid.
  std::size_t extra = 0;
  if (lead >= 0xc2 && lead <= 0xdf) {
    extra = 1;
  } else if (lead >= 0xe0 && lead <= 0xef) {
    extra = 2;
  } else if (lead >= 0xf0 && lead <= 0xf4) {
    extra = 3;
  } else {
    return std::nullopt;
  }
  constexpr std::array<char32_t, 4> kMinForLength = {0, 0x80, 0x800, 0x10000};
  char32_t cp = lead & (0x3fU >> extra);
  if (utf8.size() - pos < extra) return std::nullopt;
  for (std::size_t i = 0; i < extra; ++i) {
    const auto b = static_cast<unsigned char>(utf8[pos++]);
    if ((b & 0xc0U) != 0x80) return std::nullopt;
    cp = (cp << 6) | (b & 0x3fU);
  }
  if (cp < kMinForLength[extra] || cp > 0x10ffff || is_high_surrogate(cp) || is_low_surrogate(cp)) {
    return std::nullopt;
  }
  return cp;
}

// Appends "&<base64 of the UTF-16BE units>-".
void append_run(const std::vector<char16_t>& units, std::string& out) {
  out += '&';
  std::uint32_t bits = 0;
  int nbits = 0;
  for (const char16_t unit : units) {
    bits = (bits << 16) | unit;
    nbits += 16;
    while (nbits >= 6) {
      nbits -= 6;
      out += kAlphabet[(bits >> nbits) & 0x3fU];
    }
    bits &= (1U << nbits) - 1;
  }
  if (nbits > 0) out += kAlphabet[(bits << (6 - nbits)) & 0x3fU];
  out += '-';
}

}  // namespace

std::optional<std::string> mutf7_decode(std::string_view utf7) {
  std::string out;
  out.reserve(utf7.size());
  bool after_run = false;  // the previous token was a non-empty "&...-"
  std::size_t pos = 0;
  while (pos < utf7.size()) {
    const char c = utf7[pos++];
    if (c != '&') {
      if (!is_direct(static_cast<unsigned char>(c))) return std::nullopt;
      out += c;
      after_run = false;
      continue;
    }
    const auto end = utf7.find('-', pos);
    if (end == std::string_view::npos) return std::nullopt;
    const auto run = utf7.substr(pos, end - pos);
    pos = end + 1;
    if (run.empty()) {
      out += '&';
      after_run = false;
      continue;
    }
    // Two runs in a row are non-canonical: the encoder would have merged them.
    if (after_run || !decode_run(run, out)) return std::nullopt;
    after_run = true;
  }
  return out;
}

std::optional<std::string> mutf7_encode(std::string_view utf8) {
  std::string out;
  out.reserve(utf8.size());
  std::vector<char16_t> units;  // the run of non-direct characters being collected
  std::size_t pos = 0;
  while (pos < utf8.size()) {
    const auto cp = next_code_point(utf8, pos);
    if (!cp) return std::nullopt;
    if (!is_direct(*cp)) {
      if (*cp >= 0x10000) {
        units.push_back(static_cast<char16_t>(0xd800 + ((*cp - 0x10000) >> 10)));
        units.push_back(static_cast<char16_t>(0xdc00 + ((*cp - 0x10000) & 0x3ffU)));
      } else {
        units.push_back(static_cast<char16_t>(*cp));
      }
      continue;
    }
    if (!units.empty()) {
      append_run(units, out);
      units.clear();
    }
    if (*cp == '&') {
      out += "&-";
    } else {
      out += static_cast<char>(*cp);
    }
  }
  if (!units.empty()) append_run(units, out);
  return out;
}

}  // namespace mailmig
