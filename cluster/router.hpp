// Routing by name: the router actor, one per node (name host, handoff),
// and what it reports.
#pragma once

#include "context.hpp"
#include "routing_view.hpp"
#include "virtual_actor.hpp"

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/expected.hpp>
#include <caf/message.hpp>

namespace troupe::cluster {

/// Forwards a message may take before it is refused.
inline constexpr std::uint8_t max_hops = 3;

/// One partition on its way to another node.
struct transfer_view {
  std::uint32_t partition = 0;
  std::uint64_t epoch = 0;
  std::string to;
  /// Actors exported so far and in all.
  std::size_t exported = 0;
  std::size_t total = 0;
  /// Sent, waiting for the receiver's acknowledgement.
  bool sent = false;
  std::uint32_t attempts = 0;
};

/// Counters of the router (also in the metrics registry).
struct routing_stats {
  std::uint64_t delivered_locally = 0;
  std::uint64_t sent_remote = 0;
  std::uint64_t forwarded = 0;
  std::uint64_t failed = 0;
  /// Refused: this side of a partition has no quorum.
  std::uint64_t no_quorum = 0;
  std::uint64_t activations = 0;
  std::uint64_t passivations = 0;
  std::uint64_t handoffs_out = 0;
  std::uint64_t handoffs_in = 0;
  std::size_t running = 0;
  /// Partitions this node has gained and waits to be handed.
  std::size_t awaiting = 0;
};

} // namespace troupe::cluster

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(troupe::cluster::routing_view)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<troupe::cluster::transfer_view>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(troupe::cluster::routing_stats)

namespace troupe::cluster {

/// Spawns the router: it asks the membership actor for the current view,
/// publishes itself in `ctx` and starts activations under `activations`
/// (a simple_one_for_one supervisor whose children `activation_spec`
/// describes).
caf::expected<caf::actor> spawn_router(caf::actor_system& sys,
                                       const context_ptr& ctx,
                                       const caf::actor& activations);

} // namespace troupe::cluster
