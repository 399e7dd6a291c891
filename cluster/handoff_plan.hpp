// What a node's handoffs should be, decided from the routing view alone:
// which partitions it hands over when a new ring comes, which it waits to
// be handed (and from whom), which it hands back as a fallback, and where
// each transfer goes. Pure: the router (`router.cpp`) carries it out.
#pragma once

#include "routing_view.hpp"

#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace troupe::cluster {

/// Partitions `self` owned before the ring's last change and does not now:
/// it hands each to its new owner.
std::vector<std::uint32_t> partitions_to_hand_over(const ring& r,
                                                   const std::string& self);

/// What a node does on a new ring about the partitions it gains.
struct arrival_plan {
  /// Partitions `self` owns in the new ring (its names are routed here).
  std::vector<std::uint32_t> owned;
  /// Of those, the ones whose previous owner hands them over first
  /// (messages wait here until its "done"): partition → previous owner.
  std::map<std::uint32_t, std::string> awaited;
};

/// Whether the previous owner `from` has already handed `partition` over
/// for the ring of `epoch` (it saw the ring first).
using handed_already = std::function<bool(
  const std::string& from, std::uint64_t epoch, std::uint32_t partition)>;

/// The partitions `self` owns in `v.current` and those of them it waits
/// for: the previous owner is another node, available, and not done yet.
/// An unavailable previous owner is not waited for (its names start here
/// afresh, or from what it hands over later, merged).
arrival_plan plan_arrival(const routing_view& v, const std::string& self,
                          const handed_already& done);

/// Of the partitions whose names `self` hosts (running or kept), those
/// whose target is another node now: a fallback hands them back, and state
/// handed here for names hosted elsewhere goes on.
std::set<std::uint32_t>
partitions_to_hand_back(const routing_view& v, const std::string& self,
                        const std::set<std::uint32_t>& hosted);

/// Where a transfer of partition `p` goes: its new owner when the ring
/// moved it (`ownership`), as long as that owner is an active member, even
/// unreachable (it holds the partition's messages until the transfer's
/// "done"); otherwise the partition's target (empty: nobody available). A
/// gone owner would never acknowledge: the transfer goes where messages go,
/// and from there to the owner of the next ring.
///
/// A transfer already sent (`sent_to`, not acknowledged) goes there again
/// as long as that node is an active member, reachable or not: it may
/// have applied the transfer and only its acknowledgement was lost, and
/// only it knows the transfer's id; sent elsewhere, its states would be
/// applied twice. (What it does not host, it hands on.)
std::string transfer_destination(const routing_view& v, const std::string& self,
                                 std::uint32_t p, bool ownership,
                                 const std::string& sent_to = {});

} // namespace troupe::cluster
