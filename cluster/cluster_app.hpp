// The cluster application: the transport, membership and gossip actors
// under one supervisor, and the API to use them from outside actors.
#pragma once

#include "../runtime/identity.hpp"
#include "../supervision/application.hpp"
#include "context.hpp"
#include "membership_actor.hpp"

#include <chrono>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/error.hpp>
#include <caf/expected.hpp>

namespace troupe::cluster {

/// Name of the secret file when `cluster.secret_file` is not set: beside the
/// data directory.
inline constexpr const char* default_secret_name = "cluster.secret";

/// Reads the cluster secret from `path`, creating it (32 random bytes as
/// hex, mode 0600) if it does not exist. A file that others may read or
/// write, or an empty one, is an `errc::invalid_settings` error naming it.
caf::expected<std::string> load_secret(const std::filesystem::path& path);

/// Builds a node's cluster context from its configuration and identity.
caf::expected<context_ptr>
make_context(const runtime::node_config& cfg, const runtime::node_identity& id,
             std::shared_ptr<runtime::log_context> logs,
             runtime::metrics_registry* metrics, std::uint64_t seed);

/// The application "cluster" (permanent): transport, membership and gossip
/// under a rest_for_one supervisor, so that a new transport also gets a new
/// membership actor (which re-reads the persisted state) and gossip, while
/// a crashed gossip actor comes back alone.
supervision::application_spec make_cluster_application(const context_ptr& ctx);

/// The cluster's API for code outside actors (each call blocks briefly).
class cluster_client {
public:
  cluster_client(caf::actor_system& sys, context_ptr ctx)
    : sys_(&sys), ctx_(std::move(ctx)) {}

  caf::expected<std::vector<member_view>> members();
  caf::expected<cluster_snapshot> snapshot();
  /// The capabilities the cluster may use now: those every active member
  /// states (see `capabilities.hpp`). Gate a feature other nodes must share
  /// on `capabilities()->count("my.feature")`.
  caf::expected<std::set<std::string>> capabilities();
  /// Connects to a seed (host:port); joining follows by gossip.
  caf::error join(const std::string& seed);
  /// Leaves gracefully: leaving → exiting → removed.
  caf::error leave();
  /// Marks a member (node id or name) down.
  caf::error down(const std::string& who);
  /// Tells the cluster this node does (not) want traffic.
  caf::error drain(bool on);
  /// Announces a service of this node as up or down. A name is 1 to 255
  /// bytes (`errc::invalid_settings` otherwise: every node reads it).
  caf::error service(const std::string& name, bool up);
  /// Announces a service whose state `check` decides (see `health_check`).
  caf::error service(const std::string& name, health_check check);
  /// Sends `member_event`s to `who` until it exits.
  caf::error subscribe(const caf::actor& who);
  /// Makes `who` the receiver of payloads of `kind` sent to this node; it
  /// gets `(payload_atom, from node id, wire::payload)`.
  void handle_payloads(const std::string& kind, const caf::actor& who) {
    ctx_->set_handler(kind, who);
  }

  /// Sends bytes to the payload handler `kind` on node `node_id`, over the
  /// authenticated connection to it, written from the calling thread (in
  /// order). `errc::peer_unreachable` when not connected to that node;
  /// `errc::peer_busy` when more than its connection's limit waits for it
  /// and the caller runs actors (an actor is never made to wait: other
  /// threads wait for room instead);
  /// `errc::invalid_settings` for a kind not of 1 to 255 bytes or a frame
  /// over `cluster.max_frame_bytes` (nothing is sent).
  caf::error send_payload(const std::string& node_id, std::string kind,
                          std::string data);

  /// Simulates a partition: drops and refuses these peers (node ids).
  caf::error block(const std::vector<std::string>& node_ids);

  const context_ptr& context() const {
    return ctx_;
  }

  /// Makes every call fail with a timeout after `timeout` instead of
  /// waiting for a busy membership actor without end; for observers such
  /// as the console.
  void request_timeout(std::chrono::milliseconds timeout) {
    timeout_ = timeout;
  }

private:
  caf::actor_system* sys_;
  context_ptr ctx_;
  std::optional<std::chrono::milliseconds> timeout_{};
};

} // namespace troupe::cluster
