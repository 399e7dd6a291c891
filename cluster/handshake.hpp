// The proofs of the cluster transport's handshake: each side shows that it
// knows the cluster's secret, bound to the whole exchange.
#pragma once

#include <cstdint>
#include <string>

namespace troupe::cluster {

/// Which end of a connection a proof comes from: the side that dialled
/// (and proves first) or the side that accepted.
enum class handshake_role : std::uint8_t { initiator = 1, responder = 2 };

/// Everything a proof covers: both nodes' ids and challenges, the cluster
/// and the protocol version. Both sides build the same transcript from
/// the two hellos; a proof made for one connection, role, cluster or
/// version does not verify for another.
struct handshake_transcript {
  std::string cluster{};
  std::uint16_t protocol = 0;
  std::string initiator_id{};
  std::string responder_id{};
  std::string initiator_challenge{};
  std::string responder_challenge{};
};

/// The proof (HMAC-SHA-512-256, keyed with `key`) of `role` over `t`.
std::string handshake_proof(const std::string& key,
                            const handshake_transcript& t, handshake_role role);

/// Whether `proof` is `role`'s proof over `t` (compared in constant time).
bool handshake_verify(const std::string& key, const handshake_transcript& t,
                      handshake_role role, const std::string& proof);

/// Derives the 32-byte key from a secret's text.
std::string derive_key(const std::string& secret);

} // namespace troupe::cluster
