// Faults of the cluster that the simulated world found, each kept as the
// seed and shrunk schedule that shows it. They are expected to fail until
// the cluster is fixed (the fault-safety work); a test here that starts to
// pass means its fault is gone: move its schedule into the passing suite.
#include "tests/sim/scenarios.hpp"

#include <doctest/doctest.h>

namespace sim = troupe::testkit::sim;

namespace {

// Runs a scenario (by default `no_crash`: nothing may be lost) with a seed
// and schedule, and fails with the run's failure.
void replay(std::uint64_t seed, const char* schedule,
            const sim::scenario& s = sim::no_crash_scenario()) {
  auto parsed = sim::parse_schedule(schedule);
  REQUIRE(parsed);
  auto r = sim::run(s, seed, *parsed);
  CHECK_MESSAGE(r.ok(), r.failure << "\n  replay: " << r.replay());
}

} // namespace

TEST_SUITE_BEGIN("sim.known_faults");

TEST_CASE("a drain of one millisecond loses an acknowledged append (the "
          "state handed to a fallback is not handed back)"
          * doctest::should_fail()) {
  replay(17, "drain(2)@1111ms+1ms");
}

TEST_CASE("an isolated node's names lose appends made on the majority "
          "side"
          * doctest::should_fail()) {
  replay(14, "partition(2|0,1,3,4)@9790ms+1682ms");
}

TEST_CASE("a one-way cut loses acknowledged appends" * doctest::should_fail()) {
  replay(12, "cut(4>1)@0s+3160ms");
}

TEST_CASE("the swarm's known failures are seeds of CI scenarios") {
  for (const auto& k : sim::known_failures()) {
    bool in_ci = false;
    for (const auto& sc : sim::all_scenarios()) {
      in_ci = in_ci || (sc.name == k.scenario && sc.in_ci);
    }
    CHECK_MESSAGE(in_ci, k.scenario);
    CHECK(sim::find_known_failure(k.scenario, k.seed) == &k);
    CHECK_FALSE(k.why.empty());
  }
  CHECK(sim::find_known_failure("cluster_faults", 1) == nullptr);
}

TEST_SUITE_END();
