#include "handoff_ledger.hpp"

#include <algorithm>

namespace troupe::cluster {

std::uint64_t transfer_id(std::uint64_t incarnation, std::uint32_t count) {
  return (incarnation << 32) | count;
}

bool handoff_ledger::add(const std::string& from, wire::handoff_item item,
                         time_point now) {
  if (item.transfer == 0) {
    return false;
  }
  auto& s = senders_[from];
  if (settled(s, item.transfer)) {
    return false;
  }
  auto& t = s.open[item.transfer];
  t.touched = now;
  auto seq = item.sequence;
  return t.items.emplace(seq, std::move(item)).second;
}

handoff_ledger::done_result handoff_ledger::done(const std::string& from,
                                                 const wire::handoff_done& d,
                                                 time_point now) {
  if (d.transfer == 0) {
    return {.what = outcome::repeat};
  }
  auto& s = senders_[from];
  // Every transfer of the sender below `open_from` was acknowledged: it
  // sends none of them again. (This one is at or above it.)
  raise_floor(s, std::min(d.open_from, d.transfer));
  if (settled(s, d.transfer)) {
    return {.what = outcome::repeat};
  }
  auto& t = s.open[d.transfer];
  t.touched = now;
  // Only the places the done counts: anything beyond is not part of it.
  auto whole = std::count_if(t.items.begin(), t.items.end(),
                             [&d](auto& kv) { return kv.first < d.items; });
  if (static_cast<std::size_t>(whole) < d.items) {
    return {.what = outcome::incomplete,
            .missing = d.items - static_cast<std::size_t>(whole)};
  }
  done_result out{.what = outcome::apply};
  for (auto& [seq, item] : t.items) {
    if (seq < d.items) {
      out.items.push_back(std::move(item));
    }
  }
  s.open.erase(d.transfer);
  s.applied.insert(d.transfer);
  return out;
}

void handoff_ledger::raise_floor(sender& s, std::uint64_t floor) {
  if (floor <= s.floor) {
    return;
  }
  s.floor = floor;
  s.applied.erase(s.applied.begin(), s.applied.lower_bound(floor));
  s.open.erase(s.open.begin(), s.open.lower_bound(floor));
}

std::size_t handoff_ledger::expire(time_point before) {
  std::size_t dropped = 0;
  for (auto& [from, s] : senders_) {
    for (auto i = s.open.begin(); i != s.open.end();) {
      if (i->second.touched < before) {
        dropped += i->second.items.size();
        i = s.open.erase(i);
      } else {
        ++i;
      }
    }
  }
  return dropped;
}

std::size_t handoff_ledger::kept_items() const {
  std::size_t n = 0;
  for (const auto& [from, s] : senders_) {
    for (const auto& [id, t] : s.open) {
      n += t.items.size();
    }
  }
  return n;
}

std::size_t handoff_ledger::remembered() const {
  std::size_t n = 0;
  for (const auto& [from, s] : senders_) {
    n += s.applied.size();
  }
  return n;
}

} // namespace troupe::cluster
