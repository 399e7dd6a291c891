// Capabilities: the features a node's build supports, stated in its member
// record and its hello. A feature whose behaviour other nodes must share is
// used only once every active member states it (riak_core's capability
// negotiation), so that a cluster can be upgraded one node at a time.
#pragma once

#include "member.hpp"

#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <caf/error.hpp>

namespace troupe::cluster {

/// Stated by every node of this version of Troupe: once the negotiated set
/// holds it, no node older than capability negotiation is left.
constexpr std::string_view capability_negotiation = "troupe.capabilities";

/// Every active member forgets removed members the same way (records carry
/// where they were added, so a forgotten one cannot come back): only then
/// does the leader prune them.
constexpr std::string_view capability_forget_removed
  = "troupe.membership.forget";

/// The capabilities Troupe's own cluster layer states.
std::set<std::string> troupe_capabilities();

/// The software this build is, as a member record states it:
/// `<version> (<git describe>)`.
std::string this_software();

/// Checks capabilities a program adds (`node::options::capabilities`): at
/// most 32, each 1 to 64 bytes of `a-z`, `0-9`, `.`, `_` or `-`, so that
/// a hello stays far below the handshake's frame limit.
caf::error check_capabilities(const std::set<std::string>& caps);

/// The capabilities every active member (joining, up or leaving; reachable
/// or not) states: the ones the cluster may use now. Empty without
/// members.
std::set<std::string>
negotiated_capabilities(const std::vector<member>& members);

/// For each active member, the negotiated-or-not capabilities of `all` it
/// lacks (what holds the cluster back), by member name.
std::vector<std::pair<std::string, std::set<std::string>>>
missing_capabilities(const std::vector<member>& members);

} // namespace troupe::cluster
