// Benchmark: the generic server against raw CAF doing the same work, in one
// run: cast throughput, call round trips from an actor and from a blocking
// caller (with CAF's work-stealing and work-sharing schedulers), spawn and
// init of many servers, and memory per idle server.
#include "tests/bench/bench.hpp"
#include "troupe/actors/gen_server.hpp"
#include "troupe/runtime/system_config.hpp"

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <fstream>
#include <unistd.h>

namespace ta = troupe::actors;
namespace tb = troupe::bench;
using namespace std::chrono_literals;

namespace {

using get_atom = caf::atom_constant<caf::atom("get")>;
using add_atom = caf::atom_constant<caf::atom("add")>;
using go_atom = caf::atom_constant<caf::atom("go")>;

using counter_api = caf::typed_actor<caf::replies_to<get_atom>::with<int>,
                                     caf::reacts_to<add_atom, int>>;

// The generic server.
struct counter {
  using interface = counter_api;
  int value = 0;
  ta::init_result init(ta::server_context<counter>&) {
    return ta::init_result::ok();
  }
  interface::behavior_type handlers(ta::server_context<counter>&) {
    return {
      [this](get_atom) { return value; },
      [this](add_atom, int n) { value += n; },
    };
  }
};

// The same counter in raw CAF; the init handshake mirrors the server's.
counter_api::behavior_type raw_counter(counter_api::pointer) {
  auto value = std::make_shared<int>(0);
  return {
    [value](get_atom) { return *value; },
    [value](add_atom, int n) { *value += n; },
  };
}

caf::actor raw_with_init(caf::actor_system& sys) {
  return sys.spawn([](caf::event_based_actor* self) {
    auto value = std::make_shared<int>(0);
    return caf::behavior{
      [self, value](ta::init_atom) {
        self->become([value](get_atom) { return *value; },
                     [value](add_atom, int n) { *value += n; });
        return ta::started_atom::value;
      },
    };
  });
}

counter_api start_server(caf::actor_system& sys) {
  auto s = ta::start<counter>(sys, {});
  if (!s) {
    std::fprintf(stderr, "start failed: %s\n", sys.render(s.error()).c_str());
    std::exit(1);
  }
  return s->handle;
}

double cast_rate(caf::actor_system& sys, const counter_api& target,
                 std::uint64_t n) {
  ta::caller c{sys};
  return tb::best_rate(n, 3, [&](std::uint64_t count) {
    for (std::uint64_t i = 0; i < count; ++i) {
      caf::anon_send(target, add_atom::value, 1);
    }
    static_cast<void>(c.call(target, 60s, get_atom::value)); // drain
  });
}

// A driver actor doing `n` sequential calls; returns calls per second.
double actor_call_rate(caf::actor_system& sys, const counter_api& target,
                       std::uint64_t n) {
  return tb::best_rate(n, 3, [&](std::uint64_t count) {
    auto driver = sys.spawn([target, count](caf::event_based_actor* self) {
      auto left = std::make_shared<std::uint64_t>(count);
      auto loop = std::make_shared<std::function<void()>>();
      auto done = std::make_shared<caf::response_promise>();
      *loop = [self, target, left, loop, done] {
        self->request(target, 60s, get_atom::value).then([=](int) {
          if (--*left == 0) {
            done->deliver(go_atom::value);
            *loop = nullptr; // break the cycle
          } else {
            (*loop)();
          }
        });
      };
      return caf::behavior{[self, loop, done](go_atom) {
        *done = self->make_response_promise();
        (*loop)();
        return caf::delegated<go_atom>{};
      }};
    });
    caf::scoped_actor self{sys};
    self->request(driver, 600s, go_atom::value)
      .receive([](go_atom) {}, [](caf::error&) {});
    caf::anon_send_exit(driver, caf::exit_reason::user_shutdown);
  });
}

double blocking_call_rate(caf::actor_system& sys, const counter_api& target,
                          std::uint64_t n) {
  ta::caller c{sys};
  return tb::best_rate(n, 3, [&](std::uint64_t count) {
    for (std::uint64_t i = 0; i < count; ++i) {
      static_cast<void>(c.call(target, 60s, get_atom::value));
    }
  });
}

double raw_blocking_call_rate(caf::actor_system& sys, const counter_api& target,
                              std::uint64_t n) {
  caf::scoped_actor self{sys};
  return tb::best_rate(n, 3, [&](std::uint64_t count) {
    for (std::uint64_t i = 0; i < count; ++i) {
      self->request(target, 60s, get_atom::value)
        .receive([](int) {}, [](caf::error&) {});
    }
  });
}

std::int64_t rss_bytes() {
  std::ifstream statm{"/proc/self/statm"};
  std::int64_t size = 0;
  std::int64_t resident = 0;
  statm >> size >> resident;
  return resident * sysconf(_SC_PAGESIZE);
}

// Spawns `n` actors with `spawn_one` and completes each one's init
// handshake, in batches of `batch` from the calling thread. Returns the
// rate and the RSS growth per actor; the actors stay alive in `keep`.
template <class SpawnOne>
std::pair<double, double> spawn_many(caf::actor_system& sys, std::uint64_t n,
                                     SpawnOne spawn_one,
                                     std::vector<caf::actor>& keep) {
  constexpr std::uint64_t batch = 1000;
  keep.reserve(n);
  auto before = rss_bytes();
  caf::scoped_actor self{sys};
  auto start = std::chrono::steady_clock::now();
  for (std::uint64_t done = 0; done < n; done += batch) {
    for (std::uint64_t i = 0; i < batch; ++i) {
      keep.push_back(spawn_one());
      self->send(keep.back(), ta::init_atom::value);
    }
    for (std::uint64_t i = 0; i < batch; ++i) {
      self->receive([](caf::atom_value) {});
    }
  }
  std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
  auto after = rss_bytes();
  return {static_cast<double>(n) / took.count(),
          static_cast<double>(after - before) / static_cast<double>(n)};
}

void stop_all(std::vector<caf::actor>& actors) {
  for (auto& a : actors) {
    caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  }
  actors.clear();
}

// Both policies as a node configures them (see `system_config::apply`).
void run(caf::atom_value policy) {
  troupe::runtime::system_config cfg;
  cfg.logs.reset();
  troupe::runtime::node_config node;
  node.policy = caf::to_string(policy) == "sharing"
                  ? troupe::runtime::scheduler_policy::sharing
                  : troupe::runtime::scheduler_policy::stealing;
  cfg.apply(node);
  caf::actor_system sys{cfg};
  std::string p = caf::to_string(policy);
  if (p == "stealing") {
    // First, on a fresh heap, and with both sets alive at once so that
    // neither reuses the other's freed memory.
    constexpr std::uint64_t many = 100'000;
    std::vector<caf::actor> servers;
    std::vector<caf::actor> raws;
    auto [server_rate, server_mem] = spawn_many(
      sys, many, [&sys] { return *ta::spawn_server<counter>(sys, {}); },
      servers);
    auto [raw_rate, raw_mem] = spawn_many(
      sys, many, [&sys] { return raw_with_init(sys); }, raws);
    stop_all(servers);
    stop_all(raws);
    tb::report("gen_server.spawn_init", server_rate / 1e3, "kactors/s");
    tb::report("raw_caf.spawn_init", raw_rate / 1e3, "kactors/s");
    tb::report("gen_server_vs_raw.spawn_init", server_rate / raw_rate, "ratio");
    tb::report("gen_server.idle_memory", server_mem, "bytes/actor");
    tb::report("raw_caf.idle_memory", raw_mem, "bytes/actor");
  }
  auto server = start_server(sys);
  auto raw = sys.spawn(raw_counter);

  auto server_cast = cast_rate(sys, server, 1'000'000);
  auto raw_cast = cast_rate(sys, raw, 1'000'000);
  tb::report("gen_server.cast." + p, server_cast / 1e6, "Mmsgs/s");
  tb::report("raw_caf.cast." + p, raw_cast / 1e6, "Mmsgs/s");
  tb::report("gen_server_vs_raw.cast." + p, server_cast / raw_cast, "ratio");

  auto server_call = actor_call_rate(sys, server, 200'000);
  auto raw_call = actor_call_rate(sys, raw, 200'000);
  tb::report("gen_server.call_from_actor." + p, server_call / 1e3, "kcalls/s");
  tb::report("raw_caf.call_from_actor." + p, raw_call / 1e3, "kcalls/s");
  tb::report("gen_server_vs_raw.call_from_actor." + p, server_call / raw_call,
             "ratio");

  auto server_block = blocking_call_rate(sys, server, 20'000);
  auto raw_block = raw_blocking_call_rate(sys, raw, 20'000);
  tb::report("gen_server.call_blocking." + p, server_block / 1e3, "kcalls/s");
  tb::report("raw_caf.call_blocking." + p, raw_block / 1e3, "kcalls/s");
  tb::report("gen_server_vs_raw.call_blocking." + p, server_block / raw_block,
             "ratio");

  caf::anon_send_exit(server, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(raw, caf::exit_reason::user_shutdown);
}

} // namespace

int main() {
  run(caf::atom("stealing"));
  run(caf::atom("sharing"));
  return 0;
}
