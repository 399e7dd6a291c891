// Atoms of the cluster layer (CAF 0.17 atoms: at most 10 characters).
#pragma once

#include <caf/atom.hpp>

namespace troupe::cluster {

// transport <-> membership
using flush_atom = caf::atom_constant<caf::atom("tr_flush")>;
using inbound_atom = caf::atom_constant<caf::atom("tr_inbound")>;
using reader_end_atom = caf::atom_constant<caf::atom("tr_rdend")>;
using exit_wait_atom = caf::atom_constant<caf::atom("tr_exitw")>;
/// Transport: is the handshake on this connection over yet?
using handshake_due_atom = caf::atom_constant<caf::atom("tr_hsdue")>;
using router_up_atom = caf::atom_constant<caf::atom("tr_rtrup")>;
using peer_frame_atom = caf::atom_constant<caf::atom("tr_pframe")>;
using peer_up_atom = caf::atom_constant<caf::atom("tr_peerup")>;
using peer_down_atom = caf::atom_constant<caf::atom("tr_peerdn")>;
using connect_atom = caf::atom_constant<caf::atom("tr_connect")>;
using connected_atom = caf::atom_constant<caf::atom("tr_conned")>;
using block_atom = caf::atom_constant<caf::atom("tr_block")>;
using crash_atom = caf::atom_constant<caf::atom("tr_crash")>;
using owner_atom = caf::atom_constant<caf::atom("tr_owner")>;
using payload_atom = caf::atom_constant<caf::atom("tr_payload")>;
using goodbye_atom = caf::atom_constant<caf::atom("tr_goodbye")>;

// membership's timers and gossip
using heartbeat_tick_atom = caf::atom_constant<caf::atom("tr_hbtick")>;
using gossip_tick_atom = caf::atom_constant<caf::atom("tr_gtick")>;
using gossip_round_atom = caf::atom_constant<caf::atom("tr_ground")>;

// membership's API
using members_atom = caf::atom_constant<caf::atom("tr_members")>;
using state_atom = caf::atom_constant<caf::atom("tr_state")>;
using join_atom = caf::atom_constant<caf::atom("tr_join")>;
using leave_atom = caf::atom_constant<caf::atom("tr_leave")>;
using down_atom = caf::atom_constant<caf::atom("tr_down")>;
using drain_atom = caf::atom_constant<caf::atom("tr_drain")>;
using service_atom = caf::atom_constant<caf::atom("tr_service")>;
using subscribe_atom = caf::atom_constant<caf::atom("tr_subscr")>;

// membership <-> router
using view_atom = caf::atom_constant<caf::atom("tr_view")>;
using handed_off_atom = caf::atom_constant<caf::atom("tr_handed")>;

// the router
using route_atom = caf::atom_constant<caf::atom("tr_route")>;
using route_send_atom = caf::atom_constant<caf::atom("tr_rsend")>;
using route_req_atom = caf::atom_constant<caf::atom("tr_rreq")>;
using activate_atom = caf::atom_constant<caf::atom("tr_activ")>;
using router_tick_atom = caf::atom_constant<caf::atom("tr_rtick")>;
using transfers_atom = caf::atom_constant<caf::atom("tr_xfers")>;
using stats_atom = caf::atom_constant<caf::atom("tr_rstats")>;

} // namespace troupe::cluster
