// Version vectors: logical versions of the gossiped cluster state.
#include "version_vector.hpp"

#include <algorithm>

namespace troupe::cluster {

std::string to_string(causal_order x) {
  switch (x) {
    case causal_order::same:
      return "same";
    case causal_order::before:
      return "before";
    case causal_order::after:
      return "after";
    case causal_order::concurrent:
      return "concurrent";
  }
  return "causal_order(?)";
}

void version_vector::bump(const std::string& node) {
  ++entries_[node];
}

void version_vector::raise(const std::string& node, std::uint64_t floor) {
  auto& x = entries_[node];
  x = std::max(x, floor);
}

std::uint64_t version_vector::get(const std::string& node) const {
  auto i = entries_.find(node);
  return i == entries_.end() ? 0 : i->second;
}

causal_order version_vector::compare(const version_vector& other) const {
  bool less = false;    // some entry of ours is smaller
  bool greater = false; // some entry of ours is larger
  auto a = entries_.begin();
  auto b = other.entries_.begin();
  while (a != entries_.end() || b != other.entries_.end()) {
    if (b == other.entries_.end()
        || (a != entries_.end() && a->first < b->first)) {
      greater = greater || a->second > 0;
      ++a;
    } else if (a == entries_.end() || b->first < a->first) {
      less = less || b->second > 0;
      ++b;
    } else {
      less = less || a->second < b->second;
      greater = greater || a->second > b->second;
      ++a;
      ++b;
    }
  }
  if (less && greater) {
    return causal_order::concurrent;
  }
  if (less) {
    return causal_order::before;
  }
  return greater ? causal_order::after : causal_order::same;
}

void version_vector::merge(const version_vector& other) {
  for (const auto& [node, n] : other.entries_) {
    auto& mine = entries_[node];
    mine = std::max(mine, n);
  }
}

std::string to_string(const version_vector& v) {
  std::string out = "{";
  for (const auto& [node, n] : v.entries()) {
    out += out.size() > 1 ? "," : "";
    out += node.substr(0, 8) + ":" + std::to_string(n);
  }
  return out + "}";
}

} // namespace troupe::cluster
