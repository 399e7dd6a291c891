// The CAF configuration every Troupe actor system starts from.
#include "system_config.hpp"

#include "errors.hpp"
#include "io_poller.hpp"
#include "io_scheduler.hpp"

#include <caf/actor_system.hpp>
#include <caf/atom.hpp>
#include <caf/io/middleman.hpp>
#include <caf/message.hpp>

namespace troupe::runtime {

system_config::system_config() {
  load<caf::io::middleman>();
  if (auto made = log_context::make({.node = "troupe"})) {
    logs = std::move(*made);
  }
  add_error_category(caf::atom("runtime"), [](std::uint8_t code,
                                              caf::atom_value,
                                              const caf::message& ctx) {
    auto text = "runtime: " + to_string(static_cast<errc>(code));
    if (ctx.size() == 1 && ctx.match_element<std::string>(0)) {
      text += ": " + ctx.get_as<std::string>(0);
    } else if (!ctx.empty()) {
      text += " " + caf::to_string(ctx);
    }
    return text;
  });
}

const system_config* troupe_config(const caf::actor_system& sys) {
  return dynamic_cast<const system_config*>(&sys.config());
}

void system_config::apply(const node_config& cfg) {
  if (cfg.scheduler_threads > 0) {
    set("scheduler.max-threads", static_cast<size_t>(cfg.scheduler_threads));
  }
  switch (cfg.policy) {
    case scheduler_policy::stealing:
      set("scheduler.policy", caf::atom("stealing"));
      // An idle worker polls its queue without sleeping before it waits on
      // its condition variable, where a job from outside the scheduler (a
      // blocking caller, a frame from another node) wakes it at once. CAF's
      // default sleeps 50 us between polls for 25 ms, and such a job waits
      // out the sleep: ~3.5 times fewer blocking calls per second, and
      // round trips between nodes at a third of the rate.
      set("work-stealing.moderate-sleep-duration", caf::timespan{0});
      // Workers that read the cluster's sockets themselves. Without an
      // epoll set (the kernel refused one) CAF's own scheduler runs and the
      // I/O thread reads.
      if (!poller) {
        poller = io_poller::make();
      }
      use_scheduler(poller ? &make_io_scheduler : &make_stealing_scheduler);
      break;
    case scheduler_policy::sharing:
      set("scheduler.policy", caf::atom("sharing"));
      use_scheduler(&make_sharing_scheduler);
      break;
  }
}

// Whichever scheduler runs, its workers mark their threads as running
// actors (`actor_thread.hpp`).
void system_config::use_scheduler(module_factory factory) {
  if (scheduler_factory_) {
    module_factories[*scheduler_factory_] = std::move(factory);
    return;
  }
  scheduler_factory_ = module_factories.size();
  module_factories.emplace_back(std::move(factory));
}

void system_config::use_test_scheduler() {
  set("scheduler.policy", caf::atom("testing"));
  set("logger.inline-output", true);
  set("middleman.network-backend", caf::atom("testing"));
  set("middleman.manual-multiplexing", true);
  set("middleman.workers", size_t{0});
}

} // namespace troupe::runtime
