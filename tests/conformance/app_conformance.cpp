// One application on Troupe, as otp_app.escript runs one on OTP 25: of
// restart type TYPE (permanent, transient, temporary), ending by ENDING
// (`crash`: its top supervisor gives up; `done`: its significant worker
// finishes and the top supervisor shuts itself down; `stop`: stopped by
// request). Prints how the application ended and whether the node keeps
// running.
//
//   app_conformance TYPE ENDING
#include "troupe/actors/atoms.hpp"
#include "troupe/actors/gen_server.hpp"
#include "troupe/runtime/logging.hpp"
#include "troupe/supervision/application_controller.hpp"
#include "troupe/supervision/atoms.hpp"
#include "troupe/supervision/errors.hpp"
#include "troupe/supervision/supervisor.hpp"
#include "troupe/testkit/deterministic.hpp"

#include <caf/event_based_actor.hpp>
#include <caf/typed_actor.hpp>

#include <iostream>
#include <memory>
#include <optional>
#include <string>

namespace ta = troupe::actors;
namespace ts = troupe::supervision;

namespace {

using exit_atom = caf::atom_constant<caf::atom("cf_exit")>;

struct worker {
  using interface = caf::typed_actor<caf::reacts_to<exit_atom, bool>>;
  ta::init_result init(ta::server_context<worker>&) {
    return ta::init_result::ok();
  }
  interface::behavior_type handlers(ta::server_context<worker>& ctx) {
    return {[&ctx](exit_atom, bool crash) {
      ctx.stop(crash ? caf::make_error(caf::sec::runtime_error, "boom")
                     : caf::error{});
    }};
  }
};

// Sends a request from a one-shot actor and runs until it is answered.
template <class R>
std::optional<R> call(troupe::testkit::deterministic_system& ds,
                      const caf::actor& dest, caf::message msg) {
  auto box = std::make_shared<std::optional<R>>();
  ds.sys().spawn([dest, msg, box](caf::event_based_actor* self) {
    if constexpr (std::is_same_v<R, bool>) {
      self->request(dest, caf::infinite, msg)
        .then([box] { *box = true; }, [box](caf::error&) { *box = false; });
    } else {
      self->request(dest, caf::infinite, msg)
        .then([box](R& r) { *box = std::move(r); }, [](caf::error&) {});
    }
  });
  ds.run();
  return *box;
}

} // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: app_conformance TYPE ENDING\n";
    return 2;
  }
  std::string type = argv[1];
  std::string ending = argv[2];
  troupe::testkit::deterministic_system ds{
    [](troupe::runtime::system_config& cfg) {
      cfg.logs = *troupe::runtime::log_context::make(
        {.node = "c1",
         .level = troupe::runtime::log_level::off,
         .console = false});
      ts::add_supervision_types(cfg);
    }};
  auto root = ts::spawn_supervisor(ds.sys(), {}, {});
  if (!root
      || !call<caf::atom_value>(ds, *root,
                                caf::make_message(ta::init_atom::value))) {
    std::cerr << "app_conformance: no root supervisor\n";
    return 2;
  }
  bool node_stops = false;
  auto controller = ts::spawn_application_controller(
    ds.sys(), {.root = *root, .stop_node = [&node_stops](const caf::error&) {
                 node_stops = true;
               }});
  bool done = ending == "done";
  auto w = ts::server_child<worker>("w");
  w.restart = done ? ts::restart_type::transient : ts::restart_type::permanent;
  w.significant = done;
  ts::application_spec spec{
    .name = "demo",
    .restart = type == "permanent"   ? ts::app_restart_type::permanent
               : type == "transient" ? ts::app_restart_type::transient
                                     : ts::app_restart_type::temporary,
    .flags = {.intensity = 0,
              .auto_shutdown = done ? ts::auto_shutdown::any_significant
                                    : ts::auto_shutdown::never},
    .children = {w}};
  if (!call<bool>(ds, controller,
                  caf::make_message(ts::load_app_atom::value, spec))
      || !call<bool>(ds, controller,
                     caf::make_message(ts::start_app_atom::value,
                                       std::string{"demo"}))) {
    std::cerr << "app_conformance: the application did not start\n";
    return 2;
  }
  auto which = [&] {
    return *call<std::vector<ts::application_info>>(
      ds, controller, caf::make_message(ts::which_apps_atom::value));
  };
  auto top = which().front().supervisor;
  auto children = *call<std::vector<ts::child_info>>(
    ds, top, caf::make_message(ts::which_children_atom::value));
  if (ending == "stop") {
    call<bool>(ds, controller,
               caf::make_message(ts::stop_app_atom::value,
                                 std::string{"demo"}));
  } else {
    caf::anon_send(children.front().handle, exit_atom::value,
                   ending == "crash");
    ds.run();
  }
  auto how = which().front().last_exit;
  if (how.rfind("exited: ", 0) == 0) {
    how = how.substr(8);
  }
  std::cout << "app exited: " << how << "\n"
            << (node_stops ? "node stops" : "node runs") << "\n";
  caf::anon_send_exit(controller, caf::exit_reason::kill);
  caf::anon_send_exit(*root, caf::exit_reason::kill);
  ds.run();
  return 0;
}
