// The cluster application and its client.
#include "cluster_app.hpp"

#include "../actors/blocking_request.hpp"
#include "../runtime/atomic_file.hpp"
#include "../runtime/errors.hpp"
#include "../runtime/secret_file.hpp"
#include "../supervision/supervisor.hpp"
#include "atoms.hpp"
#include "capabilities.hpp"
#include "errors.hpp"
#include "gossip.hpp"
#include "name_table.hpp"
#include "router.hpp"
#include "transport.hpp"

#include <caf/send.hpp>
#include <fmt/format.h>
#include <sodium.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace troupe::cluster {

namespace {

caf::duration to_duration(std::optional<std::chrono::milliseconds> t) {
  return t ? caf::duration{*t} : caf::duration{caf::infinite};
}

template <class T, class... Ts>
caf::expected<T> ask(caf::actor_system& sys,
                     std::optional<std::chrono::milliseconds> timeout,
                     const caf::actor& dest, Ts&&... xs) {
  if (!dest) {
    return caf::make_error(errc::peer_unreachable,
                           "the cluster is not running");
  }
  return actors::request_within<T>(sys, dest, to_duration(timeout),
                                   std::forward<Ts>(xs)...);
}

template <class... Ts>
caf::error ask_done(caf::actor_system& sys,
                    std::optional<std::chrono::milliseconds> timeout,
                    const caf::actor& dest, Ts&&... xs) {
  if (!dest) {
    return caf::make_error(errc::peer_unreachable,
                           "the cluster is not running");
  }
  caf::scoped_actor self{sys};
  caf::error result;
  self->request(dest, to_duration(timeout), std::forward<Ts>(xs)...)
    .receive([] {}, [&result](caf::error& err) { result = std::move(err); });
  return result;
}

} // namespace

caf::expected<std::string> load_secret(const std::filesystem::path& path) {
  auto secret = runtime::load_secret_file(path, "cluster secret");
  if (!secret) {
    // Reported as a cluster setting, where the secret comes from.
    return caf::make_error(errc::invalid_settings,
                           runtime::describe(secret.error()));
  }
  return secret;
}

caf::expected<context_ptr>
make_context(const runtime::node_config& cfg, const runtime::node_identity& id,
             std::shared_ptr<runtime::log_context> logs,
             runtime::metrics_registry* metrics, std::uint64_t seed) {
  if (sodium_init() < 0) {
    return caf::make_error(errc::invalid_settings, "libsodium did not start");
  }
  auto path = cfg.cluster.secret_file.empty()
                ? std::filesystem::absolute(cfg.data_dir).parent_path()
                    / default_secret_name
                : cfg.cluster.secret_file;
  auto secret = load_secret(path);
  if (!secret) {
    return std::move(secret.error());
  }
  auto ctx = std::make_shared<context>();
  ctx->node_id = id.node_id;
  ctx->incarnation = id.incarnation;
  ctx->name = cfg.full_name();
  ctx->listen = cfg.listen;
  ctx->advertised = cfg.advertised();
  ctx->software = this_software();
  ctx->capabilities = troupe_capabilities();
  ctx->settings = cfg.cluster;
  ctx->data_dir = cfg.data_dir;
  ctx->seeds = cfg.join;
  ctx->key = derive_key(*secret);
  ctx->logs = std::move(logs);
  ctx->metrics = metrics;
  ctx->seed = seed;
  ctx->names = std::make_shared<name_table>();
  ctx->kinds = std::make_shared<kind_registry>();
  return ctx;
}

supervision::application_spec make_cluster_application(const context_ptr& ctx) {
  using supervision::child_spec;
  child_spec transport{
    .id = "transport",
    .start = [ctx](caf::actor_system& sys, const caf::actor&,
                   const caf::message&) {
      auto hdl = ctx->transport_factory
                   ? ctx->transport_factory(sys, ctx, ctx->membership())
                   : spawn_transport(sys, ctx, ctx->membership());
      if (hdl && ctx->advertised.port == 0) {
        ctx->advertised.port = ctx->listen_port();
      }
      return hdl;
    }};
  child_spec membership{.id = "membership",
                        .start = [ctx](caf::actor_system& sys,
                                       const caf::actor& parent,
                                       const caf::message&) {
                          return spawn_membership(sys, ctx, parent);
                        }};
  child_spec gossip{.id = "gossip",
                    .start = [ctx](caf::actor_system& sys,
                                   const caf::actor& parent,
                                   const caf::message&) {
                      return spawn_gossip(sys, ctx, parent);
                    }};
  // Virtual actors: started on their first message from the kind's
  // factory, never restarted (the next message starts a new one).
  child_spec activation{
    .id = "activation",
    .start = [ctx](caf::actor_system& sys, const caf::actor&,
                   const caf::message& args) -> caf::expected<caf::actor> {
      if (!args.match_elements<std::string, std::string>()) {
        return caf::make_error(errc::invalid_name, "bad activation arguments");
      }
      const auto& name = args.get_as<std::string>(0);
      auto kind = ctx->kinds->find(kind_of_name(name));
      if (!kind) {
        return caf::make_error(errc::invalid_name,
                               "no kind registered for " + name);
      }
      auto hdl = kind->start(sys, name, args.get_as<std::string>(1));
      if (!hdl) {
        return caf::make_error(errc::invalid_name,
                               "the factory of " + name + " failed");
      }
      return hdl;
    },
    .restart = supervision::restart_type::temporary};
  auto activations = supervision::supervisor_child(
    "activations",
    {.strategy = supervision::strategy::simple_one_for_one,
     .intensity = 1000,
     .period = std::chrono::seconds{1}},
    {activation});
  auto start_activations = activations.start;
  activations.start = [ctx, start_activations](caf::actor_system& sys,
                                               const caf::actor& parent,
                                               const caf::message& args) {
    auto hdl = start_activations(sys, parent, args);
    if (hdl) {
      ctx->set_activations(*hdl);
    }
    return hdl;
  };
  child_spec router{.id = "router",
                    .start = [ctx](caf::actor_system& sys, const caf::actor&,
                                   const caf::message&) {
                      return spawn_router(sys, ctx, ctx->activations());
                    }};
  return {.name = "cluster",
          .description = "membership, gossip, failure detection, routing",
          .restart = supervision::app_restart_type::permanent,
          .flags = {.strategy = supervision::strategy::rest_for_one,
                    .intensity = 10,
                    .period = std::chrono::seconds{10}},
          .children = {transport, membership, gossip, activations, router}};
}

caf::expected<std::vector<member_view>> cluster_client::members() {
  return ask<std::vector<member_view>>(*sys_, timeout_, ctx_->membership(),
                                       members_atom::value);
}

caf::expected<std::set<std::string>> cluster_client::capabilities() {
  auto views = members();
  if (!views) {
    return std::move(views.error());
  }
  std::vector<member> ms;
  ms.reserve(views->size());
  for (auto& v : *views) {
    ms.push_back(std::move(v.info));
  }
  return negotiated_capabilities(ms);
}

caf::expected<cluster_snapshot> cluster_client::snapshot() {
  return ask<cluster_snapshot>(*sys_, timeout_, ctx_->membership(),
                               state_atom::value);
}

caf::error cluster_client::join(const std::string& seed) {
  return ask_done(*sys_, timeout_, ctx_->membership(), join_atom::value, seed);
}

caf::error cluster_client::leave() {
  return ask_done(*sys_, timeout_, ctx_->membership(), leave_atom::value);
}

caf::error cluster_client::down(const std::string& who) {
  return ask_done(*sys_, timeout_, ctx_->membership(), down_atom::value, who);
}

caf::error cluster_client::drain(bool on) {
  return ask_done(*sys_, timeout_, ctx_->membership(), drain_atom::value, on);
}

namespace {

// What every node's decoder takes as a service name or a payload kind.
caf::error check_label(const char* what, const std::string& text) {
  auto max = wire::limits{}.max_text;
  if (text.empty() || text.size() > max) {
    return caf::make_error(errc::invalid_settings,
                           fmt::format("a {} of {} bytes (1 to {} allowed)",
                                       what, text.size(), max));
  }
  if (text.find('\0') != std::string::npos) {
    return caf::make_error(errc::invalid_settings,
                           fmt::format("a {} with a NUL byte", what));
  }
  return {};
}

} // namespace

caf::error cluster_client::service(const std::string& name, bool up) {
  if (auto err = check_label("service name", name)) {
    return err;
  }
  return ask_done(*sys_, timeout_, ctx_->membership(), service_atom::value,
                  name, up);
}

caf::error cluster_client::service(const std::string& name,
                                   health_check check) {
  if (auto err = check_label("service name", name)) {
    return err;
  }
  return ask_done(*sys_, timeout_, ctx_->membership(), service_atom::value,
                  name, std::move(check));
}

caf::error cluster_client::subscribe(const caf::actor& who) {
  return ask_done(*sys_, timeout_, ctx_->membership(), subscribe_atom::value,
                  who);
}

caf::error cluster_client::send_payload(const std::string& node_id,
                                        std::string kind, std::string data) {
  if (auto err = check_label("payload kind", kind)) {
    return err;
  }
  auto size = data.size();
  auto why
    = try_send_frame(*ctx_, node_id,
                     wire::frame{wire::payload{.kind = std::move(kind),
                                               .data = std::move(data)}});
  switch (why) {
    case unsent::none:
      return {};
    case unsent::too_large:
      return caf::make_error(
        errc::invalid_settings,
        fmt::format("a payload of {} bytes is over cluster.max_frame_bytes "
                    "({})",
                    size, ctx_->settings.max_frame_bytes));
    case unsent::busy:
      return caf::make_error(errc::peer_busy, describe(why, *ctx_, node_id));
    case unsent::no_connection:
      break;
  }
  return caf::make_error(errc::peer_unreachable, "not connected to " + node_id);
}

caf::error cluster_client::block(const std::vector<std::string>& node_ids) {
  auto transport = ctx_->transport();
  if (!transport) {
    return caf::make_error(errc::peer_unreachable,
                           "the transport is not running");
  }
  caf::anon_send(transport, block_atom::value, node_ids);
  return {};
}

} // namespace troupe::cluster
