// The cluster transport: TCP connections between nodes carrying Cap'n Proto
// frames, each peer authenticated with the shared secret before anything
// else is accepted.
#pragma once

#include "context.hpp"
#include "transport_core.hpp"
#include "wire/codec.hpp"

#include <string>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/expected.hpp>

namespace troupe::cluster {

/// Opens the listening socket on `ctx->settings`' address (a taken port is
/// an error here, before anything is spawned), then spawns the transport.
/// It publishes itself and the port in `ctx`.
///
/// Protocol per connection: both sides send `hello` (identity, cluster
/// name, a random challenge); each answers the other's challenge with
/// `auth` (HMAC-SHA-512-256 keyed with the secret over the challenge and
/// its own node id; the secret never travels). Until the peer's `auth`
/// verifies, any other frame drops the connection. Frames are a 4-byte
/// big-endian length and a Cap'n Proto message; a frame over the size limit
/// or one that does not decode drops the connection. One connection per
/// pair of nodes (when both connect at once, the one opened by the lower
/// node id stays), so frames between two nodes keep their order.
///
/// To its owner (the membership actor) it sends `(peer_up_atom, hello)`
/// when a peer is authenticated, `(peer_down_atom, node_id, bool goodbye)`
/// when its connection closes, and `(peer_frame_atom, node_id, frame)` for
/// every other frame but payloads, which go to the handler registered in
/// `ctx` for their kind as `(payload_atom, node_id, payload)`; routing
/// frames go to the router (held, up to 10,000, while none runs, and
/// released in order on `(router_up_atom)`). It accepts
/// `(connect_atom, endpoint text)`, `(block_atom, vector<node id>)` (drop and
/// refuse those peers: a simulated partition), `(goodbye_atom)` (tell every
/// peer this node is going away on purpose) and `(owner_atom, actor)`.
caf::expected<caf::actor> spawn_transport(caf::actor_system& sys,
                                          const context_ptr& ctx,
                                          const caf::actor& owner);

/// Sends a frame to a connected peer from the calling thread: encoded here
/// and written to the peer's socket under that connection's lock, with no
/// hop through the transport actor, so frames sent by one thread or actor
/// to one peer keep their order. False when the peer is not connected (the
/// frame is dropped, as are frames to a peer whose connection closes
/// before they leave), and for a frame over `cluster.max_frame_bytes`,
/// which is not sent (counted and logged: its receiver would drop the
/// connection). While more than 8 MiB wait for a peer that reads too
/// slowly, a frame sent from a thread that runs actors is not taken either
/// (counted in `troupe_cluster_frames_busy_total`: an actor's worker never
/// waits), and any other thread waits for room. A peer that takes nothing
/// for 4 × `cluster.acceptable_pause` (at least 1 s) while frames wait is
/// dropped and reported down.
bool send_frame(context& ctx, const std::string& node_id, const wire::frame& f);

/// Why `send_frame` did not send a frame.
enum class unsent { none, no_connection, too_large, busy };

/// Why a frame to `node_id` was not sent, for people (empty for
/// `unsent::none`).
std::string describe(unsent why, const context& ctx,
                     const std::string& node_id);

/// `send_frame`, saying why a frame was not sent (`unsent::none`: it was).
unsent try_send_frame(context& ctx, const std::string& node_id,
                      const wire::frame& f);

} // namespace troupe::cluster
