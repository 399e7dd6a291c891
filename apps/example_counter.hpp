// An example service: counters addressed by name (`counter/<key>`), placed
// on the ring, handed off with their value, plus a console command to use
// them. `troupe-node --examples` runs it; the demo drives it.
#pragma once

#include "../actors/console.hpp"
#include "../cluster/router_client.hpp"
#include "../cluster/virtual_actor.hpp"

#include <string>

namespace troupe {

/// The virtual actor kind `counter`: `(add_atom, std::int64_t n)` adds,
/// `(get_atom)` reads; both answer `(std::int64_t total, std::string node)`
/// with the name of the node it runs on. Its value moves with handoffs.
cluster::actor_kind example_counter_kind(std::string node_name);

/// The console command `counter <key> [add <n>]`.
actors::console_command example_counter_command(cluster::router_client router);

} // namespace troupe
