// One frame of every kind, and a cluster state, as the codec's tests and
// the fuzz target's seeds use them.
#pragma once

#include "troupe/cluster/wire/codec.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace troupe::tests {

namespace tc = troupe::cluster;
namespace tw = troupe::cluster::wire;

/// A node id made of one repeated hex digit.
inline std::string id(char c) {
  return std::string(32, c);
}

/// Three members (one of a build older than software and capabilities),
/// an announcement, a reachability flag and a seen set.
inline tc::gossip_state sample_gossip() {
  tc::gossip_state g;
  for (char c : {'a', 'b', 'c'}) {
    tc::member m{.node_id = id(c),
                 .name = std::string{c} + "@127.0.0.1",
                 .address = {.host = "127.0.0.1",
                             .port = static_cast<std::uint16_t>(4000 + c)},
                 .incarnation = 3};
    if (c != 'c') { // 'c' runs a build older than software and capabilities
      m.software = "0.1.0 (v0.1.0-3-gabc)";
      m.capabilities = {"troupe.capabilities", std::string{"x."} + c};
    }
    g.state.add(m, id('a'));
  }
  g.state.transition(id('a'), tc::member_status::up, id('a'));
  g.state.announce(id('b'), {.services = {{"kv", true}, {"web", false}},
                             .draining = true});
  g.state.observe(id('a'), id('c'), true);
  g.seen = {id('a'), id('b')};
  return g;
}

/// One frame of every kind (and every kind of route body).
inline std::vector<tw::frame> sample_frames() {
  return {
    tw::hello{.node_id = id('a'),
              .name = "n1@127.0.0.1",
              .address = {.host = "127.0.0.1", .port = 4370},
              .incarnation = 7,
              .challenge = std::string(32, '\x01'),
              .cluster = "prod",
              .software = "0.1.0 (v0.1.0)",
              .capabilities = {"troupe.capabilities"},
              .security = "encrypt"},
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
                         .hops = 2,
                         .epoch = 5,
                         .origin = id('c'),
                         .request_id = 11,
                         .from_previous = true}},
    tw::route{tw::route_reply{.request_id = 11, .error = "no"}},
    tw::route{tw::handoff_item{.epoch = 5,
                               .partition = 63,
                               .name = "counter/a",
                               .state = std::string("\0x", 2),
                               .transfer = (std::uint64_t{3} << 32) | 9,
                               .sequence = 4}},
    tw::route{tw::handoff_done{.epoch = 5,
                               .partition = 63,
                               .items = 5,
                               .transfer = (std::uint64_t{3} << 32) | 9,
                               .open_from = (std::uint64_t{3} << 32) | 2}},
    tw::route{tw::handoff_ack{
      .epoch = 5, .partition = 63, .transfer = (std::uint64_t{3} << 32) | 9}},
  };
}

} // namespace troupe::tests
