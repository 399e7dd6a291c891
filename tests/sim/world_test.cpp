// The simulated world: nodes converge, crash, restart, freeze and partition
// in virtual time, and a seed replays a run exactly.
#include "troupe/testkit/sim_ledger.hpp"
#include "troupe/testkit/sim_scenario.hpp"
#include "troupe/testkit/sim_world.hpp"

#include <doctest/doctest.h>

#include <chrono>

using namespace std::chrono_literals;
namespace sim = troupe::testkit::sim;

namespace {

sim::world::options with_ledgers(std::size_t nodes, std::uint64_t seed) {
  return {.nodes = nodes, .seed = seed, .kinds = [](std::size_t) {
            return std::vector<troupe::cluster::actor_kind>{sim::ledger_kind()};
          }};
}

bool formed(sim::world& w) {
  return w.run_until([&w] { return w.converged() && w.ring_settled(); }, 60s);
}

} // namespace

TEST_SUITE_BEGIN("sim.world");

TEST_CASE("three simulated nodes form a cluster in virtual time") {
  sim::world w{{.nodes = 3, .seed = sim::seed_from_env(1)}};
  REQUIRE_FALSE(w.start_all());
  CHECK(w.run_until([&] { return w.converged(); }, 30s));
  CHECK(w.run_until([&] { return w.ring_settled(); }, 30s));
  // Virtual time: seconds of gossip pass without waiting for them.
  auto before = w.now();
  w.run_for(10min);
  CHECK(w.now() - before == 10min);
  CHECK(w.converged());
}

TEST_CASE("a crashed node is seen unreachable, then down, and comes back as "
          "a new incarnation") {
  sim::world w{{.nodes = 3, .seed = sim::seed_from_env(2)}};
  REQUIRE_FALSE(w.start_all());
  REQUIRE(formed(w));
  auto crashed_at = w.now();
  w.crash(2);
  CHECK_FALSE(w.running(2));
  REQUIRE(w.run_until([&] { return w.unreachable_seen_by(0, 2); }, 10s));
  // The connection reset is seen after one network delay.
  CHECK(w.now() - crashed_at < 10ms);
  REQUIRE(w.run_until([&] { return w.sees(0, 2, "down"); }, 30s));
  // Troupe's default: down 5 s after unreachable.
  CHECK(w.now() - crashed_at >= 5s);
  auto incarnation = [&w](std::size_t observer, std::size_t subject) {
    auto st = w.cluster_state(observer);
    const auto* m = st->gossip.state.find(w.node_id(subject));
    return m == nullptr ? std::uint64_t{0} : m->incarnation;
  };
  auto before = incarnation(0, 2);
  REQUIRE_FALSE(w.start(2));
  REQUIRE(formed(w));
  CHECK(incarnation(0, 2) > before);
  CHECK(w.sees(1, 2, "up"));
}

TEST_CASE("a partition cuts the cluster in two and a heal brings it back "
          "together") {
  sim::world w{{.nodes = 5, .seed = sim::seed_from_env(3)}};
  REQUIRE_FALSE(w.start_all());
  REQUIRE(formed(w));
  w.partition({{0, 1}, {2, 3, 4}});
  REQUIRE(w.run_until(
    [&] { return w.unreachable_seen_by(0, 3) && w.unreachable_seen_by(3, 0); },
    10s));
  CHECK_FALSE(w.unreachable_seen_by(0, 1));
  CHECK_FALSE(w.unreachable_seen_by(2, 4));
  w.heal();
  CHECK(formed(w));
}

TEST_CASE("a frozen node misses its heartbeats and is reachable again when "
          "it resumes") {
  sim::world w{{.nodes = 3,
                .seed = sim::seed_from_env(4),
                .cluster = {.down_after = std::nullopt}}};
  REQUIRE_FALSE(w.start_all());
  REQUIRE(formed(w));
  w.freeze(1);
  REQUIRE(w.run_until([&] { return w.unreachable_seen_by(0, 1); }, 10s));
  // Frozen: it did nothing, so it still sees everyone as before.
  CHECK_FALSE(w.unreachable_seen_by(1, 0));
  w.run_for(20s);
  CHECK(w.sees(0, 1, "up")); // down_after is off
  w.resume(1);
  CHECK(w.run_until([&] { return w.converged(); }, 10s));
}

TEST_CASE("a one-way cut makes the cut-off side unreachable to the other") {
  sim::world w{{.nodes = 3,
                .seed = sim::seed_from_env(5),
                .cluster = {.down_after = std::nullopt}}};
  REQUIRE_FALSE(w.start_all());
  REQUIRE(formed(w));
  w.cut(2, 0); // 2's frames no longer reach 0
  REQUIRE(w.run_until([&] { return w.unreachable_seen_by(0, 2); }, 10s));
  w.restore(2, 0);
  CHECK(w.run_until([&] { return w.converged(); }, 30s));
}

TEST_CASE("an orderly stop says goodbye and the node restarts from its data "
          "directory") {
  sim::world w{{.nodes = 3, .seed = sim::seed_from_env(6)}};
  REQUIRE_FALSE(w.start_all());
  REQUIRE(formed(w));
  auto id = w.node_id(1);
  w.stop(1);
  CHECK_FALSE(w.running(1));
  REQUIRE(w.run_until([&] { return w.unreachable_seen_by(0, 1); }, 10s));
  REQUIRE_FALSE(w.start(1));
  CHECK(w.node_id(1) == id);
  CHECK(formed(w));
}

TEST_CASE("a node whose cluster state was torn by the crash sets it aside "
          "and joins again as a fresh member") {
  sim::world w{{.nodes = 3, .seed = sim::seed_from_env(8)}};
  REQUIRE_FALSE(w.start_all());
  REQUIRE(formed(w));
  w.schedule(*sim::parse_schedule("tear(2)@1s+2s"));
  w.run_for(5s);
  CHECK(w.running(2));
  REQUIRE(formed(w));
  bool set_aside = false;
  for (const auto& line : w.trace()) {
    set_aside = set_aside
                || (line.find("n3 error") != std::string::npos
                    && line.find("event=state.corrupt") != std::string::npos);
  }
  CHECK(set_aside);
}

TEST_CASE("virtual actors answer by name through any node, and keep their "
          "state when the ring changes") {
  sim::world w{with_ledgers(4, sim::seed_from_env(7))};
  REQUIRE_FALSE(w.start(0));
  REQUIRE_FALSE(w.start(1));
  REQUIRE_FALSE(w.start(2));
  REQUIRE(formed(w));
  sim::ledger_tracker ledgers{8};
  for (int i = 0; i < 40; ++i) {
    ledgers.append(w);
  }
  CHECK(ledgers.acknowledged() == 40);
  // A join moves partitions, and their actors' state with them.
  REQUIRE_FALSE(w.start(3));
  REQUIRE(formed(w));
  for (int i = 0; i < 40; ++i) {
    ledgers.append(w);
  }
  CHECK(ledgers.acknowledged() == 80);
  CHECK(ledgers.verify(w) == std::nullopt);
  CHECK(sim::at_most_one_activation(w) == std::nullopt);
}

TEST_CASE("the same seed gives the same trace, another seed another") {
  sim::scenario s{.name = "replay",
                  .world = with_ledgers(4, 0),
                  .faults = {.faults = 4, .horizon = 5s, .max_length = 3s},
                  .hooks = [] {
                    auto ledgers = std::make_shared<sim::ledger_tracker>(4);
                    return sim::run_hooks{.step = [ledgers](sim::world& w) {
                      ledgers->append(w, 2s);
                    }};
                  }};
  CHECK(sim::check_determinism(s, 11) == std::nullopt);
  auto a = sim::run(s, 11);
  auto b = sim::run(s, 12);
  CHECK(a.trace_hash != b.trace_hash);
  // The schedule comes from its own stream: given the same seed it is
  // the same whatever the run did.
  CHECK(sim::schedule_for(s, 11) == a.schedule);
}

TEST_CASE("a broken invariant prints a replay line and a shrunk schedule") {
  // Claims that every node always runs, which any crash breaks.
  sim::scenario s{
    .name = "broken on purpose",
    .world = {.nodes = 4},
    .faults = {.faults = 6,
               .horizon = 6s,
               .max_length = 4s,
               .kinds = {sim::fault_kind::crash, sim::fault_kind::freeze,
                         sim::fault_kind::slow, sim::fault_kind::reset}},
    .hooks = [] {
      return sim::run_hooks{
        .always = [](sim::world& w) -> std::optional<std::string> {
          for (std::size_t i = 0; i < w.size(); ++i) {
            if (!w.running(i)) {
              return w.name(i) + " is not running";
            }
          }
          return std::nullopt;
        }};
    }};
  std::uint64_t seed = 5;
  auto schedule = sim::schedule_for(s, seed);
  bool crashes = false;
  for (const auto& f : schedule.faults) {
    crashes = crashes || f.kind == sim::fault_kind::crash;
  }
  REQUIRE(crashes);
  auto failing = sim::run(s, seed);
  REQUIRE_FALSE(failing.ok());
  CHECK(failing.failure.find("is not running") != std::string::npos);
  CHECK(failing.replay().find("TROUPE_SIM_SEED=5 TROUPE_SIM_SCHEDULE='") == 0);
  auto small = sim::shrink(s, failing);
  // Only one crash matters.
  REQUIRE(small.smallest.schedule.faults.size() == 1);
  CHECK(small.smallest.schedule.faults[0].kind == sim::fault_kind::crash);
  CHECK_FALSE(small.smallest.ok());
  // The replay line reproduces the run exactly.
  auto again = sim::run(s, seed, small.smallest.schedule);
  CHECK(again.trace_hash == small.smallest.trace_hash);
  CHECK(again.failure == small.smallest.failure);
  auto report = sim::check(s, seed);
  REQUIRE(report);
  CHECK(report->find("replay: TROUPE_SIM_SEED=") != std::string::npos);
  CHECK(report->find("shrunk in") != std::string::npos);
  MESSAGE(*report);
}

TEST_SUITE_END();
