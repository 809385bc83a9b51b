#include "engine/verify_source.h"

#include <fmt/format.h>

#include <memory>

#include "core/crlf.h"
#include "core/error.h"
#include "core/sha256.h"

namespace mailmig {

namespace {

// splitmix64: spreads neighbouring positions evenly over the sample space.
std::uint64_t mix(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30U)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27U)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31U);
}

// A ScopedError wider than a folder belongs to the account: it is not caught here.
void rethrow_if_account_wide(const std::exception& e) {
  const auto* scoped = dynamic_cast<const ScopedError*>(&e);
  if (scoped != nullptr && scoped->scope() != Scope::Message && scoped->scope() != Scope::Folder) throw;
}

}  // namespace

bool in_sample(const std::string& account_key, const std::string& folder, std::uint64_t position,
               double percent) {
  if (percent >= 100) return true;
  // FNV-1a over account and folder, then mixed with the position.
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (const std::string* part : {&account_key, &folder}) {
    for (char c : *part) h = (h ^ static_cast<unsigned char>(c)) * 0x100000001b3ULL;
    h = (h ^ 0xffU) * 0x100000001b3ULL;
  }
  constexpr std::uint64_t kScale = 1000000;  // percent with four decimals
  constexpr double kPerPercent = 10000.0;    // kScale / 100
  return mix(h ^ mix(position)) % kScale < static_cast<std::uint64_t>(percent * kPerPercent);
}

SourceFolderRead read_source_folder(const Account& in, const FolderInfo& folder, const SourceReadOptions& o,
                                    FolderCheck& check, const ProblemFn& problem) {
  SourceFolderRead out;
  const auto keywords = [&](const std::vector<std::string>& source) {
    std::vector<std::string> stored;
    for (const std::string& k : source) {
      if (auto s = o.stored_keyword(k)) stored.push_back(std::move(*s));
    }
    return normal_keywords(std::move(stored));
  };
  try {
    std::unique_ptr<Folder> box = in.open_folder(folder);
    std::uint64_t position = 0;
    box->scan(
        [&](const MessageInfo& m) {
          ++check.messages_source;
          check.bytes_source += m.size;
          if (out.files.empty() || out.files.back() != m.file) out.files.push_back(m.file);
          SourceCopy s{.size = m.size,
                       .flags = m.flags,
                       .keywords = keywords(m.keywords),
                       .file = static_cast<std::uint32_t>(out.files.size() - 1),
                       .offset = m.offset,
                       .sampled = in_sample(o.account_key, folder.name, position++, o.sample_percent)};
          if (m.internal_date) s.date = m.internal_date->epoch;
          if (s.sampled) {
            try {
              // The engine's identity: SHA-256 of the bytes the target received.
              CrlfReader reader(box->open(m));
              s.sha = sha256_of(reader);
              ++check.checked;
            } catch (const std::exception& e) {
              rethrow_if_account_wide(e);
              problem(Problem{.scope = Scope::Message,
                              .file = m.file,
                              .offset = m.offset,
                              .message = fmt::format("cannot read the source message: {}", e.what())});
            }
          }
          out.messages.push_back(std::move(s));
        },
        problem);
  } catch (const std::exception& e) {
    rethrow_if_account_wide(e);
    problem(Problem{.scope = Scope::Folder,
                    .file = folder.location,
                    .message = fmt::format("cannot read the source folder: {}", e.what())});
  }
  return out;
}

}  // namespace mailmig
