// Unified diffs (as `diff -u` prints them) of two texts, for --dry-run.
#pragma once

#include <string>
#include <string_view>

namespace mailmig::config {

// Empty when the texts are equal. `old_label`/`new_label` follow ---/+++;
// an absent file is shown with /dev/null and an empty text. A last line
// without a newline is marked `\ No newline at end of file`.
std::string unified_diff(std::string_view old_text, std::string_view new_text, const std::string& old_label,
                         const std::string& new_label, int context = 3);

}  // namespace mailmig::config
