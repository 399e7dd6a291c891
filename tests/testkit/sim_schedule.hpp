// Fault schedules for the simulated world: what goes wrong when, written by
// a test or drawn from a seed, printed and parsed as one line, and shrunk.
#pragma once

#include "troupe/testkit/sim_network.hpp"

#include <cstddef>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include <caf/expected.hpp>

namespace troupe::testkit::sim {

enum class fault_kind {
  crash,     ///< kill -9 of `nodes[0]`; restarted from its data after `length`
  tear,      ///< a crash that leaves `nodes[0]`'s cluster.state torn
  stop,      ///< an orderly stop of `nodes[0]`; restarted after `length`
  freeze,    ///< `nodes[0]` stops running (SIGSTOP) for `length`
  partition, ///< `groups` cannot reach each other for `length`
  cut,       ///< `nodes[0]` cannot reach `nodes[1]` (one way) for `length`
  reset,     ///< the connections between `nodes[0]` and `nodes[1]` reset
  slow,      ///< `extra` latency between `nodes[0]` and `nodes[1]`
  leave,     ///< `nodes[0]`, if up, leaves the cluster; restarted after
             ///< `length` once it has handed everything off (at most a
             ///< minute later)
  drain,     ///< `nodes[0]` drains for `length`
};

/// One fault. A `length` of zero means for good (or, for `reset`, at once).
struct fault {
  fault_kind kind = fault_kind::crash;
  sim_time at{0};
  sim_time length{0};
  std::vector<std::size_t> nodes{};
  std::vector<std::vector<std::size_t>> groups{};
  sim_time extra{0};

  friend bool operator==(const fault&, const fault&) = default;
};

/// Faults in the order they start.
struct fault_schedule {
  std::vector<fault> faults;

  bool empty() const {
    return faults.empty();
  }
  /// When the last fault is over (its start for one without a length).
  sim_time end() const;

  friend bool operator==(const fault_schedule&, const fault_schedule&)
    = default;
};

std::string to_string(fault_kind k);

/// One line: `crash(4)@2s+3s;partition(0,1|2,3,4)@5s+4s;cut(1>2)@1s+2s;
/// reset(1-2)@3s;slow(0-1,200ms)@1s+5s;freeze(2)@1s+500ms;stop(3)@1s+2s;
/// leave(3)@6s;drain(2)@1s+2s`. Nodes count from 0; times take `us`,
/// `ms`, `s` or `min`.
std::string to_string(const fault_schedule& s);

/// Parses `to_string`'s form (an empty text is an empty schedule); the
/// error names the fault and what was expected.
caf::expected<fault_schedule> parse_schedule(std::string_view text);

/// Checks a schedule against a world of `nodes` nodes: node numbers in
/// range, partitions of distinct nodes, lengths where needed.
caf::error validate(const fault_schedule& s, std::size_t nodes);

/// What a random schedule may contain.
struct schedule_shape {
  std::size_t nodes = 5;
  std::size_t faults = 6;
  /// Faults start within this time.
  sim_time horizon = std::chrono::seconds{20};
  /// Each lasts up to this long (at least a tenth of it).
  sim_time max_length = std::chrono::seconds{8};
  std::vector<fault_kind> kinds{fault_kind::crash,  fault_kind::stop,
                                fault_kind::freeze, fault_kind::partition,
                                fault_kind::cut,    fault_kind::reset,
                                fault_kind::slow,   fault_kind::drain};
  /// At most this many nodes are down (crashed, stopped, frozen or
  /// leaving) at any moment; 0: a minority of the cluster.
  std::size_t max_down = 0;
};

/// A random schedule: every fault ends (no `length` of zero), so the
/// cluster is whole again after `end()`.
fault_schedule random_schedule(std::mt19937_64& rng,
                               const schedule_shape& shape);

/// Smaller schedules to try in place of `s`, most promising first: without
/// one fault (or half of them), a fault half as long or starting earlier,
/// a partition with two of its groups merged.
std::vector<fault_schedule> shrink_candidates(const fault_schedule& s);

} // namespace troupe::testkit::sim
