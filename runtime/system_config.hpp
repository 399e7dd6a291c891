// The CAF configuration every Troupe actor system starts from.
#pragma once

#include "runtime/config.hpp"

#include <caf/actor_system_config.hpp>

namespace troupe::runtime {

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
};

} // namespace troupe::runtime
