// Routing by name: the router actor, one per node (name host, handoff),
// and what it reports.
#pragma once

#include "context.hpp"
#include "ring.hpp"
#include "virtual_actor.hpp"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/expected.hpp>
#include <caf/message.hpp>

namespace troupe::cluster {

/// What routing decisions are made from: the ring and who may take traffic
/// now (up, reachable, not draining). Published by the router; `index`
/// precomputes every partition's target, so that a send looks it up in
/// constant time.
struct routing_view {
  ring current;
  std::set<std::string> available;
  /// Members that can still take a handoff: active (joining, up or
  /// leaving), reachable or not. A new owner not among them is gone (down
  /// or removed): what was on its way to it goes where messages go.
  std::set<std::string> active;
  std::string self;
  /// Whether this node's side may activate names (`quorum.hpp`); without
  /// it, routing by name answers `no_quorum`.
  bool quorum = true;

  bool is_available(const std::string& id) const {
    return available.count(id) > 0;
  }

  /// Computes the targets of all partitions (call after changing the
  /// fields).
  void index() {
    targets_.assign(current.size(), 0);
    nodes_.assign(1, std::string{});
    auto avail = [this](const std::string& id) { return is_available(id); };
    for (std::uint32_t p = 0; p < current.size(); ++p) {
      auto to = current.route(p, avail);
      auto i = std::find(nodes_.begin(), nodes_.end(), to);
      if (i == nodes_.end()) {
        i = nodes_.insert(nodes_.end(), std::move(to));
      }
      targets_[p] = static_cast<std::uint16_t>(i - nodes_.begin());
    }
  }

  /// The node a message for `p` goes to (empty: none available).
  const std::string& target(std::uint32_t p) const {
    return nodes_[targets_[p]];
  }

private:
  std::vector<std::uint16_t> targets_;            // by partition, into nodes_
  std::vector<std::string> nodes_{std::string{}}; // [0]: none
};

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
