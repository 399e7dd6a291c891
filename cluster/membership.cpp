// The gossiped membership state and its merge.
#include "membership.hpp"

#include "quorum.hpp"

#include <algorithm>
#include <tuple>

namespace troupe::cluster {

const member* membership::find(const std::string& node_id) const {
  auto i = members_.find(node_id);
  return i == members_.end() ? nullptr : &i->second;
}

bool membership::add(const member& m, const std::string& by) {
  auto i = members_.find(m.node_id);
  if (i != members_.end()) {
    if (m.incarnation < i->second.incarnation || m == i->second) {
      return false;
    }
    if (m.incarnation == i->second.incarnation) {
      return false; // the same boot: only transitions change it
    }
  }
  version_.bump(by);
  std::erase_if(reach_, [&m](const auto& entry) {
    return entry.first.second == m.node_id
           && entry.second.subject_incarnation != m.incarnation;
  });
  auto& added = members_[m.node_id] = m;
  added.added_by = by;
  added.added_at = version_.get(by);
  return true;
}

bool membership::transition(const std::string& node_id, member_status to,
                            const std::string& by) {
  auto i = members_.find(node_id);
  if (i == members_.end() || !is_legal_transition(i->second.status, to)) {
    return false;
  }
  i->second.status = to;
  if (to == member_status::up) {
    std::uint64_t last = 0;
    for (const auto& [id, m] : members_) {
      last = std::max(last, m.up_number);
    }
    i->second.up_number = last + 1;
  }
  version_.bump(by);
  return true;
}

bool membership::observe(const std::string& observer,
                         const std::string& subject, bool unreachable) {
  const auto* m = find(subject);
  if (m == nullptr) {
    return false;
  }
  auto found = reach_.find({observer, subject});
  bool says_unreachable = found != reach_.end()
                          && found->second.subject_incarnation == m->incarnation
                          && found->second.unreachable;
  if (!unreachable && !says_unreachable) {
    // Nothing on record flags this incarnation: writing "reachable" would
    // only make a version every member has to see (a join would cost one
    // from each member that connects to the joiner).
    return false;
  }
  if (unreachable && says_unreachable) {
    return false;
  }
  auto& rec = found != reach_.end() ? found->second
                                    : reach_[{observer, subject}];
  rec.subject_incarnation = m->incarnation;
  rec.unreachable = unreachable;
  ++rec.version;
  version_.bump(observer);
  return true;
}

bool membership::announce(const std::string& node_id, service_announcement a) {
  auto i = members_.find(node_id);
  if (i == members_.end()) {
    return false;
  }
  auto& mine = i->second.announcement;
  if (a.services == mine.services && a.draining == mine.draining
      && a.handoff_epoch == mine.handoff_epoch) {
    return false;
  }
  a.version = mine.version + 1;
  mine = std::move(a);
  version_.bump(node_id);
  return true;
}

bool membership::is_unreachable(const std::string& subject) const {
  const auto* m = find(subject);
  if (m == nullptr) {
    return false;
  }
  for (const auto& [key, rec] : reach_) {
    if (key.second != subject || !rec.unreachable
        || rec.subject_incarnation != m->incarnation) {
      continue;
    }
    const auto* observer = find(key.first);
    if (observer != nullptr && observer->is_active()) {
      return true;
    }
  }
  return false;
}

std::vector<std::string> membership::reachable_active() const {
  std::vector<std::string> out;
  for (const auto& [id, m] : members_) {
    if (m.is_active() && !is_unreachable(id)) {
      out.push_back(id);
    }
  }
  return out;
}

std::optional<std::string> membership::leader() const {
  auto pick = [this](auto&& eligible) -> std::optional<std::string> {
    const member* best = nullptr;
    for (const auto& [id, m] : members_) {
      if (!eligible(m) || is_unreachable(id)) {
        continue;
      }
      if (best == nullptr
          || std::tie(m.address.host, m.address.port, m.node_id) < std::tie(
               best->address.host, best->address.port, best->node_id)) {
        best = &m;
      }
    }
    return best ? std::optional<std::string>{best->node_id} : std::nullopt;
  };
  auto serving = pick([](const member& m) {
    return m.status == member_status::up || m.status == member_status::leaving;
  });
  if (serving) {
    return serving;
  }
  return pick(
    [](const member& m) { return m.status == member_status::joining; });
}

namespace {

// Whether a state at version `v` has seen `m` added: if it no longer holds
// it, it forgot it on purpose.
bool seen_added(const version_vector& v, const member& m) {
  return !m.added_by.empty() && v.get(m.added_by) >= m.added_at;
}

} // namespace

membership membership::merge(const membership& a, const membership& b) {
  membership out;
  for (const auto& [id, m] : a.members_) {
    auto i = b.members_.find(id);
    if (i != b.members_.end()) {
      out.members_.emplace(id, cluster::merge(m, i->second));
    } else if (!seen_added(b.version_, m)) {
      out.members_.emplace(id, m);
    }
  }
  for (const auto& [id, m] : b.members_) {
    if (!a.members_.count(id) && !seen_added(a.version_, m)) {
      out.members_.emplace(id, m);
    }
  }
  // An observation of a member no longer held, or of an earlier
  // incarnation, says nothing any more.
  auto current = [&out](const reach_key& key, const reachability_record& r) {
    const auto* subject = out.find(key.second);
    return subject != nullptr && r.subject_incarnation == subject->incarnation;
  };
  for (const auto* side : {&a.reach_, &b.reach_}) {
    for (const auto& [key, rec] : *side) {
      if (!current(key, rec)) {
        continue;
      }
      auto [i, fresh] = out.reach_.emplace(key, rec);
      if (!fresh
          && std::tie(rec.subject_incarnation, rec.version, rec.unreachable)
               > std::tie(i->second.subject_incarnation, i->second.version,
                          i->second.unreachable)) {
        i->second = rec;
      }
    }
  }
  out.version_ = a.version_;
  out.version_.merge(b.version_);
  out.ring_ = std::max(a.ring_, b.ring_);
  return out;
}

void membership::keep_stated(const membership& earlier) {
  for (auto& [id, m] : members_) {
    const auto* known = earlier.find(id);
    if (known == nullptr || known->incarnation != m.incarnation) {
      continue;
    }
    if (m.software.empty() && m.capabilities.empty()) {
      m.software = known->software;
      m.capabilities = known->capabilities;
    }
    if (m.added_by.empty()) {
      m.added_by = known->added_by;
      m.added_at = known->added_at;
    }
  }
}

forgotten membership::forget_removed(const std::string& by) {
  forgotten out;
  for (auto i = members_.begin(); i != members_.end();) {
    // A record without the point where it was added (from an older node)
    // could come back from any copy that still holds it: kept.
    if (i->second.status == member_status::removed
        && !i->second.added_by.empty()) {
      out.members.push_back(std::move(i->second));
      i = members_.erase(i);
    } else {
      ++i;
    }
  }
  out.observations = std::erase_if(reach_, [this](const auto& entry) {
    const auto& [observer, subject] = entry.first;
    const auto* o = find(observer);
    const auto* s = find(subject);
    return o == nullptr || o->status == member_status::removed || s == nullptr
           || s->status == member_status::removed
           || s->incarnation != entry.second.subject_incarnation;
  });
  if (!out.members.empty() || out.observations > 0) {
    version_.bump(by);
  }
  return out;
}

bool membership::set_ring(ring r, const std::string& by) {
  if (r == ring_) {
    return false;
  }
  ring_ = std::move(r);
  version_.bump(by);
  return true;
}

membership membership::from_parts(members_type members, reach_type reach,
                                  version_vector version, ring r) {
  membership out;
  out.ring_ = std::move(r);
  out.members_ = std::move(members);
  out.reach_ = std::move(reach);
  out.version_ = std::move(version);
  return out;
}

std::string to_string(gossip_outcome x) {
  switch (x) {
    case gossip_outcome::same:
      return "same";
    case gossip_outcome::newer:
      return "newer";
    case gossip_outcome::older:
      return "older";
    case gossip_outcome::merged:
      return "merged";
  }
  return "gossip_outcome(?)";
}

gossip_outcome receive_gossip(gossip_state& local, const gossip_state& remote,
                              const std::string& self) {
  switch (local.state.version().compare(remote.state.version())) {
    case causal_order::same:
      local.seen.insert(remote.seen.begin(), remote.seen.end());
      local.seen.insert(self);
      return gossip_outcome::same;
    case causal_order::before: {
      // Taken whole (not merged: what the newer state dropped stays
      // dropped), except the stated fields an older build cannot carry.
      auto earlier = std::move(local.state);
      local.state = remote.state;
      local.state.keep_stated(earlier);
      local.seen = remote.seen;
      local.seen.insert(self);
      return gossip_outcome::newer;
    }
    case causal_order::after:
      return gossip_outcome::older;
    case causal_order::concurrent:
      break;
  }
  local.state = membership::merge(local.state, remote.state);
  local.seen = {self};
  return gossip_outcome::merged;
}

bool converged(const gossip_state& g) {
  for (const auto& id : g.state.reachable_active()) {
    if (g.seen.count(id) == 0) {
      return false;
    }
  }
  return true;
}

namespace {

// Whether a leaving member owns nothing in the ring and has handed off
// everything up to the ring's epoch.
bool handed_off(const membership& state, const std::string& id) {
  const auto& r = state.current_ring();
  const auto* m = state.find(id);
  if (r.empty()) {
    return true;
  }
  auto owners = r.members();
  return !std::binary_search(owners.begin(), owners.end(), id)
         && m->announcement.handoff_epoch >= r.epoch();
}

// Claims the ring again when its owners are not the up members that do not
// drain (a draining member hands its partitions over as a leaving one
// does, and takes some again when it stops draining), once every
// reachable owner has finished the last handoff (so that transfers never
// overlap), and only if the claim moves a partition: with more members
// than partitions some members own none, and a claim that would change
// nothing must not make a new epoch (each one is a round of handoffs).
bool reclaim_ring(membership& state, const std::string& self,
                  const claim_options& opts) {
  std::vector<std::string> up;
  for (const auto& [id, m] : state.members()) {
    if (m.status == member_status::up && !m.announcement.draining) {
      up.push_back(id);
    }
  }
  const auto& r = state.current_ring();
  if (up.empty() || r.members() == up) {
    return false;
  }
  for (const auto& id : r.members()) {
    const auto* m = state.find(id);
    if (m != nullptr && m->is_active() && !state.is_unreachable(id)
        && m->announcement.handoff_epoch < r.epoch()) {
      return false;
    }
  }
  auto next = claim(r, up, opts);
  if (!r.empty() && next.moved == 0) {
    return false;
  }
  return state.set_ring(std::move(next.next), self);
}

} // namespace

std::vector<std::pair<std::string, member_status>> leader_actions(
  gossip_state& g, const std::string& self, const leader_policy& policy,
  const std::map<std::string, std::chrono::milliseconds>& unreachable_for) {
  std::vector<std::pair<std::string, member_status>> done;
  if (g.state.leader() != self) {
    return done;
  }
  auto apply = [&](const std::string& id, member_status to) {
    if (g.state.transition(id, to, self)) {
      done.emplace_back(id, to);
    }
  };
  // What convergence allows is decided before anyone is downed, so that a
  // member just marked down is seen down for a round before it is removed.
  std::vector<std::pair<std::string, member_status>> todo;
  if (converged(g)) {
    for (const auto& [id, m] : g.state.members()) {
      switch (m.status) {
        case member_status::joining:
          if (!g.state.is_unreachable(id)) {
            todo.emplace_back(id, member_status::up);
          }
          break;
        case member_status::leaving:
          if (handed_off(g.state, id)) {
            todo.emplace_back(id, member_status::exiting);
          }
          break;
        case member_status::exiting:
        case member_status::down:
          todo.emplace_back(id, member_status::removed);
          break;
        case member_status::up:
        case member_status::removed:
          break;
      }
    }
  }
  // A side without quorum leaves the others alone: the side with it downs
  // this one and takes over its names.
  bool quorum = assess_quorum(g.state, self, policy.split_brain).quorum;
  if (policy.down_after && quorum) {
    for (const auto& [id, how_long] : unreachable_for) {
      const auto* m = g.state.find(id);
      if (m != nullptr && id != self && m->status < member_status::down
          && g.state.is_unreachable(id) && how_long >= *policy.down_after) {
        apply(id, member_status::down);
      }
    }
  }
  for (const auto& [id, to] : todo) {
    apply(id, to);
  }
  bool reclaimed = quorum && converged(g)
                   && reclaim_ring(g.state, self, policy.claim);
  if (!done.empty() || reclaimed) {
    g.seen = {self};
  }
  return done;
}

forgotten forget_removed(gossip_state& g, const std::string& self) {
  if (g.state.leader() != self || !converged(g)) {
    return {};
  }
  auto out = g.state.forget_removed(self);
  if (!out.members.empty() || out.observations > 0) {
    g.seen = {self};
  }
  return out;
}

std::optional<std::string>
choose_gossip_peer(const gossip_state& g, const std::string& self,
                   const std::vector<std::string>& connected,
                   std::uint64_t random) {
  std::vector<std::string> all;
  std::vector<std::string> unseen;
  for (const auto& id : connected) {
    const auto* m = g.state.find(id);
    if (id == self || (m != nullptr && m->status >= member_status::down)) {
      continue;
    }
    all.push_back(id);
    if (g.seen.count(id) == 0) {
      unseen.push_back(id);
    }
  }
  if (all.empty()) {
    return std::nullopt;
  }
  const auto& pool = !unseen.empty() && random % 10 < 8 ? unseen : all;
  return pool[(random / 10) % pool.size()];
}

} // namespace troupe::cluster
