# What Troupe nodes say to each other about the cluster.
#
# Evolution rules (so that nodes one version apart interoperate during a
# rolling upgrade):
# - Add fields only at the end of a struct, with the next ordinal. Never
#   remove, renumber or retype a field; a field no longer used stays, and
#   is left at its default.
# - Add union members and enumerants only at the end. A node that meets a
#   union member it does not know skips that frame (logged) and keeps the
#   connection; an enumerant it does not know makes the frame invalid.
# - Defaults are part of the contract: a new field's default must mean
#   "behave as before".
# - `Frame.protocol` is the major protocol version. It changes only when a
#   change cannot follow these rules; a node refuses frames of another
#   major version and drops the connection.
@0xc37874d1e5fc5b4b;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("troupe::cluster::wire");

struct Endpoint {
  host @0 :Text;
  port @1 :UInt16;
}

enum MemberStatus {
  joining @0;
  up @1;
  leaving @2;
  exiting @3;
  down @4;
  removed @5;
}

struct Service {
  name @0 :Text;
  up @1 :Bool;
}

struct Announcement {
  version @0 :UInt64;
  services @1 :List(Service);
  draining @2 :Bool;
  handoffEpoch @3 :UInt64;
}

struct Member {
  nodeId @0 :Text;
  name @1 :Text;
  address @2 :Endpoint;
  incarnation @3 :UInt64;
  status @4 :MemberStatus;
  announcement @5 :Announcement;
  # The software the node runs and the features it supports (empty from a
  # node older than these fields: it supports none of them).
  software @6 :Text;
  capabilities @7 :List(Text);
  # Where this incarnation's record entered the state: the node that added
  # it and that node's version counter then (empty and 0 from a node older
  # than these fields). A state past that point that lacks the record has
  # forgotten it, and an older copy must not bring it back.
  addedBy @8 :Text;
  addedAt @9 :UInt64;
  # The order in which members went up (0: not yet, or from a node older
  # than this field).
  upNumber @10 :UInt64;
}

struct VersionEntry {
  nodeId @0 :Text;
  counter @1 :UInt64;
}

struct Reachability {
  observer @0 :Text;
  subject @1 :Text;
  subjectIncarnation @2 :UInt64;
  version @3 :UInt64;
  unreachable @4 :Bool;
}

# Partition owners: `owners[p]` and `previous[p]` index `nodes`; no
# partitions means no ring yet.
struct Ring {
  epoch @0 :UInt64;
  nodes @1 :List(Text);
  owners @2 :List(UInt16);
  previous @3 :List(UInt16);
}

struct Membership {
  members @0 :List(Member);
  reachability @1 :List(Reachability);
  version @2 :List(VersionEntry);
  ring @3 :Ring;
}

struct GossipState {
  membership @0 :Membership;
  seen @1 :List(Text);
}

# The first frame on a connection, both ways: who the sender is, and a
# random challenge the other side must answer.
struct Hello {
  nodeId @0 :Text;
  name @1 :Text;
  address @2 :Endpoint;
  incarnation @3 :UInt64;
  challenge @4 :Data;
  # The cluster the sender belongs to; nodes of different clusters refuse
  # each other.
  cluster @5 :Text;
  # As in Member: the sender's software and capabilities.
  software @6 :Text;
  capabilities @7 :List(Text);
  # The protection the sender offers for the frames after the handshake:
  # "encrypt", "authenticate" or "none"; empty from builds before session
  # security (see cluster/session.hpp).
  security @8 :Text;
}

# The answer to the peer's challenge: HMAC-SHA-512-256 keyed with the shared
# cluster secret over the peer's challenge and the sender's node id.
# The proof that the sender knows the cluster's secret: an HMAC over both
# hellos' node ids and challenges, the cluster, the protocol version and
# the sender's role. The side that dialled sends its proof first; the
# side that accepted answers with its own only after verifying it.
struct Auth {
  mac @0 :Data;
}

# Gossip, digest first: the sender's version and seen set. The receiver
# answers with its full state only if it is newer or concurrent, or asks
# for the sender's if it is older.
struct GossipDigest {
  version @0 :List(VersionEntry);
  seen @1 :List(Text);
}

struct Heartbeat {
  sequence @0 :UInt64;
}

struct Frame {
  protocol @0 :UInt16;
  body :union {
    hello @1 :Hello;
    auth @2 :Auth;
    digest @3 :GossipDigest;
    state @4 :GossipState;
    # "Your state is newer or concurrent with mine: send it."
    stateRequest @5 :Void;
    heartbeat @6 :Heartbeat;
    heartbeatAck @7 :Heartbeat;
    # "I am leaving on purpose": the receiver need not suspect a crash.
    goodbye @8 :Void;
    # Bytes for a handler registered on the receiving node under `kind`.
    payload @9 :Payload;
    # Routing by name and handoff.
    route @10 :Route;
  }
}

# A message for the actor registered under `name` (`kind/key`) on the node
# that owns the name's partition.
struct Routed {
  name @0 :Text;
  # The message, serialized by CAF (its types registered on both nodes).
  message @1 :Data;
  # Forwards so far; the receiver refuses more than its limit.
  hops @2 :UInt8;
  # The ring epoch the sender routed by.
  epoch @3 :UInt64;
  # Requests only: where the reply goes, and its number there (0: a send).
  origin @4 :Text;
  requestId @5 :UInt64;
  # Forwarded by the previous owner of the name's partition during handoff.
  fromPrevious @6 :Bool;
}

struct RouteReply {
  requestId @0 :UInt64;
  # Empty when `error` is set.
  message @1 :Data;
  error @2 :Text;
}

# One actor's state, moving with its partition to the new owner.
struct HandoffItem {
  epoch @0 :UInt64;
  partition @1 :UInt32;
  name @2 :Text;
  state @3 :Data;
  # The transfer it belongs to (unique for the sender, over its restarts
  # too) and its place in it (0, 1, ...): a resent item is recognised.
  transfer @4 :UInt64;
  sequence @5 :UInt32;
}

# Everything of the transfer has been sent (`items` of them); the receiver
# applies them now, once.
struct HandoffDone {
  epoch @0 :UInt64;
  partition @1 :UInt32;
  items @2 :UInt32;
  transfer @3 :UInt64;
  # The sender's oldest transfer not yet acknowledged: it will never send
  # one below, so the receiver forgets those.
  openFrom @4 :UInt64;
}

struct HandoffAck {
  epoch @0 :UInt64;
  partition @1 :UInt32;
  transfer @2 :UInt64;
}

struct Route {
  body :union {
    routed @0 :Routed;
    reply @1 :RouteReply;
    item @2 :HandoffItem;
    done @3 :HandoffDone;
    ack @4 :HandoffAck;
  }
}

struct Payload {
  kind @0 :Text;
  data @1 :Data;
}

# What a node keeps in its data directory to come back as itself.
struct PersistedState {
  nodeId @0 :Text;
  incarnation @1 :UInt64;
  gossip @2 :GossipState;
}
