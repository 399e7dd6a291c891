// A libFuzzer target for what a node reads from outside: cluster frames
// (with the limits of a connection before and after its handshake), the
// records of a protected session, the handshake's proofs, and the cluster
// state persisted in the data directory. No input may crash the
// decoder or make it read out of bounds (the sanitizers watch), and every
// frame it accepts encodes back to one that decodes to the same value
// (but a frame of a newer minor version, which a node skips).
//
// Built only in the fuzzing build (meson option `fuzz`, clang); `./dev
// fuzz` runs it. With `TROUPE_FUZZ_SEEDS=<dir>` it first writes one
// encoded frame of every kind into <dir> as a starting corpus.
#include "troupe/cluster/handshake.hpp"
#include "troupe/cluster/session.hpp"
#include "troupe/cluster/wire/codec.hpp"

#include "tests/cluster/wire_samples.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <variant>
#include <vector>

namespace tw = troupe::cluster::wire;

namespace {

[[noreturn]] void broken(const char* what) {
  std::fprintf(stderr, "frame_fuzz: %s\n", what);
  std::abort();
}

void write_seeds(const char* dir) {
  std::filesystem::create_directories(dir);
  int n = 0;
  auto put = [&](const std::vector<std::uint8_t>& bytes) {
    std::ofstream out{std::filesystem::path{dir}
                        / ("seed-" + std::to_string(n++)),
                      std::ios::binary};
    out.write(reinterpret_cast<const char*>(bytes.data()),
              static_cast<std::streamsize>(bytes.size()));
  };
  for (const auto& f : troupe::tests::sample_frames()) {
    put(tw::encode(f));
  }
  put(
    tw::encode(tw::persisted_state{.node_id = troupe::tests::id('a'),
                                   .incarnation = 2,
                                   .gossip = troupe::tests::sample_gossip()}));
}

// What is accepted round-trips: encoded again and decoded, it is the same.
void check_frame(const std::uint8_t* data, std::size_t size,
                 const tw::limits& lim) {
  auto f = tw::decode(data, size, lim);
  // A frame of a newer minor version is skipped, never sent on: it has no
  // encoding here.
  if (!f || std::holds_alternative<tw::unknown_frame>(*f)) {
    return;
  }
  auto again = tw::encode(*f);
  auto back = tw::decode(again.data(), again.size(), lim);
  if (!back) {
    broken("an accepted frame, encoded again, is refused");
  }
  if (!(*back == *f)) {
    broken("an accepted frame, encoded again, decodes to another value");
  }
}

// Records: bytes from a peer that has no session key never open (a forged
// tag) and never crash the inbox; the input sealed as one frame opens to
// exactly itself.
void check_records(const std::uint8_t* data, std::size_t size) {
  namespace tc = troupe::cluster;
  const std::string key(32, 'k');
  for (auto level : {tc::protection::encrypt, tc::protection::authenticate}) {
    tc::session_inbox forged{1 << 20};
    forged.secure(level, key);
    forged.append(reinterpret_cast<const char*>(data), size);
    if (forged.next().data != nullptr) {
      broken("bytes sealed by nobody opened as a frame");
    }
    if (size == 0) {
      continue;
    }
    std::vector<std::uint8_t> frame{static_cast<std::uint8_t>(size >> 24),
                                    static_cast<std::uint8_t>(size >> 16),
                                    static_cast<std::uint8_t>(size >> 8),
                                    static_cast<std::uint8_t>(size)};
    frame.insert(frame.end(), data, data + size);
    tc::record_sealer sealer{level, key};
    std::vector<std::uint8_t> records;
    if (!sealer.seal(frame.data(), frame.size(), records)) {
      broken("a fresh sealer refused to seal");
    }
    tc::session_inbox in{1 << 20};
    in.secure(level, key);
    in.append(reinterpret_cast<const char*>(records.data()), records.size());
    auto v = in.next();
    if (v.data == nullptr || v.size != size
        || !std::equal(v.data, v.data + size, data)) {
      broken("a sealed frame did not open to itself");
    }
  }
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  if (const char* dir = std::getenv("TROUPE_FUZZ_SEEDS")) {
    write_seeds(dir);
  }
  return 0;
}

// The handshake's proofs, over a transcript cut from the input: a proof
// verifies for the role, key and transcript it was made for and for no
// other (a proof reflected to its maker, one from another cluster's key,
// one whose exchange was changed on the way); a proof taken from the input
// verifies only if it is that proof.
void check_handshake(const std::uint8_t* data, std::size_t size) {
  namespace tc = troupe::cluster;
  std::string in(reinterpret_cast<const char*>(data), size);
  auto take = [&in](std::size_t n) {
    auto part = in.substr(0, std::min(n, in.size()));
    in.erase(0, part.size());
    return part;
  };
  auto field = [&take] {
    auto n = take(1);
    return take(n.empty() ? 0 : static_cast<unsigned char>(n[0]) % 48);
  };
  tc::handshake_transcript t;
  t.cluster = field();
  auto version = take(2);
  t.protocol = static_cast<std::uint16_t>(
    version.size() == 2 ? (static_cast<unsigned char>(version[0]) << 8)
                            | static_cast<unsigned char>(version[1])
                        : 0);
  t.initiator_id = field();
  t.responder_id = field();
  t.initiator_challenge = field();
  t.responder_challenge = field();
  t.initiator_offer = field();
  t.responder_offer = field();
  auto taken = take(32);
  const std::string key(32, 'k');
  auto changed = t;
  changed.responder_challenge += '!';
  for (auto role :
       {tc::handshake_role::initiator, tc::handshake_role::responder}) {
    auto other = role == tc::handshake_role::initiator
                   ? tc::handshake_role::responder
                   : tc::handshake_role::initiator;
    auto proof = tc::handshake_proof(key, t, role);
    if (!tc::handshake_verify(key, t, role, proof)) {
      broken("a proof does not verify");
    }
    if (tc::handshake_verify(key, t, other, proof)) {
      broken("a proof verifies for the other role");
    }
    if (tc::handshake_verify(std::string(32, 'x'), t, role, proof)) {
      broken("a proof verifies under another key");
    }
    if (tc::handshake_verify(key, changed, role, proof)) {
      broken("a proof verifies for a changed exchange");
    }
    if (taken != proof && tc::handshake_verify(key, t, role, taken)) {
      broken("a proof taken from the input verifies");
    }
  }
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  // After the handshake, and before it (what an unauthenticated peer may
  // send is read with the small pre-auth limit).
  check_frame(data, size, tw::limits{});
  check_frame(data, size,
              tw::limits{.max_frame_bytes = tw::max_handshake_frame_bytes});
  check_records(data, size);
  check_handshake(data, size);
  if (auto s = tw::decode_persisted(data, size)) {
    auto again = tw::encode(*s);
    auto back = tw::decode_persisted(again.data(), again.size());
    if (!back || back->node_id != s->node_id
        || back->incarnation != s->incarnation
        || !(back->gossip.state == s->gossip.state)) {
      broken("an accepted persisted state does not round-trip");
    }
  }
  return 0;
}
