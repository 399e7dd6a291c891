// Multi-node cluster tests in one process: real nodes on loopback through
// the test kit's cluster harness.
#include "troupe/testkit/cluster_harness.hpp"
#include "troupe/testkit/raw_peer.hpp"

#include "troupe/cluster/atoms.hpp"
#include "troupe/cluster/console_commands.hpp"
#include "troupe/cluster/errors.hpp"
#include "troupe/cluster/handshake.hpp"
#include "troupe/cluster/session.hpp"
#include "troupe/cluster/transport.hpp"
#include "troupe/cluster/wire/codec.hpp"
#include "troupe/supervision/supervisor_client.hpp"
#include "troupe/testkit/read_exactly.hpp"
#include "troupe/testkit/wait.hpp"

#include <doctest/doctest.h>

#include <caf/after.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include <arpa/inet.h>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <netinet/in.h>
#include <random>
#include <sys/socket.h>
#include <unistd.h>

namespace tc = troupe::cluster;
namespace tk = troupe::testkit;
using namespace std::chrono_literals;

namespace {

constexpr auto deadline = 20s;

std::string log_of(tk::cluster_harness& c, std::size_t i) {
  std::ifstream in{c.dir() / fmt::format("n{}", i) / "log" / "node.log"};
  return {std::istreambuf_iterator<char>{in}, {}};
}

// A raw TCP connection to a node's cluster port.
struct raw_peer {
  int fd = -1;
  explicit raw_peer(std::uint16_t port) {
    fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr))
            == 0);
  }
  ~raw_peer() {
    ::close(fd);
  }
  void send(const std::vector<std::uint8_t>& bytes) {
    ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
  }
  // Reads until the node closes the connection; false on the deadline.
  bool closed_by_node() {
    timeval tv{.tv_sec = 10, .tv_usec = 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    char buf[4096];
    for (;;) {
      auto n = ::recv(fd, buf, sizeof(buf), 0);
      if (n == 0) {
        return true;
      }
      if (n < 0) {
        return errno == ECONNRESET;
      }
    }
  }
};

std::vector<std::uint8_t> framed(const std::vector<std::uint8_t>& body,
                                 std::uint32_t claimed) {
  std::vector<std::uint8_t> out(4 + body.size());
  for (int i = 0; i < 4; ++i) {
    out[static_cast<std::size_t>(i)]
      = static_cast<std::uint8_t>(claimed >> (24 - 8 * i));
  }
  for (std::size_t i = 0; i < body.size(); ++i) {
    out[4 + i] = body[i];
  }
  return out;
}

} // namespace

TEST_SUITE_BEGIN("cluster.multinode");

TEST_CASE("a crashed node is seen unreachable, then down; restarted, it "
          "rejoins with a higher incarnation") {
  tk::cluster_harness c{{.nodes = 4}};
  REQUIRE_FALSE(c.start_all());
  REQUIRE(c.wait_converged(deadline));
  auto before = c.at(3).identity().incarnation;
  c.crash(3);
  CHECK(c.wait_for(
    [&] {
      return c.unreachable_seen_by(0, 3) && c.unreachable_seen_by(1, 3)
             && c.unreachable_seen_by(2, 3);
    },
    deadline));
  CHECK(c.wait_for(
    [&] {
      for (std::size_t i = 0; i < 3; ++i) {
        // Down, removed, or removed and already forgotten.
        auto s = c.status_seen_by(i, 3);
        if (s != "down" && s != "removed" && s != "unknown") {
          return false;
        }
      }
      return true;
    },
    deadline));
  REQUIRE_FALSE(c.start(3));
  CHECK(c.at(3).identity().incarnation == before + 1);
  REQUIRE(c.wait_converged(deadline));
  auto members = c.at(0).cluster().members();
  REQUIRE(members);
  for (const auto& m : *members) {
    if (m.info.node_id == c.node_id(3)) {
      CHECK(m.info.incarnation > before);
      CHECK(m.info.status == tc::member_status::up);
    }
  }
}

TEST_CASE("connections closed by partitions let go of their sockets") {
  tk::cluster_harness c{{.nodes = 2}};
  REQUIRE_FALSE(c.start_all());
  REQUIRE(c.wait_converged(deadline));
  auto open_files = [] {
    return static_cast<std::size_t>(
      std::distance(std::filesystem::directory_iterator{"/proc/self/fd"},
                    std::filesystem::directory_iterator{}));
  };
  auto cycle = [&] {
    c.partition({{0}, {1}});
    REQUIRE(c.wait_for([&] { return c.unreachable_seen_by(0, 1); }, deadline));
    c.heal();
    REQUIRE(c.wait_for(
      [&] {
        return !c.unreachable_seen_by(0, 1) && !c.unreachable_seen_by(1, 0);
      },
      deadline));
  };
  cycle();
  auto before = open_files();
  for (int i = 0; i < 4; ++i) {
    cycle();
  }
  // Each closed connection held three descriptors on each side; what is
  // left after four more cycles is at most a dial in progress.
  CHECK_MESSAGE(c.wait_for([&] { return open_files() <= before + 2; },
                           deadline),
                "open files: " << before << " then " << open_files());
}

TEST_CASE("a node with the wrong secret is refused and the refusal logged") {
  tk::cluster_harness c{{.nodes = 2}};
  REQUIRE_FALSE(c.start(0));
  // Node 1 gets a secret file of its own.
  auto other = c.dir() / "other.secret";
  {
    std::ofstream out{other};
    out << "not the cluster's secret\n";
  }
  std::filesystem::permissions(other, std::filesystem::perms::owner_read
                                        | std::filesystem::perms::owner_write);
  troupe::runtime::node_config cfg;
  cfg.name = "intruder";
  cfg.listen = {.host = "127.0.0.1", .port = 0};
  cfg.data_dir = c.dir() / "intruder";
  cfg.cluster = tk::fast_cluster_settings();
  cfg.cluster.secret_file = other;
  cfg.join = {{.host = "127.0.0.1", .port = c.at(0).listen_port()}};
  auto intruder = troupe::node::start(cfg, {.console_log = false});
  REQUIRE(intruder);
  CHECK(c.wait_for(
    [&] {
      return log_of(c, 0).find("event=peer.auth_failed") != std::string::npos;
    },
    deadline));
  auto members = c.at(0).cluster().members();
  REQUIRE(members);
  CHECK(members->size() == 1);
  (*intruder)->stop("test over");
}

TEST_CASE("payloads arrive whole and in order: small ones in bursts, large "
          "ones across many reads") {
  tk::cluster_harness c{{.nodes = 2}};
  REQUIRE_FALSE(c.start_all());
  REQUIRE(c.wait_converged(deadline));
  caf::scoped_actor inbox{c.at(1).system()};
  c.at(1).cluster().handle_payloads("test.seq", inbox);
  // Every 97th payload is 300 KB (several socket reads); the others are
  // small and leave the sender faster than one read takes them.
  auto body = [](std::size_t i) {
    std::size_t size = i % 97 == 0 ? 300 * 1024 : 1 + i % 50;
    std::string out = std::to_string(i) + ":";
    for (std::size_t k = out.size(); k < size; ++k) {
      out += static_cast<char>('a' + (i + k) % 26);
    }
    return out;
  };
  constexpr std::size_t count = 3000;
  // What the receiver could not read is refused here, and nothing is sent.
  auto sender = c.at(0).cluster();
  CHECK(sender.send_payload(c.node_id(1), std::string(256, 'k'), "x")
        == tc::errc::invalid_settings);
  CHECK(
    sender.send_payload(
      c.node_id(1), "test.seq",
      std::string(c.at(0).cluster().context()->settings.max_frame_bytes, 'x'))
    == tc::errc::invalid_settings);
  for (std::size_t i = 0; i < count; ++i) {
    REQUIRE_FALSE(
      c.at(0).cluster().send_payload(c.node_id(1), "test.seq", body(i)));
  }
  std::size_t next = 0;
  bool timed_out = false;
  while (next < count && !timed_out) {
    inbox->receive(
      [&](tc::payload_atom, const std::string& from,
          const tc::wire::payload& p) {
        CHECK(from == c.node_id(0));
        if (p.data != body(next)) {
          FAIL_CHECK("payload " << next << " arrived as one of "
                                << p.data.size() << " bytes starting "
                                << p.data.substr(0, 12));
        }
        ++next;
      },
      caf::after(deadline) >> [&] { timed_out = true; });
  }
  CHECK(next == count);
}

TEST_CASE("garbage, oversized and truncated frames are refused without "
          "harm") {
  tk::cluster_harness c{{.nodes = 2}};
  REQUIRE_FALSE(c.start_all());
  REQUIRE(c.wait_converged(deadline));
  auto port = c.at(0).listen_port();
  std::mt19937_64 rng{7};
  {
    raw_peer p{port}; // random bytes with a plausible length
    std::vector<std::uint8_t> junk(64);
    for (auto& b : junk) {
      b = static_cast<std::uint8_t>(rng());
    }
    p.send(framed(junk, 64));
    CHECK(p.closed_by_node());
  }
  {
    raw_peer p{port}; // a length over the limit
    p.send(framed({}, 0x7fffffff));
    CHECK(p.closed_by_node());
  }
  {
    raw_peer p{port}; // a valid frame kind before authentication
    auto hb = troupe::cluster::wire::encode(
      troupe::cluster::wire::heartbeat{.sequence = 1});
    p.send(framed(hb, static_cast<std::uint32_t>(hb.size())));
    CHECK(p.closed_by_node());
  }
  {
    raw_peer p{port}; // a truncated frame, then the client goes away
    p.send(framed({1, 2, 3}, 800));
  }
  CHECK(log_of(c, 0).find("event=peer.refused") != std::string::npos);
  // The node carries on: still converged with its peer.
  CHECK(c.wait_converged(deadline));
}

// Reads one length-prefixed frame; empty at the end of the stream.
std::vector<std::uint8_t> read_frame(int fd) {
  std::uint8_t len[4];
  if (!tk::read_exactly(fd, len, 4)) {
    return {};
  }
  std::uint32_t n = (std::uint32_t{len[0]} << 24)
                    | (std::uint32_t{len[1]} << 16)
                    | (std::uint32_t{len[2]} << 8) | std::uint32_t{len[3]};
  std::vector<std::uint8_t> body(n);
  if (!tk::read_exactly(fd, body.data(), n)) {
    return {};
  }
  return body;
}

std::vector<std::uint8_t> framed(const tc::wire::frame& f) {
  auto body = tc::wire::encode(f);
  return framed(body, static_cast<std::uint32_t>(body.size()));
}

TEST_CASE("after the handshake a peer's frames are read by the scheduler's "
          "workers: frames sent with the handshake arrive in order, and a "
          "bad frame still drops the connection") {
  tk::cluster_harness c{{.nodes = 2}};
  REQUIRE_FALSE(c.start_all());
  REQUIRE(c.wait_converged(deadline));
  auto ctx = c.at(0).cluster().context();
  caf::scoped_actor inbox{c.at(0).system()};
  c.at(0).cluster().handle_payloads("test.raw", inbox);
  raw_peer p{c.at(0).listen_port()};
  timeval tv{.tv_sec = 10, .tv_usec = 0};
  ::setsockopt(p.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  // The node speaks first.
  auto theirs = read_frame(p.fd);
  auto hello = tc::wire::decode(theirs.data(), theirs.size());
  REQUIRE(hello);
  auto* h = std::get_if<tc::wire::hello>(&*hello);
  REQUIRE(h != nullptr);
  const std::string me = "0123456789abcdef0123456789abcdef";
  const std::string mine(tc::wire::challenge_bytes, 'c');
  CHECK(h->security == "encrypt");
  p.send(framed(tc::wire::hello{.node_id = me,
                                .name = "raw@127.0.0.1",
                                .address = {.host = "127.0.0.1", .port = 1},
                                .incarnation = 1,
                                .challenge = mine,
                                .cluster = ctx->settings.name,
                                .security = "encrypt"}));
  // The side that dialled proves first: the proof and two payloads in one
  // write, so the payloads come in the same read as the handshake's frame.
  tc::handshake_transcript t{.cluster = ctx->settings.name,
                             .protocol = tc::wire::protocol_version,
                             .initiator_id = me,
                             .responder_id = h->node_id,
                             .initiator_challenge = mine,
                             .responder_challenge = h->challenge,
                             .initiator_offer = "encrypt",
                             .responder_offer = "encrypt"};
  auto bytes = framed(tc::wire::auth{
    .mac = tc::handshake_proof(ctx->key, t, tc::handshake_role::initiator)});
  // From the proof on, frames go in records under the session's key.
  auto keys = tc::session_keys_of(ctx->key, t);
  tc::record_sealer sealer{tc::protection::encrypt,
                           keys.initiator_to_responder};
  auto seal = [&](const std::vector<std::uint8_t>& frames) {
    std::vector<std::uint8_t> out;
    REQUIRE(sealer.seal(frames.data(), frames.size(), out));
    return out;
  };
  for (const char* text : {"one", "two"}) {
    auto more
      = seal(framed(tc::wire::payload{.kind = "test.raw", .data = text}));
    bytes.insert(bytes.end(), more.begin(), more.end());
  }
  p.send(bytes);
  // Then the node proves itself.
  auto answer = read_frame(p.fd);
  auto proof = tc::wire::decode(answer.data(), answer.size());
  REQUIRE(proof);
  auto* a = std::get_if<tc::wire::auth>(&*proof);
  REQUIRE(a != nullptr);
  CHECK(
    tc::handshake_verify(ctx->key, t, tc::handshake_role::responder, a->mac));
  std::vector<std::string> got;
  bool timed_out = false;
  while (got.size() < 3 && !timed_out) {
    inbox->receive(
      [&](tc::payload_atom, const std::string& from,
          const tc::wire::payload& x) {
        CHECK(from == me);
        got.push_back(x.data);
        if (got.size() == 2) {
          // Read by a worker now: one more, then a record changed on
          // the way.
          p.send(seal(
            framed(tc::wire::payload{.kind = "test.raw", .data = "three"})));
        }
      },
      caf::after(deadline) >> [&] { timed_out = true; });
  }
  CHECK(got == std::vector<std::string>{"one", "two", "three"});
  auto forged
    = seal(framed(tc::wire::payload{.kind = "test.raw", .data = "four"}));
  forged[10] ^= 0x20;
  p.send(forged);
  CHECK(p.closed_by_node());
  CHECK(c.wait_for(
    [&] {
      return log_of(c, 0).find("reason=\"record 3 failed its tag")
             != std::string::npos;
    },
    deadline));
  // Nothing of it was delivered.
  inbox->receive(
    [&](tc::payload_atom, const std::string&, const tc::wire::payload& x) {
      FAIL("delivered after a forged record: " << x.data);
    },
    caf::after(std::chrono::milliseconds{0}) >> [] {});
  CHECK(c.wait_converged(deadline));
}

// Reads frames until the node closes the connection; what came before.
std::vector<tc::wire::frame> frames_until_closed(int fd) {
  timeval tv{.tv_sec = 10, .tv_usec = 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  std::vector<tc::wire::frame> out;
  for (;;) {
    auto body = read_frame(fd);
    if (body.empty()) {
      return out;
    }
    auto f = tc::wire::decode(body.data(), body.size());
    REQUIRE(f);
    out.push_back(std::move(*f));
  }
}

tc::wire::hello hello_as(const std::string& node_id, std::string challenge,
                         const std::string& cluster) {
  return {.node_id = node_id,
          .name = "raw@127.0.0.1",
          .address = {.host = "127.0.0.1", .port = 1},
          .incarnation = 1,
          .challenge = std::move(challenge),
          .cluster = cluster,
          .security = "encrypt"};
}

// Dials as node `me` and completes the handshake, offering encryption;
// whether the node proved itself in turn.
bool handshake_as(raw_peer& p, const tc::context& ctx, const std::string& me,
                  char challenge_byte) {
  timeval tv{.tv_sec = 10, .tv_usec = 0};
  ::setsockopt(p.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  return tk::dial_handshake(
           p.fd, ctx, me,
           std::string(tc::wire::challenge_bytes, challenge_byte), "encrypt")
    .has_value();
}

TEST_CASE("the handshake cannot be reflected: a node that accepted a "
          "connection proves nothing before its peer has") {
  tk::cluster_harness c{{.nodes = 2}};
  REQUIRE_FALSE(c.start_all());
  REQUIRE(c.wait_converged(deadline));
  auto cluster = c.at(0).cluster().context()->settings.name;
  // To node 0, claiming to be node 1.
  raw_peer to_a{c.at(0).listen_port()};
  auto first = read_frame(to_a.fd);
  auto ha = tc::wire::decode(first.data(), first.size());
  REQUIRE(ha);
  auto a_challenge = std::get<tc::wire::hello>(*ha).challenge;
  to_a.send(framed(hello_as(
    c.node_id(1), std::string(tc::wire::challenge_bytes, 'x'), cluster)));
  // To node 1 with node 0's challenge, hoping for an answer to forward.
  raw_peer to_b{c.at(1).listen_port()};
  to_b.send(
    framed(hello_as("ffffffffffffffffffffffffffffffff", a_challenge, cluster)));
  // A frame before authentication: node 1 closes the connection, after
  // whatever it had to say.
  to_b.send(framed(tc::wire::heartbeat{.sequence = 1}));
  std::string forwarded(32, '\0');
  for (auto& f : frames_until_closed(to_b.fd)) {
    if (auto* a = std::get_if<tc::wire::auth>(&f)) {
      forwarded = a->mac; // the old protocol's mistake: it answered
    }
  }
  to_a.send(framed(tc::wire::auth{.mac = forwarded}));
  to_a.send(framed(tc::wire::payload{.kind = "test.raw", .data = "forged"}));
  // Node 0 refuses the proof and closes: nothing was accepted as node 1.
  auto seen = frames_until_closed(to_a.fd);
  CHECK(seen.empty());
  CHECK(c.wait_for(
    [&] {
      return log_of(c, 0).find("event=peer.auth_failed") != std::string::npos;
    },
    deadline));
  CHECK(c.wait_converged(deadline));
}

TEST_CASE("a peer that offers no session protection is refused, unless "
          "the node is set to upgrade: then its frames come in the clear") {
  for (auto setting : {troupe::runtime::transport_security::encrypt,
                       troupe::runtime::transport_security::upgrade}) {
    auto settings = tk::fast_cluster_settings();
    settings.security = setting;
    tk::cluster_harness c{{.nodes = 1, .cluster = settings}};
    REQUIRE_FALSE(c.start_all());
    auto ctx = c.at(0).cluster().context();
    caf::scoped_actor inbox{c.at(0).system()};
    c.at(0).cluster().handle_payloads("test.raw", inbox);
    raw_peer p{c.at(0).listen_port()};
    auto first = read_frame(p.fd);
    auto theirs = tc::wire::decode(first.data(), first.size());
    REQUIRE(theirs);
    auto h = std::get<tc::wire::hello>(*theirs);
    // A build before session security: no offer in its hello, and proofs
    // that cover none.
    const std::string me = "0123456789abcdef0123456789abcdef";
    auto mine = std::string(tc::wire::challenge_bytes, 'l');
    auto hello = hello_as(me, mine, ctx->settings.name);
    hello.security.clear();
    p.send(framed(hello));
    tc::handshake_transcript t{.cluster = ctx->settings.name,
                               .protocol = tc::wire::protocol_version,
                               .initiator_id = me,
                               .responder_id = h.node_id,
                               .initiator_challenge = mine,
                               .responder_challenge = h.challenge};
    p.send(framed(tc::wire::auth{
      .mac = tc::handshake_proof(ctx->key, t, tc::handshake_role::initiator)}));
    if (setting == troupe::runtime::transport_security::encrypt) {
      CHECK(frames_until_closed(p.fd).empty());
      CHECK(c.wait_for(
        [&] {
          return log_of(c, 0).find("a build without session security")
                 != std::string::npos;
        },
        deadline));
      continue;
    }
    auto answer = read_frame(p.fd);
    auto proof = tc::wire::decode(answer.data(), answer.size());
    REQUIRE(proof);
    REQUIRE(std::holds_alternative<tc::wire::auth>(*proof));
    CHECK(tc::handshake_verify(ctx->key, t, tc::handshake_role::responder,
                               std::get<tc::wire::auth>(*proof).mac));
    p.send(framed(tc::wire::payload{.kind = "test.raw", .data = "clear"}));
    std::string got;
    inbox->receive([&](tc::payload_atom, const std::string&,
                       const tc::wire::payload& x) { got = x.data; },
                   caf::after(deadline) >> [] {});
    CHECK(got == "clear");
    CHECK(c.wait_for(
      [&] { return log_of(c, 0).find("protection=none") != std::string::npos; },
      deadline));
  }
}

TEST_CASE("a peer that reconnects at once, again and again, is accepted "
          "every time: what a closed connection's reader says late never "
          "reaches a younger connection given the same socket number") {
  // Found by the handshake benchmark: a reader's word that its connection
  // ended, arriving after the socket's number went to a new connection,
  // closed the new one in its handshake (about one in 3,000 handshakes).
  tk::cluster_harness c{{.nodes = 1}};
  REQUIRE_FALSE(c.start_all());
  auto ctx = c.at(0).cluster().context();
  const std::string me = "0123456789abcdef0123456789abcdef";
  int accepted = 0;
  constexpr int attempts = 1500;
  for (int i = 0; i < attempts; ++i) {
    raw_peer p{c.at(0).listen_port()};
    accepted += handshake_as(p, *ctx, me, static_cast<char>(i)) ? 1 : 0;
  }
  CHECK(accepted == attempts);
  CHECK(log_of(c, 0).find("event=peer.refused") == std::string::npos);
}

TEST_CASE("an actor sending to a peer that stops reading is never made to "
          "wait: past the connection's limit its sends fail at once with "
          "peer_busy") {
  tk::cluster_harness c{{.nodes = 1}};
  REQUIRE_FALSE(c.start_all());
  auto ctx = c.at(0).cluster().context();
  const std::string me = "0123456789abcdef0123456789abcdef";
  raw_peer p{c.at(0).listen_port()};
  // A small receive buffer, never read after the handshake.
  int small = 4096;
  ::setsockopt(p.fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
  REQUIRE(handshake_as(p, *ctx, me, 'b'));
  REQUIRE(c.wait_for([&] { return ctx->links.find(me) != nullptr; }, deadline));
  // From an actor, on a scheduler worker: 40 frames of 1 MiB, five times
  // what the connection may have waiting.
  constexpr int frames = 40;
  auto cluster = c.at(0).cluster();
  auto sender = c.at(0).system().spawn([cluster, me](caf::event_based_actor*) {
    return caf::behavior{
      [cluster, me](tc::payload_atom) mutable {
        std::vector<std::string> outcomes;
        for (int i = 0; i < frames; ++i) {
          auto err = cluster.send_payload(me, "test.raw",
                                          std::string(1 << 20, 'x'));
          bool busy = err && err.category() == caf::atom("cluster")
                      && err.code()
                           == static_cast<std::uint8_t>(tc::errc::peer_busy);
          outcomes.push_back(!err   ? "sent"
                             : busy ? "peer_busy"
                                    : caf::to_string(err));
        }
        return outcomes;
      },
    };
  });
  caf::scoped_actor self{c.at(0).system()};
  std::vector<std::string> outcomes;
  self->request(sender, caf::infinite, tc::payload_atom::value)
    .receive([&](std::vector<std::string>& xs) { outcomes = std::move(xs); },
             [&](caf::error& err) { FAIL(caf::to_string(err)); });
  REQUIRE(outcomes.size() == std::size_t{frames});
  int sent = 0;
  int busy = 0;
  for (const auto& o : outcomes) {
    CAPTURE(o);
    if (o == "sent") {
      ++sent;
    } else {
      // Every refusal says why, and none came from a dropped connection
      // (a worker that waited out the stall limit would have seen that).
      CHECK(o == "peer_busy");
      ++busy;
    }
  }
  CHECK(sent >= 8);
  CHECK(busy > 0);
  // Counted, with whatever else the node had for that peer meanwhile
  // (heartbeats, gossip).
  auto metrics = c.at(0).metrics().render_prometheus();
  const std::string line = "\ntroupe_cluster_frames_busy_total ";
  auto at = metrics.find(line);
  REQUIRE(at != std::string::npos);
  CHECK(std::stoi(metrics.substr(at + line.size())) >= busy);
  caf::anon_send_exit(sender, caf::exit_reason::user_shutdown);
}

TEST_CASE("a connection that does not finish its handshake in time, or "
          "sends a large frame before it, is closed; connections in their "
          "handshake are capped") {
  auto settings = tk::fast_cluster_settings();
  settings.handshake_timeout = 1s;
  settings.max_pending_connections = 2;
  tk::cluster_harness c{{.nodes = 2, .cluster = settings}};
  REQUIRE_FALSE(c.start_all());
  REQUIRE(c.wait_converged(deadline));
  auto port = c.at(0).listen_port();
  {
    raw_peer silent{port}; // says nothing at all
    auto frames = frames_until_closed(silent.fd);
    REQUIRE(frames.size() == 1);
    CHECK(std::holds_alternative<tc::wire::hello>(frames[0]));
  }
  CHECK(c.wait_for(
    [&] {
      return log_of(c, 0).find("no handshake within 1000 ms")
             != std::string::npos;
    },
    deadline));
  {
    raw_peer big{port}; // a frame over the handshake's limit
    big.send(framed(std::vector<std::uint8_t>(100),
                    tc::wire::max_handshake_frame_bytes + 1));
    CHECK(big.closed_by_node());
  }
  {
    raw_peer one{port};
    raw_peer two{port};
    REQUIRE_FALSE(read_frame(one.fd).empty());
    REQUIRE_FALSE(read_frame(two.fd).empty());
    raw_peer three{port}; // refused: two are in their handshake
    CHECK(frames_until_closed(three.fd).empty());
  }
  CHECK(c.wait_for(
    [&] {
      return log_of(c, 0).find("cluster.max_pending_connections")
             != std::string::npos;
    },
    deadline));
  // The nodes carry on together.
  CHECK(c.wait_converged(deadline));
}

TEST_CASE("a crashed gossip actor comes back and the membership is kept") {
  tk::cluster_harness c{{.nodes = 3}};
  REQUIRE_FALSE(c.start_all());
  REQUIRE(c.wait_converged(deadline));
  namespace ts = troupe::supervision;
  auto apps = c.at(0).applications().which_applications();
  REQUIRE(apps);
  caf::actor top;
  for (const auto& a : *apps) {
    if (a.name == "cluster") {
      top = a.supervisor;
    }
  }
  ts::supervisor_client sup{c.at(0).system(), top};
  auto kids = sup.which_children();
  REQUIRE(kids);
  REQUIRE(kids->size() == 5);
  auto gossip = kids->at(2);
  REQUIRE(gossip.id == "gossip");
  caf::anon_send_exit(gossip.handle, caf::exit_reason::kill);
  CHECK(troupe::testkit::wait_until(
    [&] {
      auto now = sup.which_children();
      return now && now->at(2).restarts == 1 && now->at(2).running;
    },
    deadline));
  auto members = c.at(0).cluster().members();
  REQUIRE(members);
  CHECK(members->size() == 3);
  // Gossip still flows: a leave is seen everywhere.
  REQUIRE_FALSE(c.at(1).cluster().leave());
  CHECK(c.wait_for(
    [&] { return c.sees(0, 1, "removed") || c.sees(0, 1, "unknown"); },
    deadline));
}

TEST_CASE("services and draining are gossiped; subscribers get member "
          "events; a node joins at run time") {
  tk::cluster_harness c{{.nodes = 1}};
  REQUIRE_FALSE(c.start(0));
  caf::scoped_actor events{c.at(0).system()};
  REQUIRE_FALSE(c.at(0).cluster().subscribe(events));
  // A node of a harness of its own (no seeds, the same secret) joins at run
  // time.
  auto settings = tk::fast_cluster_settings();
  settings.secret_file = c.dir() / "cluster.secret";
  tk::cluster_harness alone{{.nodes = 1, .cluster = settings}};
  REQUIRE_FALSE(alone.start(0));
  auto seed = fmt::format("127.0.0.1:{}", c.at(0).listen_port());
  REQUIRE_FALSE(alone.at(0).cluster().join(seed));
  CHECK(alone.at(0).cluster().join("nonsense")
        == troupe::cluster::errc::invalid_settings);
  auto joiner = alone.node_id(0);
  std::vector<std::string> seen;
  auto saw = [&](tc::member_event_kind kind) {
    return std::find(seen.begin(), seen.end(),
                     tc::to_string(kind) + ":" + joiner)
           != seen.end();
  };
  CHECK(c.wait_for(
    [&] {
      events->receive(
        [&](const tc::member_event& ev) {
          seen.push_back(tc::to_string(ev.kind) + ":" + ev.node_id);
        },
        caf::after(10ms) >> [] {});
      return saw(tc::member_event_kind::joined)
             && saw(tc::member_event_kind::up);
    },
    deadline));
  // Names every node could not read are refused here, before they are
  // gossiped (they would make every peer drop the connection).
  CHECK(alone.at(0).cluster().service("", true)
        == troupe::cluster::errc::invalid_settings);
  CHECK(alone.at(0).cluster().service(std::string(256, 's'), true)
        == troupe::cluster::errc::invalid_settings);
  REQUIRE_FALSE(alone.at(0).cluster().service("kv", true));
  REQUIRE_FALSE(alone.at(0).cluster().drain(true));
  auto announced = [&] {
    auto members = c.at(0).cluster().members();
    if (!members) {
      return false;
    }
    for (const auto& m : *members) {
      if (m.info.node_id == joiner) {
        const auto& a = m.info.announcement;
        return a.draining && a.services.count("kv") != 0 && a.services.at("kv");
      }
    }
    return false;
  };
  CHECK_MESSAGE(c.wait_for(announced, deadline), log_of(c, 0)
                                                   << "--- joiner:\n"
                                                   << log_of(alone, 0));
  REQUIRE_FALSE(alone.at(0).cluster().drain(false));
  CHECK(c.wait_for([&] { return !announced(); }, deadline));
  // A health check decides a service's state.
  std::atomic<bool> healthy{true};
  REQUIRE_FALSE(
    alone.at(0).cluster().service("db", [&healthy] { return healthy.load(); }));
  auto db_up = [&]() -> std::optional<bool> {
    auto members = c.at(0).cluster().members();
    if (members) {
      for (const auto& m : *members) {
        const auto& services = m.info.announcement.services;
        if (m.info.node_id == joiner && services.count("db") != 0) {
          return services.at("db");
        }
      }
    }
    return std::nullopt;
  };
  CHECK(c.wait_for([&] { return db_up() == true; }, deadline));
  healthy = false;
  CHECK(c.wait_for([&] { return db_up() == false; }, deadline));
  // An operator downs a member by name; bad names are errors.
  CHECK(c.at(0).cluster().down("nobody@nowhere")
        == troupe::cluster::errc::no_such_member);
}

TEST_SUITE_END();

TEST_CASE("with cluster.down_after off, the console's down marks an "
          "unreachable member down") {
  auto settings = tk::fast_cluster_settings();
  settings.down_after = std::nullopt;
  tk::cluster_harness c{{.nodes = 3, .cluster = settings}};
  REQUIRE_FALSE(c.start_all());
  REQUIRE(c.wait_converged(deadline));
  troupe::actors::console_registry reg;
  REQUIRE_FALSE(tc::add_cluster_commands(reg, c.at(0).system(),
                                         c.at(0).cluster().context(), nullptr));
  c.crash(2);
  REQUIRE(c.wait_for([&] { return c.unreachable_seen_by(0, 2); }, deadline));
  auto unconfirmed = reg.run({"down", c.node_id(2)}, false, false);
  CHECK_FALSE(unconfirmed.ok);
  CHECK(unconfirmed.text.find("--yes") != std::string::npos);
  auto unknown = reg.run({"down", "nobody@nowhere"}, false, true);
  CHECK_FALSE(unknown.ok);
  CHECK(unknown.text.find("nobody@nowhere") != std::string::npos);
  CHECK(c.status_seen_by(1, 2) == "up"); // unreachable, not down
  auto done = reg.run({"down", c.node_id(2)}, false, true);
  CHECK_MESSAGE(done.ok, done.text);
  CHECK(c.wait_for(
    [&] {
      auto s = c.status_seen_by(1, 2);
      return s == "down" || s == "removed" || s == "unknown";
    },
    deadline));
  CHECK(c.wait_for([&] { return c.converged(); }, deadline));
}
