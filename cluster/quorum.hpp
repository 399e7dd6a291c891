// Which side of a split cluster may act as the cluster: down the members it
// cannot reach, claim rings and activate names. Pure: decided from one
// node's view of the membership.
#pragma once

#include "../runtime/config.hpp"
#include "membership.hpp"

#include <cstddef>
#include <string>

namespace troupe::cluster {

/// What one node concludes about its side.
struct quorum_view {
  /// Whether its side may act as the cluster.
  bool quorum = true;
  /// Members counted (up and leaving ones), and how many of them are on
  /// its side (itself, and those nobody flags unreachable).
  std::size_t members = 0;
  std::size_t reachable = 0;

  friend bool operator==(const quorum_view&, const quorum_view&) = default;
};

/// `self`'s side as `state` shows it, under `policy`. The members counted
/// are those up or leaving (joining ones have not been part of the cluster
/// yet; down and removed ones no longer are); a member is on the other
/// side when a counted member flags it unreachable. `keep_majority`: more than
/// half of them reachable, or exactly half including the one with the
/// lowest address (so that of two equal halves exactly one goes on).
/// `static_quorum`: at least `quorum_size` reachable. `keep_oldest`: the
/// side of the oldest member (the lowest up number), unless the oldest is
/// alone and more than one member is on the other side; then, the side
/// whose only missing member is the oldest. `serve_all`: always.
/// A cluster with no counted members yet (forming) has quorum.
quorum_view assess_quorum(const membership& state, const std::string& self,
                          const runtime::split_brain_policy& policy);

} // namespace troupe::cluster
