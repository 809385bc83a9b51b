#include "config/unified_diff.h"

#include <fmt/format.h>

#include <dtl/dtl.hpp>
#include <vector>

namespace mailmig::config {

namespace {

struct Line {
  std::string text;  // without '\n'
  bool newline = true;
  bool operator==(const Line& other) const { return text == other.text && newline == other.newline; }
};

std::vector<Line> split_lines(std::string_view text) {
  std::vector<Line> lines;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) {
      lines.push_back({std::string(text.substr(pos)), false});
      break;
    }
    lines.push_back({std::string(text.substr(pos, nl - pos)), true});
    pos = nl + 1;
  }
  return lines;
}

struct Edit {
  char op;  // ' ', '-', '+'
  const Line* line;
};

std::string range(std::size_t start, std::size_t count) {
  // diff -u: "start,count", a single line as "start", an empty range starts one line before.
  if (count == 1) return fmt::format("{}", start);
  return fmt::format("{},{}", count == 0 ? start - 1 : start, count);
}

}  // namespace

std::string unified_diff(std::string_view old_text, std::string_view new_text, const std::string& old_label,
                         const std::string& new_label, int context) {
  if (old_text == new_text) return {};
  std::vector<Line> a = split_lines(old_text);
  std::vector<Line> b = split_lines(new_text);
  // dtl (Debian libdtl-dev) computes the shortest edit script (Wu's O(NP));
  // only the grouping into hunks is ours.
  dtl::Diff<Line, std::vector<Line>> diff(a, b);
  diff.compose();
  std::vector<Edit> edits;
  for (const auto& [line, info] : diff.getSes().getSequence()) {
    char op = info.type == dtl::SES_DELETE ? '-' : info.type == dtl::SES_ADD ? '+' : ' ';
    const Line* source = info.type == dtl::SES_ADD ? &b[info.afterIdx - 1] : &a[info.beforeIdx - 1];
    edits.push_back({op, source});
  }

  std::string out = fmt::format("--- {}\n+++ {}\n", old_label, new_label);
  const auto n = static_cast<long>(edits.size());
  const long ctx = context;
  long i = 0;
  // Line numbers (1-based) of the next old/new line at edit i.
  std::vector<std::size_t> old_at(edits.size() + 1), new_at(edits.size() + 1);
  old_at[0] = new_at[0] = 1;
  for (long k = 0; k < n; ++k) {
    old_at[k + 1] = old_at[k] + (edits[k].op != '+' ? 1 : 0);
    new_at[k + 1] = new_at[k] + (edits[k].op != '-' ? 1 : 0);
  }
  while (i < n) {
    while (i < n && edits[i].op == ' ') ++i;
    if (i >= n) break;
    long start = std::max(0L, i - ctx);
    // Extend while the next change is within 2*context unchanged lines.
    long end = i;
    while (true) {
      while (end < n && edits[end].op != ' ') ++end;
      long next = end;
      while (next < n && edits[next].op == ' ') ++next;
      if (next < n && next - end <= 2 * ctx) {
        end = next;
        continue;
      }
      end = std::min(n, end + ctx);
      break;
    }
    std::size_t old_count = 0, new_count = 0;
    for (long k = start; k < end; ++k) {
      if (edits[k].op != '+') ++old_count;
      if (edits[k].op != '-') ++new_count;
    }
    out += fmt::format("@@ -{} +{} @@\n", range(old_at[start], old_count), range(new_at[start], new_count));
    for (long k = start; k < end; ++k) {
      out += edits[k].op;
      out += edits[k].line->text;
      out += '\n';
      if (!edits[k].line->newline) out += "\\ No newline at end of file\n";
    }
    i = end;
  }
  return out;
}

}  // namespace mailmig::config
