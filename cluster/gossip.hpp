// The gossip actor: starts a gossip round every interval.
#pragma once

#include "context.hpp"

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/expected.hpp>

namespace troupe::cluster {

/// Spawns the actor that drives gossip: every `gossip_interval` it hands
/// the membership actor a random number for the round's choice of peer
/// (push-pull of digests, then full state where the versions differ; see
/// `membership_actor`). It keeps nothing but its random generator, so
/// restarting it loses nothing.
caf::expected<caf::actor> spawn_gossip(caf::actor_system& sys,
                                       const context_ptr& ctx,
                                       const caf::actor& parent);

} // namespace troupe::cluster
