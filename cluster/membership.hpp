// The gossiped membership state (a pure value): members, reachability
// observations and a version vector, with a lawful merge.
#pragma once

#include "../runtime/config.hpp"
#include "member.hpp"
#include "ring.hpp"
#include "version_vector.hpp"

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace troupe::cluster {

/// What one member (the observer) last concluded about another (the
/// subject, in one incarnation). Only the observer writes it, with a
/// higher `version` each time.
struct reachability_record {
  std::uint64_t subject_incarnation = 0;
  std::uint64_t version = 0;
  bool unreachable = false;

  friend bool operator==(const reachability_record&, const reachability_record&)
    = default;
};

/// What `forget_removed` pruned.
struct forgotten {
  std::vector<member> members;
  std::size_t observations = 0;
};

/// The cluster state every node keeps a copy of and gossips. Removed
/// members stay as tombstones until every member has seen the removal;
/// then the leader forgets them (`forget_removed`), and the point where
/// each record was added keeps a stale copy from bringing them back. Only
/// a higher incarnation of the same node id replaces a member.
class membership {
public:
  using members_type = std::map<std::string, member>;    // by node id
  using reach_key = std::pair<std::string, std::string>; // observer, subject
  using reach_type = std::map<reach_key, reachability_record>;

  membership() = default;

  const members_type& members() const {
    return members_;
  }
  const reach_type& reachability() const {
    return reach_;
  }
  const version_vector& version() const {
    return version_;
  }
  /// The ring the leader last claimed (empty before anyone is up).
  const ring& current_ring() const {
    return ring_;
  }

  /// The member with this node id, if known.
  const member* find(const std::string& node_id) const;

  // -- local changes: each bumps `by`'s entry of the version ------------------

  /// Adds or replaces a member (a join, or a restarted node with a higher
  /// incarnation), recording `by` and its new version counter as the point
  /// where it was added. A lower incarnation than the one known is
  /// ignored; observations of the replaced incarnation are dropped.
  /// Returns whether the state changed.
  bool add(const member& m, const std::string& by);

  /// Moves a member to `to` if that is a legal transition; returns whether
  /// it did. A member moved up gets the next up number.
  bool transition(const std::string& node_id, member_status to,
                  const std::string& by);

  /// Records what `observer` concluded about `subject`; returns whether it
  /// changed anything. Reachable is the default: it is written only to
  /// clear the observer's flag on the subject's present incarnation.
  bool observe(const std::string& observer, const std::string& subject,
               bool unreachable);

  /// Replaces `node_id`'s own announcement (only that node calls this).
  bool announce(const std::string& node_id, service_announcement a);

  /// Raises `node`'s version entry to at least `floor` (a node starting a
  /// new incarnation: see `member::added_at`).
  void raise_version(const std::string& node, std::uint64_t floor) {
    version_.raise(node, floor);
  }

  /// Forgets removed members whose records say where they were added (the
  /// merge never takes those back from an older copy; a record from a node
  /// older than `member::added_by` could come back, so it is kept) and the
  /// observations whose observer or subject is removed or gone, or that
  /// concern an earlier incarnation of their subject. A change by `by` if
  /// it pruned anything.
  forgotten forget_removed(const std::string& by);

  /// Replaces the ring (only the leader calls this); returns whether it
  /// changed.
  bool set_ring(ring r, const std::string& by);

  /// Puts back the software, capabilities and point of addition `earlier`
  /// knew for a member's same incarnation where this state has none: a newer
  /// state passed on by a node whose build predates those fields arrives
  /// without them. Not a change of the state (the version stays).
  void keep_stated(const membership& earlier);

  // -- queries ----------------------------------------------------------------

  /// Whether some active member currently sees `subject` (in its present
  /// incarnation) as unreachable.
  bool is_unreachable(const std::string& subject) const;

  /// Active members that no one sees as unreachable, by node id.
  std::vector<std::string> reachable_active() const;

  /// The member that performs the cluster's housekeeping (moving joining
  /// members up, removing exiting ones, downing the long unreachable): the
  /// reachable up or leaving member with the lowest address, or, before
  /// anyone is up, the reachable joining member with the lowest address.
  /// Derived from the state alone, so every converged node agrees.
  std::optional<std::string> leader() const;

  /// The merge: members held by both by `cluster::merge`; a member held by
  /// one side only is kept unless the other side's version has seen it
  /// added (then that side forgot it: `forget_removed`); observations by
  /// the higher (subject incarnation, version), dropping those of members
  /// not kept or of an earlier incarnation; versions by pointwise maximum,
  /// rings by the higher epoch (ties by the rings' total order).
  /// Commutative, associative and idempotent on states made by these
  /// operations.
  static membership merge(const membership& a, const membership& b);

  friend bool operator==(const membership&, const membership&) = default;

  /// Rebuilds a state from its parts (for the codec and persistence).
  static membership from_parts(members_type members, reach_type reach,
                               version_vector version, ring r = {});

private:
  members_type members_;
  reach_type reach_;
  version_vector version_;
  ring ring_;
};

/// The gossip state of one node: the membership and which nodes have seen
/// exactly its version.
struct gossip_state {
  membership state;
  std::set<std::string> seen;
};

/// The outcome of receiving a peer's gossip.
enum class gossip_outcome {
  same,   ///< versions equal: seen sets united
  newer,  ///< the peer's state was newer: taken
  older,  ///< ours was newer: kept; the peer should be sent ours
  merged, ///< concurrent: merged (versions by pointwise maximum); seen by
          ///< `self` alone
};

std::string to_string(gossip_outcome x);

/// Folds a peer's gossip into `local` on node `self`.
gossip_outcome receive_gossip(gossip_state& local, const gossip_state& remote,
                              const std::string& self);

/// Whether every reachable active member has seen the current version
/// (down and removed members and the unreachable do not count).
bool converged(const gossip_state& g);

/// The housekeeping the leader performs on a converged state.
struct leader_policy {
  /// Unreachable members are marked down after this long (as seen by the
  /// leader's own clock); nullopt: only an operator downs members.
  std::optional<std::chrono::milliseconds> down_after{};
  /// How the ring is claimed.
  claim_options claim{};
  /// A leader whose side has no quorum (`quorum.hpp`) downs nobody and
  /// claims no ring.
  runtime::split_brain_policy split_brain{};
};

/// Applies the leader's housekeeping to `g` on node `self` if `self` is the
/// leader: joining → up when converged; leaving → exiting when converged
/// and the member has handed off its partitions; exiting and down →
/// removed when converged; members unreachable for longer than
/// `down_after` (per `unreachable_for`) → down, if its side has quorum.
/// Then, when converged and with quorum, the ring is claimed again if its
/// owners are not the up members and every reachable owner has finished
/// the last handoff. Returns the transitions
/// made, as (node id, new status).
std::vector<std::pair<std::string, member_status>> leader_actions(
  gossip_state& g, const std::string& self, const leader_policy& policy,
  const std::map<std::string, std::chrono::milliseconds>& unreachable_for);

/// The leader's pruning (`membership::forget_removed`), only on a converged
/// state: every reachable active member has then seen each removal before
/// the record goes.
forgotten forget_removed(gossip_state& g, const std::string& self);

/// Picks the peer for a gossip round from `connected` (node ids of peers
/// with a live connection), using the uniform random number `random`: with
/// probability 0.8 one that has not seen the current version, if any (so
/// news reaches the ignorant first), otherwise any. Removed and down
/// members are skipped; connected nodes not yet in the state (a joiner)
/// count as not having seen it.
std::optional<std::string>
choose_gossip_peer(const gossip_state& g, const std::string& self,
                   const std::vector<std::string>& connected,
                   std::uint64_t random);

} // namespace troupe::cluster
