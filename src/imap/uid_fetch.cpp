#include "imap/uid_fetch.h"

#include <utility>

#include "imap/command.h"

namespace mailmig::imap {

void uid_fetch(Session& session, const std::string& set, const std::string& items,
               const std::function<void(const Item& data)>& on_fetch, ResponseParser::LiteralSink sink) {
  session.set_literal_sink(std::move(sink));
  session.set_untagged_handler([&](Response& r) {
    if (r.keyword != "FETCH" || r.data.empty()) return false;
    on_fetch(r.data[0]);
    return true;
  });
  auto restore = [&] {
    session.set_untagged_handler(nullptr);
    session.set_literal_sink(nullptr);
  };
  Command command("UID FETCH");
  command.atom(set).atom(items);
  try {
    session.run_ok(command);
  } catch (...) {
    restore();
    throw;
  }
  restore();
}

}  // namespace mailmig::imap
