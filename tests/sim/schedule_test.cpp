// Fault schedules: the one-line form, random schedules and shrinking.
#include "troupe/testkit/sim_schedule.hpp"

#include "troupe/runtime/errors.hpp"

#include <doctest/doctest.h>

#include <random>

using namespace std::chrono_literals;
namespace sim = troupe::testkit::sim;

TEST_SUITE_BEGIN("sim.schedule");

TEST_CASE("a schedule prints as one line and parses back to itself") {
  auto text = std::string{"freeze(2)@1s+500ms;slow(0-1,200ms)@1s+5s;"
                          "cut(1>2)@1500ms+2s;crash(4)@2s+3s;reset(1-2)@3s;"
                          "partition(0,1|2,3,4)@5s+4s;leave(3)@6s;"
                          "drain(2)@7s+2s;stop(0)@8s+1s;tear(1)@8s+1s"};
  auto s = sim::parse_schedule(text);
  REQUIRE(s);
  CHECK(s->faults.size() == 10);
  CHECK(sim::to_string(*s) == text);
  CHECK(s->end() == 9s);
  CHECK_FALSE(sim::validate(*s, 5));
  auto again = sim::parse_schedule(sim::to_string(*s));
  REQUIRE(again);
  CHECK(*again == *s);
}

TEST_CASE("a schedule is sorted by start and an empty text is no fault") {
  auto s = sim::parse_schedule(" crash(1)@3s+1s ; freeze(0)@1s+1s ");
  REQUIRE(s);
  CHECK(sim::to_string(*s) == "freeze(0)@1s+1s;crash(1)@3s+1s");
  auto none = sim::parse_schedule("");
  REQUIRE(none);
  CHECK(none->empty());
}

TEST_CASE("a bad schedule gets an error naming the fault and what was "
          "expected") {
  struct row {
    const char* text;
    const char* expected;
  };
  for (auto [text, expected] :
       {row{"explode(1)@1s", "a kind of fault"},
        row{"crash(x)@1s", "one node number"}, row{"crash(1)", "@time after"},
        row{"crash 1 @1s", "kind(arguments)@time"},
        row{"crash(1)1s", "@time after"},
        row{"crash(1)@soon", "a time such as"},
        row{"crash(1)@1s+ever", "a length such as"},
        row{"cut(1-2)@1s+1s", "from>to"}, row{"reset(1)@1s", "a-b"},
        row{"slow(1-2)@1s+1s", "a-b,extra latency"},
        row{"partition(0,a|1)@1s+1s", "groups of node numbers"}}) {
    std::string shown{text};
    CAPTURE(shown);
    auto s = sim::parse_schedule(text);
    REQUIRE_FALSE(s);
    auto msg = troupe::runtime::describe(s.error());
    CHECK(msg.find(expected) != std::string::npos);
    CHECK(msg.find(std::string{text}.substr(0, 5)) != std::string::npos);
  }
}

TEST_CASE("a schedule that does not fit the world is refused") {
  auto check = [](const char* text, const char* expected) {
    CAPTURE(text);
    auto s = sim::parse_schedule(text);
    REQUIRE(s);
    auto err = sim::validate(*s, 5);
    REQUIRE(err);
    CHECK(troupe::runtime::describe(err).find(expected) != std::string::npos);
  };
  check("crash(5)@1s", "node numbers below 5");
  check("cut(1>1)@1s+1s", "two different nodes");
  check("partition(0,1|1,2)@1s+1s", "distinct node numbers");
  check("partition(0,1,2)@1s+1s", "at least two groups");
  check("freeze(1)@1s", "a length");
}

TEST_CASE("random schedules end, keep a majority up and depend only on "
          "their seed") {
  for (std::uint64_t seed = 0; seed < 200; ++seed) {
    CAPTURE(seed);
    std::mt19937_64 a{seed};
    std::mt19937_64 b{seed};
    sim::schedule_shape shape{.nodes = 5, .faults = 8};
    auto s = sim::random_schedule(a, shape);
    CHECK(s == sim::random_schedule(b, shape));
    CHECK_FALSE(sim::validate(s, 5));
    // Down at once: at most two of five, and each node once at a time.
    for (const auto& f : s.faults) {
      if (f.kind != sim::fault_kind::reset) {
        CHECK(f.length.count() > 0);
      }
      CHECK(f.at <= shape.horizon);
      std::size_t down = 0;
      for (const auto& g : s.faults) {
        bool takes = g.kind == sim::fault_kind::crash
                     || g.kind == sim::fault_kind::stop
                     || g.kind == sim::fault_kind::freeze;
        if (takes && g.at <= f.at && f.at < g.at + g.length) {
          ++down;
        }
      }
      CHECK(down <= 2);
    }
  }
}

TEST_CASE("shrink candidates are smaller: fewer, shorter, earlier or merged "
          "faults") {
  auto s = sim::parse_schedule(
    "crash(1)@4s+2s;partition(0|1|2,3)@6s+4s;freeze(2)@8s+2s;cut(0>1)@9s+1s");
  REQUIRE(s);
  auto candidates = sim::shrink_candidates(*s);
  REQUIRE_FALSE(candidates.empty());
  bool removed = false;
  bool shorter = false;
  bool earlier = false;
  bool merged = false;
  for (const auto& c : candidates) {
    CHECK_FALSE(c == *s);
    CHECK_FALSE(sim::validate(c, 4));
    removed = removed || c.faults.size() < s->faults.size();
    if (c.faults.size() == s->faults.size()) {
      for (std::size_t i = 0; i < c.faults.size(); ++i) {
        shorter = shorter || c.faults[i].length < s->faults[i].length;
        earlier = earlier || c.faults[i].at < s->faults[i].at;
        merged = merged || c.faults[i].groups.size() == 2;
      }
    }
  }
  CHECK(removed);
  CHECK(shorter);
  CHECK(earlier);
  CHECK(merged);
  CHECK(sim::shrink_candidates(sim::fault_schedule{}).empty());
}

TEST_SUITE_END();
