// The membership actor: owns the node's copy of the cluster state, merges
// gossip, runs the failure detector and the leader's housekeeping, persists
// the state and tells subscribers about member events.
#pragma once

#include "context.hpp"
#include "membership.hpp"
#include "quorum.hpp"

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/expected.hpp>

namespace troupe::cluster {

/// One member as this node sees it now.
struct member_view {
  member info;
  bool unreachable = false;
  bool leader = false;
  bool self = false;
};

/// What happened to a member, as subscribers are told (like
/// `net_kernel:monitor_nodes` and Akka's cluster events).
enum class member_event_kind {
  joined,       ///< a new member (or a new incarnation) appeared
  up,           ///< moved to up
  leaving,      ///< asked to leave
  exiting,      ///< handing over before removal
  unreachable,  ///< some member cannot reach it
  reachable,    ///< reachable again
  down,         ///< marked down (by an operator or after down_after)
  removed,      ///< gone from the cluster
  ring_changed, ///< the leader claimed a new ring (see `ring_epoch`)
};

std::string to_string(member_event_kind x);

struct member_event {
  member_event_kind kind = member_event_kind::joined;
  std::string node_id;
  std::string name;
  std::uint64_t incarnation = 0;
  /// For `ring_changed`: the new ring's epoch (the node is the leader that
  /// claimed it).
  std::uint64_t ring_epoch = 0;
};

/// The state as a whole, for tests, the console and benchmarks.
struct cluster_snapshot {
  gossip_state gossip;
  bool converged = false;
  std::optional<std::string> leader;
  /// Gossip rounds this node started.
  std::uint64_t rounds = 0;
  /// Whether this node's side may act as the cluster (`quorum.hpp`).
  quorum_view quorum{};
};

/// A service's health check: true while the service is healthy. Run by the
/// membership actor every heartbeat interval, so it must be quick and must
/// not block; an exception counts as unhealthy.
using health_check = std::function<bool()>;

} // namespace troupe::cluster

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(troupe::cluster::health_check)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(troupe::cluster::member_view)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<troupe::cluster::member_view>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(troupe::cluster::member_event)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(troupe::cluster::cluster_snapshot)

namespace troupe::cluster {

/// Name of the persisted state in the data directory.
inline constexpr const char* state_file_name = "cluster.state";

/// Spawns the membership actor (loading the persisted state, adding this
/// node as joining with its incarnation, and connecting to its known peers
/// and seeds). It publishes itself in `ctx` and tells the transport it is
/// its owner.
caf::expected<caf::actor> spawn_membership(caf::actor_system& sys,
                                           const context_ptr& ctx,
                                           const caf::actor& parent);

} // namespace troupe::cluster
