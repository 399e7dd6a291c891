// The exit-signal matrix of a generic server, on the deterministic
// scheduler: normal / shutdown / abnormal / kill, from its parent or from
// another linked actor, trapping exits or not.
#include "troupe/actors/gen_server.hpp"

#include "troupe/testkit/deterministic.hpp"

#include <doctest/doctest.h>

#include <caf/exit_reason.hpp>

namespace ta = troupe::actors;
using troupe::testkit::deterministic_system;

namespace {

using get_atom = caf::atom_constant<caf::atom("get")>;

struct events {
  std::vector<std::string> seen;
  bool has_prefix(const std::string& prefix) const {
    return std::any_of(seen.begin(), seen.end(), [&prefix](const auto& e) {
      return e.rfind(prefix, 0) == 0;
    });
  }
};

struct linked_server {
  using interface = caf::typed_actor<
    caf::replies_to<get_atom>::with<int>,
    caf::reacts_to<caf::link_atom, caf::actor>>;
  std::shared_ptr<events> ev;

  ta::init_result init(ta::server_context<linked_server>& ctx,
                       std::shared_ptr<events> e, bool trap) {
    ev = std::move(e);
    ctx.trap_exits(trap);
    return ta::init_result::ok();
  }

  interface::behavior_type handlers(ta::server_context<linked_server>& ctx) {
    return {
      [](get_atom) { return 1; },
      [&ctx](caf::link_atom, caf::actor other) { ctx.self()->link_to(other); },
    };
  }

  void handle_info(ta::server_context<linked_server>&, const caf::message& m) {
    if (m.match_elements<caf::exit_msg>()) {
      ev->seen.push_back("info:exit");
    }
  }

  void terminate(ta::server_context<linked_server>&, const caf::error&) {
    ev->seen.push_back("terminate");
  }
};

enum class who { parent, other };
enum class reason_kind { normal, shutdown, abnormal, kill };

caf::error make_reason(reason_kind r) {
  switch (r) {
    case reason_kind::normal:
      return {};
    case reason_kind::shutdown:
      return caf::exit_reason::user_shutdown;
    case reason_kind::abnormal:
      return caf::make_error(caf::sec::runtime_error, "abnormal");
    case reason_kind::kill:
      return caf::exit_reason::kill;
  }
  return {};
}

struct expectation {
  bool survives;
  bool terminate_runs;
  bool info_gets_exit;
};

// OTP's rules. A parent killed with `kill` reaches a trapping server as
// OTP's trappable `killed` (the server monitors its parent); CAF's `kill`
// over a link from any other actor is never trappable.
expectation expected(who from, reason_kind r, bool trapping) {
  if (r == reason_kind::kill && !(from == who::parent && trapping)) {
    return {
      .survives = false, .terminate_runs = false, .info_gets_exit = false};
  }
  if (!trapping) {
    bool survives = r == reason_kind::normal;
    return {
      .survives = survives, .terminate_runs = false, .info_gets_exit = false};
  }
  if (from == who::parent) {
    return {.survives = false, .terminate_runs = true, .info_gets_exit = false};
  }
  return {.survives = true, .terminate_runs = false, .info_gets_exit = true};
}

} // namespace

TEST_SUITE_BEGIN("actors.exits");

TEST_CASE("exit signals follow OTP's rules for every reason and trap flag") {
  for (auto from : {who::parent, who::other}) {
    for (auto r : {reason_kind::normal, reason_kind::shutdown,
                   reason_kind::abnormal, reason_kind::kill}) {
      for (bool trapping : {false, true}) {
        CAPTURE(static_cast<int>(from));
        CAPTURE(static_cast<int>(r));
        CAPTURE(trapping);
        deterministic_system ds{[](troupe::runtime::system_config& cfg) {
          ta::add_actors_types(cfg);
          cfg.logs.reset();
        }};
        auto partner = ds.spawn([](caf::event_based_actor* self) {
          return caf::behavior{
            [self](caf::error& reason) { self->quit(std::move(reason)); }};
        });
        auto ev = std::make_shared<events>();
        ta::start_options opts;
        if (from == who::parent) {
          opts.parent = partner;
        }
        auto server = ta::spawn_server<linked_server>(ds.sys(), opts, ev,
                                                      trapping);
        REQUIRE(server);
        deterministic_system::probe probe{ds};
        caf::send_as(probe.handle(), *server, ta::init_atom::value);
        ds.run();
        REQUIRE(probe.next()); // init's reply
        if (from == who::other) {
          caf::anon_send(*server, caf::link_atom::value, partner);
          ds.run();
        }
        caf::anon_send(partner, make_reason(r));
        ds.run();
        auto want = expected(from, r, trapping);
        caf::send_as(probe.handle(), *server, get_atom::value);
        ds.run();
        auto reply = probe.next(); // a dead server drops the message
        CHECK_EQ(reply && reply->match_elements<int>(), want.survives);
        CHECK_EQ(ev->has_prefix("terminate"), want.terminate_runs);
        CHECK_EQ(ev->has_prefix("info:exit"), want.info_gets_exit);
        caf::anon_send_exit(*server, caf::exit_reason::kill);
        ds.run();
      }
    }
  }
}

TEST_SUITE_END();
