// A relay stands in for a remote requester on the node that runs the
// actor: the actor gets the message from it as an ordinary one, so its
// result comes back to the relay as one, and the relay sends it to the
// requester's node as a route reply (an error text cut to what that node
// reads; a reply too large for one frame turned into an error saying so).
// It ends after its one answer, with the router (a node that stops does
// not wait for answers that never come), or after `relay_lifetime`.
#pragma once

#include "context.hpp"

#include <chrono>
#include <cstdint>
#include <string>

#include <caf/actor.hpp>
#include <caf/actor_addr.hpp>
#include <caf/actor_system.hpp>

namespace troupe::cluster {

/// How long a relay waits for the reply to a remote request.
inline constexpr auto relay_lifetime = std::chrono::minutes{5};

/// Spawns the relay for request `id` of node `origin`, watching `router`.
caf::actor spawn_relay(caf::actor_system& sys, const context_ptr& ctx,
                       const caf::actor_addr& router, const std::string& origin,
                       std::uint64_t id);

} // namespace troupe::cluster
