// The simulated world: nodes converge, crash, restart and partition in
// virtual time, and a seed replays a run exactly.
#include "tests/testkit/sim_world.hpp"

#include <doctest/doctest.h>

using namespace std::chrono_literals;
namespace sim = troupe::testkit::sim;

TEST_SUITE_BEGIN("sim.world");

TEST_CASE("three simulated nodes form a cluster in virtual time") {
  sim::world w{{.nodes = 3, .seed = sim::seed_from_env(1)}};
  REQUIRE_FALSE(w.start_all());
  CHECK(w.run_until([&] { return w.converged(); }, 30s));
  CHECK(w.run_until([&] { return w.ring_settled(); }, 30s));
  MESSAGE("converged at " << std::chrono::duration<double>(w.now()).count()
                          << " s after " << w.events() << " events");
}

TEST_SUITE_END();
