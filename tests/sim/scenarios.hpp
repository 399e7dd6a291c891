// The cluster's own scenarios for the simulated world, shared by the test
// suite and the swarm runner.
#pragma once

#include "troupe/testkit/sim_scenario.hpp"

#include <string>
#include <vector>

namespace troupe::testkit::sim {

/// Five nodes with ledgers under random crashes, stops, freezes,
/// partitions, one-way cuts, resets, slow links and drains, while appends
/// go through random nodes. Once the faults are over the cluster must
/// settle (converged, one ring, every handoff done, quorum everywhere)
/// and then: every ledger answers, no name has two activations, no append
/// was applied twice.
/// Appends held only in a crashed node's memory may be lost (the ledger
/// kind keeps its state in memory); the run counts them.
scenario cluster_faults_scenario();

/// The same without crashes and stops: nothing may be lost either.
scenario no_crash_scenario();

/// Five nodes with ledgers while nodes leave (and come back as new
/// members) and drain, appends going through random nodes: at every moment
/// at most one activation of a name takes messages, and at the end nothing
/// acknowledged is lost or applied twice.
scenario handoff_scenario();

/// Membership alone (no virtual actors) under every kind of fault, leave
/// included: the cluster converges on one ring of the running nodes.
scenario membership_scenario();

/// One of the cluster's scenarios, by name.
struct named_scenario {
  std::string name;
  scenario (*make)();
  /// Held for every seed so far: CI runs it (`sim-swarm --scenario ci`).
  /// A scenario that still finds faults of the cluster is left out until
  /// they are fixed; its failing seeds are kept in known_faults_test.cpp.
  bool in_ci;
};

/// The scenarios by name.
std::vector<named_scenario> all_scenarios();

/// A seed of a CI scenario that fails because of a known fault of the
/// cluster (its shrunk schedule is in known_faults_test.cpp). The swarm
/// reports it as known instead of failing, and says so when it holds
/// again.
struct known_failure {
  std::string scenario;
  std::uint64_t seed;
  std::string why;
};

/// The known failures of the CI scenarios.
const std::vector<known_failure>& known_failures();

/// The known failure for `scenario` and `seed`, or null.
const known_failure* find_known_failure(const std::string& scenario,
                                        std::uint64_t seed);

} // namespace troupe::testkit::sim
