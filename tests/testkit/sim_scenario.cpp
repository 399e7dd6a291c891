// Scenarios for the simulated world.
#include "troupe/testkit/sim_scenario.hpp"

#include "troupe/runtime/errors.hpp"

#include <fmt/format.h>

#include <chrono>
#include <cstdlib>
#include <exception>

namespace troupe::testkit::sim {

namespace {

using namespace std::chrono_literals;

std::optional<std::string> default_setup(world& w) {
  if (auto err = w.start_all()) {
    return "the nodes did not start: " + runtime::describe(err);
  }
  if (!w.run_until([&w] { return w.converged() && w.ring_settled(); }, 60s)) {
    return "the cluster did not form within 60 s";
  }
  return std::nullopt;
}

std::string seconds(sim_time t) {
  return fmt::format("{:.3f}", std::chrono::duration<double>(t).count());
}

} // namespace

std::string run_result::replay() const {
  return fmt::format("TROUPE_SIM_SEED={} TROUPE_SIM_SCHEDULE='{}'", seed,
                     to_string(schedule));
}

fault_schedule schedule_for(const scenario& s, std::uint64_t seed) {
  auto rng = stream(seed, "faults");
  auto shape = s.faults;
  shape.nodes = s.world.nodes;
  return random_schedule(rng, shape);
}

run_result run(const scenario& s, std::uint64_t seed,
               const std::optional<fault_schedule>& schedule) {
  run_result r;
  r.scenario = s.name;
  r.seed = seed;
  r.schedule = schedule ? *schedule : schedule_for(s, seed);
  auto started = std::chrono::steady_clock::now();
  auto opts = s.world;
  opts.seed = seed;
  auto hooks = s.hooks ? s.hooks() : run_hooks{};
  std::optional<world> w;
  try {
    w.emplace(opts);
    auto fail = [&r, &w](std::string msg) {
      r.failure = fmt::format("at {} s: {}", seconds(w->now()), msg);
    };
    if (auto err = validate(r.schedule, opts.nodes)) {
      r.failure = runtime::describe(err);
    } else if (auto msg = hooks.setup ? hooks.setup(*w) : default_setup(*w)) {
      fail(*msg);
    } else {
      if (hooks.always) {
        w->check_always(hooks.always);
      }
      w->note("faults " + to_string(r.schedule));
      w->schedule(r.schedule);
      auto faults_end = w->now() + r.schedule.end();
      while (w->now() < faults_end && !w->failure()) {
        w->run_for(s.step);
        if (hooks.step) {
          hooks.step(*w);
        }
      }
      w->note("faults over");
      auto settle_end = w->now() + s.settle_within;
      bool settled = false;
      while (!w->failure()) {
        settled = w->run_until(
          [&w] {
            return w->converged() && w->ring_settled()
                   && w->quorum_everywhere();
          },
          std::min(s.step, settle_end - w->now()));
        if (settled || w->now() >= settle_end) {
          break;
        }
        if (hooks.step) {
          hooks.step(*w);
        }
      }
      if (w->failure()) {
        r.failure = *w->failure();
      } else if (!settled) {
        fail(fmt::format("the cluster did not settle within {} s of the "
                         "last fault",
                         seconds(s.settle_within)));
      } else if (auto msg = hooks.at_end ? hooks.at_end(*w) : std::nullopt) {
        fail(*msg);
      }
    }
  } catch (const std::exception& e) {
    r.failure = fmt::format("the world threw: {}", e.what());
  }
  if (w) {
    r.trace_hash = w->trace_hash();
    r.simulated = w->now();
    r.events = w->events();
    r.trace_tail.assign(w->trace().begin(), w->trace().end());
    w.reset();
  }
  r.wall_seconds
    = std::chrono::duration<double>(std::chrono::steady_clock::now() - started)
        .count();
  return r;
}

shrunk shrink(const scenario& s, const run_result& failing,
              std::size_t max_runs) {
  shrunk out{.smallest = failing, .runs = 0};
  bool progress = true;
  while (progress && out.runs < max_runs) {
    progress = false;
    for (auto& candidate : shrink_candidates(out.smallest.schedule)) {
      if (out.runs >= max_runs) {
        break;
      }
      ++out.runs;
      auto r = run(s, failing.seed, candidate);
      if (!r.ok()) {
        out.smallest = std::move(r);
        progress = true;
        break;
      }
    }
  }
  return out;
}

std::optional<std::string> check(const scenario& s, std::uint64_t seed) {
  seed = seed_from_env(seed);
  std::optional<fault_schedule> schedule;
  if (const char* text = std::getenv("TROUPE_SIM_SCHEDULE")) {
    auto parsed = parse_schedule(text);
    if (!parsed) {
      return "TROUPE_SIM_SCHEDULE: " + runtime::describe(parsed.error());
    }
    schedule = std::move(*parsed);
  }
  auto r = run(s, seed, schedule);
  if (r.ok()) {
    return std::nullopt;
  }
  auto report = fmt::format("{} failed with seed {}: {}\n  replay: {}\n",
                            s.name, seed, r.failure, r.replay());
  auto small = shrink(s, r);
  report += fmt::format(
    "  shrunk in {} runs to {} fault(s): {}\n  failure: {}\n  replay: {}\n"
    "  trace of the shrunk run (last {} lines):\n",
    small.runs, small.smallest.schedule.faults.size(),
    to_string(small.smallest.schedule), small.smallest.failure,
    small.smallest.replay(), small.smallest.trace_tail.size());
  for (const auto& line : small.smallest.trace_tail) {
    report += "    " + line + "\n";
  }
  return report;
}

std::optional<std::string> check_determinism(const scenario& s,
                                             std::uint64_t seed) {
  auto a = run(s, seed);
  auto b = run(s, seed);
  if (a.trace_hash == b.trace_hash && a.events == b.events
      && a.failure == b.failure) {
    return std::nullopt;
  }
  std::string diff;
  auto n = std::min(a.trace_tail.size(), b.trace_tail.size());
  for (std::size_t i = 0; i < n; ++i) {
    if (a.trace_tail[i] != b.trace_tail[i]) {
      diff = fmt::format("first different kept line:\n  {}\n  {}",
                         a.trace_tail[i], b.trace_tail[i]);
      break;
    }
  }
  return fmt::format("seed {} ran twice: hashes {:016x} and {:016x}, {} and "
                     "{} events. {}",
                     seed, a.trace_hash, b.trace_hash, a.events, b.events,
                     diff);
}

std::optional<std::string> at_most_one_activation(world& w) {
  std::vector<std::string> twice;
  for (const auto& [name, nodes] : w.activations()) {
    if (nodes.size() > 1) {
      std::vector<std::string> where;
      for (auto i : nodes) {
        where.push_back(w.name(i));
      }
      twice.push_back(fmt::format("{} on {}", name, fmt::join(where, ",")));
    }
  }
  if (twice.empty()) {
    return std::nullopt;
  }
  return fmt::format("more than one activation: {}", fmt::join(twice, "; "));
}

std::optional<std::string> converged_with_one_ring(world& w) {
  if (!w.converged()) {
    return "the running nodes have not converged";
  }
  if (!w.ring_settled()) {
    return "the running nodes do not share one settled ring";
  }
  return std::nullopt;
}

} // namespace troupe::testkit::sim
