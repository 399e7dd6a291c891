// A cluster member: identity, address, incarnation, status and what it
// announces about itself (services, draining).
#pragma once

#include "../runtime/config.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>

namespace troupe::cluster {

/// A member's place in its life cycle, in the order it moves through it.
enum class member_status : std::uint8_t {
  joining,
  up,
  leaving,
  exiting,
  down,
  removed,
};

std::string to_string(member_status x);
std::optional<member_status> parse_member_status(std::string_view text);

/// Whether a member may move from `from` to `to`: joining → up → leaving →
/// exiting → removed; joining may also leave; any status before removed
/// may go down; down → removed. Nothing moves backwards; a restarted node
/// comes back as a new incarnation, not by a transition.
bool is_legal_transition(member_status from, member_status to);

/// What a node says about its own services; only that node changes it, and
/// every change has a higher `version`.
struct service_announcement {
  std::uint64_t version = 0;
  /// Service name → whether it is up (and healthy, if it has a check).
  std::map<std::string, bool> services{};
  /// The node stays a member but asks not to be given traffic.
  bool draining = false;
  /// The ring epoch up to which the node has handed off everything it no
  /// longer owns (the leader changes the ring again only after that).
  std::uint64_t handoff_epoch = 0;

  friend bool
  operator==(const service_announcement&, const service_announcement&)
    = default;
};

/// One member as every node sees it.
struct member {
  /// The node's permanent id (32 hex digits).
  std::string node_id;
  /// `name@host`, for people.
  std::string name;
  /// Where its cluster transport listens.
  runtime::endpoint address;
  /// Its boot counter: a higher one is a restarted node replacing its old
  /// self.
  std::uint64_t incarnation = 0;
  member_status status = member_status::joining;
  service_announcement announcement{};
  /// The software it runs (`0.1.0 (v0.1.0-3-gabc)`); empty if it did not
  /// say (a node older than this field).
  std::string software{};
  /// The features it supports (`capabilities.hpp`); a feature is used
  /// cluster-wide only when every active member has it.
  std::set<std::string> capabilities{};
  /// Where this record (this incarnation) entered the state: the node that
  /// added it and that node's version counter after the addition. A state
  /// whose version has passed this point has seen the record, so if it no
  /// longer holds it the record was forgotten on purpose (a removed member
  /// pruned) and must not come back from an older copy. Empty from a node
  /// older than this field (such a record is never taken as forgotten).
  std::string added_by{};
  std::uint64_t added_at = 0;
  /// The order in which members went up (the leader gives each the next
  /// number as it moves it up; 0 before that, and from a node older than
  /// this field): the lower, the older (`keep_oldest`).
  std::uint64_t up_number = 0;

  /// Whether it takes part in the cluster (joining, up, leaving).
  bool is_active() const;

  friend bool operator==(const member&, const member&) = default;
};

/// The merge of two views of the same member (same node id): the higher
/// incarnation wins; for the same incarnation the status that is further
/// along wins, the newer announcement wins, and the software and
/// capabilities the node stated win over none (a node older than those
/// fields passes records on without them), and so does the point where
/// the record was added; of two up numbers the higher (two leaders that
/// moved it up at once: both agree on it afterwards). Commutative, associative
/// and idempotent; ties are broken by comparing whole values.
member merge(const member& a, const member& b);

} // namespace troupe::cluster
