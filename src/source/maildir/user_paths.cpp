#include "source/maildir/user_paths.h"

#include <fmt/format.h>
#include <sys/stat.h>

#include <algorithm>
#include <map>
#include <tuple>
#include <utility>

#include "core/ascii.h"
#include "core/error.h"
#include "core/fs.h"
#include "source/tree/file_tree.h"

namespace mailmig::maildir {
namespace {

// One path component of a pattern: literal text and placeholders.
struct Piece {
  char placeholder = 0;  // 'd', 'n', 'u' or 0 for literal text
  std::string text;
};

std::vector<Piece> parse_component(const std::string& component) {
  std::vector<Piece> out;
  std::string literal;
  for (std::size_t i = 0; i < component.size(); ++i) {
    const char c = component[i];
    if (c == '%' && i + 1 < component.size()) {
      const char p = component[i + 1];
      if (p == 'd' || p == 'n' || p == 'u') {
        if (!literal.empty()) out.push_back(Piece{0, std::exchange(literal, {})});
        out.push_back(Piece{p, {}});
        ++i;
        continue;
      }
      if (p == '%') {
        literal += '%';
        ++i;
        continue;
      }
    }
    literal += c;
  }
  if (!literal.empty()) out.push_back(Piece{0, literal});
  return out;
}

bool has_placeholder(const std::vector<Piece>& pieces) {
  return std::any_of(pieces.begin(), pieces.end(), [](const Piece& p) { return p.placeholder != 0; });
}

std::string literal_of(const std::vector<Piece>& pieces) {
  std::string out;
  for (const Piece& p : pieces) out += p.text;
  return out;
}

using Bindings = std::map<char, std::string>;

// Matches `name` against pieces[i..]; placeholders take non-empty text, the
// shortest first (backtracking), and must agree with earlier bindings.
bool match(const std::vector<Piece>& pieces, std::size_t i, std::string_view name, Bindings& bound) {
  if (i == pieces.size()) return name.empty();
  const Piece& piece = pieces[i];
  if (piece.placeholder == 0) {
    return name.starts_with(piece.text) && match(pieces, i + 1, name.substr(piece.text.size()), bound);
  }
  for (std::size_t len = 1; len <= name.size(); ++len) {
    const std::string value(name.substr(0, len));
    auto it = bound.find(piece.placeholder);
    if (it != bound.end() && it->second != value) continue;
    Bindings next = bound;
    next[piece.placeholder] = value;
    if (match(pieces, i + 1, name.substr(len), next)) {
      bound = std::move(next);
      return true;
    }
  }
  return false;
}

struct Partial {
  std::string path;
  Bindings bound;
};

std::vector<std::string> split_path(const std::string& pattern) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos <= pattern.size()) {
    const std::size_t slash = pattern.find('/', pos);
    const std::size_t end = slash == std::string::npos ? pattern.size() : slash;
    if (end > pos) out.push_back(pattern.substr(pos, end - pos));
    if (slash == std::string::npos) break;
    pos = slash + 1;
  }
  return out;
}

}  // namespace

bool is_directory(const std::string& path) {
  return is_directory(*local_file_tree(), path);
}

bool is_directory(FileTree& tree, const std::string& path) {
  const auto st = tree.stat(path);
  return st && st->type == fs::Type::Directory;
}

bool is_regular_file(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

std::pair<std::string, std::string> split_user(const std::string& user) {
  const std::size_t at = user.rfind('@');
  if (at == std::string::npos) return {user, ""};
  return {user.substr(0, at), ascii_lower(user.substr(at + 1))};
}

std::optional<std::string> owner_name(const std::string& path) {
  return local_file_tree()->owner_name(path);
}

bool pattern_has_domain(const std::string& pattern) {
  return pattern.find("%d") != std::string::npos || pattern.find("%u") != std::string::npos;
}

std::string substitute_user_path(const std::string& pattern, const std::string& domain,
                                 const std::string& name) {
  std::string out;
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] == '%' && i + 1 < pattern.size()) {
      switch (pattern[i + 1]) {
        case 'd':
          out += domain;
          ++i;
          continue;
        case 'n':
          out += name;
          ++i;
          continue;
        case 'u':
          out += name;
          if (!domain.empty()) out.append("@").append(domain);
          ++i;
          continue;
        case '%':
          out += '%';
          ++i;
          continue;
        default:
          break;
      }
    }
    out += pattern[i];
  }
  return out;
}

std::vector<FoundAccount> expand_user_path(const std::string& root, const std::string& pattern,
                                           const ProblemFn& problem) {
  return expand_user_path(*local_file_tree(), root, pattern, problem);
}

std::vector<FoundAccount> expand_user_path(FileTree& tree, const std::string& root,
                                           const std::string& pattern, const ProblemFn& problem) {
  const bool absolute = pattern.starts_with('/');
  std::vector<Partial> partials{Partial{absolute ? "/" : root, {}}};
  for (const std::string& component : split_path(pattern)) {
    const std::vector<Piece> pieces = parse_component(component);
    std::vector<Partial> next;
    for (Partial& partial : partials) {
      if (!has_placeholder(pieces)) {
        std::string path = fs::join(partial.path, literal_of(pieces));
        if (tree.stat(path)) next.push_back(Partial{std::move(path), std::move(partial.bound)});
        continue;
      }
      std::vector<TreeEntry> entries;
      try {
        entries = tree.list(partial.path);
      } catch (const IoError& e) {
        problem(Problem{.scope = Scope::Store, .file = partial.path, .message = e.what()});
        continue;
      }
      for (const TreeEntry& entry : entries) {
        if (entry.name.starts_with('.')) continue;
        Bindings bound = partial.bound;
        if (match(pieces, 0, entry.name, bound))
          next.push_back(Partial{fs::join(partial.path, entry.name), bound});
      }
    }
    partials = std::move(next);
  }
  std::vector<FoundAccount> out;
  for (const Partial& partial : partials) {
    FoundAccount account{.location = partial.path};
    if (auto u = partial.bound.find('u'); u != partial.bound.end()) {
      auto [name, domain] = split_user(u->second);
      account.name = name;
      account.domain = domain;
    }
    if (auto n = partial.bound.find('n'); n != partial.bound.end()) account.name = n->second;
    if (auto d = partial.bound.find('d'); d != partial.bound.end()) account.domain = ascii_lower(d->second);
    if (account.name.empty()) continue;  // the pattern names no account
    out.push_back(std::move(account));
  }
  std::sort(out.begin(), out.end(), [](const FoundAccount& a, const FoundAccount& b) {
    return std::tie(a.domain, a.name, a.location) < std::tie(b.domain, b.name, b.location);
  });
  return out;
}

}  // namespace mailmig::maildir
