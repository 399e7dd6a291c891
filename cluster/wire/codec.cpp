// The cluster protocol's frames and their Cap'n Proto encoding.
#include "codec.hpp"

#include "../errors.hpp"
#include "cluster.capnp.h" // generated from cluster.capnp (see meson.build)

#include <capnp/message.h>
#include <capnp/serialize.h>
#include <fmt/format.h>
#include <kj/exception.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <stdexcept>

// TROUPE_WIRE_WITHOUT_CAPABILITIES is defined only by the upgrade test
// (tests/upgrade), which builds this file against the schema as it was
// before members stated their software, capabilities, where they were
// added and their up number, to run the previous release's wire beside
// this one.

namespace troupe::cluster::wire {

namespace {

// -- encoding ---------------------------------------------------------------

void write(Endpoint::Builder out, const runtime::endpoint& ep) {
  out.setHost(ep.host);
  out.setPort(ep.port);
}

void write(Member::Builder out, const member& m) {
  out.setNodeId(m.node_id);
  out.setName(m.name);
  write(out.initAddress(), m.address);
  out.setIncarnation(m.incarnation);
  out.setStatus(static_cast<MemberStatus>(m.status));
  auto a = out.initAnnouncement();
  a.setVersion(m.announcement.version);
  a.setDraining(m.announcement.draining);
  a.setHandoffEpoch(m.announcement.handoff_epoch);
  auto services
    = a.initServices(static_cast<unsigned>(m.announcement.services.size()));
  unsigned i = 0;
  for (const auto& [name, up] : m.announcement.services) {
    services[i].setName(name);
    services[i].setUp(up);
    ++i;
  }
#ifndef TROUPE_WIRE_WITHOUT_CAPABILITIES
  out.setSoftware(m.software);
  auto caps
    = out.initCapabilities(static_cast<unsigned>(m.capabilities.size()));
  i = 0;
  for (const auto& c : m.capabilities) {
    caps.set(i++, c);
  }
  out.setAddedBy(m.added_by);
  out.setAddedAt(m.added_at);
  out.setUpNumber(m.up_number);
#endif
}

void write(capnp::List<VersionEntry>::Builder out, const version_vector& v) {
  unsigned i = 0;
  for (const auto& [node, n] : v.entries()) {
    out[i].setNodeId(node);
    out[i].setCounter(n);
    ++i;
  }
}

void write(capnp::List<capnp::Text>::Builder out,
           const std::set<std::string>& xs) {
  unsigned i = 0;
  for (const auto& x : xs) {
    out.set(i++, x);
  }
}

void write(Ring::Builder out, const ring& r) {
  if (r.empty()) {
    return;
  }
  out.setEpoch(r.epoch());
  auto owners = r.owners();
  auto previous = r.previous_owners();
  std::vector<std::string> nodes(owners.begin(), owners.end());
  nodes.insert(nodes.end(), previous.begin(), previous.end());
  std::sort(nodes.begin(), nodes.end());
  nodes.erase(std::unique(nodes.begin(), nodes.end()), nodes.end());
  auto ns = out.initNodes(static_cast<unsigned>(nodes.size()));
  for (unsigned i = 0; i < nodes.size(); ++i) {
    ns.set(i, nodes[i]);
  }
  auto index = [&nodes](const std::string& id) {
    return static_cast<std::uint16_t>(
      std::lower_bound(nodes.begin(), nodes.end(), id) - nodes.begin());
  };
  auto os = out.initOwners(static_cast<unsigned>(owners.size()));
  for (unsigned p = 0; p < owners.size(); ++p) {
    os.set(p, index(owners[p]));
  }
  auto ps = out.initPrevious(static_cast<unsigned>(previous.size()));
  for (unsigned p = 0; p < previous.size(); ++p) {
    ps.set(p, index(previous[p]));
  }
}

void write(GossipState::Builder out, const gossip_state& g) {
  auto m = out.initMembership();
  const auto& members = g.state.members();
  auto ms = m.initMembers(static_cast<unsigned>(members.size()));
  unsigned i = 0;
  for (const auto& [id, x] : members) {
    write(ms[i++], x);
  }
  const auto& reach = g.state.reachability();
  auto rs = m.initReachability(static_cast<unsigned>(reach.size()));
  i = 0;
  for (const auto& [key, rec] : reach) {
    rs[i].setObserver(key.first);
    rs[i].setSubject(key.second);
    rs[i].setSubjectIncarnation(rec.subject_incarnation);
    rs[i].setVersion(rec.version);
    rs[i].setUnreachable(rec.unreachable);
    ++i;
  }
  write(
    m.initVersion(static_cast<unsigned>(g.state.version().entries().size())),
    g.state.version());
  write(m.initRing(), g.state.current_ring());
  write(out.initSeen(static_cast<unsigned>(g.seen.size())), g.seen);
}

kj::ArrayPtr<const kj::byte> as_bytes(const std::string& s) {
  return {reinterpret_cast<const kj::byte*>(s.data()), s.size()};
}

struct route_writer {
  Route::Body::Builder body;

  void operator()(const routed& x) {
    auto r = body.initRouted();
    r.setName(x.name);
    r.setMessage(as_bytes(x.message));
    r.setHops(x.hops);
    r.setEpoch(x.epoch);
    r.setOrigin(x.origin);
    r.setRequestId(x.request_id);
    r.setFromPrevious(x.from_previous);
  }
  void operator()(const route_reply& x) {
    auto r = body.initReply();
    r.setRequestId(x.request_id);
    r.setMessage(as_bytes(x.message));
    r.setError(x.error);
  }
  void operator()(const handoff_item& x) {
    auto h = body.initItem();
    h.setEpoch(x.epoch);
    h.setPartition(x.partition);
    h.setName(x.name);
    h.setState(as_bytes(x.state));
    h.setTransfer(x.transfer);
    h.setSequence(x.sequence);
  }
  void operator()(const handoff_done& x) {
    auto h = body.initDone();
    h.setEpoch(x.epoch);
    h.setPartition(x.partition);
    h.setItems(x.items);
    h.setTransfer(x.transfer);
    h.setOpenFrom(x.open_from);
  }
  void operator()(const handoff_ack& x) {
    auto h = body.initAck();
    h.setEpoch(x.epoch);
    h.setPartition(x.partition);
    h.setTransfer(x.transfer);
  }
};

struct body_writer {
  Frame::Body::Builder body;

  void operator()(const hello& x) {
    auto h = body.initHello();
    h.setNodeId(x.node_id);
    h.setName(x.name);
    write(h.initAddress(), x.address);
    h.setIncarnation(x.incarnation);
    h.setChallenge(as_bytes(x.challenge));
    h.setCluster(x.cluster);
#ifndef TROUPE_WIRE_WITHOUT_CAPABILITIES
    h.setSoftware(x.software);
    auto caps
      = h.initCapabilities(static_cast<unsigned>(x.capabilities.size()));
    unsigned i = 0;
    for (const auto& c : x.capabilities) {
      caps.set(i++, c);
    }
    h.setSecurity(x.security);
#endif
  }
  void operator()(const auth& x) {
    body.initAuth().setMac(as_bytes(x.mac));
  }
  void operator()(const digest& x) {
    auto d = body.initDigest();
    write(d.initVersion(static_cast<unsigned>(x.version.entries().size())),
          x.version);
    write(d.initSeen(static_cast<unsigned>(x.seen.size())), x.seen);
  }
  void operator()(const state& x) {
    write(body.initState(), x.gossip);
  }
  void operator()(const state_request&) {
    body.setStateRequest();
  }
  void operator()(const heartbeat& x) {
    body.initHeartbeat().setSequence(x.sequence);
  }
  void operator()(const heartbeat_ack& x) {
    body.initHeartbeatAck().setSequence(x.sequence);
  }
  void operator()(const goodbye&) {
    body.setGoodbye();
  }
  void operator()(const payload& x) {
    auto p = body.initPayload();
    p.setKind(x.kind);
    p.setData(as_bytes(x.data));
  }
  void operator()(const route& x) {
    std::visit(route_writer{body.initRoute().initBody()}, x.body);
  }
  void operator()(const unknown_frame&) {
    throw std::logic_error("an unknown frame cannot be encoded");
  }
};

std::vector<std::uint8_t> to_bytes(capnp::MessageBuilder& mb) {
  auto words = capnp::messageToFlatArray(mb);
  auto bytes = words.asBytes();
  return {bytes.begin(), bytes.end()};
}

// -- decoding ---------------------------------------------------------------

// Thrown inside the decoder only; `decode` turns it into an error.
struct bad_input : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct reader {
  const limits& lim;

  std::string text(capnp::Text::Reader t, const char* what) const {
    if (t.size() > lim.max_text) {
      throw bad_input(fmt::format("{} is {} bytes long (limit {})", what,
                                  t.size(), lim.max_text));
    }
    return no_nul({t.cStr(), t.size()}, what);
  }

  // A text ends at its first NUL byte for every reader of Cap'n Proto
  // text, and for our encoder: one with a NUL inside would be read as
  // two different texts by the receiver and whoever it passes it on to.
  static std::string no_nul(std::string x, const char* what) {
    if (x.find('\0') != std::string::npos) {
      throw bad_input(fmt::format("{} contains a NUL byte", what));
    }
    return x;
  }

  std::string node_id(capnp::Text::Reader t, const char* what) const {
    auto id = text(t, what);
    if (!is_node_id(id)) {
      throw bad_input(fmt::format("{} is not a node id", what));
    }
    return id;
  }

  template <class List>
  void check_size(const List& xs, const char* what) const {
    if (xs.size() > lim.max_list) {
      throw bad_input(fmt::format("{} has {} entries (limit {})", what,
                                  xs.size(), lim.max_list));
    }
  }

  runtime::endpoint endpoint(Endpoint::Reader ep) const {
    return {.host = text(ep.getHost(), "host"), .port = ep.getPort()};
  }

  member read(Member::Reader m) const {
    auto status = static_cast<unsigned>(m.getStatus());
    if (status > static_cast<unsigned>(member_status::removed)) {
      throw bad_input(fmt::format("member status {} is unknown", status));
    }
    member out{.node_id = node_id(m.getNodeId(), "member node id"),
               .name = text(m.getName(), "member name"),
               .address = endpoint(m.getAddress()),
               .incarnation = m.getIncarnation(),
               .status = static_cast<member_status>(status)};
    auto a = m.getAnnouncement();
    out.announcement.version = a.getVersion();
    out.announcement.draining = a.getDraining();
    out.announcement.handoff_epoch = a.getHandoffEpoch();
    check_size(a.getServices(), "services");
    for (auto s : a.getServices()) {
      out.announcement.services[text(s.getName(), "service name")] = s.getUp();
    }
#ifndef TROUPE_WIRE_WITHOUT_CAPABILITIES
    out.software = text(m.getSoftware(), "member software");
    out.capabilities = capabilities(m.getCapabilities());
    if (m.hasAddedBy() && m.getAddedBy().size() > 0) {
      out.added_by = node_id(m.getAddedBy(), "member added by");
      out.added_at = m.getAddedAt();
    }
    out.up_number = m.getUpNumber();
#endif
    return out;
  }

  std::set<std::string>
  capabilities(capnp::List<capnp::Text>::Reader xs) const {
    if (xs.size() > lim.max_capabilities) {
      throw bad_input(fmt::format("capabilities has {} entries (limit {})",
                                  xs.size(), lim.max_capabilities));
    }
    std::set<std::string> out;
    for (auto x : xs) {
      out.insert(text(x, "capability"));
    }
    return out;
  }

  version_vector version(capnp::List<VersionEntry>::Reader xs) const {
    check_size(xs, "version");
    version_vector::entries_type entries;
    for (auto e : xs) {
      if (e.getCounter() > 0) {
        entries[node_id(e.getNodeId(), "version node id")] = e.getCounter();
      }
    }
    return version_vector{std::move(entries)};
  }

  ring read(Ring::Reader r) const {
    auto owners = r.getOwners();
    if (owners.size() == 0) {
      return {};
    }
    if (!is_valid_ring_size(owners.size())) {
      throw bad_input(
        fmt::format("a ring of {} partitions is not allowed", owners.size()));
    }
    check_size(r.getNodes(), "ring nodes");
    std::vector<std::string> nodes;
    for (auto n : r.getNodes()) {
      nodes.push_back(node_id(n, "ring node id"));
    }
    auto by_index = [&nodes](capnp::List<std::uint16_t>::Reader xs) {
      std::vector<std::string> out;
      out.reserve(xs.size());
      for (auto i : xs) {
        if (i >= nodes.size()) {
          throw bad_input(
            fmt::format("ring owner index {} is out of range", i));
        }
        out.push_back(nodes[i]);
      }
      return out;
    };
    auto previous = r.getPrevious();
    if (previous.size() != 0 && previous.size() != owners.size()) {
      throw bad_input("ring: previous owners do not match its partitions");
    }
    return ring{r.getEpoch(), by_index(owners), by_index(previous)};
  }

  std::set<std::string> ids(capnp::List<capnp::Text>::Reader xs) const {
    check_size(xs, "seen");
    std::set<std::string> out;
    for (auto x : xs) {
      out.insert(node_id(x, "seen node id"));
    }
    return out;
  }

  gossip_state gossip(GossipState::Reader g) const {
    auto m = g.getMembership();
    check_size(m.getMembers(), "members");
    check_size(m.getReachability(), "reachability");
    membership::members_type members;
    for (auto x : m.getMembers()) {
      auto mem = read(x);
      auto id = mem.node_id;
      members[id] = std::move(mem);
    }
    membership::reach_type reach;
    for (auto r : m.getReachability()) {
      reach[{node_id(r.getObserver(), "observer"),
             node_id(r.getSubject(), "subject")}]
        = {.subject_incarnation = r.getSubjectIncarnation(),
           .version = r.getVersion(),
           .unreachable = r.getUnreachable()};
    }
    return {.state = membership::from_parts(
              std::move(members), std::move(reach), version(m.getVersion()),
              read(m.getRing())),
            .seen = ids(g.getSeen())};
  }

  std::string data(capnp::Data::Reader d, const char* what) const {
    if (d.size() != challenge_bytes) {
      throw bad_input(fmt::format("{} is {} bytes (expected {})", what,
                                  d.size(), challenge_bytes));
    }
    return {reinterpret_cast<const char*>(d.begin()), d.size()};
  }

  std::string name(capnp::Text::Reader t) const {
    if (t.size() == 0 || t.size() > max_name_bytes) {
      throw bad_input(fmt::format("a name of {} bytes (1 to {} allowed)",
                                  t.size(), max_name_bytes));
    }
    return no_nul({t.cStr(), t.size()}, "a name");
  }

  static std::string bytes(capnp::Data::Reader d) {
    return {reinterpret_cast<const char*>(d.begin()), d.size()};
  }

  route route_body(Route::Body::Reader b) const {
    switch (b.which()) {
      case Route::Body::ROUTED: {
        auto r = b.getRouted();
        auto origin = text(r.getOrigin(), "origin");
        if (!origin.empty() && !is_node_id(origin)) {
          throw bad_input("origin is not a node id");
        }
        return {routed{.name = name(r.getName()),
                       .message = bytes(r.getMessage()),
                       .hops = r.getHops(),
                       .epoch = r.getEpoch(),
                       .origin = std::move(origin),
                       .request_id = r.getRequestId(),
                       .from_previous = r.getFromPrevious()}};
      }
      case Route::Body::REPLY: {
        auto r = b.getReply();
        return {route_reply{.request_id = r.getRequestId(),
                            .message = bytes(r.getMessage()),
                            .error = text(r.getError(), "reply error")}};
      }
      case Route::Body::ITEM: {
        auto h = b.getItem();
        return {handoff_item{.epoch = h.getEpoch(),
                             .partition = h.getPartition(),
                             .name = name(h.getName()),
                             .state = bytes(h.getState()),
                             .transfer = h.getTransfer(),
                             .sequence = h.getSequence()}};
      }
      case Route::Body::DONE: {
        auto h = b.getDone();
        return {handoff_done{.epoch = h.getEpoch(),
                             .partition = h.getPartition(),
                             .items = h.getItems(),
                             .transfer = h.getTransfer(),
                             .open_from = h.getOpenFrom()}};
      }
      case Route::Body::ACK: {
        auto h = b.getAck();
        return {handoff_ack{.epoch = h.getEpoch(),
                            .partition = h.getPartition(),
                            .transfer = h.getTransfer()}};
      }
    }
    throw bad_input(fmt::format("route body {} is unknown",
                                static_cast<unsigned>(b.which())));
  }

  frame body(Frame::Body::Reader b) const {
    switch (b.which()) {
      case Frame::Body::HELLO: {
        auto h = b.getHello();
        return hello{.node_id = node_id(h.getNodeId(), "hello node id"),
                     .name = text(h.getName(), "hello name"),
                     .address = endpoint(h.getAddress()),
                     .incarnation = h.getIncarnation(),
                     .challenge = data(h.getChallenge(), "challenge"),
#ifdef TROUPE_WIRE_WITHOUT_CAPABILITIES
                     .cluster = text(h.getCluster(), "cluster")};
#else
                     .cluster = text(h.getCluster(), "cluster"),
                     .software = text(h.getSoftware(), "hello software"),
                     .capabilities = capabilities(h.getCapabilities()),
                     .security = text(h.getSecurity(), "hello security")};
#endif
      }
      case Frame::Body::AUTH:
        return auth{.mac = data(b.getAuth().getMac(), "mac")};
      case Frame::Body::DIGEST:
        return digest{.version = version(b.getDigest().getVersion()),
                      .seen = ids(b.getDigest().getSeen())};
      case Frame::Body::STATE:
        return state{.gossip = gossip(b.getState())};
      case Frame::Body::STATE_REQUEST:
        return state_request{};
      case Frame::Body::HEARTBEAT:
        return heartbeat{.sequence = b.getHeartbeat().getSequence()};
      case Frame::Body::HEARTBEAT_ACK:
        return heartbeat_ack{.sequence = b.getHeartbeatAck().getSequence()};
      case Frame::Body::GOODBYE:
        return goodbye{};
      case Frame::Body::PAYLOAD: {
        auto p = b.getPayload();
        auto data = p.getData();
        return payload{.kind = text(p.getKind(), "payload kind"),
                       .data = {reinterpret_cast<const char*>(data.begin()),
                                data.size()}};
      }
      case Frame::Body::ROUTE:
        return route_body(b.getRoute().getBody());
    }
    return unknown_frame{.which = static_cast<std::uint16_t>(b.which())};
  }
};

// Runs `f` on a reader over `data`; every failure becomes an error.
template <class T, class F>
caf::expected<T> with_reader(const std::uint8_t* data, std::size_t size,
                             const limits& lim, F f) {
  if (size > lim.max_frame_bytes) {
    return caf::make_error(errc::oversized_frame,
                           fmt::format("{} bytes (limit {})", size,
                                       lim.max_frame_bytes));
  }
  if (size == 0 || size % sizeof(capnp::word) != 0) {
    return caf::make_error(errc::malformed_frame,
                           fmt::format("{} bytes is not a whole number of "
                                       "words",
                                       size));
  }
  // Cap'n Proto reads from word-aligned memory.
  auto words = kj::heapArray<capnp::word>(size / sizeof(capnp::word));
  std::memcpy(words.begin(), data, size);
  capnp::ReaderOptions options;
  options.traversalLimitInWords = words.size() * 2 + 64;
  options.nestingLimit = 16;
  try {
    capnp::FlatArrayMessageReader msg{words, options};
    if (msg.getEnd() != words.end()) {
      return caf::make_error(errc::malformed_frame,
                             "trailing bytes after the message");
    }
    return f(msg, reader{lim});
  } catch (const bad_input& e) {
    return caf::make_error(errc::malformed_frame, e.what());
  } catch (const kj::Exception& e) {
    return caf::make_error(errc::malformed_frame,
                           std::string{e.getDescription().cStr()});
  }
}

} // namespace

bool is_node_id(const std::string& id) {
  return id.size() == 32 && std::all_of(id.begin(), id.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

std::string kind_of(const frame& f) {
  static constexpr const char* names[]
    = {"hello",         "auth",      "digest",        "state",
       "state_request", "heartbeat", "heartbeat_ack", "goodbye",
       "payload",       "route",     "unknown"};
  return names[f.index()];
}

std::string bounded_text(std::string text, std::size_t max) {
  std::erase(text, '\0');
  if (text.size() <= max) {
    return text;
  }
  constexpr std::string_view ellipsis = "...";
  auto keep = max > ellipsis.size() ? max - ellipsis.size() : 0;
  // Not inside a multi-byte character: continuation bytes are 10xxxxxx.
  while (keep > 0 && (static_cast<unsigned char>(text[keep]) & 0xc0) == 0x80) {
    --keep;
  }
  text.resize(keep);
  text += ellipsis.substr(0, std::min(ellipsis.size(), max - keep));
  return text;
}

std::vector<std::uint8_t> encode(const frame& f) {
  // Frames are encoded one after another on a few threads: each thread
  // builds in scratch space of its own (kept zeroed by the builder), so a
  // small frame costs no allocation of a first segment.
  thread_local std::array<capnp::word, 1024> scratch{};
  capnp::MallocMessageBuilder mb{kj::arrayPtr(scratch.data(), scratch.size())};
  auto root = mb.initRoot<Frame>();
  root.setProtocol(protocol_version);
  std::visit(body_writer{root.initBody()}, f);
  return to_bytes(mb);
}

caf::expected<frame> decode(const std::uint8_t* data, std::size_t size,
                            const limits& lim) {
  return with_reader<frame>(
    data, size, lim,
    [](capnp::MessageReader& msg, const reader& r) -> caf::expected<frame> {
      auto root = msg.getRoot<Frame>();
      if (root.getProtocol() != protocol_version) {
        return caf::make_error(errc::unsupported_protocol,
                               fmt::format("protocol {} (this node speaks "
                                           "{})",
                                           root.getProtocol(),
                                           protocol_version));
      }
      return r.body(root.getBody());
    });
}

std::vector<std::uint8_t> encode(const persisted_state& s) {
  capnp::MallocMessageBuilder mb;
  auto root = mb.initRoot<PersistedState>();
  root.setNodeId(s.node_id);
  root.setIncarnation(s.incarnation);
  write(root.initGossip(), s.gossip);
  return to_bytes(mb);
}

caf::expected<std::vector<std::uint8_t>>
encode_checked(const persisted_state& s) {
  auto bytes = encode(s);
  if (auto back = decode_persisted(bytes.data(), bytes.size()); !back) {
    return std::move(back.error());
  }
  return bytes;
}

caf::expected<persisted_state> decode_persisted(const std::uint8_t* data,
                                                std::size_t size,
                                                const limits& lim) {
  return with_reader<persisted_state>(
    data, size, lim,
    [](capnp::MessageReader& msg,
       const reader& r) -> caf::expected<persisted_state> {
      auto root = msg.getRoot<PersistedState>();
      return persisted_state{.node_id = r.node_id(root.getNodeId(), "node id"),
                             .incarnation = root.getIncarnation(),
                             .gossip = r.gossip(root.getGossip())};
    });
}

} // namespace troupe::cluster::wire
