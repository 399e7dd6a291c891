// Tests of the wire codec: round trips, hostile input, schema evolution.
#include "troupe/cluster/wire/codec.hpp"

#include "tests/cluster/wire_samples.hpp"

#include "tests/cluster/newer.capnp.h"
#include "troupe/cluster/errors.hpp"
#include "troupe/cluster/virtual_actor.hpp"
#include "troupe/runtime/errors.hpp"

#include <doctest/doctest.h>
#include <fmt/format.h>

#include <capnp/message.h>
#include <capnp/serialize.h>

#include <cstdlib>
#include <random>

namespace tc = troupe::cluster;
namespace tw = troupe::cluster::wire;

using troupe::tests::id;
using troupe::tests::sample_frames;
using troupe::tests::sample_gossip;

namespace {

std::uint64_t test_seed() {
  const char* text = std::getenv("TROUPE_TEST_SEED");
  return text != nullptr ? std::strtoull(text, nullptr, 10) : 20261124;
}

caf::expected<tw::frame> decode(const std::vector<std::uint8_t>& bytes,
                                const tw::limits& lim = {}) {
  return tw::decode(bytes.data(), bytes.size(), lim);
}

} // namespace

TEST_SUITE_BEGIN("cluster.codec");

TEST_CASE("every frame survives a round trip") {
  for (const auto& f : sample_frames()) {
    CAPTURE(tw::kind_of(f));
    auto back = decode(tw::encode(f));
    REQUIRE_MESSAGE(back, caf::to_string(back.error()));
    CHECK(*back == f);
  }
}

TEST_CASE("persisted state survives a round trip") {
  tw::persisted_state s{
    .node_id = id('a'), .incarnation = 9, .gossip = sample_gossip()};
  auto bytes = tw::encode(s);
  auto back = tw::decode_persisted(bytes.data(), bytes.size());
  REQUIRE(back);
  CHECK(back->node_id == s.node_id);
  CHECK(back->incarnation == 9);
  CHECK(back->gossip.state == s.gossip.state);
  CHECK(back->gossip.seen == s.gossip.seen);
}

TEST_CASE("a state file is written only if it reads back: a large one "
          "does, one with a field over its limit is refused before it is "
          "written") {
  // 300 members, each flagging 234 others: more list entries than a frame
  // may carry, which the reader once applied to state files too.
  tc::membership::members_type members;
  tc::membership::reach_type reach;
  auto node = [](int i) { return fmt::format("{:032x}", i + 1); };
  for (int i = 0; i < 300; ++i) {
    members[node(i)] = {.node_id = node(i),
                        .name = fmt::format("n{}@10.0.0.1", i),
                        .address = {.host = "10.0.0.1", .port = 4370},
                        .incarnation = 1,
                        .status = tc::member_status::up};
    for (int j = 1; j <= 234; ++j) {
      reach[{node(i), node((i + j) % 300)}]
        = {.subject_incarnation = 1, .version = 1, .unreachable = true};
    }
  }
  REQUIRE(reach.size() > tw::limits{}.max_list);
  tw::persisted_state big{
    .node_id = node(0),
    .incarnation = 2,
    .gossip = {.state = tc::membership::from_parts(members, reach, {}),
               .seen = {}}};
  auto bytes = tw::encode_checked(big);
  REQUIRE_MESSAGE(bytes, caf::to_string(bytes.error()));
  auto back = tw::decode_persisted(bytes->data(), bytes->size());
  REQUIRE_MESSAGE(back, caf::to_string(back.error()));
  CHECK(back->gossip.state == big.gossip.state);

  members[node(7)].name = std::string(300, 'n');
  big.gossip.state = tc::membership::from_parts(members, {}, {});
  auto refused = tw::encode_checked(big);
  REQUIRE_FALSE(refused);
  CHECK(caf::to_string(refused.error())
          .find("member name is 300 bytes long "
                "(limit 255)")
        != std::string::npos);
}

TEST_CASE("truncated, oversized, misaligned and trailing input is refused") {
  auto bytes = tw::encode(tw::state{.gossip = sample_gossip()});
  for (std::size_t n = 0; n < bytes.size(); n += 8) {
    CAPTURE(n);
    auto r = tw::decode(bytes.data(), n);
    REQUIRE_FALSE(r);
    CHECK(r.error() == tc::errc::malformed_frame);
  }
  auto odd = tw::decode(bytes.data(), bytes.size() - 3);
  CHECK(odd.error() == tc::errc::malformed_frame);
  auto big = decode(bytes, {.max_frame_bytes = bytes.size() - 8});
  CHECK(big.error() == tc::errc::oversized_frame);
  auto longer = bytes;
  longer.resize(bytes.size() + 8);
  auto trailing = decode(longer);
  CHECK(trailing.error() == tc::errc::malformed_frame);
  CHECK(troupe::runtime::describe(trailing.error())
        == "trailing bytes after "
           "the message");
  auto few = decode(bytes, {.max_list = 2});
  CHECK(few.error() == tc::errc::malformed_frame);
  CHECK(troupe::runtime::describe(few.error()).find("limit 2")
        != std::string::npos);
}

TEST_CASE("random bytes and mutated frames never crash the decoder") {
  auto seed = test_seed();
  CAPTURE(seed);
  std::mt19937_64 rng{seed};
  std::size_t accepted = 0;
  auto all = sample_frames();
  for (int i = 0; i < 20000; ++i) {
    std::vector<std::uint8_t> bytes;
    if (i % 2 == 0) {
      bytes.resize(8 * (1 + rng() % 64));
      for (auto& b : bytes) {
        b = static_cast<std::uint8_t>(rng());
      }
    } else {
      bytes = tw::encode(all[rng() % all.size()]);
      for (int flips = 1 + static_cast<int>(rng() % 4); flips > 0; --flips) {
        bytes[rng() % bytes.size()]
          ^= static_cast<std::uint8_t>(1u << (rng() % 8));
      }
    }
    auto r = decode(bytes);
    if (r) {
      ++accepted; // a flip in a value can still be a valid frame
    } else {
      CHECK((r.error() == tc::errc::malformed_frame
             || r.error() == tc::errc::unsupported_protocol));
    }
  }
  MESSAGE("mutated frames still valid: " << accepted);
}

TEST_CASE("invalid values inside a well-formed message are refused") {
  auto h = std::get<tw::hello>(sample_frames()[0]);
  h.node_id = "not-a-node-id";
  CHECK(decode(tw::encode(h)).error() == tc::errc::malformed_frame);
  h = std::get<tw::hello>(sample_frames()[0]);
  h.challenge = "short";
  CHECK(decode(tw::encode(h)).error() == tc::errc::malformed_frame);
  h = std::get<tw::hello>(sample_frames()[0]);
  h.name = std::string(300, 'x');
  auto r = decode(tw::encode(h));
  CHECK(r.error() == tc::errc::malformed_frame);
  CHECK(troupe::runtime::describe(r.error())
        == "hello name is 300 bytes long (limit 255)");
}

TEST_CASE("software and capabilities are bounded like every field") {
  auto h = std::get<tw::hello>(sample_frames()[0]);
  for (int i = 0; i < 65; ++i) {
    h.capabilities.insert("c" + std::to_string(i));
  }
  auto r = decode(tw::encode(h));
  REQUIRE_FALSE(r);
  CHECK(troupe::runtime::describe(r.error())
        == "capabilities has 66 entries (limit 64)");
  h = std::get<tw::hello>(sample_frames()[0]);
  h.software = std::string(256, 's');
  r = decode(tw::encode(h));
  REQUIRE_FALSE(r);
  CHECK(troupe::runtime::describe(r.error())
        == "hello software is 256 bytes long (limit 255)");
}

TEST_CASE("a frame from a newer schema with an extra field decodes; a new "
          "kind of frame is recognised as unknown; another major version is "
          "refused") {
  namespace nw = troupe::test::newer;
  capnp::MallocMessageBuilder mb;
  auto root = mb.initRoot<nw::Frame>();
  root.setProtocol(tw::protocol_version);
  auto h = root.initBody().initHello();
  h.setNodeId(id('b'));
  h.setName("n2@127.0.0.1");
  h.initAddress().setHost("127.0.0.1");
  h.getAddress().setPort(4371);
  h.setIncarnation(2);
  std::string challenge(32, '\x05');
  h.setChallenge(
    {reinterpret_cast<const kj::byte*>(challenge.data()), challenge.size()});
  h.setCluster("prod");
  h.setZone("eu-west"); // the field this node does not know
  auto words = capnp::messageToFlatArray(mb);
  auto bytes = words.asBytes();
  auto r = tw::decode(bytes.begin(), bytes.size());
  REQUIRE(r);
  auto hello = std::get<tw::hello>(*r);
  CHECK(hello.node_id == id('b'));
  CHECK(hello.address.port == 4371);
  CHECK(hello.cluster == "prod");

  root.initBody().setPing("new");
  words = capnp::messageToFlatArray(mb);
  bytes = words.asBytes();
  r = tw::decode(bytes.begin(), bytes.size());
  REQUIRE(r);
  CHECK(std::holds_alternative<tw::unknown_frame>(*r));

  root.setProtocol(tw::protocol_version + 1);
  words = capnp::messageToFlatArray(mb);
  bytes = words.asBytes();
  r = tw::decode(bytes.begin(), bytes.size());
  REQUIRE_FALSE(r);
  CHECK(r.error() == tc::errc::unsupported_protocol);
}

TEST_CASE("bounded_text cuts what a receiver would refuse, never inside a "
          "character") {
  CHECK(tw::bounded_text("short") == "short");
  std::string exact(255, 'a');
  CHECK(tw::bounded_text(exact) == exact);
  auto cut = tw::bounded_text(std::string(1000, 'b'));
  CHECK(cut.size() == 255);
  CHECK(cut.substr(252) == "...");
  // "é" is two bytes: a cut that would split one keeps it whole or drops it.
  std::string accents;
  while (accents.size() < 300) {
    accents += "\xc3\xa9";
  }
  auto kept = tw::bounded_text(accents, 10);
  CHECK(kept == "\xc3\xa9\xc3\xa9\xc3\xa9...");
  CHECK(kept.size() <= 10);
  CHECK(tw::bounded_text("abcdef", 2).size() <= 2);
  // What it gives decodes: a reply with a cut error text.
  auto bytes = tw::encode(tw::frame{tw::route{tw::route_reply{
    .request_id = 1, .error = tw::bounded_text(std::string(5000, 'e'))}}});
  CHECK(tw::decode(bytes.data(), bytes.size()));
}

TEST_CASE("a text with a NUL byte inside is refused (found by the fuzz "
          "target): every reader of the text would take it as shorter") {
  // A payload whose kind is "ben@\0": accepted, it would be passed on as
  // "ben@".
  const std::vector<std::uint8_t> bytes{
    0x00, 0x00, 0x00, 0x00, 0x07, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x01, 0x00, 0x01, 0x00, 0x02, 0x00, 0x08, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x05,
    0x00, 0x00, 0x00, 0x32, 0x00, 0x00, 0x00, 0x05, 0x00, 0x00, 0x00,
    0x1a, 0x00, 0x00, 0x00, 0x62, 0x65, 0x6e, 0x40, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x01, 0x02, 0x62, 0x62, 0x62, 0x9d, 0xff};
  auto f = decode(bytes);
  REQUIRE_FALSE(f);
  CHECK(caf::to_string(f.error()).find("NUL byte") != std::string::npos);
  // Nothing a node sends has one: names with it are not routable, and
  // texts a sender does not control lose theirs.
  CHECK_FALSE(tc::is_routable_name(std::string("counter/a\0b", 11)));
  CHECK(tc::is_routable_name("counter/ab"));
  CHECK(tw::bounded_text(std::string("a\0b", 3)) == "ab");
}

TEST_SUITE_END();
