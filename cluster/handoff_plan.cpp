#include "handoff_plan.hpp"

namespace troupe::cluster {

std::vector<std::uint32_t> partitions_to_hand_over(const ring& r,
                                                   const std::string& self) {
  std::vector<std::uint32_t> out;
  for (std::uint32_t p = 0; p < r.size(); ++p) {
    if (r.previous_owner(p) == self && r.owner(p) != self) {
      out.push_back(p);
    }
  }
  return out;
}

arrival_plan plan_arrival(const routing_view& v, const std::string& self,
                          const handed_already& done) {
  arrival_plan out;
  const auto& r = v.current;
  for (std::uint32_t p = 0; p < r.size(); ++p) {
    if (r.owner(p) != self) {
      continue;
    }
    out.owned.push_back(p);
    const auto& prev = r.previous_owner(p);
    if (prev != self && v.is_available(prev) && !done(prev, r.epoch(), p)) {
      out.awaited.emplace(p, prev);
    }
  }
  return out;
}

std::set<std::uint32_t>
partitions_to_hand_back(const routing_view& v, const std::string& self,
                        const std::set<std::uint32_t>& hosted) {
  std::set<std::uint32_t> out;
  if (v.current.empty()) {
    return out;
  }
  for (auto p : hosted) {
    const auto& to = v.target(p);
    if (!to.empty() && to != self) {
      out.insert(p);
    }
  }
  return out;
}

std::string transfer_destination(const routing_view& v, const std::string& self,
                                 std::uint32_t p, bool ownership,
                                 const std::string& sent_to) {
  if (!sent_to.empty() && sent_to != self && v.active.count(sent_to) > 0) {
    return sent_to;
  }
  const auto& owner = v.current.owner(p);
  if (ownership && owner != self && v.active.count(owner) > 0) {
    return owner;
  }
  return v.target(p);
}

} // namespace troupe::cluster
