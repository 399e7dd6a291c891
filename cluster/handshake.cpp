// The proofs of the cluster transport's handshake.
#include "handshake.hpp"

#include <sodium.h>

namespace troupe::cluster {

namespace {

// Each field with its length before it, so that no two transcripts encode
// to the same bytes.
void put(std::string& out, const std::string& field) {
  auto n = static_cast<std::uint32_t>(field.size());
  for (int i = 0; i < 4; ++i) {
    out.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
  }
  out += field;
}

std::string encode(const handshake_transcript& t, handshake_role role) {
  std::string out = "troupe.handshake";
  out.push_back(static_cast<char>(role));
  out.push_back(static_cast<char>(t.protocol & 0xff));
  out.push_back(static_cast<char>(t.protocol >> 8));
  put(out, t.cluster);
  put(out, t.initiator_id);
  put(out, t.responder_id);
  put(out, t.initiator_challenge);
  put(out, t.responder_challenge);
  if (!t.initiator_offer.empty() || !t.responder_offer.empty()) {
    put(out, t.initiator_offer);
    put(out, t.responder_offer);
  }
  return out;
}

} // namespace

std::string handshake_proof(const std::string& key,
                            const handshake_transcript& t,
                            handshake_role role) {
  auto input = encode(t, role);
  std::string mac(crypto_auth_BYTES, '\0');
  std::string k = key;
  k.resize(crypto_auth_KEYBYTES, '\0');
  crypto_auth(reinterpret_cast<unsigned char*>(mac.data()),
              reinterpret_cast<const unsigned char*>(input.data()),
              input.size(), reinterpret_cast<const unsigned char*>(k.data()));
  return mac;
}

bool handshake_verify(const std::string& key, const handshake_transcript& t,
                      handshake_role role, const std::string& proof) {
  auto expected = handshake_proof(key, t, role);
  return proof.size() == expected.size()
         && sodium_memcmp(expected.data(), proof.data(), expected.size()) == 0;
}

direction_keys session_keys_of(const std::string& key,
                               const handshake_transcript& t) {
  // A keyed BLAKE2b over the transcript, under a label no proof uses.
  auto input = encode(t, handshake_role::initiator);
  input.insert(0, "troupe.session.keys");
  std::string k = key;
  k.resize(crypto_generichash_KEYBYTES, '\0');
  std::string out(64, '\0');
  crypto_generichash(reinterpret_cast<unsigned char*>(out.data()), out.size(),
                     reinterpret_cast<const unsigned char*>(input.data()),
                     input.size(),
                     reinterpret_cast<const unsigned char*>(k.data()),
                     k.size());
  return {.initiator_to_responder = out.substr(0, 32),
          .responder_to_initiator = out.substr(32)};
}

std::string derive_key(const std::string& secret) {
  std::string key(crypto_auth_KEYBYTES, '\0');
  crypto_generichash(reinterpret_cast<unsigned char*>(key.data()), key.size(),
                     reinterpret_cast<const unsigned char*>(secret.data()),
                     secret.size(), nullptr, 0);
  return key;
}

} // namespace troupe::cluster
