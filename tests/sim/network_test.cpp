// The simulated network on its own: connections, order, cuts, resets.
#include "troupe/testkit/sim_network.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace std::chrono_literals;
namespace sim = troupe::testkit::sim;
using kind = sim::network::event::kind;

namespace {

// Moves `now` on by `d`, collecting what `net` delivers meanwhile.
void pass(sim::network& net, sim::sim_time& now, sim::sim_time d,
          std::vector<sim::network::event>& seen) {
  auto until = now + d;
  while (auto next = net.next_due()) {
    if (*next > until) {
      break;
    }
    now = *next;
    while (auto ev = net.pop_due(now)) {
      seen.push_back(std::move(*ev));
    }
  }
  now = until;
}

// Two nodes, 0 listening on "a:1" and 1 on "b:1"; collects events.
struct pair_of_nodes {
  sim::network net{{.delay = 1ms, .jitter = 0ms}, 7};
  sim::sim_time now{0};
  std::vector<sim::network::event> seen;

  pair_of_nodes() {
    net.listen(0, 1, "a:1");
    net.listen(1, 2, "b:1");
  }

  void pass(sim::sim_time d) {
    ::pass(net, now, d, seen);
  }

  // Node 0 dials node 1: returns (0's end, 1's end).
  std::pair<sim::network::end_id, sim::network::end_id> connect() {
    seen.clear();
    net.dial(0, "b:1", now);
    pass(10ms);
    REQUIRE(seen.size() == 2);
    CHECK(seen[0].what == kind::accepted);
    CHECK(seen[0].node == 1);
    CHECK(seen[1].what == kind::connected);
    CHECK(seen[1].node == 0);
    CHECK(seen[1].target == "b:1");
    auto ends = std::make_pair(seen[1].end, seen[0].end);
    seen.clear();
    return ends;
  }

  std::vector<std::string> data_at(std::size_t node) const {
    std::vector<std::string> out;
    for (const auto& ev : seen) {
      if (ev.node == node && ev.what == kind::data) {
        out.push_back(ev.bytes);
      }
    }
    return out;
  }

  bool closed_at(std::size_t node) const {
    for (const auto& ev : seen) {
      if (ev.node == node && ev.what == kind::closed) {
        return true;
      }
    }
    return false;
  }
};

} // namespace

TEST_SUITE_BEGIN("sim.network");

TEST_CASE("bytes on a connection arrive in order after the delay, both "
          "ways") {
  pair_of_nodes p;
  auto [a, b] = p.connect();
  for (int i = 0; i < 10; ++i) {
    CHECK(p.net.write(a, std::to_string(i), p.now));
  }
  CHECK(p.net.write(b, "back", p.now));
  p.pass(500us);
  CHECK(p.seen.empty()); // not yet: the delay is 1 ms
  p.pass(1ms);
  CHECK(p.data_at(1)
        == std::vector<std::string>{"0", "1", "2", "3", "4", "5", "6", "7", "8",
                                    "9"});
  CHECK(p.data_at(0) == std::vector<std::string>{"back"});
}

TEST_CASE("with jitter, one connection keeps its order") {
  sim::network net{{.delay = 1ms, .jitter = 5ms}, 3};
  net.listen(1, 1, "b:1");
  net.listen(0, 1, "a:1");
  sim::sim_time now{0};
  net.dial(0, "b:1", now);
  std::vector<sim::network::event> seen;
  pass(net, now, 20ms, seen);
  REQUIRE(seen.size() == 2);
  auto end = seen[1].end;
  seen.clear();
  for (int i = 0; i < 200; ++i) {
    REQUIRE(net.write(end, std::to_string(i), now));
    now += 100us;
  }
  pass(net, now, 1s, seen);
  REQUIRE(seen.size() == 200);
  for (int i = 0; i < 200; ++i) {
    CHECK(seen[static_cast<std::size_t>(i)].bytes == std::to_string(i));
  }
}

TEST_CASE("a dial to an address nobody listens on fails at once, one into "
          "a partition after the connect timeout") {
  pair_of_nodes p;
  p.net.dial(0, "nobody:1", p.now);
  p.pass(5ms);
  REQUIRE(p.seen.size() == 1);
  CHECK(p.seen[0].what == kind::dial_failed);
  CHECK(p.seen[0].target == "nobody:1");
  p.seen.clear();
  p.net.cut(1, 0, p.now); // one way is enough
  p.net.dial(0, "b:1", p.now);
  p.pass(900ms);
  CHECK(p.seen.empty());
  p.pass(200ms);
  REQUIRE(p.seen.size() == 1);
  CHECK(p.seen[0].what == kind::dial_failed);
}

TEST_CASE("a cut direction holds what is written and delivers it, in "
          "order, when restored") {
  pair_of_nodes p;
  auto [a, b] = p.connect();
  p.net.cut(0, 1, p.now);
  CHECK(p.net.write(a, "held 1", p.now));
  CHECK(p.net.write(a, "held 2", p.now));
  CHECK(p.net.write(b, "the other way", p.now));
  p.pass(2s);
  CHECK(p.data_at(1).empty());
  CHECK(p.data_at(0) == std::vector<std::string>{"the other way"});
  p.net.restore(0, 1, p.now);
  p.pass(5ms);
  CHECK(p.data_at(1) == std::vector<std::string>{"held 1", "held 2"});
}

TEST_CASE("a connection cut for longer than cut_reset_after resets: both "
          "ends close and what was held is lost") {
  pair_of_nodes p;
  auto [a, b] = p.connect();
  p.net.cut(0, 1, p.now);
  CHECK(p.net.write(a, "lost", p.now));
  p.pass(9s);
  CHECK_FALSE(p.closed_at(0));
  p.pass(2s);
  CHECK(p.closed_at(0));
  CHECK(p.closed_at(1));
  p.net.restore(0, 1, p.now);
  p.pass(1s);
  CHECK(p.data_at(1).empty());
  CHECK_FALSE(p.net.write(a, "after", p.now));
  CHECK_FALSE(p.net.write(b, "after", p.now));
}

TEST_CASE("a reset loses the bytes in flight and closes both ends") {
  pair_of_nodes p;
  auto [a, b] = p.connect();
  CHECK(p.net.write(a, "in flight", p.now));
  p.net.reset_between(0, 1, p.now);
  p.pass(10ms);
  CHECK(p.data_at(1).empty());
  CHECK(p.closed_at(0));
  CHECK(p.closed_at(1));
  CHECK_FALSE(p.net.write(a, "x", p.now));
}

TEST_CASE("a close delivers what was written, then the end of the "
          "stream") {
  pair_of_nodes p;
  auto [a, b] = p.connect();
  CHECK(p.net.write(a, "last words", p.now));
  p.net.close(a, p.now);
  CHECK_FALSE(p.net.write(a, "too late", p.now));
  p.pass(10ms);
  REQUIRE(p.seen.size() == 2);
  CHECK(p.seen[0].what == kind::data);
  CHECK(p.seen[1].what == kind::closed);
  CHECK(p.seen[1].node == 1);
  CHECK_FALSE(p.net.write(b, "to a closed peer", p.now));
}

TEST_CASE("a crashed node's connections reset for the others and nothing "
          "reaches it, not even in its next life") {
  pair_of_nodes p;
  auto [a, b] = p.connect();
  CHECK(p.net.write(a, "to the dead", p.now));
  CHECK(p.net.write(b, "from the dead", p.now));
  p.net.crash(1, p.now);
  p.net.listen(1, 3, "b:1"); // restarted at once
  p.pass(10ms);
  CHECK(p.data_at(1).empty());
  CHECK(p.data_at(0).empty());
  CHECK(p.closed_at(0));
  CHECK_FALSE(p.closed_at(1));
  // The new life takes new connections.
  p.connect();
}

TEST_CASE("slow links add their latency both ways") {
  pair_of_nodes p;
  auto [a, b] = p.connect();
  p.net.slow(1, 0, 50ms);
  CHECK(p.net.write(a, "slow", p.now));
  p.pass(40ms);
  CHECK(p.data_at(1).empty());
  p.pass(20ms);
  CHECK(p.data_at(1) == std::vector<std::string>{"slow"});
  p.net.slow(0, 1, 0ms);
  CHECK(p.net.write(b, "fast", p.now));
  p.pass(2ms);
  CHECK(p.data_at(0) == std::vector<std::string>{"fast"});
}

TEST_SUITE_END();
