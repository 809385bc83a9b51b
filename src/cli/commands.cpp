#include "cli/commands.h"

#include <fstream>

#include <fmt/format.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "cli/exit_codes.h"
#include "engine/inventory_report.h"
#include "source/cgp/store.h"

namespace mailmig::cli {

void setup_logging(int verbosity, bool quiet) {
  auto logger = spdlog::stderr_color_mt("mailmig");
  logger->set_pattern("%^%l%$: %v");
  spdlog::level::level_enum level = spdlog::level::warn;
  if (verbosity == 1) level = spdlog::level::info;
  if (verbosity >= 2) level = spdlog::level::debug;
  if (quiet) level = spdlog::level::err;
  logger->set_level(level);
  spdlog::set_default_logger(logger);
}

int run_inventory(const InventoryCommand& command, std::ostream& out, std::ostream& err) {
  OpenedSource opened;
  try {
    opened = open_source(command.source, command.source_options);
  } catch (const SpecError& e) {
    err << "mailmig: " << e.what() << "\n";
    return kExitUsage;
  } catch (const std::exception& e) {
    err << "mailmig: " << e.what() << "\n";
    return kExitFatal;
  }
  spdlog::info("{}", opened.description);

  Inventory inventory;
  try {
    inventory = take_inventory(*opened.source, command.inventory);
  } catch (const SelectionError& e) {
    err << "mailmig: " << e.what() << "\n";
    return kExitUsage;
  }

  std::ofstream file;
  std::ostream* sink = &out;
  if (!command.output.empty()) {
    file.open(command.output, std::ios::out | std::ios::trunc);
    if (!file) {
      err << fmt::format("mailmig: cannot write {}\n", command.output);
      return kExitFatal;
    }
    sink = &file;
  }
  if (command.json) {
    *sink << inventory_to_json(inventory).dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) << "\n";
  } else {
    print_inventory(inventory, TextReportOptions{.folders = command.folders, .title = opened.description}, *sink);
  }
  sink->flush();
  if (!*sink) {
    err << "mailmig: writing the report failed\n";
    return kExitFatal;
  }
  if (!inventory.problems.empty()) {
    // The report lists them; stderr gets the count so a --json run is not silent about it.
    err << fmt::format("mailmig: {} problem(s) found; see the errors in the report\n", inventory.problems.size());
    return kExitProblems;
  }
  return kExitOk;
}

}  // namespace mailmig::cli
