// The node assembly: data directory, logging, identity and actor system.
#pragma once

#include "runtime/config.hpp"
#include "runtime/identity.hpp"
#include "runtime/logging.hpp"
#include "runtime/metrics.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <caf/actor.hpp>
#include <caf/error.hpp>
#include <caf/expected.hpp>

namespace caf {
class actor_system;
} // namespace caf

namespace troupe {

/// A running Troupe node. `start` brings it up in order (lock the data
/// directory, open the logs, boot the identity, start the actor system and
/// the listener); `stop` (or the destructor) takes it down in reverse.
class node {
public:
  /// Options that are not configuration: what a test or a program injects.
  struct options {
    /// Also log to standard error.
    bool console_log = true;
    /// Further log sinks, e.g. a ring buffer in tests.
    std::vector<spdlog::sink_ptr> extra_sinks{};
    /// Seed for the node's random numbers; nullopt draws one from the OS.
    std::optional<std::uint64_t> seed{};
  };

  /// Starts a node; on error nothing is left running.
  static caf::expected<std::unique_ptr<node>> start(runtime::node_config cfg,
                                                    options opts);

  node(const node&) = delete;
  node& operator=(const node&) = delete;
  ~node();

  /// Stops the node in reverse start order and logs why. Idempotent.
  void stop(std::string_view reason);

  const runtime::node_config& config() const {
    return cfg_;
  }
  const runtime::node_identity& identity() const {
    return identity_;
  }
  runtime::log_context& logs() {
    return *logs_;
  }
  runtime::metrics_registry& metrics() {
    return metrics_;
  }
  caf::actor_system& system();

  /// The root supervisor: every application of the node runs below it, and
  /// `stop` shuts the tree down through it, in reverse start order.
  const caf::actor& root() const {
    return root_;
  }

  /// The port the cluster listener is bound to (the configured one, or the
  /// one the OS picked for port 0).
  std::uint16_t listen_port() const {
    return listen_port_;
  }

  /// Time since `start` returned.
  std::chrono::steady_clock::duration uptime() const;

private:
  struct impl;

  node(runtime::node_config cfg, runtime::data_dir_lock lock,
       std::shared_ptr<runtime::log_context> logs,
       runtime::node_identity identity);

  caf::error start_system();

  runtime::node_config cfg_;
  runtime::data_dir_lock lock_;
  std::shared_ptr<runtime::log_context> logs_;
  runtime::node_identity identity_;
  runtime::metrics_registry metrics_;
  std::unique_ptr<impl> impl_;
  caf::actor root_;
  std::uint16_t listen_port_ = 0;
  std::chrono::steady_clock::time_point started_;
};

} // namespace troupe
