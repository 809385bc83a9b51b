#include "engine/verify_report.h"

#include <fmt/format.h>

#include "core/ascii.h"
#include "core/printable.h"

namespace mailmig {

namespace {

using Json = nlohmann::ordered_json;

template <typename T>
Json optional_json(const std::optional<T>& v) {
  return v ? Json(*v) : Json(nullptr);
}

Json login_json(const LoginCheck& l) {
  return Json{{"ok", l.ok}, {"method", l.method}, {"error", l.error}};
}

Json by_kind_json(const std::map<DiffKind, std::uint64_t>& counts) {
  Json j = Json::object();
  for (DiffKind k : kDiffKinds) j[diff_kind_name(k)] = counts.contains(k) ? counts.at(k) : 0;
  return j;
}

Json difference_json(const Difference& d) {
  return Json{{"kind", diff_kind_name(d.kind)},
              {"folder", d.folder},
              {"sha256", d.sha256.empty() ? Json(nullptr) : Json(d.sha256)},
              {"source_file", d.source_file.empty() ? Json(nullptr) : Json(d.source_file)},
              {"source_offset", optional_json(d.source_offset)},
              {"target_uid", optional_json(d.target_uid)},
              {"detail", d.detail}};
}

Json problem_json(const Problem& p) {
  return Json{{"scope", scope_name(p.scope)}, {"domain", p.domain}, {"account", p.account},
              {"folder", p.folder},           {"file", p.file},     {"offset", optional_json(p.offset)},
              {"message", p.message}};
}

std::string account_name(const AccountCheck& a) {
  return a.account + "@" + a.domain;
}

std::uint64_t sum(const AccountCheck& a, std::uint64_t FolderCheck::*field) {
  std::uint64_t n = 0;
  for (const FolderCheck& f : a.folders) n += f.*field;
  return n;
}

std::string where(const Difference& d) {
  std::string out;
  if (!d.sha256.empty()) out += " sha256 " + d.sha256.substr(0, 16);
  if (!d.source_file.empty()) {
    out += " " + d.source_file;
    if (d.source_offset) out += fmt::format(" (offset {})", *d.source_offset);
  }
  if (d.target_uid) out += fmt::format(" target UID {}", *d.target_uid);
  return out;
}

// Length of the valid UTF-8 sequence starting at s[i], 0 when invalid.
std::size_t utf8_length(const std::string& s, std::size_t i) {
  const auto c = static_cast<unsigned char>(s[i]);
  std::size_t n = 0;
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF)
    n = 2;
  else if (c >= 0xE0 && c <= 0xEF)
    n = 3;
  else if (c >= 0xF0 && c <= 0xF4)
    n = 4;
  else
    return 0;
  if (i + n > s.size()) return 0;
  for (std::size_t k = 1; k < n; ++k) {
    if ((static_cast<unsigned char>(s[i + k]) & 0xC0U) != 0x80) return 0;
  }
  return n;
}

constexpr const char* kStyle = R"CSS(
body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}
h1{font-size:1.4em}h2{font-size:1.15em;margin-top:2em}
table{border-collapse:collapse;margin:.5em 0}
th,td{border:1px solid #ccc;padding:.25em .6em;text-align:left;vertical-align:top}
th{background:#f0f0f0;cursor:pointer;user-select:none}
td.n{text-align:right;font-variant-numeric:tabular-nums}
.ok{color:#176f2c;font-weight:bold}.bad{color:#b00020;font-weight:bold}
code{font-size:.9em}
)CSS";

// Click a column header to sort by it (numbers numerically), again to reverse.
constexpr const char* kScript = R"JS(
document.querySelectorAll("table.sortable th").forEach(function (th, col) {
  th.addEventListener("click", function () {
    var body = th.closest("table").tBodies[0], rows = Array.from(body.rows);
    var dir = th.dataset.dir === "asc" ? -1 : 1; th.dataset.dir = dir === 1 ? "asc" : "desc";
    rows.sort(function (a, b) {
      var x = a.cells[col].dataset.v || a.cells[col].textContent, y = b.cells[col].dataset.v || b.cells[col].textContent;
      var nx = parseFloat(x), ny = parseFloat(y);
      return dir * (isNaN(nx) || isNaN(ny) ? x.localeCompare(y) : nx - ny);
    });
    rows.forEach(function (r) { body.appendChild(r); });
  });
});
)JS";

class Html {
 public:
  void raw(const std::string& s) { out_ += s; }
  void text(const std::string& s) { out_ += html_escape(s); }
  void cell(const std::string& s) { out_ += "<td>" + html_escape(s) + "</td>"; }
  void number(std::uint64_t n) { out_ += fmt::format("<td class=\"n\" data-v=\"{}\">{}</td>", n, n); }
  void head(std::initializer_list<const char*> columns) {
    out_ += "<table class=\"sortable\"><thead><tr>";
    for (const char* c : columns) out_ += fmt::format("<th>{}</th>", c);
    out_ += "</tr></thead><tbody>\n";
  }
  void end_table() { out_ += "</tbody></table>\n"; }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

}  // namespace

std::string html_escape(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t n = utf8_length(text, i);
    if (n == 0) {  // names from disk may not be UTF-8; the page is
      out += "\xEF\xBF\xBD";
      ++i;
      continue;
    }
    switch (text[i]) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out.append(text, i, n);
    }
    i += n;
  }
  return out;
}

VerifyTotals verify_totals(const VerifyRun& run) {
  VerifyTotals t;
  for (const AccountCheck& a : run.accounts) {
    ++t.accounts;
    if (a.status == "ok") ++t.accounts_ok;
    for (const FolderCheck& f : a.folders) {
      ++t.folders;
      t.messages_source += f.messages_source;
      t.messages_target += f.messages_target;
      t.bytes_source += f.bytes_source;
      t.bytes_target += f.bytes_target;
      t.checked += f.checked;
    }
    for (const auto& [kind, n] : a.by_kind) {
      t.by_kind[kind] += n;
      t.differences += n;
    }
  }
  return t;
}

bool verify_clean(const VerifyRun& run) {
  if (!run.problems.empty()) return false;
  for (const AccountCheck& a : run.accounts) {
    if (a.status != "ok") return false;
  }
  return true;
}

nlohmann::ordered_json verify_report_json(const VerifyRun& run) {
  const VerifyTotals t = verify_totals(run);
  Json j;
  j["version"] = 1;
  j["started"] = run.started;
  j["finished"] = run.finished;
  j["seconds"] = run.seconds;
  j["source"] = run.source;
  j["target"] = run.target;
  j["sampled_percent"] = optional_json(run.sampled_percent);
  j["state"] = run.state.empty() ? Json(nullptr) : Json(run.state);
  j["ok"] = verify_clean(run);
  j["totals"] = Json{{"accounts", t.accounts},
                     {"accounts_ok", t.accounts_ok},
                     {"folders", t.folders},
                     {"messages_source", t.messages_source},
                     {"messages_target", t.messages_target},
                     {"bytes_source", t.bytes_source},
                     {"bytes_target", t.bytes_target},
                     {"checked", t.checked},
                     {"differences", t.differences},
                     {"by_kind", by_kind_json(t.by_kind)},
                     {"errors", run.problems.size()}};
  j["accounts"] = Json::array();
  for (const AccountCheck& a : run.accounts) {
    Json aj;
    aj["account"] = a.account;
    aj["domain"] = a.domain;
    aj["target_account"] = a.target_account;
    aj["login"] = login_json(a.login);
    aj["password_login"] = a.password_login ? login_json(*a.password_login) : Json(nullptr);
    aj["status"] = a.status;
    aj["seconds"] = a.seconds;
    aj["problems"] = a.problems;
    aj["differences_total"] = a.difference_count();
    aj["by_kind"] = by_kind_json(a.by_kind);
    aj["folders"] = Json::array();
    for (const FolderCheck& f : a.folders) {
      aj["folders"].push_back(Json{{"name", f.name.empty() ? Json(nullptr) : Json(f.name)},
                                   {"target_name", f.target_name},
                                   {"messages_source", f.messages_source},
                                   {"messages_target", f.messages_target},
                                   {"bytes_source", f.bytes_source},
                                   {"bytes_target", f.bytes_target},
                                   {"checked", f.checked},
                                   {"differences", f.differences}});
    }
    aj["differences"] = Json::array();
    for (const Difference& d : a.differences) aj["differences"].push_back(difference_json(d));
    j["accounts"].push_back(std::move(aj));
  }
  j["errors"] = Json::array();
  for (const Problem& p : run.problems) j["errors"].push_back(problem_json(p));
  return j;
}

std::string verify_report_text(const VerifyRun& run, std::size_t max_differences) {
  const VerifyTotals t = verify_totals(run);
  std::string out = fmt::format("{:<36} {:>7} {:>21} {:>27} {:>11}  {}\n", "account", "folders",
                                "messages source/target", "bytes source/target", "differences", "status");
  auto line = [&](const std::string& name, std::uint64_t folders, std::uint64_t ms, std::uint64_t mt,
                  std::uint64_t bs, std::uint64_t bt, std::uint64_t diffs, const std::string& status) {
    out += fmt::format("{:<36} {:>7} {:>21} {:>27} {:>11}  {}\n", name, folders, fmt::format("{}/{}", ms, mt),
                       fmt::format("{}/{}", bs, bt), diffs, status);
  };
  for (const AccountCheck& a : run.accounts) {
    line(account_name(a), a.folders.size(), sum(a, &FolderCheck::messages_source),
         sum(a, &FolderCheck::messages_target), sum(a, &FolderCheck::bytes_source),
         sum(a, &FolderCheck::bytes_target), a.difference_count(),
         a.status == "ok" ? "OK" : ascii_upper(a.status));
  }
  line("total", t.folders, t.messages_source, t.messages_target, t.bytes_source, t.bytes_target,
       t.differences,
       verify_clean(run)    ? "OK"
       : t.differences != 0 ? "DIFFERS"
                            : "PROBLEMS");
  out += fmt::format("{} of {} account(s) OK", t.accounts_ok, t.accounts);
  if (run.sampled_percent) {
    out += fmt::format(
        "; sampled: {}% -- {} of {} source messages hashed and compared (counts and bytes of all)",
        *run.sampled_percent, t.checked, t.messages_source);
  } else {
    out += fmt::format("; {} messages hashed and compared", t.checked);
  }
  out += "\n";
  if (t.differences != 0) {
    std::string kinds;
    for (const auto& [kind, n] : t.by_kind)
      kinds += fmt::format("{}{} {}", kinds.empty() ? "" : ", ", n, diff_kind_name(kind));
    const std::size_t shown =
        max_differences == 0 ? t.differences : std::min<std::uint64_t>(max_differences, t.differences);
    out += fmt::format("\nDifferences ({}: {}){}:\n", t.differences, kinds,
                       shown < t.differences ? fmt::format(", the first {} (-v for all)", shown) : "");
    std::size_t n = 0;
    for (const AccountCheck& a : run.accounts) {
      for (const Difference& d : a.differences) {
        if (max_differences != 0 && n++ >= max_differences) break;
        out += fmt::format("  {} {}: {}{}: {}\n", account_name(a), d.folder.empty() ? "-" : d.folder,
                           diff_kind_name(d.kind), where(d), d.detail);
      }
    }
  }
  if (!run.problems.empty()) {
    out += fmt::format("\nProblems ({}):\n", run.problems.size());
    for (const Problem& p : run.problems) out += "  " + p.describe() + "\n";
  }
  // Account and folder names come from the servers: escaped line by line.
  std::string shown;
  for (std::size_t at = 0; at < out.size();) {
    const std::size_t end = std::min(out.find('\n', at), out.size());
    shown += printable(std::string_view(out).substr(at, end - at));
    if (end < out.size()) shown += '\n';
    at = end + 1;
  }
  return shown;
}

std::string verify_report_html(const VerifyRun& run) {
  const VerifyTotals t = verify_totals(run);
  const bool clean = verify_clean(run);
  Html h;
  h.raw(
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>mailmig "
      "verify</title><style>");
  h.raw(kStyle);
  h.raw("</style></head><body>\n<h1>mailmig verify: ");
  h.raw(clean ? "<span class=\"ok\">OK</span>" : "<span class=\"bad\">DIFFERS</span>");
  h.raw("</h1>\n<p>Source <code>");
  h.text(run.source);
  h.raw("</code>, target <code>");
  h.text(run.target);
  h.raw("</code>, ");
  h.text(fmt::format("started {}, finished {} ({:.1f} s)", run.started, run.finished, run.seconds));
  h.raw(". ");
  h.text(run.sampled_percent ? fmt::format("Sampled: {}% of the messages hashed.", *run.sampled_percent)
                             : std::string("Every message hashed."));
  h.raw("</p>\n<h2>Totals</h2>\n<table id=\"totals\"><tbody>\n");
  auto row = [&](const char* name, const std::string& value) {
    h.raw("<tr><th>");
    h.text(name);
    h.raw("</th><td class=\"n\">");
    h.text(value);
    h.raw("</td></tr>\n");
  };
  row("accounts", fmt::format("{} ({} OK)", t.accounts, t.accounts_ok));
  row("folders", std::to_string(t.folders));
  row("messages source / target", fmt::format("{} / {}", t.messages_source, t.messages_target));
  row("bytes source / target", fmt::format("{} / {}", t.bytes_source, t.bytes_target));
  row("messages hashed", std::to_string(t.checked));
  row("differences", std::to_string(t.differences));
  for (const auto& [kind, n] : t.by_kind) row(diff_kind_name(kind), std::to_string(n));
  row("problems", std::to_string(run.problems.size()));
  h.raw("</tbody></table>\n<h2>Accounts</h2>\n");
  h.head({"account", "target account", "login", "folders", "messages source", "messages target",
          "bytes source", "bytes target", "differences", "status"});
  for (const AccountCheck& a : run.accounts) {
    h.raw("<tr>");
    h.cell(account_name(a));
    h.cell(a.target_account);
    std::string login = a.login.ok ? "ok" : "FAILED: " + a.login.error;
    if (a.password_login)
      login += a.password_login->ok ? "; .pass ok" : "; .pass FAILED: " + a.password_login->error;
    h.cell(login);
    h.number(a.folders.size());
    h.number(sum(a, &FolderCheck::messages_source));
    h.number(sum(a, &FolderCheck::messages_target));
    h.number(sum(a, &FolderCheck::bytes_source));
    h.number(sum(a, &FolderCheck::bytes_target));
    h.number(a.difference_count());
    h.raw(a.status == "ok" ? "<td class=\"ok\">OK</td>"
                           : "<td class=\"bad\">" + html_escape(ascii_upper(a.status)) + "</td>");
    h.raw("</tr>\n");
  }
  h.end_table();
  h.raw(fmt::format("<h2>Differences ({})</h2>\n", t.differences));
  h.head({"account", "folder", "kind", "sha256", "source file", "offset", "target UID", "detail"});
  for (const AccountCheck& a : run.accounts) {
    for (const Difference& d : a.differences) {
      h.raw("<tr>");
      h.cell(account_name(a));
      h.cell(d.folder);
      h.cell(diff_kind_name(d.kind));
      h.raw("<td><code>");
      h.text(d.sha256);
      h.raw("</code></td>");
      h.cell(d.source_file);
      if (d.source_offset)
        h.number(*d.source_offset);
      else
        h.cell("");
      if (d.target_uid)
        h.number(*d.target_uid);
      else
        h.cell("");
      h.cell(d.detail);
      h.raw("</tr>\n");
    }
  }
  h.end_table();
  h.raw(fmt::format("<h2>Problems ({})</h2>\n", run.problems.size()));
  h.head({"scope", "account", "folder", "where", "message"});
  for (const Problem& p : run.problems) {
    h.raw("<tr>");
    h.cell(scope_name(p.scope));
    h.cell(p.account.empty() ? p.domain : p.account + "@" + p.domain);
    h.cell(p.folder);
    h.cell(p.offset ? fmt::format("{} (offset {})", p.file, *p.offset) : p.file);
    h.cell(p.message);
    h.raw("</tr>\n");
  }
  h.end_table();
  h.raw("<script>");
  h.raw(kScript);
  h.raw("</script>\n</body></html>\n");
  return h.take();
}

}  // namespace mailmig
