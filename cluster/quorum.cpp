// Which side of a split cluster may act as the cluster.
#include "quorum.hpp"

#include <functional>
#include <set>
#include <tuple>

namespace troupe::cluster {

namespace {

bool counted(const member& m) {
  return m.status == member_status::up || m.status == member_status::leaving;
}

// The members a counted member flags unreachable (in their present
// incarnation), in one pass over the observations. A joining member's flags
// do not count: a minority member that rejoins after a heal still carries
// what its previous life saw, and the majority must not lose its quorum
// over that.
std::set<std::string> flagged(const membership& state) {
  std::set<std::string> out;
  for (const auto& [key, rec] : state.reachability()) {
    const auto& [observer_id, subject_id] = key;
    if (!rec.unreachable) {
      continue;
    }
    const auto* observer = state.find(observer_id);
    const auto* subject = state.find(subject_id);
    if (observer != nullptr && counted(*observer) && subject != nullptr
        && rec.subject_incarnation == subject->incarnation) {
      out.insert(subject_id);
    }
  }
  return out;
}

} // namespace

quorum_view assess_quorum(const membership& state, const std::string& self,
                          const runtime::split_brain_policy& policy) {
  using strategy = runtime::split_brain_policy::strategy;
  quorum_view v;
  const member* lowest = nullptr;
  bool lowest_here = false;
  const member* oldest = nullptr;
  bool oldest_here = false;
  // The oldest: the lowest up number (a record from a node older than up
  // numbers has none and counts as the youngest), then the lowest address.
  auto age = [](const member& m) {
    return std::make_tuple(m.up_number == 0 ? ~std::uint64_t{0} : m.up_number,
                           std::cref(m.address.host), m.address.port,
                           std::cref(m.node_id));
  };
  auto other_side = flagged(state);
  for (const auto& [id, m] : state.members()) {
    if (!counted(m)) {
      continue;
    }
    ++v.members;
    bool here = id == self || other_side.count(id) == 0;
    v.reachable += here ? 1 : 0;
    if (lowest == nullptr
        || std::tie(m.address.host, m.address.port, m.node_id) < std::tie(
             lowest->address.host, lowest->address.port, lowest->node_id)) {
      lowest = &m;
      lowest_here = here;
    }
    if (oldest == nullptr || age(m) < age(*oldest)) {
      oldest = &m;
      oldest_here = here;
    }
  }
  switch (policy.kind) {
    case strategy::keep_majority:
      v.quorum = v.members == 0 || 2 * v.reachable > v.members
                 || (2 * v.reachable == v.members && lowest_here);
      break;
    case strategy::static_quorum:
      v.quorum = v.members == 0 || v.reachable >= policy.quorum_size;
      break;
    case strategy::serve_all:
      v.quorum = true;
      break;
    case strategy::keep_oldest: {
      // The oldest alone against more than one: the others go on.
      auto others = v.members - v.reachable;
      v.quorum = v.members == 0
                 || (oldest_here ? !(v.reachable == 1 && others > 1)
                                 : others == 1 && v.reachable > 1);
      break;
    }
  }
  return v;
}

} // namespace troupe::cluster
