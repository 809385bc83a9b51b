#include "imap/appender.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>

namespace mailmig::imap {

std::optional<std::string> sanitize_keyword(std::string_view keyword) {
  std::string out;
  for (char ch : keyword) {
    const auto c = static_cast<unsigned char>(ch);
    const bool special = c <= 0x20 || c >= 0x7F || c == '(' || c == ')' || c == '{' || c == '%' || c == '*' ||
                         c == '"' || c == '\\' || c == ']';
    out += special ? '_' : ch;
  }
  if (out.empty()) return std::nullopt;
  return out;
}

std::string append_flag_list(Flags flags, const std::vector<std::string>& keywords) {
  std::string list = flags_to_imap(flags);
  for (const std::string& keyword : keywords) {
    auto clean = sanitize_keyword(keyword);
    if (!clean) continue;
    if (!list.empty()) list += ' ';
    list += *clean;
  }
  return "(" + list + ")";
}

std::vector<std::uint32_t> parse_uid_set(std::string_view set) {
  std::vector<std::uint32_t> out;
  auto number = [](std::string_view text) -> std::optional<std::uint32_t> {
    std::uint32_t n = 0;
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    if (ec != std::errc() || ptr != text.data() + text.size()) return std::nullopt;
    return n;
  };
  while (!set.empty()) {
    const auto comma = set.find(',');
    std::string_view range = set.substr(0, comma);
    set = comma == std::string_view::npos ? std::string_view() : set.substr(comma + 1);
    const auto colon = range.find(':');
    auto first = number(range.substr(0, colon));
    auto last = colon == std::string_view::npos ? first : number(range.substr(colon + 1));
    if (!first || !last) return {};
    const std::uint32_t step = *first <= *last ? 1 : static_cast<std::uint32_t>(-1);
    for (std::uint32_t uid = *first;; uid += step) {
      out.push_back(uid);
      if (uid == *last || out.size() > 1'000'000) break;
    }
  }
  return out;
}

AppendOptions shrunk_after_drops(AppendOptions options, unsigned drops) {
  // 64 halvings take any 64-bit size to its floor; more change nothing.
  const unsigned halvings = std::min(drops, 64U);
  auto halve = [halvings](auto value, auto floor) {
    for (unsigned i = 0; i < halvings && value > floor; ++i) value /= 2;
    return std::max(value, floor);
  };
  if (drops == 0) return options;
  options.batch_count = 1;
  options.batch_bytes = halve(options.batch_bytes, std::uint64_t{1});
  options.window = halve(options.window, std::size_t{1});
  options.window_bytes = halve(options.window_bytes, std::uint64_t{1});
  return options;
}

Appender::Appender(Session& session, std::string wire_mailbox, AppendOptions options, Callback on_result)
    : session_(session),
      mailbox_(std::move(wire_mailbox)),
      options_(options),
      on_result_(std::move(on_result)) {
  multi_ = (options_.mode == AppendMode::Auto || options_.mode == AppendMode::MultiAppend) &&
           session_.has_capability("MULTIAPPEND");
  if (options_.mode == AppendMode::RoundTrip) options_.window = 1;
  if (!multi_) options_.batch_count = 1;
}

Command Appender::build(const std::vector<Entry>& entries) const {
  Command command("APPEND");
  command.string(mailbox_, session_.utf8_enabled());
  for (const Entry& e : entries) {
    command.atom(append_flag_list(e.message.flags, e.message.keywords));
    if (e.message.date) command.atom("\"" + format_imap_datetime(*e.message.date) + "\"");
    command.literal(e.message.size, e.message.open);
  }
  return command;
}

void Appender::add(AppendMessage message) {
  const std::uint64_t size = message.size;
  // A big message goes alone so a batch never waits on one huge literal.
  if (!queued_.empty() && queued_bytes_ + size > options_.batch_bytes) flush();
  queued_.push_back(Entry{next_index_++, std::move(message)});
  queued_bytes_ += size;
  if (queued_.size() >= options_.batch_count || queued_bytes_ >= options_.batch_bytes) flush();
}

void Appender::flush() {
  if (queued_.empty()) return;
  std::vector<Entry> batch = std::move(queued_);
  queued_.clear();
  queued_bytes_ = 0;
  send_batch(std::move(batch));
}

void Appender::send_batch(std::vector<Entry> entries) {
  // Keep the window bounded in commands and bytes before adding more.
  while (!in_flight_.empty() &&
         (in_flight_.size() >= options_.window || in_flight_bytes_ >= options_.window_bytes)) {
    complete_oldest();
  }
  std::uint64_t bytes = 0;
  for (const Entry& e : entries) bytes += e.message.size;
  if (before_send_) {
    std::vector<std::size_t> indices;
    indices.reserve(entries.size());
    for (const Entry& e : entries) indices.push_back(e.index);
    before_send_(indices);
  }
  InFlight batch{0, std::move(entries), bytes};
  in_flight_.push_back(std::move(batch));
  in_flight_bytes_ += bytes;
  in_flight_.back().tag = session_.send(build(in_flight_.back().entries));
  if (options_.mode == AppendMode::RoundTrip) complete_oldest();
}

void Appender::complete_oldest() {
  // Wait before taking the batch out, so a dropped connection leaves it unresolved.
  const CommandResult result = session_.wait(in_flight_.front().tag);
  InFlight batch = std::move(in_flight_.front());
  in_flight_.pop_front();
  in_flight_bytes_ -= batch.bytes;
  deliver(batch, result);
}

void Appender::deliver(const InFlight& batch, const CommandResult& result) {
  if (!result.ok() && batch.entries.size() > 1) {
    // MULTIAPPEND is all-or-nothing: find the message(s) the server refuses.
    std::vector<Entry> entries;
    for (const Entry& e : batch.entries) entries.push_back(Entry{e.index, e.message});
    retry_singly(std::move(entries));
    return;
  }
  std::vector<std::uint32_t> uids;
  std::optional<std::uint32_t> uidvalidity;
  if (result.ok() && result.code && result.code->name == "APPENDUID" && result.code->args.size() >= 2) {
    if (auto v = result.code->args[0].as_number(); v && *v <= UINT32_MAX)
      uidvalidity = static_cast<std::uint32_t>(*v);
    if (auto set = result.code->args[1].as_astring()) uids = parse_uid_set(*set);
    if (uids.size() != batch.entries.size()) uids.clear();  // a server answer we cannot map: no UIDs
  }
  for (std::size_t i = 0; i < batch.entries.size(); ++i) {
    AppendOutcome outcome;
    outcome.ok = result.ok();
    if (result.ok()) {
      outcome.uidvalidity = uidvalidity;
      if (!uids.empty()) outcome.uid = uids[i];
    } else {
      outcome.error = result.describe();
      if (result.code) outcome.code = result.code->name;
    }
    on_result_(batch.entries[i].index, outcome);
  }
}

void Appender::retry_singly(std::vector<Entry> entries) {
  retrying_.clear();
  for (Entry& e : entries) {
    const std::uint64_t size = e.message.size;
    std::vector<Entry> one;
    one.push_back(std::move(e));
    retrying_.push_back(InFlight{0, std::move(one), size});
  }
  for (InFlight& single : retrying_) single.tag = session_.send(build(single.entries));
  while (!retrying_.empty()) {
    const CommandResult result = session_.wait(retrying_.front().tag);
    InFlight single = std::move(retrying_.front());
    retrying_.erase(retrying_.begin());
    deliver(single, result);
  }
}

void Appender::finish() {
  flush();
  while (!in_flight_.empty()) complete_oldest();
}

std::vector<std::size_t> Appender::unresolved() const {
  std::vector<std::size_t> out;
  for (const InFlight& batch : in_flight_) {
    for (const Entry& e : batch.entries) out.push_back(e.index);
  }
  for (const InFlight& single : retrying_) out.push_back(single.entries.front().index);
  for (const Entry& e : queued_) out.push_back(e.index);
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace mailmig::imap
