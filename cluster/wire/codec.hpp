// The cluster protocol's frames as C++ values, and their Cap'n Proto
// encoding. Decoding is a trust boundary: anything invalid is an error,
// never a crash.
#pragma once

#include "../../runtime/config.hpp"
#include "../membership.hpp"
#include "route.hpp"

#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include <caf/expected.hpp>

namespace troupe::cluster::wire {

/// The major protocol version (see the evolution rules in cluster.capnp).
/// 2: the handshake's proofs cover the whole exchange, and the side that
/// dialled proves first.
inline constexpr std::uint16_t protocol_version = 2;

/// Bytes of a challenge and of its answer.
inline constexpr std::size_t challenge_bytes = 32;

/// Largest frame accepted before the peer has proved itself (a hello or
/// an auth is a few hundred bytes).
inline constexpr std::size_t max_handshake_frame_bytes = 4096;

/// Bounds applied while decoding.
struct limits {
  /// Largest frame accepted, in bytes.
  std::size_t max_frame_bytes = 4 * 1024 * 1024;
  /// Largest number of entries in any list.
  std::size_t max_list = 65536;
  /// Longest text (names, hosts, service names).
  std::size_t max_text = 255;
  /// Capabilities one node may state.
  std::size_t max_capabilities = 64;
};

struct hello {
  std::string node_id;
  std::string name;
  runtime::endpoint address;
  std::uint64_t incarnation = 0;
  std::string challenge; ///< `challenge_bytes` random bytes
  std::string cluster;
  std::string software{};
  std::set<std::string> capabilities{};
  /// The session protection offered (see `cluster/session.hpp`); empty
  /// from a build without session security.
  std::string security{};
  friend bool operator==(const hello&, const hello&) = default;
};

struct auth {
  std::string mac;
  friend bool operator==(const auth&, const auth&) = default;
};

struct digest {
  version_vector version;
  std::set<std::string> seen;
  friend bool operator==(const digest&, const digest&) = default;
};

struct state {
  gossip_state gossip;
  friend bool operator==(const state& a, const state& b) {
    return a.gossip.state == b.gossip.state && a.gossip.seen == b.gossip.seen;
  }
};

struct state_request {
  friend bool operator==(const state_request&, const state_request&) = default;
};

struct heartbeat {
  std::uint64_t sequence = 0;
  friend bool operator==(const heartbeat&, const heartbeat&) = default;
};

struct heartbeat_ack {
  std::uint64_t sequence = 0;
  friend bool operator==(const heartbeat_ack&, const heartbeat_ack&) = default;
};

struct goodbye {
  friend bool operator==(const goodbye&, const goodbye&) = default;
};

/// Application bytes for the handler registered under `kind` on the
/// receiving node.
struct payload {
  std::string kind;
  std::string data;
  friend bool operator==(const payload&, const payload&) = default;
};

/// A frame of a newer protocol minor version that this node does not know:
/// skipped by the receiver.
struct unknown_frame {
  std::uint16_t which = 0;
  friend bool operator==(const unknown_frame&, const unknown_frame&) = default;
};

using frame
  = std::variant<hello, auth, digest, state, state_request, heartbeat,
                 heartbeat_ack, goodbye, payload, route, unknown_frame>;

/// A short name of the frame's kind, for logs.
std::string kind_of(const frame& f);

/// Encodes a frame (a Cap'n Proto flat array; the transport adds the
/// length prefix).
std::vector<std::uint8_t> encode(const frame& f);

/// `text` cut to the longest text a receiver decodes (`max` bytes, by
/// default `limits::max_text`), at a UTF-8 character boundary, ending in
/// "..." when cut, and without NUL bytes (no text on the wire has one):
/// for texts a sender does not control (error texts).
std::string bounded_text(std::string text, std::size_t max = limits{}.max_text);

/// Decodes one frame. Errors: `errc::oversized_frame`,
/// `errc::unsupported_protocol`, `errc::malformed_frame` (truncated or
/// trailing bytes, bad pointers, out-of-range values, over-long lists or
/// texts, invalid node ids), each with a context saying what was wrong.
caf::expected<frame> decode(const std::uint8_t* data, std::size_t size,
                            const limits& lim = {});

/// What a node keeps in its data directory.
struct persisted_state {
  std::string node_id;
  std::uint64_t incarnation = 0;
  gossip_state gossip;
};

/// The bounds of a state file, for its writer and its reader alike: above
/// the wire's (any state a peer may send can be saved), and below what
/// would make reading it back a hazard.
inline constexpr limits persisted_limits{.max_frame_bytes = 64 * 1024 * 1024,
                                         .max_list = 1024 * 1024};

std::vector<std::uint8_t> encode(const persisted_state& s);

/// `encode`, checked against `persisted_limits`: a state that
/// `decode_persisted` would refuse is an error (naming the field and the
/// limit) instead of a file that reads back as corrupt.
caf::expected<std::vector<std::uint8_t>>
encode_checked(const persisted_state& s);

caf::expected<persisted_state>
decode_persisted(const std::uint8_t* data, std::size_t size,
                 const limits& lim = persisted_limits);

/// Whether `id` looks like a node id: 32 lowercase hex digits.
bool is_node_id(const std::string& id);

} // namespace troupe::cluster::wire
