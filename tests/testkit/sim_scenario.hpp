// Scenarios for the simulated world: a cluster, a workload, faults drawn
// from a seed (or given), invariants checked throughout and at the end; a
// failing run prints the line that replays it and is shrunk to the
// smallest schedule that still fails.
#pragma once

#include "troupe/testkit/sim_schedule.hpp"
#include "troupe/testkit/sim_world.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace troupe::testkit::sim {

/// What a run does besides its faults. A scenario makes new hooks for every
/// run, so that state they share (a workload's record of what was
/// acknowledged) starts afresh each time.
struct run_hooks {
  /// Brings the cluster up (default: start every node and wait until it
  /// has converged with a settled ring).
  std::function<std::optional<std::string>(world&)> setup{};
  /// Called every `scenario::step` of virtual time while the faults run
  /// and the cluster settles (e.g. sends requests).
  std::function<void(world&)> step{};
  /// Checked whenever everything due at one moment has run.
  std::function<std::optional<std::string>(world&)> always{};
  /// Checked once the cluster has settled after the last fault.
  std::function<std::optional<std::string>(world&)> at_end{};
};

/// What one scenario does; `run` plays it for one seed.
struct scenario {
  std::string name = "scenario";
  /// The world (its `seed` is set by `run`).
  sim::world::options world{};
  /// The random faults of a run (used when no schedule is given).
  schedule_shape faults{};
  /// Makes the hooks of one run (none: start the cluster, run the faults,
  /// check that it settles).
  std::function<run_hooks()> hooks{};
  sim_time step = std::chrono::milliseconds{500};
  /// After the last fault ended, the cluster has this long to settle
  /// (converged, one ring, every handoff done, quorum on every node)
  /// before `at_end`.
  sim_time settle_within = std::chrono::seconds{120};
};

/// What one run did.
struct run_result {
  std::string scenario;
  std::uint64_t seed = 0;
  fault_schedule schedule{};
  /// Empty when every check held.
  std::string failure{};
  std::uint64_t trace_hash = 0;
  sim_time simulated{0};
  std::uint64_t events = 0;
  double wall_seconds = 0;
  std::vector<std::string> trace_tail{};

  bool ok() const {
    return failure.empty();
  }
  /// The environment that replays this run exactly:
  /// `TROUPE_SIM_SEED=... TROUPE_SIM_SCHEDULE='...'`.
  std::string replay() const;
};

/// The schedule a seed gives a scenario.
fault_schedule schedule_for(const scenario& s, std::uint64_t seed);

/// Plays `s` with `seed` and `schedule` (the seed's own when nullopt).
run_result run(const scenario& s, std::uint64_t seed,
               const std::optional<fault_schedule>& schedule = std::nullopt);

/// A failing run made smaller: the smallest schedule found that still fails
/// under the same seed, its run, and how many runs the search took.
struct shrunk {
  run_result smallest;
  std::size_t runs = 0;
};

/// Tries smaller schedules (`shrink_candidates`) one after another, keeping
/// each that still fails, until none does or `max_runs` runs were made.
shrunk shrink(const scenario& s, const run_result& failing,
              std::size_t max_runs = 150);

/// Runs `s` for `seed` (or `TROUPE_SIM_SEED` and `TROUPE_SIM_SCHEDULE` when
/// set) and, on failure, shrinks it: the report (failure, replay line,
/// smallest schedule and its trace) to print, or nullopt when it held.
std::optional<std::string> check(const scenario& s, std::uint64_t seed);

/// Runs the seed twice: the message says how the traces differ, nullopt
/// when they are equal.
std::optional<std::string> check_determinism(const scenario& s,
                                             std::uint64_t seed);

// -- invariants the kit ships -------------------------------------------------

/// At most one activation of each name takes messages across the running
/// nodes (`world::activations`).
std::optional<std::string> at_most_one_activation(world& w);

/// The running nodes have converged and share one settled ring.
std::optional<std::string> converged_with_one_ring(world& w);

} // namespace troupe::testkit::sim
