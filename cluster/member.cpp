// A cluster member and its status transitions.
#include "member.hpp"

#include <algorithm>
#include <tuple>

namespace troupe::cluster {

std::string to_string(member_status x) {
  switch (x) {
    case member_status::joining:
      return "joining";
    case member_status::up:
      return "up";
    case member_status::leaving:
      return "leaving";
    case member_status::exiting:
      return "exiting";
    case member_status::down:
      return "down";
    case member_status::removed:
      return "removed";
  }
  return "member_status(?)";
}

std::optional<member_status> parse_member_status(std::string_view text) {
  for (auto s :
       {member_status::joining, member_status::up, member_status::leaving,
        member_status::exiting, member_status::down, member_status::removed}) {
    if (to_string(s) == text) {
      return s;
    }
  }
  return std::nullopt;
}

bool is_legal_transition(member_status from, member_status to) {
  using ms = member_status;
  switch (from) {
    case ms::joining:
      return to == ms::up || to == ms::leaving || to == ms::down;
    case ms::up:
      return to == ms::leaving || to == ms::down;
    case ms::leaving:
      return to == ms::exiting || to == ms::down;
    case ms::exiting:
      return to == ms::removed || to == ms::down;
    case ms::down:
      return to == ms::removed;
    case ms::removed:
      return false;
  }
  return false;
}

bool member::is_active() const {
  return status == member_status::joining || status == member_status::up
         || status == member_status::leaving;
}

namespace {

// A total order on whole values, only to break ties deterministically.
auto tie_key(const member& m) {
  return std::tie(m.name, m.address.host, m.address.port);
}

} // namespace

member merge(const member& a, const member& b) {
  if (a.incarnation != b.incarnation) {
    return a.incarnation > b.incarnation ? a : b;
  }
  // Same incarnation: identity fields agree unless a bug made them differ;
  // take them from one side chosen by value so the merge stays commutative.
  member out = tie_key(a) >= tie_key(b) ? a : b;
  out.status = std::max(a.status, b.status);
  const auto& x = a.announcement;
  const auto& y = b.announcement;
  if (x.version != y.version) {
    out.announcement = x.version > y.version ? x : y;
  } else {
    out.announcement = std::tie(x.draining, x.handoff_epoch, x.services)
                           >= std::tie(y.draining, y.handoff_epoch, y.services)
                         ? x
                         : y;
  }
  // One incarnation runs one build: what it stated wins over nothing.
  const auto& said = std::tie(a.software, a.capabilities)
                         >= std::tie(b.software, b.capabilities)
                       ? a
                       : b;
  out.software = said.software;
  out.capabilities = said.capabilities;
  const auto& added
    = std::tie(a.added_at, a.added_by) >= std::tie(b.added_at, b.added_by) ? a
                                                                           : b;
  out.added_by = added.added_by;
  out.added_at = added.added_at;
  out.up_number = std::max(a.up_number, b.up_number);
  return out;
}

} // namespace troupe::cluster
