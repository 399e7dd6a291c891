// In-process multi-node clusters for tests: start nodes on loopback, crash
// and restart them, partition and heal, wait for conditions.
#pragma once

#include "troupe/apps/node.hpp"
#include "troupe/testkit/node_process.hpp"

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace troupe::testkit {

/// Settings fast enough for tests: gossip and heartbeats every 50 ms,
/// down after 1 s unreachable.
runtime::cluster_config fast_cluster_settings();

/// A cluster of real `troupe::node`s in this process, each with its own
/// actor system, data directory and TCP listener on 127.0.0.1. Node 0 is
/// the seed the others join through. Everything it starts is stopped when
/// it goes away.
///
///     testkit::cluster_harness c{{.nodes = 5}};
///     REQUIRE_FALSE(c.start_all());
///     REQUIRE(c.wait_converged(10s));
///     c.crash(4);                       // no goodbye, like kill -9
///     REQUIRE(c.wait_for([&] { return c.sees(0, 4, "down"); }, 10s));
///     c.partition({{0, 1}, {2, 3}});    // then c.heal()
class cluster_harness {
public:
  struct options {
    std::size_t nodes = 3;
    runtime::cluster_config cluster = fast_cluster_settings();
    /// Scheduler threads per node.
    std::uint32_t threads = 2;
    /// Applications each node starts, by node index (none by default).
    std::function<std::vector<supervision::application_spec>(std::size_t)>
      applications{};
    /// Kinds of virtual actors each node registers, by node index.
    std::function<std::vector<cluster::actor_kind>(std::size_t)> kinds{};
    /// Registers the types your messages carry between nodes, on each node
    /// (see `node::options::add_message_types`).
    std::function<void(caf::actor_system_config&)> add_message_types{};
    /// Log level of the nodes' logs (written to their data directories).
    runtime::log_level level = runtime::log_level::info;
  };

  explicit cluster_harness(options opts);
  cluster_harness(const cluster_harness&) = delete;
  cluster_harness& operator=(const cluster_harness&) = delete;
  ~cluster_harness();

  /// Starts every node that is not running, node 0 first.
  caf::error start_all();

  /// Starts (or restarts, with the same data directory and port) node `i`,
  /// joining through the running nodes.
  caf::error start(std::size_t i);

  /// The same, joining through the nodes `through` only (those running);
  /// it finds the others from them.
  caf::error start(std::size_t i, const std::vector<std::size_t>& through);

  /// Stops node `i` as a crash would: no goodbye, no leave.
  void crash(std::size_t i);

  /// Stops node `i` in order.
  void stop(std::size_t i);

  bool running(std::size_t i) const;
  node& at(std::size_t i);
  std::size_t size() const {
    return nodes_.size();
  }

  /// Node `i`'s node id (known once it has started once).
  const std::string& node_id(std::size_t i) const;

  /// Cuts the cluster into groups: nodes in different groups can no longer
  /// talk (their connections drop and reconnects are refused). Nodes not
  /// listed form a group of their own each.
  void partition(const std::vector<std::vector<std::size_t>>& groups);

  /// Undoes `partition`.
  void heal();

  /// What node `observer` believes about node `subject`: its status name
  /// ("joining", "up", ..., or "unknown"), and whether it is unreachable.
  std::string status_seen_by(std::size_t observer, std::size_t subject);
  bool unreachable_seen_by(std::size_t observer, std::size_t subject);

  /// Whether `observer` sees `subject` with status `status`.
  bool sees(std::size_t observer, std::size_t subject,
            const std::string& status) {
    return status_seen_by(observer, subject) == status;
  }

  /// Whether every running node sees every running node up and reachable,
  /// and has converged on one version.
  bool converged();

  /// Whether every running node has the same ring, owned by exactly the
  /// running nodes, with every handoff finished.
  bool ring_settled();

  /// Waits until `condition` holds or `deadline` passes.
  bool wait_for(const std::function<bool()>& condition,
                std::chrono::milliseconds deadline);

  /// Waits until `converged()`.
  bool wait_converged(std::chrono::milliseconds deadline);

  const std::filesystem::path& dir() const {
    return dir_.path();
  }

private:
  struct slot {
    std::unique_ptr<node> n;
    std::string node_id;
    std::uint16_t port = 0;
  };

  void apply_blocks();

  options opts_;
  temp_dir dir_;
  std::vector<slot> nodes_;
  std::vector<std::vector<std::size_t>> groups_;
};

} // namespace troupe::testkit
