// The proofs of the cluster transport's handshake: each side shows that it
// knows the cluster's secret, bound to the whole exchange.
#pragma once

#include <cstdint>
#include <string>

namespace troupe::cluster {

/// Which end of a connection a proof comes from: the side that dialled
/// (and proves first) or the side that accepted.
enum class handshake_role : std::uint8_t { initiator = 1, responder = 2 };

/// Everything a proof covers: both nodes' ids and challenges, the cluster,
/// the protocol version and the session protection each side offered.
/// Both sides build the same transcript from the two hellos; a proof made
/// for one connection, role, cluster or version does not verify for
/// another, and one whose offers were changed on the way does not either.
struct handshake_transcript {
  std::string cluster{};
  std::uint16_t protocol = 0;
  std::string initiator_id{};
  std::string responder_id{};
  std::string initiator_challenge{};
  std::string responder_challenge{};
  /// Both empty when the peer offered nothing (a build before session
  /// security, whose proofs cover no offers).
  std::string initiator_offer{};
  std::string responder_offer{};
};

/// The proof (HMAC-SHA-512-256, keyed with `key`) of `role` over `t`.
std::string handshake_proof(const std::string& key,
                            const handshake_transcript& t, handshake_role role);

/// Whether `proof` is `role`'s proof over `t` (compared in constant time).
bool handshake_verify(const std::string& key, const handshake_transcript& t,
                      handshake_role role, const std::string& proof);

/// The keys of a session in both directions, derived from the cluster's
/// key and the whole transcript: every connection has keys of its own.
struct direction_keys {
  std::string initiator_to_responder; ///< 32 bytes
  std::string responder_to_initiator; ///< 32 bytes
};
direction_keys session_keys_of(const std::string& key,
                               const handshake_transcript& t);

/// Derives the 32-byte key from a secret's text.
std::string derive_key(const std::string& secret);

} // namespace troupe::cluster
