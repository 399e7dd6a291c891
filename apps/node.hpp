// The node assembly: data directory, logging, identity and actor system.
#pragma once

#include "../actors/console.hpp"
#include "../actors/registry.hpp"
#include "../cluster/cluster_app.hpp"
#include "../cluster/router_client.hpp"
#include "../runtime/config.hpp"
#include "../runtime/identity.hpp"
#include "../runtime/logging.hpp"
#include "../runtime/metrics.hpp"
#include "../supervision/application.hpp"
#include "../supervision/application_controller.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include <caf/actor.hpp>
#include <caf/error.hpp>
#include <caf/expected.hpp>

namespace caf {
class actor_system;
class actor_system_config;
} // namespace caf

namespace troupe {

class console_server;
class http_server;

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
    /// Applications loaded at start and started in order (each after its
    /// dependencies); if one fails to start, the node does not start.
    std::vector<supervision::application_spec> applications{};
    /// Kinds of virtual actors this node can start (register the same
    /// kinds on every node).
    std::vector<cluster::actor_kind> kinds{};
    /// Registers the program's own message types with CAF before the actor
    /// system is built (`cfg.add_message_type<T>("name")`), so that they can
    /// cross nodes; register the same types, in the same order, on every
    /// node.
    std::function<void(caf::actor_system_config&)> add_message_types{};
    /// Features of the program's own that it states to the cluster beside
    /// Troupe's (`cluster::check_capabilities` says what a name may be);
    /// `cluster().capabilities()` tells which every member has.
    std::set<std::string> capabilities{};
  };

  /// Why a node's owner was asked to stop it.
  struct stop_request {
    std::string reason;
    /// Empty for an orderly stop (a signal, an operator); an error (e.g. a
    /// permanent application exited) when the node stops because of a
    /// failure.
    caf::error failure{};
  };

  /// Starts a node; on error nothing is left running.
  static caf::expected<std::unique_ptr<node>> start(runtime::node_config cfg,
                                                    options opts);

  node(const node&) = delete;
  node& operator=(const node&) = delete;
  ~node();

  /// Stops the node in reverse start order (applications in reverse start
  /// order, then the rest of the root supervisor's tree, then the actor
  /// system) and logs why. Idempotent. Not from the node's own actors: they
  /// call `request_stop`.
  void stop(std::string_view reason);

  /// Asks the node's owner to stop the node; safe from any thread, actors
  /// included. The first request wins.
  void request_stop(stop_request request);

  /// Waits until `request_stop` is called, or until `deadline`; returns the
  /// request, or nullopt at the deadline.
  std::optional<stop_request> await_stop_request(
    std::optional<std::chrono::steady_clock::time_point> deadline = {});

  /// The node's applications: load, start, stop, list.
  supervision::application_client applications();

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
    return cluster_ctx_ ? cluster_ctx_->listen_port() : 0;
  }

  /// The cluster: members, join, leave, down, drain, services, events.
  cluster::cluster_client cluster();

  /// Sending to virtual actors by name, from anywhere in the cluster.
  cluster::router_client router();

  /// Stops the node as a crash would look to its peers: connections close
  /// without a goodbye and no leave. For tests that simulate crashes.
  void crash();

  /// Time since `start` returned.
  std::chrono::steady_clock::duration uptime() const;

  /// The node's console commands. Built in: `status`, `version`,
  /// `members`, `capabilities`, `ring`, `services`, `transfers`, `tree`,
  /// `actors`, `inspect`, `send`, `kill`, `log`, `reports`, `metrics`, `join`,
  /// `leave`, `drain`, `undrain`, `help`; a service adds its own here.
  actors::console_registry& console() {
    return console_;
  }

  /// Names for this node's local actors; the console's `inspect`, `kill`
  /// and `send` find actors by these names.
  const std::shared_ptr<actors::name_registry>& names() const {
    return names_;
  }

  /// The console's Unix socket (mode 0600, in the data directory).
  std::filesystem::path console_socket() const {
    return cfg_.data_dir / "console.sock";
  }

  /// The file holding the console's TCP token (created when TCP is on).
  std::filesystem::path console_token_file() const {
    return cfg_.data_dir / "console.token";
  }

  /// The address other nodes dial to reach this one (`node.advertise`,
  /// else the listen address), once the listener is bound.
  std::string advertised() const;

  /// The console's TCP port; 0 when `console.tcp` is off.
  std::uint16_t console_port() const;

  /// The HTTP port; 0 when `http.listen` is off.
  std::uint16_t http_port() const;

  /// What `status` says (also `/status` on HTTP).
  actors::console_reply status();

  /// Whether the node is up and serving (`/healthz`), and why not.
  std::pair<bool, std::string> health();

private:
  struct impl;

  node(runtime::node_config cfg, runtime::data_dir_lock lock,
       std::shared_ptr<runtime::log_context> logs,
       runtime::node_identity identity);

  caf::error
  start_system(const std::function<void(caf::actor_system_config&)>& add_types);
  caf::error
  start_applications(std::vector<supervision::application_spec> apps);
  caf::error add_console_commands(std::shared_ptr<runtime::crash_log> crashes);
  caf::error start_console();
  caf::error start_http();

  runtime::node_config cfg_;
  runtime::data_dir_lock lock_;
  std::shared_ptr<runtime::log_context> logs_;
  runtime::node_identity identity_;
  runtime::metrics_registry metrics_;
  std::unique_ptr<impl> impl_;
  caf::actor root_;
  caf::actor app_controller_;
  cluster::context_ptr cluster_ctx_;
  std::vector<cluster::actor_kind> kinds_;
  std::set<std::string> capabilities_;
  std::uint64_t seed_ = 0;
  std::mutex stop_mtx_;
  std::condition_variable stop_cv_;
  std::optional<stop_request> stop_request_;
  std::chrono::steady_clock::time_point started_;
  std::shared_ptr<actors::name_registry> names_;
  actors::console_registry console_;
  std::unique_ptr<console_server> console_server_;
  std::unique_ptr<http_server> http_;
  std::atomic<bool> stopping_{false};
};

} // namespace troupe
