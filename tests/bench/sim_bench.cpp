// The simulated world's speed: simulated seconds per wall-clock second (the
// baseline is real time, 1.0) and events per second, for clusters of 5, 50
// and 200 nodes with Troupe's default settings, idle after forming, and
// for the five-node fault scenario the CI runs.
//
//   sim_bench [nodes5] [nodes50] [nodes200] [scenario]
//
// Without names it runs all but nodes200: forming 200 nodes takes tens of
// minutes of wall-clock time (see the README), so that part runs only when
// named.
#include "tests/bench/bench.hpp"
#include "tests/sim/scenarios.hpp"
#include "troupe/testkit/sim_world.hpp"

#include <fmt/format.h>

#include <chrono>
#include <cstdio>

namespace sim = troupe::testkit::sim;
using namespace std::chrono_literals;

namespace {

double seconds_of(sim::sim_time t) {
  return std::chrono::duration<double>(t).count();
}

// Forms a cluster of `n` nodes (node 0 first, then one more every 200 ms
// of virtual time, each joining through node 0), then runs it for `span`
// of virtual time and reports both phases.
void idle_cluster(std::size_t n, sim::sim_time span) {
  auto name = fmt::format("sim.nodes{}", n);
  sim::world w{{.nodes = n, .seed = 1}};
  auto started = std::chrono::steady_clock::now();
  for (std::size_t i = 0; i < n; ++i) {
    if (auto err = i == 0 ? w.start(0) : w.start(i, {0})) {
      std::fprintf(stderr, "%s: node %zu did not start\n", name.c_str(), i);
      return;
    }
    w.run_for(200ms);
  }
  // With more nodes than partitions not every node owns one.
  auto ring_size = w.settings().cluster.ring_size;
  bool formed = w.run_until(
    [&w, n, ring_size] {
      return w.converged() && (n > ring_size || w.ring_settled());
    },
    10min);
  std::chrono::duration<double> form_wall = std::chrono::steady_clock::now()
                                            - started;
  if (!formed) {
    std::fprintf(stderr, "%s: the cluster did not form\n", name.c_str());
    return;
  }
  troupe::bench::report(name + ".form_simulated", seconds_of(w.now()), "s");
  troupe::bench::report(name + ".form_wall", form_wall.count(), "s");
  auto events_before = w.events();
  auto sim_before = w.now();
  auto wall_before = std::chrono::steady_clock::now();
  w.run_for(span);
  std::chrono::duration<double> wall = std::chrono::steady_clock::now()
                                       - wall_before;
  auto simulated = seconds_of(w.now() - sim_before);
  troupe::bench::report(name + ".speed", simulated / wall.count(),
                        "x_real_time");
  troupe::bench::report(
    name + ".events",
    static_cast<double>(w.events() - events_before) / wall.count(), "events/s");
}

// The CI's five-node fault scenario, several seeds.
void scenario() {
  auto s = sim::cluster_faults_scenario();
  double simulated = 0;
  double wall = 0;
  std::uint64_t events = 0;
  for (std::uint64_t seed = 1; seed <= 10; ++seed) {
    auto r = sim::run(s, seed);
    simulated += seconds_of(r.simulated);
    wall += r.wall_seconds;
    events += r.events;
  }
  troupe::bench::report("sim.scenario.run_wall", wall / 10, "s");
  troupe::bench::report("sim.scenario.speed", simulated / wall, "x_real_time");
  troupe::bench::report("sim.scenario.events",
                        static_cast<double>(events) / wall, "events/s");
}

} // namespace

int main(int argc, char** argv) {
  if (troupe::bench::wanted(argc, argv, "nodes5")) {
    idle_cluster(5, 10min);
  }
  if (troupe::bench::wanted(argc, argv, "nodes50")) {
    idle_cluster(50, 60s);
  }
  if (troupe::bench::named(argc, argv, "nodes200")) {
    idle_cluster(200, 10s);
  }
  if (troupe::bench::wanted(argc, argv, "scenario")) {
    scenario();
  }
  return 0;
}
