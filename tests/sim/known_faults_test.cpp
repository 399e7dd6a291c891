// Faults of the cluster that the simulated world found are kept here, each
// as the seed and shrunk schedule that shows it, in a test marked
// `doctest::should_fail()` until the cluster is fixed; one that starts to
// pass means its fault is gone: move it into the passing suite (as the
// replays in cluster_test.cpp). None is open now; the swarm's known
// failures (`sim::known_failures`) are checked here.
#include "tests/sim/scenarios.hpp"

#include <doctest/doctest.h>

namespace sim = troupe::testkit::sim;

TEST_SUITE_BEGIN("sim.known_faults");

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
