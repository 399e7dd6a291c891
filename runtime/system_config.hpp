// The CAF configuration every Troupe actor system starts from.
#pragma once

#include "config.hpp"
#include "crash_log.hpp"
#include "logging.hpp"
#include "metrics.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include <caf/actor_system_config.hpp>

namespace caf {
class actor_system;
} // namespace caf

namespace troupe::runtime {

class io_poller;

/// A CAF configuration with Troupe's error categories and message types
/// registered. It never reads `caf-application.ini` or the command line:
/// settings come from `node_config` only. Upper layers add their own types
/// and error categories through their `add_*_types(system_config&)`
/// functions before the actor system is built.
class system_config : public caf::actor_system_config {
public:
  system_config();

  /// Applies the scheduler settings of `cfg`.
  void apply(const node_config& cfg);

  /// Switches to CAF's deterministic test scheduler (no worker threads;
  /// the test drives every message).
  void use_test_scheduler();

  /// The node's logging context, reachable from every actor of the system.
  /// Defaults to a console-only context for node `troupe`.
  std::shared_ptr<log_context> logs;

  /// The node's crash-report log; null if crash reports go to the log only.
  std::shared_ptr<crash_log> crashes;

  /// The node's metrics; null if the system keeps none. Must outlive the
  /// actor system.
  metrics_registry* metrics = nullptr;

  /// Seed for the random choices actors make (a supervisor's restart
  /// jitter); nullopt draws from the OS. A node passes its own seed, so
  /// that one seed replays a whole node.
  std::optional<std::uint64_t> seed{};

  /// The sockets the scheduler's workers read (see `io_scheduler.hpp`);
  /// set by `apply` for the work-stealing policy, null otherwise.
  std::shared_ptr<io_poller> poller;

private:
  void use_scheduler(module_factory factory);
  // Where `use_scheduler` put its factory in `module_factories`.
  std::optional<std::size_t> scheduler_factory_;
};

/// Returns the Troupe configuration `sys` was built from, or null if it was
/// built from a plain CAF configuration.
const system_config* troupe_config(const caf::actor_system& sys);

} // namespace troupe::runtime
