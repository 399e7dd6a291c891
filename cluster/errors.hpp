// Error codes of the cluster layer, registered as category "cluster".
#pragma once

#include "../runtime/system_config.hpp"

#include <cstdint>
#include <string>

#include <caf/error.hpp>

namespace troupe::cluster {

/// What went wrong in the cluster layer.
enum class errc : std::uint8_t {
  /// Bytes from a peer or a file are not a valid frame; the context says
  /// what was wrong.
  malformed_frame = 1,
  /// A frame is larger than the configured limit.
  oversized_frame,
  /// A frame of a major protocol version this node does not speak.
  unsupported_protocol,
  /// A peer did not prove it knows the cluster secret, or belongs to
  /// another cluster.
  authentication_failed,
  /// A peer sent something the protocol does not allow at that point.
  protocol_violation,
  /// The persisted cluster state cannot be used; it was set aside.
  corrupt_state,
  /// A peer could not be reached.
  peer_unreachable,
  /// No member with this node id or address.
  no_such_member,
  /// The cluster settings are invalid; the context names the setting.
  invalid_settings,
  /// A name is not `kind/key`, or its kind is not registered here.
  invalid_name,
  /// No ring yet, or no node available for the name's partition.
  no_route,
  /// A routed message was forwarded more often than allowed.
  too_many_hops,
  /// A message could not be serialized or deserialized for another node.
  serialization_failed,
  /// This node's side of a partition has no quorum (`cluster.split_brain`):
  /// it activates no names until the partition heals.
  no_quorum,
  /// More than a connection's limit waits to be written to a peer that
  /// reads too slowly, and the sender runs actors (it must not wait).
  peer_busy,
};

std::string to_string(errc code);

/// The `no_quorum` answer for a message to `name`.
caf::error no_quorum_error(const std::string& name);

/// Registers the category (and those of the layers below) with a Troupe
/// configuration.
void add_cluster_types(runtime::system_config& cfg);

} // namespace troupe::cluster

CAF_ERROR_CODE_ENUM(troupe::cluster::errc, "cluster")
