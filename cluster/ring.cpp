// The ring, the claim and preference lists.
#include "ring.hpp"

#include <xxhash.h>

#include <algorithm>
#include <bit>
#include <numeric>
#include <set>
#include <stdexcept>

namespace troupe::cluster {

std::uint64_t name_hash(std::string_view name) {
  return XXH3_64bits_withSeed(name.data(), name.size(), name_hash_seed);
}

bool is_valid_ring_size(std::uint64_t q) {
  return q >= 1 && q <= max_ring_size && std::has_single_bit(q);
}

// -- ring ---------------------------------------------------------------------

ring::ring(std::uint64_t epoch, const std::vector<std::string>& owners,
           const std::vector<std::string>& previous)
  : epoch_(epoch) {
  if (!is_valid_ring_size(owners.size())
      || (!previous.empty() && previous.size() != owners.size())) {
    throw std::invalid_argument("ring: invalid number of partitions");
  }
  std::set<std::string> all(owners.begin(), owners.end());
  all.insert(previous.begin(), previous.end());
  if (all.size() > 0xFFFF) {
    throw std::invalid_argument("ring: too many nodes");
  }
  nodes_.assign(all.begin(), all.end());
  auto index = [this](const std::string& id) {
    auto i = std::lower_bound(nodes_.begin(), nodes_.end(), id);
    return static_cast<std::uint16_t>(i - nodes_.begin());
  };
  owners_.reserve(owners.size());
  for (const auto& id : owners) {
    owners_.push_back(index(id));
  }
  previous_.reserve(previous.size());
  for (const auto& id : previous) {
    previous_.push_back(index(id));
  }
  shift_ = 64 - static_cast<unsigned>(std::countr_zero(owners.size()));
}

std::vector<std::string> ring::owners() const {
  std::vector<std::string> out;
  out.reserve(owners_.size());
  for (auto i : owners_) {
    out.push_back(nodes_[i]);
  }
  return out;
}

std::vector<std::string> ring::previous_owners() const {
  std::vector<std::string> out;
  out.reserve(previous_.size());
  for (auto i : previous_) {
    out.push_back(nodes_[i]);
  }
  return out;
}

std::vector<std::string> ring::members() const {
  std::vector<std::string> out;
  for (const auto& [id, n] : counts()) {
    out.push_back(id);
  }
  return out;
}

std::map<std::string, std::uint32_t> ring::counts() const {
  std::map<std::string, std::uint32_t> out;
  for (auto i : owners_) {
    ++out[nodes_[i]];
  }
  return out;
}

std::vector<preference>
ring::preference_list(std::uint32_t p, std::uint32_t n,
                      const availability& available) const {
  std::vector<preference> primaries;
  std::vector<preference> fallbacks;
  if (empty() || n == 0) {
    return primaries;
  }
  const auto q = size();
  std::vector<bool> taken(nodes_.size(), false);
  std::vector<preference> down;
  std::uint32_t step = 0;
  for (; step < q && primaries.size() + down.size() < n; ++step) {
    auto part = (p + step) % q;
    auto who = owners_[part];
    if (taken[who]) {
      continue;
    }
    taken[who] = true;
    auto& into = available(nodes_[who]) ? primaries : down;
    into.push_back({.node_id = nodes_[who], .partition = part});
  }
  // Each unavailable primary's stand-in is the next available node round
  // the ring that is not in the list already.
  for (const auto& missing : down) {
    for (; step < q; ++step) {
      auto who = owners_[(p + step) % q];
      if (!taken[who] && available(nodes_[who])) {
        taken[who] = true;
        fallbacks.push_back({.node_id = nodes_[who],
                             .partition = missing.partition,
                             .primary = false});
        break;
      }
    }
  }
  primaries.insert(primaries.end(), fallbacks.begin(), fallbacks.end());
  return primaries;
}

std::string ring::route(std::uint32_t p, const availability& available) const {
  if (empty()) {
    return {};
  }
  const auto& first = owner(p);
  if (available(first)) {
    return first;
  }
  auto list = preference_list(p, 1, available);
  return list.empty() ? std::string{} : list.front().node_id;
}

std::uint32_t ring::spacing_violations(std::uint32_t target_n) const {
  const auto q = size();
  if (target_n < 2 || q < 2) {
    return 0;
  }
  auto width = std::min(target_n, q);
  std::uint32_t bad = 0;
  for (std::uint32_t p = 0; p < q; ++p) {
    bool dup = false;
    for (std::uint32_t a = 0; a < width && !dup; ++a) {
      for (std::uint32_t b = a + 1; b < width && !dup; ++b) {
        dup = owners_[(p + a) % q] == owners_[(p + b) % q];
      }
    }
    bad += dup ? 1 : 0;
  }
  return bad;
}

std::uint32_t moved_partitions(const ring& a, const ring& b) {
  if (a.size() != b.size()) {
    return b.size();
  }
  std::uint32_t n = 0;
  for (std::uint32_t p = 0; p < a.size(); ++p) {
    n += a.owner(p) != b.owner(p) ? 1 : 0;
  }
  return n;
}

// -- claim --------------------------------------------------------------------

namespace {

constexpr int unowned = -1;

// A ring being laid out: owners as indexes into the sorted members.
struct layout {
  std::uint32_t q = 0;
  std::uint32_t t = 0;
  bool spaced = false; // whether spacing is possible at all (N >= t)
  std::vector<int> owner;
  std::vector<int> before; // owners at the start, to prefer fewer moves
  std::vector<std::uint32_t> count;
  std::vector<std::uint32_t> quota;
  // Shares of one more than ⌊Q/N⌋ not yet given to anyone.
  std::uint32_t spare = 0;

  layout(std::uint32_t q, std::uint32_t t, std::size_t n)
    : q(q), t(t), spaced(n >= t && t > 1 && q >= t), owner(q, unowned),
      count(n, 0), quota(n, 0) {}

  // Whether node `i` at `p` has no partition of its own within t-1 of it.
  bool fits(std::uint32_t p, int i) const {
    if (!spaced) {
      return true;
    }
    for (std::uint32_t d = 1; d < t; ++d) {
      if (owner[(p + d) % q] == i || owner[(p + q - d) % q] == i) {
        return false;
      }
    }
    return true;
  }

  void assign(std::uint32_t p, int i) {
    if (owner[p] != unowned) {
      --count[static_cast<std::size_t>(owner[p])];
    }
    owner[p] = i;
    ++count[static_cast<std::size_t>(i)];
  }

  std::uint32_t deficit(std::size_t i) const {
    return quota[i] > count[i] ? quota[i] - count[i] : 0;
  }
  // Whether `i` may take one more: below its share, or at ⌊Q/N⌋ while a
  // spare share is left.
  bool may_take(std::size_t i) const {
    return deficit(i) > 0
           || (spare > 0 && count[i] == quota[i]
               && quota[i] == q / count.size());
  }
  void take(std::uint32_t p, int i) {
    auto k = static_cast<std::size_t>(i);
    if (deficit(k) == 0) {
      ++quota[k];
      --spare;
    }
    assign(p, i);
  }
  std::uint32_t surplus(std::size_t i) const {
    return count[i] > quota[i] ? count[i] - quota[i] : 0;
  }

  // ⌊Q/N⌋ each, and one more for up to Q mod N members that own more than
  // that now (most first; ties: lower id); the shares left over are spare
  // and go to whoever takes a partition first, so that as little as
  // possible has to move.
  void set_quotas() {
    const auto n = count.size();
    std::vector<std::size_t> order(n);
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(),
                     [this](std::size_t a, std::size_t b) {
                       return count[a] > count[b];
                     });
    const auto base = static_cast<std::uint32_t>(q / n);
    const auto extra = q % n;
    spare = static_cast<std::uint32_t>(extra);
    for (std::size_t k = 0; k < n; ++k) {
      auto i = order[k];
      quota[i] = base;
      if (spare > 0 && count[i] > base) {
        ++quota[i];
        --spare;
      }
    }
  }

  // The member below its share that best takes `p`: one that fits first,
  // then the largest deficit, then the lowest id.
  int best_taker(std::uint32_t p, bool must_fit) const {
    int best = unowned;
    bool best_fits = false;
    for (std::size_t i = 0; i < count.size(); ++i) {
      if (!may_take(i)) {
        continue;
      }
      bool ok = fits(p, static_cast<int>(i));
      if (must_fit && !ok) {
        continue;
      }
      auto better
        = best == unowned || (ok && !best_fits)
          || (ok == best_fits
              && deficit(i) > deficit(static_cast<std::size_t>(best)));
      if (better) {
        best = static_cast<int>(i);
        best_fits = ok;
      }
    }
    return best;
  }

  bool violates(std::uint32_t p) const {
    return owner[p] != unowned && !fits(p, owner[p]);
  }

  // Swaps owners between a violating partition and another one wherever
  // that makes both fit.
  void repair() {
    if (!spaced) {
      return;
    }
    for (std::uint32_t p = 0; p < q; ++p) {
      // First with partitions that move anyway, then with any.
      for (int pass = 0; pass < 2 && violates(p); ++pass) {
        for (std::uint32_t k = 1; k < q; ++k) {
          auto r = (p + k) % q;
          if (owner[r] == owner[p] || (pass == 0 && owner[r] == before[r])) {
            continue;
          }
          std::swap(owner[p], owner[r]);
          if (!violates(p) && !violates(r)) {
            break;
          }
          std::swap(owner[p], owner[r]);
        }
      }
    }
  }

  std::uint32_t violations() const {
    std::uint32_t n = 0;
    for (std::uint32_t p = 0; p < q; ++p) {
      n += violates(p) ? 1 : 0;
    }
    return n;
  }
};

// Moves as little as possible from `l`'s current owners.
void claim_incrementally(layout& l) {
  l.before = l.owner;
  l.set_quotas();
  // Partitions of departed owners go to those below their share.
  for (std::uint32_t p = 0; p < l.q; ++p) {
    if (l.owner[p] == unowned) {
      l.take(p, l.best_taker(p, false));
    }
  }
  // Then those below their share take from those above it: first where
  // they fit, then anywhere.
  for (bool must_fit : {true, false}) {
    for (std::uint32_t p = 0; p < l.q; ++p) {
      auto from = l.owner[p];
      if (l.surplus(static_cast<std::size_t>(from)) == 0) {
        continue;
      }
      auto to = l.best_taker(p, must_fit);
      if (to != unowned) {
        l.take(p, to);
      }
    }
  }
  l.repair();
}

// Lays the ring out from nothing: each partition in turn goes to the member
// with most of its share left that fits, preferring the one that owned a
// partition longest ago, which gives round-robin stripes.
void claim_afresh(layout& l) {
  std::fill(l.owner.begin(), l.owner.end(), unowned);
  std::fill(l.count.begin(), l.count.end(), 0);
  l.before = l.owner;
  l.spare = 0;
  const auto n = l.count.size();
  const auto base = static_cast<std::uint32_t>(l.q / n);
  for (std::size_t i = 0; i < n; ++i) {
    l.quota[i] = base + (i < l.q % n ? 1 : 0);
  }
  std::vector<std::int64_t> last(n, -1);
  for (std::uint32_t p = 0; p < l.q; ++p) {
    int best = unowned;
    for (std::size_t i = 0; i < n; ++i) {
      if (l.deficit(i) == 0) {
        continue;
      }
      auto ii = static_cast<int>(i);
      if (best == unowned) {
        best = ii;
        continue;
      }
      auto b = static_cast<std::size_t>(best);
      auto key = [&](std::size_t x) {
        return std::tuple{l.fits(p, static_cast<int>(x)), l.deficit(x),
                          -last[x]};
      };
      if (key(i) > key(b)) {
        best = ii;
      }
    }
    l.assign(p, best);
    last[static_cast<std::size_t>(best)] = p;
  }
  l.repair();
}

} // namespace

claim_result claim(const ring& current, std::vector<std::string> members,
                   const claim_options& opts) {
  std::sort(members.begin(), members.end());
  members.erase(std::unique(members.begin(), members.end()), members.end());
  claim_result result;
  if (members.empty()) {
    result.moved = current.size();
    return result;
  }
  const bool fresh = current.empty();
  const auto q = fresh ? opts.ring_size : current.size();
  if (!is_valid_ring_size(q)) {
    throw std::invalid_argument("claim: invalid ring size");
  }
  layout l{q, opts.target_n, members.size()};
  auto index = [&members](const std::string& id) {
    auto i = std::lower_bound(members.begin(), members.end(), id);
    return i != members.end() && *i == id
             ? static_cast<int>(i - members.begin())
             : unowned;
  };
  if (fresh) {
    claim_afresh(l);
  } else {
    for (std::uint32_t p = 0; p < q; ++p) {
      auto i = index(current.owner(p));
      if (i != unowned) {
        l.assign(p, i);
      }
    }
    claim_incrementally(l);
    if (l.spaced && l.violations() > 0) {
      layout again = l;
      claim_afresh(again);
      if (again.violations() == 0) {
        l = std::move(again);
        result.rebuilt = true;
      }
    }
  }
  std::vector<std::string> owners;
  owners.reserve(q);
  for (auto i : l.owner) {
    owners.push_back(members[static_cast<std::size_t>(i)]);
  }
  result.next = ring{current.epoch() + 1, owners,
                     fresh ? std::vector<std::string>{} : current.owners()};
  result.moved = fresh ? q : moved_partitions(current, result.next);
  return result;
}

} // namespace troupe::cluster
