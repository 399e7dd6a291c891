# A "next version" of the cluster protocol, for tests only: Hello has a
# field more and Frame a union member more, following the evolution rules
# in cluster/wire/cluster.capnp.
@0xe49583e9c04c23f0;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("troupe::test::newer");

using W = import "/cluster/wire/cluster.capnp";

struct Hello {
  nodeId @0 :Text;
  name @1 :Text;
  address @2 :W.Endpoint;
  incarnation @3 :UInt64;
  challenge @4 :Data;
  cluster @5 :Text;
  software @6 :Text;
  capabilities @7 :List(Text);
  zone @8 :Text;
}

struct Frame {
  protocol @0 :UInt16;
  body :union {
    hello @1 :Hello;
    auth @2 :W.Auth;
    digest @3 :W.GossipDigest;
    state @4 :W.GossipState;
    stateRequest @5 :Void;
    heartbeat @6 :W.Heartbeat;
    heartbeatAck @7 :W.Heartbeat;
    goodbye @8 :Void;
    payload @9 :W.Payload;
    # (route @10 in the current schema; unused here)
    route @10 :Void;
    ping @11 :Text;
  }
}
