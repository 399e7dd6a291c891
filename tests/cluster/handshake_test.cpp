// The handshake's proofs: each binds the whole exchange and one role.
#include "troupe/cluster/handshake.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

namespace tc = troupe::cluster;

namespace {

tc::handshake_transcript sample() {
  return {.cluster = "troupe",
          .protocol = 2,
          .initiator_id = "aaaa",
          .responder_id = "bbbb",
          .initiator_challenge = std::string(32, 'i'),
          .responder_challenge = std::string(32, 'r')};
}

const std::string key = tc::derive_key("the secret");

} // namespace

TEST_SUITE_BEGIN("cluster.handshake");

TEST_CASE("a proof verifies for its own transcript and role only") {
  auto t = sample();
  auto mine = tc::handshake_proof(key, t, tc::handshake_role::initiator);
  CHECK(tc::handshake_verify(key, t, tc::handshake_role::initiator, mine));
  // An initiator's proof is no responder's: a node that accepted cannot be
  // made to sign what a node that dialled would.
  CHECK_FALSE(
    tc::handshake_verify(key, t, tc::handshake_role::responder, mine));
  auto theirs = tc::handshake_proof(key, t, tc::handshake_role::responder);
  CHECK(mine != theirs);
  CHECK(tc::handshake_verify(key, t, tc::handshake_role::responder, theirs));
}

TEST_CASE("changing any part of the exchange invalidates a proof") {
  auto base = sample();
  auto proof = tc::handshake_proof(key, base, tc::handshake_role::initiator);
  std::vector<tc::handshake_transcript> changed(8, base);
  changed[0].cluster = "other";
  changed[1].protocol = 1;
  changed[2].initiator_id = "aaab";
  changed[3].responder_id = "bbbc";
  changed[4].initiator_challenge[0] = 'x';
  changed[5].responder_challenge[31] = 'x';
  // The two sides swapped: a proof made on one connection is worth
  // nothing on the one in the other direction.
  std::swap(changed[6].initiator_id, changed[6].responder_id);
  std::swap(changed[6].initiator_challenge, changed[6].responder_challenge);
  // Fields that run into each other: each is encoded with its length.
  changed[7].initiator_id = "aaaab";
  changed[7].responder_id = "bbb";
  for (const auto& t : changed) {
    CHECK_FALSE(
      tc::handshake_verify(key, t, tc::handshake_role::initiator, proof));
  }
}

TEST_CASE("a proof under another secret, or of the wrong size, fails") {
  auto t = sample();
  auto proof = tc::handshake_proof(key, t, tc::handshake_role::initiator);
  auto other = tc::derive_key("another secret");
  CHECK(other != key);
  CHECK_FALSE(
    tc::handshake_verify(other, t, tc::handshake_role::initiator, proof));
  CHECK_FALSE(tc::handshake_verify(key, t, tc::handshake_role::initiator,
                                   proof.substr(0, 16)));
  CHECK_FALSE(tc::handshake_verify(key, t, tc::handshake_role::initiator, ""));
  CHECK_FALSE(
    tc::handshake_verify(key, t, tc::handshake_role::initiator, proof + "x"));
  // The same inputs give the same proof (both sides compute it).
  CHECK(proof == tc::handshake_proof(key, t, tc::handshake_role::initiator));
  CHECK(key.size() == 32);
}

TEST_SUITE_END();
