// The cluster's own scenarios for the simulated world, shared by the test
// suite and the swarm runner.
#pragma once

#include "tests/testkit/sim_scenario.hpp"

#include <string>
#include <vector>

namespace troupe::testkit::sim {

/// Five nodes with ledgers under random crashes, stops, freezes,
/// partitions, one-way cuts, resets, slow links and drains, while appends
/// go through random nodes. Once the faults are over the cluster must
/// settle (converged, one ring, every handoff done) and then: every ledger
/// answers, no name has two activations, no append was applied twice.
/// Appends held only in a crashed node's memory may be lost (the ledger
/// kind keeps its state in memory); the run counts them.
scenario cluster_faults_scenario();

/// The same without crashes and stops: nothing may be lost either.
scenario no_crash_scenario();

/// Membership alone (no virtual actors) under every kind of fault, leave
/// included: the cluster converges on one ring of the running nodes.
scenario membership_scenario();

/// The scenarios by name.
std::vector<std::pair<std::string, scenario (*)()>> all_scenarios();

} // namespace troupe::testkit::sim
