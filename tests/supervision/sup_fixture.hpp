// Supervision test helpers: a generic server that journals its start and
// stop and exits when told, and a fixture to build and poke trees.
#pragma once

#include "tests/actors/fixture.hpp"
#include "troupe/actors/gen_server.hpp"
#include "troupe/supervision/supervisor.hpp"
#include "troupe/supervision/supervisor_client.hpp"
#include "troupe/testkit/journal.hpp"

#include <caf/after.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/typed_actor.hpp>

#include <algorithm>
#include <chrono>
#include <optional>
#include <vector>

#include <memory>
#include <string>

namespace troupe::test {

using ping_atom = caf::atom_constant<caf::atom("ping")>;
using quit_atom = caf::atom_constant<caf::atom("quit")>;

using testkit::journal;

// A worker that records its start and stop, and exits when told.
struct worker {
  using interface = caf::typed_actor<caf::replies_to<ping_atom>::with<int>,
                                     caf::reacts_to<quit_atom, caf::error>>;
  std::string id;
  std::shared_ptr<journal> j;

  actors::init_result init(actors::server_context<worker>& ctx,
                           std::string name, std::shared_ptr<journal> jr,
                           bool fail) {
    id = std::move(name);
    j = std::move(jr);
    ctx.trap_exits(true); // so that terminate runs on shutdown
    if (fail) {
      return actors::init_result::stop(
        caf::make_error(caf::sec::runtime_error, "refused to start"));
    }
    j->add("start:" + id);
    return actors::init_result::ok();
  }
  interface::behavior_type handlers(actors::server_context<worker>& ctx) {
    return {
      [](ping_atom) { return 1; },
      [&ctx](quit_atom, caf::error& reason) { ctx.stop(std::move(reason)); },
    };
  }
  void terminate(actors::server_context<worker>&, const caf::error&) {
    j->add("stop:" + id);
  }
};

/// A threaded system with a journal and helpers to build and poke trees.
struct supervision_fixture : actor_fixture {
  std::shared_ptr<journal> j = std::make_shared<journal>();

  supervision::child_spec child(const std::string& id,
                                supervision::restart_type restart
                                = supervision::restart_type::permanent,
                                bool fail = false) {
    auto spec = supervision::server_child<worker>(id, id, j, fail);
    spec.restart = restart;
    return spec;
  }

  /// The children in start order (which_children answers as OTP's, the
  /// last started first).
  std::vector<supervision::child_info> children(const caf::actor& sup) {
    supervision::supervisor_client client{*sys, sup};
    auto list = client.which_children();
    REQUIRE(list);
    std::reverse(list->begin(), list->end());
    return *list;
  }

  caf::actor handle_of(const caf::actor& sup, const std::string& id) {
    for (const auto& c : children(sup)) {
      if (c.id == id) {
        return c.handle;
      }
    }
    return {};
  }

  void make_exit(const caf::actor& child, caf::error reason) {
    caf::anon_send(caf::actor_cast<worker::interface>(child), quit_atom::value,
                   std::move(reason));
  }

  // Monitors an actor from the moment it is made; `reason` waits for the
  // exit reason.
  struct watch {
    caf::scoped_actor self;
    watch(caf::actor_system& sys, const caf::actor& who) : self(sys) {
      self->monitor(who);
    }
    std::optional<caf::error> reason() {
      std::optional<caf::error> out;
      self->receive([&out](caf::down_msg& dm) { out = dm.reason; },
                    caf::after(std::chrono::seconds{30}) >> [] {});
      return out;
    }
  };

  std::optional<caf::error> wait_down(const caf::actor& who) {
    return watch{*sys, who}.reason();
  }

  void stop(const caf::actor& sup) {
    supervision::supervisor_client client{*sys, sup};
    REQUIRE_FALSE(client.stop());
  }
};

} // namespace troupe::test
