// Faults of the cluster that the simulated world found, each kept as the
// seed and shrunk schedule that shows it. They are expected to fail until
// the cluster is fixed (the fault-safety work); a test here that starts to
// pass means its fault is gone: move its schedule into the passing suite.
#include "tests/sim/scenarios.hpp"

#include <doctest/doctest.h>

namespace sim = troupe::testkit::sim;

namespace {

// Runs the scenario `no_crash` (nothing may be lost) with a seed and
// schedule, and fails with the run's failure.
void replay(std::uint64_t seed, const char* schedule) {
  auto parsed = sim::parse_schedule(schedule);
  REQUIRE(parsed);
  auto r = sim::run(sim::no_crash_scenario(), seed, *parsed);
  CHECK_MESSAGE(r.ok(), r.failure << "\n  replay: " << r.replay());
}

} // namespace

TEST_SUITE_BEGIN("sim.known_faults");

TEST_CASE("a drain of one millisecond loses an acknowledged append (the "
          "state handed to a fallback is not handed back)"
          * doctest::should_fail()) {
  replay(17, "drain(2)@1111ms+1ms");
}

TEST_CASE("a node cut off for less than down_after loses appends it "
          "acknowledged as a fallback"
          * doctest::should_fail()) {
  replay(11, "partition(1,2,3,4|0)@0s+3519ms");
}

TEST_CASE("an isolated node's names lose appends made on the majority "
          "side"
          * doctest::should_fail()) {
  replay(14, "partition(2|0,1,3,4)@9790ms+1682ms");
}

TEST_CASE("a one-way cut loses acknowledged appends" * doctest::should_fail()) {
  replay(16, "cut(3>1)@17518ms+2882ms");
}

TEST_SUITE_END();
