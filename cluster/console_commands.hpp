// The cluster layer's console commands: members, ring, services,
// transfers, join, leave, down, drain, undrain, send.
#pragma once

#include "../actors/console.hpp"
#include "../actors/registry.hpp"
#include "context.hpp"

#include <memory>

#include <caf/fwd.hpp>

namespace troupe::cluster {

/// Adds the cluster's commands. `names` (may be null) lets `send` reach
/// locally registered actors as well as virtual actors.
caf::error add_cluster_commands(actors::console_registry& registry,
                                caf::actor_system& system, context_ptr ctx,
                                std::shared_ptr<actors::name_registry> names);

} // namespace troupe::cluster
