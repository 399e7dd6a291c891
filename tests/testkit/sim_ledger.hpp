// A kind of virtual actor for checking what the cluster does with actor
// state under faults: each `ledger/<key>` keeps the ids appended to it, in
// order, and moves them on handoff; a tracker remembers which appends were
// acknowledged and finds the lost and the doubled.
#pragma once

#include "troupe/cluster/virtual_actor.hpp"
#include "troupe/testkit/sim_network.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <caf/atom.hpp>

namespace troupe::testkit::sim {

class world;

using append_atom = caf::atom_constant<caf::atom("sim_append")>;
using entries_atom = caf::atom_constant<caf::atom("sim_entrs")>;

/// The kind `ledger`: `(append_atom, std::uint64_t id)` appends and answers
/// the number of entries; `(entries_atom)` answers every entry, in order,
/// as a comma-separated `std::string`. Handoff exports the entries and an
/// activation handed more entries appends them (nothing is deduplicated:
/// an id applied twice shows).
cluster::actor_kind ledger_kind();

/// Appends through random nodes to random ledgers, and checks the ledgers
/// against what was acknowledged.
class ledger_tracker {
public:
  /// `keys` ledgers (`ledger/0` ...).
  explicit ledger_tracker(std::size_t keys) : keys_(keys) {}

  /// Appends the next id to a random ledger through a random running node
  /// and waits (running the world) for the answer, up to `timeout`.
  void append(world& w, sim_time timeout = std::chrono::seconds{5});

  /// Reads every ledger (through random running nodes) and compares it
  /// with what was acknowledged. The message names what is wrong: ledgers
  /// that do not answer, acknowledged ids that are missing (lost), ids
  /// that appear more than once (applied twice); nullopt when all is well.
  /// With `lost_allowed`, missing ids are counted, not failed on.
  std::optional<std::string> verify(world& w, bool lost_allowed = false);

  std::size_t acknowledged() const;
  std::size_t failed() const {
    return failed_;
  }
  /// Missing ids found by the last `verify`.
  std::size_t lost() const {
    return lost_;
  }

  static std::string name_of(std::size_t key);

private:
  std::size_t keys_;
  std::uint64_t next_id_ = 1;
  std::map<std::size_t, std::vector<std::uint64_t>> acked_;
  std::size_t failed_ = 0;
  std::size_t lost_ = 0;
};

} // namespace troupe::testkit::sim
