// The ring (a pure value): partitions of the 64-bit name-hash space, their
// owners, the claim that assigns them and preference lists.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace troupe::cluster {

/// The fixed seed of the name hash. Changing it moves every name to another
/// partition, so it never changes (pinned by test vectors).
inline constexpr std::uint64_t name_hash_seed = 0x54524f5550450001ULL;

/// The stable 64-bit hash of a name (XXH3-64 with `name_hash_seed`): the
/// same on every machine and in every version.
std::uint64_t name_hash(std::string_view name);

/// Ring sizes a cluster may use: powers of two from 1 to 16,384.
inline constexpr std::uint32_t max_ring_size = 16384;
bool is_valid_ring_size(std::uint64_t q);

/// One entry of a preference list.
struct preference {
  std::string node_id;
  /// The partition this entry stands for (a fallback stands in for the
  /// primary of this partition).
  std::uint32_t partition = 0;
  bool primary = true;

  friend bool operator==(const preference&, const preference&) = default;
};

/// Which nodes may take traffic now (up, reachable, not draining).
using availability = std::function<bool(const std::string& node_id)>;

/// Q partitions, each owned by one node. Partition `p` covers the hashes
/// whose top log2(Q) bits are `p`. A ring also remembers the owners before
/// its last change (`previous_owner`), which is what handoff moves from.
class ring {
public:
  /// The empty ring (no partitions; nothing can be routed).
  ring() = default;

  /// A ring of `owners.size()` partitions (a valid ring size) owned by
  /// `owners[p]`; `previous` is empty or the same size.
  ring(std::uint64_t epoch, const std::vector<std::string>& owners,
       const std::vector<std::string>& previous = {});

  bool empty() const {
    return owners_.empty();
  }
  std::uint32_t size() const {
    return static_cast<std::uint32_t>(owners_.size());
  }
  /// Counts the changes of ownership; every claim makes a higher one.
  std::uint64_t epoch() const {
    return epoch_;
  }

  std::uint32_t partition_of(std::uint64_t hash) const {
    return shift_ >= 64 ? 0 : static_cast<std::uint32_t>(hash >> shift_);
  }
  std::uint32_t partition_of_name(std::string_view name) const {
    return partition_of(name_hash(name));
  }
  const std::string& owner(std::uint32_t p) const {
    return nodes_[owners_[p]];
  }
  /// The owner before the last change (the owner itself if it did not
  /// change or there was none).
  const std::string& previous_owner(std::uint32_t p) const {
    return previous_.empty() ? owner(p) : nodes_[previous_[p]];
  }

  /// Owners by partition.
  std::vector<std::string> owners() const;
  /// Previous owners by partition (empty if there were none).
  std::vector<std::string> previous_owners() const;
  /// Distinct current owners, sorted.
  std::vector<std::string> members() const;
  /// Partitions owned, by node.
  std::map<std::string, std::uint32_t> counts() const;

  /// riak_core's annotated preference list for partition `p`: the `n`
  /// distinct owners of the partitions from `p` on; each one that is not
  /// available is replaced by the next available node further round the
  /// ring, marked as a fallback. Available primaries come first, in ring
  /// order, then the fallbacks.
  std::vector<preference> preference_list(std::uint32_t p, std::uint32_t n,
                                          const availability& available) const;

  /// The node a message for partition `p` goes to: the owner, or the first
  /// available node after it; empty if no node is available.
  std::string route(std::uint32_t p, const availability& available) const;

  /// Whether some `target_n` consecutive partitions (round the end) have an
  /// owner twice; the number of such windows.
  std::uint32_t spacing_violations(std::uint32_t target_n) const;

  /// A total order (epoch first), used to merge concurrent rings.
  friend auto operator<=>(const ring& a, const ring& b) {
    if (a.epoch_ != b.epoch_) {
      return a.epoch_ <=> b.epoch_;
    }
    if (auto c = a.owners() <=> b.owners(); c != 0) {
      return c;
    }
    return a.previous_owners() <=> b.previous_owners();
  }
  friend bool operator==(const ring& a, const ring& b) {
    return (a <=> b) == 0;
  }

private:
  std::uint64_t epoch_ = 0;
  unsigned shift_ = 64;
  std::vector<std::string> nodes_;      // every node referenced, sorted
  std::vector<std::uint16_t> owners_;   // index into nodes_, by partition
  std::vector<std::uint16_t> previous_; // same, or empty
};

/// How a claim went.
struct claim_result {
  ring next;
  /// Partitions whose owner changed.
  std::uint32_t moved = 0;
  /// Whether the incremental claim could not keep the spacing and the ring
  /// was laid out afresh.
  bool rebuilt = false;
};

struct claim_options {
  /// Partitions of a new ring (ignored when `current` is not empty).
  std::uint32_t ring_size = 64;
  /// Any `target_n` consecutive partitions get distinct owners when the
  /// members allow it.
  std::uint32_t target_n = 3;
};

/// The claim: the ring for `members` (node ids, any order) that follows
/// `current` with as few moves as possible. Every member owns ⌊Q/N⌋ or
/// ⌈Q/N⌉ partitions; departed owners' partitions and the surplus of those
/// above their share go to those below it, keeping `target_n` spacing where
/// it can; if the spacing cannot be kept that way, the ring is laid out
/// afresh (more moves, spacing kept). The result is a function of
/// `current` and the set of members alone, with epoch `current.epoch()+1`
/// and `current`'s owners as its previous owners. No members: an empty
/// ring.
claim_result claim(const ring& current, std::vector<std::string> members,
                   const claim_options& opts);

/// The number of partitions whose owner differs between `a` and `b` (same
/// size), or `b.size()` if the sizes differ.
std::uint32_t moved_partitions(const ring& a, const ring& b);

} // namespace troupe::cluster
