// Shared by the Maildir target tests: messages from strings, results collected.
#pragma once

#include <algorithm>
#include <cstring>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "common/string_reader.h"
#include "core/byte_reader.h"
#include "core/message.h"
#include "core/sha256.h"
#include "target/target.h"

namespace mailmig::testing {

using mailmig::testing::StringReader;

inline OpenMessage open_string(const std::string& text) {
  return [text] { return std::make_unique<StringReader>(text); };
}

inline std::string sha256_hex(const std::string& text) {
  Sha256 h;
  h.update(text);
  return h.hex();
}

inline MessageInfo info(const std::string& text, Flags flags = 0, std::vector<std::string> keywords = {},
                        std::optional<std::uint32_t> uid = std::nullopt, std::int64_t epoch = 1700000000) {
  MessageInfo m;
  m.size = text.size();
  m.flags = flags;
  m.keywords = std::move(keywords);
  m.uid = uid;
  m.internal_date = DateTime{.epoch = epoch, .zone_minutes = 60};
  return m;
}

struct Results {
  std::map<std::size_t, Delivery> by_index;
  TargetAccount::ResultFn fn() {
    return [this](std::size_t i, const Delivery& d) { by_index[i] = d; };
  }
};

}  // namespace mailmig::testing
