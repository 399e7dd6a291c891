// The cluster transport of a simulated node.
#include "troupe/testkit/sim_transport.hpp"

#include "troupe/actors/crash_report.hpp"
#include "troupe/cluster/atoms.hpp"
#include "troupe/cluster/session.hpp"
#include "troupe/cluster/transport_core.hpp"
#include "troupe/runtime/errors.hpp"

#include <caf/event_based_actor.hpp>
#include <fmt/format.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>

namespace troupe::testkit::sim {

namespace {

// The sending side of one end of a simulated connection.
class sim_link final : public cluster::frame_link {
public:
  sim_link(network* net, const sim_time* now, network::end_id end)
    : net_(net), now_(now), end_(end) {}

  cluster::link_write write(const std::uint8_t* body,
                            std::size_t size) override {
    if (closed_) {
      return cluster::link_write::closed;
    }
    std::vector<std::uint8_t> plain(4 + size);
    auto n = static_cast<std::uint32_t>(size);
    plain[0] = static_cast<std::uint8_t>(n >> 24);
    plain[1] = static_cast<std::uint8_t>(n >> 16);
    plain[2] = static_cast<std::uint8_t>(n >> 8);
    plain[3] = static_cast<std::uint8_t>(n);
    std::copy(body, body + size, plain.begin() + 4);
    std::string bytes;
    if (sealer_) {
      std::vector<std::uint8_t> sealed;
      if (!sealer_->seal(plain.data(), plain.size(), sealed)) {
        closed_ = true;
        return cluster::link_write::closed;
      }
      bytes.assign(sealed.begin(), sealed.end());
    } else {
      bytes.assign(plain.begin(), plain.end());
    }
    if (!net_->write(end_, std::move(bytes), *now_)) {
      closed_ = true;
    }
    return closed_ ? cluster::link_write::closed : cluster::link_write::sent;
  }

  void secure(cluster::record_sealer sealer) override {
    sealer_.emplace(std::move(sealer));
  }

  void close() override {
    closed_ = true;
  }

  bool closed() const override {
    return closed_;
  }

private:
  network* net_;
  const sim_time* now_;
  network::end_id end_;
  bool closed_ = false;
  std::optional<cluster::record_sealer> sealer_;
};

class sim_transport_state
  : public std::enable_shared_from_this<sim_transport_state>,
    public cluster::transport_io {
public:
  sim_transport_state(caf::event_based_actor* self, cluster::context_ptr ctx,
                      caf::actor owner, transport_site site)
    : self_(self), ctx_(std::move(ctx)), site_(site),
      core_(self, ctx_, std::move(owner), *this) {}

  caf::behavior make_behavior();

  void on_exit() {
    core_.close_links();
    site_.net->unlisten(site_.node);
  }

  // -- transport_io -----------------------------------------------------------

  void dial(const std::string& target) override {
    site_.net->dial(site_.node, target, *site_.now);
  }

  void close(std::uint64_t id) override {
    inboxes_.erase(id);
    site_.net->close(id, *site_.now);
  }

  void authenticated(std::uint64_t id, cluster::protection level,
                     const std::string& receive_key) override {
    // The same actor keeps reading, now frames of any size, through the
    // session's records.
    if (auto i = inboxes_.find(id); i != inboxes_.end()) {
      i->second.set_limit(ctx_->settings.max_frame_bytes);
      i->second.secure(level, receive_key);
    }
  }

private:
  void adopt(network::end_id end, std::string target) {
    inboxes_.try_emplace(end, cluster::wire::max_handshake_frame_bytes);
    core_.adopt(end, std::move(target),
                std::make_shared<sim_link>(site_.net, site_.now, end));
  }

  void on_data(network::end_id end, const std::string& bytes) {
    auto i = inboxes_.find(end);
    if (i == inboxes_.end()) {
      return; // an end of an earlier transport of this node
    }
    i->second.append(bytes.data(), bytes.size());
    for (;;) {
      auto v = i->second.next();
      if (v.data == nullptr) {
        if (i->second.broken()) {
          core_.refuse(end, i->second.error());
        }
        return;
      }
      core_.count_in(v.size);
      auto f = cluster::wire::decode(v.data, v.size,
                                     {.max_frame_bytes = i->second.limit()});
      if (!f) {
        core_.refuse(end, runtime::describe(f.error()));
        return;
      }
      core_.on_frame(end, std::move(*f));
      i = inboxes_.find(end);
      if (i == inboxes_.end()) {
        return; // the frame closed the connection
      }
    }
  }

  caf::event_based_actor* self_;
  cluster::context_ptr ctx_;
  transport_site site_;
  cluster::transport_core core_;
  std::map<network::end_id, cluster::session_inbox> inboxes_;
};

caf::behavior sim_transport_state::make_behavior() {
  auto self = shared_from_this();
  self_->set_default_handler(
    actors::unexpected_message_handler("sim_transport"));
  self_->set_exit_handler([self](caf::exit_msg& msg) {
    if (msg.reason) { // as CAF's: a normal exit is ignored
      self->core_.close_all();
      self->self_->quit(std::move(msg.reason));
    }
  });
  return {
    [self](accepted_atom, std::uint64_t end) { self->adopt(end, ""); },
    [self](connected_atom, std::uint64_t end, const std::string& target) {
      self->adopt(end, target);
    },
    [self](dial_failed_atom, const std::string& target) {
      self->core_.dial_failed(target);
    },
    [self](data_atom, std::uint64_t end, const std::string& bytes) {
      self->on_data(end, bytes);
    },
    [self](closed_atom, std::uint64_t end) {
      if (self->inboxes_.erase(end) != 0) {
        self->core_.drop(end, "connection closed");
      }
    },
    [self](cluster::connect_atom, const std::string& target) {
      self->core_.dial(target);
    },
    [self](cluster::handshake_due_atom, std::uint64_t id) {
      self->core_.handshake_due(id);
    },
    [self](cluster::router_up_atom) { self->core_.release_routes(); },
    [self](cluster::block_atom, const std::vector<std::string>& ids) {
      self->core_.block(ids);
    },
    [self](cluster::goodbye_atom) { self->core_.say_goodbye(); },
    [self](cluster::owner_atom, const caf::actor& owner) {
      self->core_.set_owner(owner);
    },
  };
}

} // namespace

caf::expected<caf::actor>
spawn_sim_transport(caf::actor_system& sys, const cluster::context_ptr& ctx,
                    const caf::actor& owner, transport_site site) {
  auto hdl = sys.spawn([ctx, owner, site](caf::event_based_actor* self) {
    auto st = std::make_shared<sim_transport_state>(self, ctx, owner, site);
    self->attach_functor([st] { st->on_exit(); });
    return st->make_behavior();
  });
  site.net->listen(site.node, site.life, runtime::to_string(ctx->advertised));
  ctx->set_listen_port(ctx->advertised.port);
  ctx->set_transport(hdl);
  return hdl;
}

} // namespace troupe::testkit::sim
