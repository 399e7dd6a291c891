// The supervision layer's console commands: tree, actors, inspect, kill.
#pragma once

#include "../actors/console.hpp"
#include "../actors/registry.hpp"

#include <memory>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

namespace troupe::supervision {

/// What the commands look at: the node's actor system, its root
/// supervisor and its name registry (may be null).
struct tree_sources {
  caf::actor_system* system = nullptr;
  caf::actor root;
  std::shared_ptr<actors::name_registry> names{};
};

/// Adds `tree`, `actors`, `inspect` and `kill`.
caf::error add_supervision_commands(actors::console_registry& registry,
                                    tree_sources sources);

} // namespace troupe::supervision
