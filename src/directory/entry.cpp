#include "directory/entry.h"

#include <algorithm>

namespace mailmig::directory {

bool is_class_attribute(std::string_view name) {
  return ascii_iequals(name, "objectClass") || ascii_iequals(name, "structuralObjectClass");
}

const Attribute* Entry::find(std::string_view name) const {
  for (const auto& attribute : attributes) {
    if (ascii_iequals(attribute.name, name)) return &attribute;
  }
  return nullptr;
}

Attribute* Entry::find(std::string_view name) {
  for (auto& attribute : attributes) {
    if (ascii_iequals(attribute.name, name)) return &attribute;
  }
  return nullptr;
}

void Entry::add(std::string_view name, std::string value) {
  if (Attribute* existing = find(name)) {
    existing->values.push_back(std::move(value));
    return;
  }
  attributes.push_back(Attribute{std::string(name), {std::move(value)}});
}

namespace {

bool same_value(std::string_view attribute, std::string_view a, std::string_view b) {
  return is_class_attribute(attribute) ? ascii_iequals(a, b) : a == b;
}

bool contains(std::string_view attribute, const std::vector<std::string>& values, std::string_view value) {
  return std::any_of(values.begin(), values.end(),
                     [&](const std::string& v) { return same_value(attribute, v, value); });
}

}  // namespace

bool Entry::has_value(std::string_view name, std::string_view value) const {
  const Attribute* attribute = find(name);
  return attribute != nullptr && contains(name, attribute->values, value);
}

std::vector<Modification> diff_entries(const Entry& current, const Entry& desired) {
  std::vector<Modification> add_classes;
  std::vector<Modification> changes;
  std::vector<Modification> deletes;
  std::vector<Modification> delete_classes;
  for (const Attribute& want : desired.attributes) {
    const Attribute* have = current.find(want.name);
    const bool classes = ascii_iequals(want.name, "objectClass");
    std::vector<std::string> missing;
    for (const std::string& value : want.values) {
      if ((have == nullptr || !contains(want.name, have->values, value)) &&
          !contains(want.name, missing, value)) {
        missing.push_back(value);
      }
    }
    bool extra = false;
    if (have != nullptr) {
      extra = std::any_of(have->values.begin(), have->values.end(),
                          [&](const std::string& v) { return !contains(want.name, want.values, v); });
    }
    if (classes) {
      if (!missing.empty()) add_classes.push_back(Modification{ModOp::Add, want.name, std::move(missing)});
      continue;
    }
    if (have == nullptr) {
      if (!missing.empty()) changes.push_back(Modification{ModOp::Add, want.name, std::move(missing)});
    } else if (!missing.empty() || extra) {
      // One replace states the whole result: nothing depends on the order of
      // an add and a delete of the same single-valued attribute.
      changes.push_back(Modification{ModOp::Replace, want.name, want.values});
    }
  }
  for (const Attribute& have : current.attributes) {
    const Attribute* want = desired.find(have.name);
    if (want == nullptr) {
      deletes.push_back(Modification{ModOp::Delete, have.name, {}});
    } else if (ascii_iequals(have.name, "objectClass")) {
      std::vector<std::string> extra;
      for (const std::string& value : have.values) {
        if (!contains(have.name, want->values, value)) extra.push_back(value);
      }
      if (!extra.empty()) delete_classes.push_back(Modification{ModOp::Delete, have.name, std::move(extra)});
    }
  }
  std::vector<Modification> out;
  for (auto* group : {&add_classes, &changes, &deletes, &delete_classes}) {
    std::move(group->begin(), group->end(), std::back_inserter(out));
  }
  return out;
}

}  // namespace mailmig::directory
