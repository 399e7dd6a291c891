// The handshake's proofs: each binds the whole exchange and one role.
#include "troupe/cluster/handshake.hpp"

#include <doctest/doctest.h>
#include <sodium.h>

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
          .responder_challenge = std::string(32, 'r'),
          .initiator_offer = "encrypt",
          .responder_offer = "encrypt"};
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
  std::vector<tc::handshake_transcript> changed(11, base);
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
  // An offer changed on the way, or both taken out (as if neither side
  // could protect its session).
  changed[8].initiator_offer = "none";
  changed[9].responder_offer = "authenticate";
  changed[10].initiator_offer.clear();
  changed[10].responder_offer.clear();
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

TEST_CASE("without offers, a proof is the one builds before session "
          "security make") {
  // Those builds' proof: an HMAC over the label, the role, the protocol
  // and the five fields, each after its 4-byte little-endian length.
  auto t = sample();
  t.initiator_offer.clear();
  t.responder_offer.clear();
  auto field = [](std::string& out, const std::string& f) {
    auto n = static_cast<std::uint32_t>(f.size());
    for (int i = 0; i < 4; ++i) {
      out.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
    }
    out += f;
  };
  std::string input = "troupe.handshake";
  input.push_back(static_cast<char>(tc::handshake_role::responder));
  input.push_back(static_cast<char>(t.protocol & 0xff));
  input.push_back(static_cast<char>(t.protocol >> 8));
  for (const auto* f : {&t.cluster, &t.initiator_id, &t.responder_id,
                        &t.initiator_challenge, &t.responder_challenge}) {
    field(input, *f);
  }
  std::string mac(crypto_auth_BYTES, '\0');
  crypto_auth(reinterpret_cast<unsigned char*>(mac.data()),
              reinterpret_cast<const unsigned char*>(input.data()),
              input.size(), reinterpret_cast<const unsigned char*>(key.data()));
  CHECK(tc::handshake_verify(key, t, tc::handshake_role::responder, mac));
}

TEST_CASE("session keys differ by direction and by connection, and both "
          "sides derive the same") {
  auto t = sample();
  auto keys = tc::session_keys_of(key, t);
  CHECK(keys.initiator_to_responder.size() == 32);
  CHECK(keys.responder_to_initiator.size() == 32);
  CHECK(keys.initiator_to_responder != keys.responder_to_initiator);
  auto again = tc::session_keys_of(key, t);
  CHECK(again.initiator_to_responder == keys.initiator_to_responder);
  CHECK(again.responder_to_initiator == keys.responder_to_initiator);
  auto other = t;
  other.responder_challenge[0] = 'x';
  CHECK(tc::session_keys_of(key, other).initiator_to_responder
        != keys.initiator_to_responder);
  CHECK(tc::session_keys_of(tc::derive_key("another secret"), t)
          .initiator_to_responder
        != keys.initiator_to_responder);
  // No key is a proof, and no proof a key.
  CHECK(tc::handshake_proof(key, t, tc::handshake_role::initiator)
        != keys.initiator_to_responder);
}

TEST_SUITE_END();
