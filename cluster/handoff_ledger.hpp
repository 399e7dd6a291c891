// What a node has been handed, by sender and transfer. A transfer is one
// partition's actors on their way from one node to another: items, then a
// "done" that counts them. The receiver keeps a transfer's items until its
// done and then gives them out once, whole; the same transfer sent again,
// in part or whole (the sender did not see the acknowledgement), gives
// nothing. So an actor's state handed here is applied exactly once, and a
// second transfer of the same partition is never taken for the first.
//
// Pure: no actors, time passed in. The router owns one (`router.cpp`).
#pragma once

#include "wire/route.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace troupe::cluster {

/// A transfer's id: the sender's boot incarnation in the high 32 bits and
/// its count of transfers in that boot in the low ones. The ids of a node
/// restarted are all above those of its earlier boots.
std::uint64_t transfer_id(std::uint64_t incarnation, std::uint32_t count);

class handoff_ledger {
public:
  using time_point = std::chrono::steady_clock::time_point;

  /// Keeps an item until its transfer is done. False for a repeat (that
  /// place of the transfer is kept already, the transfer was applied, or
  /// the sender said it will not send it again) and for a transfer id 0.
  bool add(const std::string& from, wire::handoff_item item, time_point now);

  enum class outcome {
    apply,      ///< the transfer is whole: apply `items`
    repeat,     ///< applied before (or forgotten as done): acknowledge only
    incomplete, ///< items are missing: wait for the sender to send it again
  };
  struct done_result {
    outcome what = outcome::repeat;
    std::vector<wire::handoff_item> items{}; ///< apply: in sequence order
    std::size_t missing = 0;                 ///< incomplete: how many
  };

  /// The sender's done for a transfer.
  done_result done(const std::string& from, const wire::handoff_done& d,
                   time_point now);

  /// Drops the kept items of transfers that got nothing since `before`:
  /// their sender sends them again from the start, or gave them up. Returns
  /// how many items were dropped.
  std::size_t expire(time_point before);

  /// Items kept for transfers not done yet.
  std::size_t kept_items() const;
  /// Applied transfer ids remembered (those the senders may still resend).
  std::size_t remembered() const;

private:
  struct open_transfer {
    std::map<std::uint32_t, wire::handoff_item> items; // by sequence
    time_point touched{};
  };
  struct sender {
    std::uint64_t floor = 0; // ids below are never sent again
    std::set<std::uint64_t> applied;
    std::map<std::uint64_t, open_transfer> open;
  };

  bool settled(const sender& s, std::uint64_t id) const {
    return id < s.floor || s.applied.count(id) > 0;
  }
  static void raise_floor(sender& s, std::uint64_t floor);

  std::map<std::string, sender> senders_;
};

} // namespace troupe::cluster
