// The cluster's own scenarios for the simulated world.
#include "tests/sim/scenarios.hpp"

#include "troupe/testkit/sim_ledger.hpp"

#include <memory>

namespace troupe::testkit::sim {

namespace {

using namespace std::chrono_literals;

world::options ledger_world() {
  return {.nodes = 5, .kinds = [](std::size_t) {
            return std::vector<cluster::actor_kind>{ledger_kind()};
          }};
}

run_hooks ledger_hooks(bool lost_allowed, bool one_at_every_moment = false) {
  auto ledgers = std::make_shared<ledger_tracker>(16);
  std::function<std::optional<std::string>(world&)> always{};
  if (one_at_every_moment) {
    always = [](world& w) { return at_most_one_activation(w); };
  }
  return {
    .step =
      [ledgers](world& w) {
        for (int i = 0; i < 4; ++i) {
          ledgers->append(w, 2s);
        }
      },
    .always = std::move(always),
    .at_end = [ledgers, lost_allowed](world& w) -> std::optional<std::string> {
      if (auto msg = at_most_one_activation(w)) {
        return msg;
      }
      auto msg = ledgers->verify(w, lost_allowed);
      w.note("ledgers acknowledged=" + std::to_string(ledgers->acknowledged())
             + " failed=" + std::to_string(ledgers->failed())
             + " lost=" + std::to_string(ledgers->lost()));
      return msg;
    }};
}

} // namespace

scenario cluster_faults_scenario() {
  return {.name = "cluster_faults",
          .world = ledger_world(),
          .faults = {.faults = 6},
          .hooks = [] { return ledger_hooks(true); }};
}

scenario no_crash_scenario() {
  return {.name = "no_crash",
          .world = ledger_world(),
          .faults = {.faults = 6,
                     .kinds = {fault_kind::freeze, fault_kind::partition,
                               fault_kind::cut, fault_kind::reset,
                               fault_kind::slow, fault_kind::drain}},
          .hooks = [] { return ledger_hooks(false); }};
}

scenario handoff_scenario() {
  return {.name = "handoff",
          .world = ledger_world(),
          .faults = {.faults = 4,
                     .horizon = 30s,
                     .max_length = 10s,
                     .kinds = {fault_kind::leave, fault_kind::drain},
                     .max_down = 1},
          .hooks = [] { return ledger_hooks(false, true); }};
}

scenario membership_scenario() {
  return {.name = "membership",
          .world = {.nodes = 5},
          .faults = {
            .faults = 8,
            .kinds = {fault_kind::crash, fault_kind::stop, fault_kind::freeze,
                      fault_kind::partition, fault_kind::cut, fault_kind::reset,
                      fault_kind::slow, fault_kind::leave, fault_kind::drain}}};
}

std::vector<named_scenario> all_scenarios() {
  return {{"cluster_faults", &cluster_faults_scenario, true},
          {"membership", &membership_scenario, true},
          {"no_crash", &no_crash_scenario, true},
          {"handoff", &handoff_scenario, true}};
}

const std::vector<known_failure>& known_failures() {
  static const std::vector<known_failure> list{};
  return list;
}

const known_failure* find_known_failure(const std::string& scenario,
                                        std::uint64_t seed) {
  for (const auto& k : known_failures()) {
    if (k.scenario == scenario && k.seed == seed) {
      return &k;
    }
  }
  return nullptr;
}

} // namespace troupe::testkit::sim
