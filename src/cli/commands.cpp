#include "cli/commands.h"

#include <fstream>

#include <fmt/format.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "cli/exit_codes.h"
#include "cli/printable_sink.h"
#include "engine/inventory_report.h"
#include "source/cgp/store.h"

namespace mailmig::cli {

void setup_logging(int verbosity, bool quiet, const std::string& log_file) {
  auto screen = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
  screen->set_pattern("%^%l%$: %v");
  spdlog::level::level_enum level = spdlog::level::warn;
  if (verbosity == 1) level = spdlog::level::info;
  if (verbosity >= 2) level = spdlog::level::debug;
  if (quiet) level = spdlog::level::err;
  screen->set_level(level);
  std::vector<spdlog::sink_ptr> sinks{std::make_shared<PrintableSink>(screen)};
  if (!log_file.empty()) {
    // The log file gets everything; it never holds secrets (nothing logs them).
    auto file = std::make_shared<spdlog::sinks::basic_file_sink_mt>(log_file, false);
    file->set_pattern("%Y-%m-%d %H:%M:%S.%e [%l] %v");
    file->set_level(spdlog::level::debug);
    sinks.push_back(std::make_shared<PrintableSink>(file));
    level = spdlog::level::debug;
  }
  auto logger = std::make_shared<spdlog::logger>("mailmig", sinks.begin(), sinks.end());
  logger->set_level(std::min(level, spdlog::level::info));
  if (log_file.empty()) logger->set_level(level);
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(logger);
}

int report_setup_error(const std::exception_ptr& error, std::ostream& err) {
  try {
    std::rethrow_exception(error);
  } catch (const SpecError& e) {
    err << "mailmig: " << e.what() << "\n";
    return kExitUsage;
  } catch (const std::invalid_argument& e) {
    err << "mailmig: " << e.what() << "\n";
    return kExitUsage;
  } catch (const std::exception& e) {
    err << "mailmig: " << e.what() << "\n";
    return kExitFatal;
  }
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
