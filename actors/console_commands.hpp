// The console commands every node has whatever runs on it: version, logs,
// crash reports, metrics.
#pragma once

#include "../runtime/crash_log.hpp"
#include "../runtime/logging.hpp"
#include "../runtime/metrics.hpp"
#include "console.hpp"

#include <memory>

namespace troupe::actors {

/// What the runtime commands read; everything must outlive the registry's
/// use of the commands.
struct runtime_sources {
  runtime::log_context* logs = nullptr;
  /// Null if the node keeps no crash-report log.
  std::shared_ptr<runtime::crash_log> crashes{};
  runtime::metrics_registry* metrics = nullptr;
};

/// Adds `version`, `log`, `reports` and `metrics`.
caf::error add_runtime_commands(console_registry& registry,
                                runtime_sources sources);

/// Parses a console count argument (1 to `max`).
caf::expected<size_t> parse_count(const std::string& text, size_t max);

} // namespace troupe::actors
