#include "engine/source_scan.h"

#include <algorithm>
#include <string>

#include "core/crlf.h"
#include "core/error.h"
#include "core/sha256.h"

namespace mailmig {

namespace {

std::string hash_of(const Folder& folder, const MessageInfo& message) {
  CrlfReader reader(folder.open(message));
  return sha256_of(reader);
}

}  // namespace

bool scan_identities(const AccountContext& ctx, Folder& box, const std::string& folder, FolderResult& r,
                     const std::function<void(const MessageInfo&, MessageKey)>& on_message,
                     const std::map<std::uint32_t, KnownUid>* known) {
  bool clean = true;
  std::map<std::string, std::uint32_t> ordinals;
  box.scan(
      [&](const MessageInfo& m) {
        ++r.source_messages;
        if (ctx.stopping()) {
          clean = false;
          return;
        }
        if (known != nullptr && m.uid) {
          if (const auto it = known->find(*m.uid); it != known->end() && it->second.size == m.size) {
            // Later identical messages (higher UIDs: new ones) count on from it.
            const MessageKey& key = it->second.key;
            std::uint32_t& next = ordinals[key.sha256];
            next = std::max(next, key.ordinal + 1);
            on_message(m, key);
            return;
          }
        }
        std::string sha;
        try {
          sha = hash_of(box, m);
        } catch (const ScopedError& e) {
          if (e.scope() != Scope::Message) throw;  // the source gave up its connection: not this message's
          clean = false;
          ++r.failed;
          ctx.problem(
              Problem{.scope = Scope::Message, .file = m.file, .offset = m.offset, .message = e.what()},
              folder);
          return;
        } catch (const std::exception& e) {
          clean = false;
          ++r.failed;
          ctx.problem(
              Problem{.scope = Scope::Message, .file = m.file, .offset = m.offset, .message = e.what()},
              folder);
          return;
        }
        const std::uint32_t ordinal = ordinals[sha]++;
        on_message(m, MessageKey{std::move(sha), ordinal});
      },
      [&](Problem p) {
        clean = false;
        ctx.problem(std::move(p), folder);
      });
  return clean;
}

}  // namespace mailmig
