// What the cluster's actors share on one node: settings, identity, logs,
// metrics, and the handles of their siblings.
#pragma once

#include "../runtime/config.hpp"
#include "../runtime/logging.hpp"
#include "../runtime/metrics.hpp"
#include "frame_link.hpp"
#include "ring.hpp"

#include <array>
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_addr.hpp>
#include <caf/actor_cast.hpp>
#include <caf/expected.hpp>
#include <caf/fwd.hpp>

namespace troupe::cluster {

class name_table;
class kind_registry;
struct routing_view;
struct router_memory;
struct cluster_snapshot;

/// Created once per node by the cluster application and passed to each of
/// its actors. The actors publish their handles here when they (re)start,
/// so that siblings find each other after a restart.
struct context {
  std::string node_id;
  std::uint64_t incarnation = 0;
  std::string name;             ///< name@host
  runtime::endpoint listen;     ///< the address the transport binds
  runtime::endpoint advertised; ///< the address peers connect to
  /// What this node runs and supports, stated to the cluster
  /// (`capabilities.hpp`).
  std::string software;
  std::set<std::string> capabilities;
  runtime::cluster_config settings;
  std::filesystem::path data_dir;
  std::vector<runtime::endpoint> seeds;
  /// The secret as a 32-byte key (derived from the secret file).
  std::string key;
  std::shared_ptr<runtime::log_context> logs;
  runtime::metrics_registry* metrics = nullptr; ///< may be null
  std::uint64_t seed = 0; ///< for the actors' random choices
  /// Random bytes for the handshake's challenges; libsodium's when unset.
  /// The test kit's simulated world sets a seeded source.
  std::function<std::string(std::size_t)> random_bytes{};
  /// Starts the transport for this node, telling `owner` of its peers;
  /// TCP (`spawn_transport`) when unset. The test kit's simulated world
  /// sets one that runs on its simulated network.
  std::function<caf::expected<caf::actor>(caf::actor_system& sys,
                                          const std::shared_ptr<context>& self,
                                          const caf::actor& owner)>
    transport_factory{};
  /// Set before a simulated crash: the node stops without telling its
  /// peers (no goodbye).
  std::atomic<bool> abrupt_stop{false};
  /// The virtual actors running here (shared with threads that send by
  /// name) and the kinds this node can start.
  std::shared_ptr<name_table> names;
  std::shared_ptr<kind_registry> kinds;
  /// The sending side of each authenticated connection (see `send_frame`).
  peer_links links;
  /// Routing frames that readers passed to the transport (the router was
  /// not running, or earlier ones were still there) and the transport has
  /// not yet handed on. While any is, readers pass later ones the same way,
  /// so that the router gets them in the order they came.
  std::atomic<std::int64_t> routes_via_transport{0};
  /// Sends by name that `router_client::send` passed to the router (it
  /// could not deliver or send them itself) and the router has not routed
  /// yet, per slot of names (`diverted_slot`). While a slot counts any,
  /// later sends for its names go the same way, so that none overtakes one
  /// that waits in the router's mailbox. A new router starts them at zero
  /// (what its predecessor's mailbox held is gone).
  static constexpr std::size_t diverted_slots = 64;
  std::array<std::atomic<std::uint32_t>, diverted_slots> diverted{};
  static std::size_t diverted_slot(std::string_view name) {
    return static_cast<std::size_t>(name_hash(name) % diverted_slots);
  }
  bool is_diverted(std::size_t slot) const {
    return diverted[slot].load(std::memory_order_acquire) > 0;
  }
  /// The router has routed a diverted send (never below zero: the counts
  /// may have been reset since it was counted).
  void diverted_routed(std::size_t slot) {
    auto& n = diverted[slot];
    auto v = n.load(std::memory_order_acquire);
    while (v > 0
           && !n.compare_exchange_weak(v, v - 1, std::memory_order_acq_rel)) {
    }
  }
  void reset_diverted() {
    for (auto& n : diverted) {
      n.store(0, std::memory_order_release);
    }
  }
  /// Handoff transfers this node's routers have started in this boot (the
  /// count in their ids, `handoff_ledger.hpp`); kept here so that a router
  /// that restarts never gives an id twice.
  std::atomic<std::uint32_t> transfers_started{0};
  /// What the router keeps across its own restarts (`router_memory.hpp`);
  /// made and used by the running router only.
  std::shared_ptr<router_memory> router_kept;

  /// The running transport, or an invalid handle.
  caf::actor transport() const {
    std::lock_guard<std::mutex> guard{mtx_};
    return caf::actor_cast<caf::actor>(transport_);
  }
  /// The running membership actor, or an invalid handle.
  caf::actor membership() const {
    std::lock_guard<std::mutex> guard{mtx_};
    return caf::actor_cast<caf::actor>(membership_);
  }
  /// The supervisor of virtual actors, or an invalid handle.
  caf::actor activations() const {
    std::lock_guard<std::mutex> guard{mtx_};
    return caf::actor_cast<caf::actor>(activations_);
  }
  void set_activations(const caf::actor& x) {
    std::lock_guard<std::mutex> guard{mtx_};
    activations_ = x.address();
  }
  /// The running router, or an invalid handle.
  caf::actor router() const {
    std::lock_guard<std::mutex> guard{mtx_};
    return caf::actor_cast<caf::actor>(router_);
  }
  void set_router(const caf::actor& x) {
    std::lock_guard<std::mutex> guard{mtx_};
    router_ = x.address();
  }
  /// The routing view the router published last (null before the first).
  /// Each thread keeps the one it saw last and takes the shared one only
  /// when a newer one was published, so that sending by name does not
  /// lock. The reference is good until the thread's next call.
  const std::shared_ptr<const routing_view>& routing() const {
    struct seen {
      const context* owner = nullptr;
      std::uint64_t version = 0;
      std::shared_ptr<const routing_view> view;
    };
    thread_local seen last;
    auto version = routing_version_.load(std::memory_order_acquire);
    if (last.owner != this || last.version != version) {
      last = {this, version, std::atomic_load(&routing_)};
    }
    return last.view;
  }
  void set_routing(std::shared_ptr<const routing_view> v) {
    std::atomic_store(&routing_, std::move(v));
    routing_version_.store(++published_views, std::memory_order_release);
  }
  /// The cluster state as the membership actor published it last (null
  /// before it runs): observers read it without asking the actor.
  std::shared_ptr<const cluster_snapshot> cluster_state() const {
    return std::atomic_load(&cluster_state_);
  }
  void set_cluster_state(std::shared_ptr<const cluster_snapshot> s) {
    std::atomic_store(&cluster_state_, std::move(s));
  }

  void set_transport(const caf::actor& x) {
    std::lock_guard<std::mutex> guard{mtx_};
    transport_ = x.address();
  }
  void set_membership(const caf::actor& x) {
    std::lock_guard<std::mutex> guard{mtx_};
    membership_ = x.address();
  }

  /// The port the transport listens on (known once it has started).
  std::uint16_t listen_port() const {
    std::lock_guard<std::mutex> guard{mtx_};
    return listen_port_;
  }
  void set_listen_port(std::uint16_t p) {
    std::lock_guard<std::mutex> guard{mtx_};
    listen_port_ = p;
  }

  /// Registers `who` for payloads of `kind` (replacing any earlier one);
  /// it gets `(payload_atom, from node id, wire::payload)`.
  void set_handler(const std::string& kind, const caf::actor& who) {
    std::lock_guard<std::mutex> guard{mtx_};
    handlers_[kind] = who.address();
  }
  /// The live handler for `kind`, or an invalid handle.
  caf::actor handler(const std::string& kind) const {
    std::lock_guard<std::mutex> guard{mtx_};
    auto i = handlers_.find(kind);
    return i == handlers_.end() ? caf::actor{}
                                : caf::actor_cast<caf::actor>(i->second);
  }

  std::shared_ptr<spdlog::logger> log(const std::string& component) const {
    return logs->get("cluster", component);
  }

private:
  mutable std::mutex mtx_;
  // Weak: the actors hold the context, so strong handles here would keep
  // them from being collected.
  caf::actor_addr transport_;
  caf::actor_addr membership_;
  caf::actor_addr router_;
  caf::actor_addr activations_;
  std::shared_ptr<const routing_view> routing_;
  std::shared_ptr<const cluster_snapshot> cluster_state_;
  std::atomic<std::uint64_t> routing_version_{0};
  // Versions are unique across nodes, so a thread's cached view is never
  // taken for another node's.
  static inline std::atomic<std::uint64_t> published_views{0};
  std::map<std::string, caf::actor_addr> handlers_;
  std::uint16_t listen_port_ = 0;
};

using context_ptr = std::shared_ptr<context>;

} // namespace troupe::cluster
