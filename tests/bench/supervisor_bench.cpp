// Benchmark: restarts per second of a crashing child under one_for_one,
// beside raw CAF re-spawning the same child in the same run; start and
// orderly stop of a 10,000-child tree, with its memory.
#include "tests/bench/bench.hpp"
#include "troupe/runtime/system_config.hpp"
#include "troupe/supervision/errors.hpp"
#include "troupe/supervision/supervisor.hpp"
#include "troupe/supervision/supervisor_client.hpp"

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/exit_reason.hpp>
#include <caf/scoped_actor.hpp>

#include <fstream>
#include <unistd.h>

namespace ta = troupe::actors;
namespace tb = troupe::bench;
namespace ts = troupe::supervision;
using namespace std::chrono_literals;

namespace {

using go_atom = caf::atom_constant<caf::atom("go")>;
using get_atom = caf::atom_constant<caf::atom("get")>;

constexpr std::uint32_t restarts = 100'000;

// A child that crashes as soon as it runs.
caf::expected<caf::actor>
crashing_child(caf::actor_system& sys, const caf::actor&, const caf::message&) {
  return sys.spawn([](caf::event_based_actor* self) {
    self->quit(caf::make_error(caf::sec::runtime_error, "crash"));
    return caf::behavior{[](const caf::unit_t&) {}};
  });
}

double supervised_rate(caf::actor_system& sys) {
  ts::child_spec spec;
  spec.id = "crasher";
  spec.start = crashing_child;
  spec.shutdown = ts::shutdown_spec::brutal_kill();
  caf::scoped_actor self{sys};
  auto start = std::chrono::steady_clock::now();
  auto sup = ts::spawn_supervisor(sys, {.intensity = restarts, .period = 3600s},
                                  {spec});
  self->monitor(*sup);
  self->send(*sup, ta::init_atom::value);
  bool down = false;
  while (!down) {
    self->receive([&down](caf::down_msg&) { down = true; },
                  [](caf::atom_value) {}, [](caf::error&) {});
  }
  std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
  return restarts / took.count();
}

// The same work in raw CAF: monitor, respawn on DOWN, N times.
double raw_rate(caf::actor_system& sys) {
  auto respawner = sys.spawn([](caf::event_based_actor* self) {
    auto left = std::make_shared<std::uint32_t>(restarts);
    auto done = std::make_shared<caf::response_promise>();
    auto spawn_one = [self] {
      self->monitor(*crashing_child(self->system(), {}, {}));
    };
    self->set_down_handler([=](caf::down_msg&) {
      if (--*left == 0) {
        done->deliver(go_atom::value);
        self->quit();
      } else {
        spawn_one();
      }
    });
    return caf::behavior{[=](go_atom) {
      *done = self->make_response_promise();
      spawn_one();
      return caf::delegated<go_atom>{};
    }};
  });
  caf::scoped_actor self{sys};
  auto start = std::chrono::steady_clock::now();
  self->request(respawner, caf::infinite, go_atom::value)
    .receive([](go_atom) {}, [](caf::error&) {});
  std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
  return restarts / took.count();
}

struct idle_server {
  using interface = caf::typed_actor<caf::replies_to<get_atom>::with<int>>;
  ta::init_result init(ta::server_context<idle_server>&) {
    return ta::init_result::ok();
  }
  interface::behavior_type handlers(ta::server_context<idle_server>&) {
    return {[](get_atom) { return 1; }};
  }
};

std::int64_t rss_bytes() {
  std::ifstream statm{"/proc/self/statm"};
  std::int64_t size = 0;
  std::int64_t resident = 0;
  statm >> size >> resident;
  return resident * sysconf(_SC_PAGESIZE);
}

} // namespace

int main() {
  troupe::runtime::system_config cfg;
  cfg.logs.reset();
  ts::add_supervision_types(cfg);
  caf::actor_system sys{cfg};

  // Restarts first: the tree's shutdown leaves a kill timer per child
  // behind, which would fire during a later measurement.
  auto sup_rate = supervised_rate(sys);
  auto raw = raw_rate(sys);
  tb::report("supervisor.restarts_one_for_one", sup_rate / 1e3, "krestarts/s");
  tb::report("raw_caf.respawns", raw / 1e3, "krespawns/s");
  tb::report("supervisor_vs_raw.restarts", sup_rate / raw, "ratio");

  constexpr int tree_size = 10'000;
  std::vector<ts::child_spec> specs;
  specs.reserve(tree_size);
  for (int i = 0; i < tree_size; ++i) {
    specs.push_back(ts::server_child<idle_server>("s" + std::to_string(i)));
  }
  auto before = rss_bytes();
  auto t0 = std::chrono::steady_clock::now();
  auto sup = ts::start_supervisor(sys, {}, std::move(specs));
  auto t1 = std::chrono::steady_clock::now();
  auto grown = rss_bytes() - before;
  if (!sup) {
    std::fprintf(stderr, "tree start failed: %s\n",
                 sys.render(sup.error()).c_str());
    return 1;
  }
  ts::supervisor_client client{sys, *sup};
  if (auto err = client.stop()) {
    std::fprintf(stderr, "tree stop failed\n");
    return 1;
  }
  auto t2 = std::chrono::steady_clock::now();
  using ms = std::chrono::duration<double, std::milli>;
  tb::report("supervisor.tree10k_start", ms(t1 - t0).count(), "ms");
  tb::report("supervisor.tree10k_stop", ms(t2 - t1).count(), "ms");
  tb::report("supervisor.tree10k_memory",
             static_cast<double>(grown) / tree_size, "bytes/child");

  return 0;
}
