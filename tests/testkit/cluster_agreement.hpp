// Whether the nodes of a test cluster agree: on one converged membership
// with every running node up, and on one ring owned by the running nodes.
// Pure: the harnesses get the nodes' states their own ways.
#pragma once

#include "troupe/cluster/membership_actor.hpp"

#include <algorithm>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace troupe::testkit {

using cluster_states
  = std::vector<std::shared_ptr<const cluster::cluster_snapshot>>;

/// Every state (one per running node) has converged on one version and
/// sees exactly the `live` nodes up and reachable.
inline bool all_converged(const cluster_states& states,
                          const std::set<std::string>& live) {
  std::optional<cluster::version_vector> version;
  for (const auto& st : states) {
    if (!st || !st->converged) {
      return false;
    }
    if (version && !(*version == st->gossip.state.version())) {
      return false;
    }
    version = st->gossip.state.version();
    std::size_t up = 0;
    for (const auto& [id, m] : st->gossip.state.members()) {
      if (live.count(id) != 0) {
        if (m.status != cluster::member_status::up
            || st->gossip.state.is_unreachable(id)) {
          return false;
        }
        ++up;
      }
    }
    if (up != live.size()) {
      return false;
    }
  }
  return !live.empty();
}

/// Every state has the same ring, owned by exactly the `live` nodes that do
/// not drain (by as many of them as there are partitions, when there are
/// more nodes), and every active member has announced its handoff for it
/// done.
inline bool rings_agree(const cluster_states& states,
                        const std::set<std::string>& live) {
  std::optional<std::uint64_t> epoch;
  for (const auto& st : states) {
    if (!st) {
      return false;
    }
    std::vector<std::string> ids;
    for (const auto& id : live) {
      const auto* m = st->gossip.state.find(id);
      if (m == nullptr || !m->announcement.draining) {
        ids.push_back(id);
      }
    }
    const auto& r = st->gossip.state.current_ring();
    if (epoch && *epoch != r.epoch()) {
      return false;
    }
    auto owners = r.members();
    bool all_own = owners == ids;
    bool all_used = ids.size() > r.size() && owners.size() == r.size()
                    && std::includes(ids.begin(), ids.end(), owners.begin(),
                                     owners.end());
    if (!all_own && !all_used) {
      return false;
    }
    epoch = r.epoch();
    for (const auto& [id, m] : st->gossip.state.members()) {
      if (m.is_active() && m.announcement.handoff_epoch < r.epoch()) {
        return false;
      }
    }
  }
  return epoch.has_value();
}

} // namespace troupe::testkit
