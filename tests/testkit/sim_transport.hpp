// The cluster transport of a simulated node: the cluster's own protocol
// (`cluster::transport_core`) on the simulated network instead of TCP.
#pragma once

#include "troupe/cluster/context.hpp"
#include "troupe/testkit/sim_network.hpp"

#include <cstdint>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/atom.hpp>
#include <caf/expected.hpp>

namespace troupe::testkit::sim {

// What the world tells a node's transport (see `network::event`).
using accepted_atom = caf::atom_constant<caf::atom("sim_accept")>;
using connected_atom = caf::atom_constant<caf::atom("sim_conned")>;
using dial_failed_atom = caf::atom_constant<caf::atom("sim_dfail")>;
using data_atom = caf::atom_constant<caf::atom("sim_data")>;
using closed_atom = caf::atom_constant<caf::atom("sim_closed")>;

/// Where a simulated node's transport is: its network, the world's clock,
/// and which node in which life it serves.
struct transport_site {
  network* net = nullptr;
  const sim_time* now = nullptr;
  network::node_index node = 0;
  std::uint64_t life = 0;
};

/// Spawns the transport of a simulated node: it listens on the node's
/// address in `site.net` and speaks the cluster's protocol with the same
/// frames as over TCP (each a 4-byte length and a Cap'n Proto message, cut
/// and decoded by the same code). Accepts the TCP transport's messages
/// (`connect_atom`, `block_atom`, `goodbye_atom`, `owner_atom`,
/// `router_up_atom`) and the world's (`accepted_atom`, ...). Set it as the
/// context's `transport_factory`.
caf::expected<caf::actor>
spawn_sim_transport(caf::actor_system& sys, const cluster::context_ptr& ctx,
                    const caf::actor& owner, transport_site site);

} // namespace troupe::testkit::sim
