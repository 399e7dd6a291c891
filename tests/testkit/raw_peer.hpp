// A peer spoken by hand: a test or benchmark dials a node's cluster port and
// speaks the protocol frame by frame, as another node (or an intruder)
// would.
#pragma once

#include "troupe/cluster/context.hpp"
#include "troupe/cluster/handshake.hpp"
#include "troupe/cluster/wire/codec.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace troupe::testkit {

/// Writes one frame (its 4-byte length and encoding) to the socket `fd`;
/// false if the socket did not take it all.
bool write_frame(int fd, const cluster::wire::frame& f);

/// Reads one frame's encoding from `fd` (blocking); empty at the end of the
/// stream or on an error.
std::vector<std::uint8_t> read_frame_body(int fd);

/// Completes the handshake on `fd`, a connection to a node's cluster port,
/// as node `node_id` (named `raw@127.0.0.1`) with `challenge`, offering
/// session protection `offer` (empty: as a build without it): reads the
/// node's hello, sends this side's hello and proof, reads the node's proof
/// and checks it. The transcript both sides proved (the session's keys
/// come from it: `cluster::session_keys_of`), or nullopt if the node
/// refused or did not prove itself.
std::optional<cluster::handshake_transcript>
dial_handshake(int fd, const cluster::context& ctx, const std::string& node_id,
               const std::string& challenge, const std::string& offer);

} // namespace troupe::testkit
