// A libFuzzer target for what a node reads from outside: cluster frames
// (with the limits of a connection before and after its handshake) and the
// cluster state persisted in the data directory. No input may crash the
// decoder or make it read out of bounds (the sanitizers watch), and every
// frame it accepts encodes back to one that decodes to the same value
// (but a frame of a newer minor version, which a node skips).
//
// Built only in the fuzzing build (meson option `fuzz`, clang); `./dev
// fuzz` runs it. With `TROUPE_FUZZ_SEEDS=<dir>` it first writes one
// encoded frame of every kind into <dir> as a starting corpus.
#include "troupe/cluster/wire/codec.hpp"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <variant>
#include <vector>

namespace tw = troupe::cluster::wire;
namespace tc = troupe::cluster;

namespace {

[[noreturn]] void broken(const char* what) {
  std::fprintf(stderr, "frame_fuzz: %s\n", what);
  std::abort();
}

std::string id(char c) {
  return std::string(32, c);
}

tc::gossip_state sample_gossip() {
  tc::gossip_state g;
  for (char c : {'a', 'b'}) {
    g.state.add({.node_id = id(c),
                 .name = std::string{c} + "@127.0.0.1",
                 .address = {.host = "127.0.0.1",
                             .port = static_cast<std::uint16_t>(4000 + c)},
                 .incarnation = 3,
                 .software = "0.1.0",
                 .capabilities = {"troupe.capabilities"}},
                id('a'));
  }
  g.state.transition(id('a'), tc::member_status::up, id('a'));
  g.state.announce(id('b'), {.services = {{"kv", true}}, .draining = true});
  g.state.observe(id('a'), id('b'), true);
  g.seen = {id('a'), id('b')};
  return g;
}

std::vector<tw::frame> seeds() {
  return {
    tw::hello{.node_id = id('a'),
              .name = "n1@127.0.0.1",
              .address = {.host = "127.0.0.1", .port = 4370},
              .incarnation = 7,
              .challenge = std::string(32, '\x01'),
              .cluster = "prod",
              .software = "0.1.0",
              .capabilities = {"troupe.capabilities"}},
    tw::auth{.mac = std::string(32, '\xfe')},
    tw::digest{.version = sample_gossip().state.version(), .seen = {id('a')}},
    tw::state{.gossip = sample_gossip()},
    tw::state_request{},
    tw::heartbeat{.sequence = 42},
    tw::heartbeat_ack{.sequence = 42},
    tw::goodbye{},
    tw::payload{.kind = "bench", .data = std::string("\0\1\2", 3)},
    tw::route{tw::routed{.name = "counter/a",
                         .message = "m",
                         .hops = 1,
                         .epoch = 5,
                         .origin = id('c'),
                         .request_id = 9}},
    tw::route{tw::route_reply{.request_id = 9, .error = "no"}},
    tw::route{tw::handoff_item{.epoch = 5,
                               .partition = 3,
                               .name = "counter/a",
                               .state = "12",
                               .transfer = 1,
                               .sequence = 0}},
    tw::route{tw::handoff_done{
      .epoch = 5, .partition = 3, .items = 1, .transfer = 1, .open_from = 1}},
    tw::route{tw::handoff_ack{.epoch = 5, .partition = 3, .transfer = 1}},
  };
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
  for (const auto& f : seeds()) {
    put(tw::encode(f));
  }
  put(tw::encode(tw::persisted_state{
    .node_id = id('a'), .incarnation = 2, .gossip = sample_gossip()}));
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

} // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  if (const char* dir = std::getenv("TROUPE_FUZZ_SEEDS")) {
    write_seeds(dir);
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  // After the handshake, and before it (what an unauthenticated peer may
  // send is read with the small pre-auth limit).
  check_frame(data, size, tw::limits{});
  check_frame(data, size,
              tw::limits{.max_frame_bytes = tw::max_handshake_frame_bytes});
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
