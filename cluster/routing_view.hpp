// What routing decisions are made from: the ring and who may take
// traffic now (a pure value, published by the router).
#pragma once

#include "ring.hpp"

#include <algorithm>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

namespace troupe::cluster {

/// What routing decisions are made from: the ring and who may take traffic
/// now (up, reachable, not draining). Published by the router; `index`
/// precomputes every partition's target, so that a send looks it up in
/// constant time.
struct routing_view {
  ring current;
  std::set<std::string> available;
  /// Members that can still take a handoff: active (joining, up or
  /// leaving), reachable or not. A new owner not among them is gone (down
  /// or removed): what was on its way to it goes where messages go.
  std::set<std::string> active;
  std::string self;
  /// Whether this node's side may activate names (`quorum.hpp`); without
  /// it, routing by name answers `no_quorum`.
  bool quorum = true;

  bool is_available(const std::string& id) const {
    return available.count(id) > 0;
  }

  /// Computes the targets of all partitions (call after changing the
  /// fields).
  void index() {
    targets_.assign(current.size(), 0);
    nodes_.assign(1, std::string{});
    auto avail = [this](const std::string& id) { return is_available(id); };
    for (std::uint32_t p = 0; p < current.size(); ++p) {
      auto to = current.route(p, avail);
      auto i = std::find(nodes_.begin(), nodes_.end(), to);
      if (i == nodes_.end()) {
        i = nodes_.insert(nodes_.end(), std::move(to));
      }
      targets_[p] = static_cast<std::uint16_t>(i - nodes_.begin());
    }
  }

  /// The node a message for `p` goes to (empty: none available).
  const std::string& target(std::uint32_t p) const {
    return nodes_[targets_[p]];
  }

private:
  std::vector<std::uint16_t> targets_;            // by partition, into nodes_
  std::vector<std::string> nodes_{std::string{}}; // [0]: none
};

} // namespace troupe::cluster
