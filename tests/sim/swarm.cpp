// Runs many seeds of a scenario of the simulated world in parallel
// processes and reports the failing seeds with the lines that replay them.
//
//   sim-swarm [--scenario NAME|ci|all] [--seeds N] [--first S] [--jobs J]
//             [--shrink] [--quiet]
//
// `ci` is the scenarios that hold for every seed so far; each seed runs
// every chosen scenario. A seed that fails because of a known fault of the
// cluster (`known_failures()`) is reported as KNOWN, and as NOW HOLDS when
// it stops failing; neither fails the run.
//
// Exit status: 0 every seed held (or failed as known), 1 some failed, 2 bad
// usage.
#include "tests/sim/scenarios.hpp"

#include <fmt/format.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

namespace sim = troupe::testkit::sim;

namespace {

struct args {
  std::string scenario = "all";
  std::uint64_t seeds = 100;
  std::uint64_t first = 1;
  unsigned jobs = 0;
  bool shrink = false;
  bool quiet = false;
};

int usage(const std::string& why) {
  std::cerr << "sim-swarm: " << why
            << "\nusage: sim-swarm [--scenario NAME|ci|all] [--seeds N] "
               "[--first S] [--jobs J] [--shrink] [--quiet]\n";
  return 2;
}

// One process's share: seeds first+k, first+k+jobs, ...; one line per
// failing seed on the pipe.
void worker(const std::vector<std::pair<std::string, sim::scenario>>& list,
            const args& a, unsigned k, int fd) {
  for (std::uint64_t s = a.first + k; s < a.first + a.seeds; s += a.jobs) {
    for (const auto& [name, sc] : list) {
      auto r = sim::run(sc, s);
      std::string line;
      const auto* known = sim::find_known_failure(name, s);
      if (r.ok()) {
        line = fmt::format("ok {} {} {:.3f} {}\n", name, s, r.wall_seconds,
                           std::chrono::duration<double>(r.simulated).count());
        if (known != nullptr) {
          line += fmt::format("NOW HOLDS {} {}: a known failure that no "
                              "longer fails; take it off the list\n",
                              name, s);
        }
      } else if (known != nullptr) {
        line = fmt::format("KNOWN {} {} {} | {} | {}\n", name, s, r.replay(),
                           r.failure, known->why);
        for (std::size_t i = 0; i + 1 < line.size(); ++i) {
          line[i] = line[i] == '\n' ? ' ' : line[i];
        }
      } else {
        std::string detail = r.failure;
        if (a.shrink) {
          auto small = sim::shrink(sc, r);
          detail += " | shrunk: " + small.smallest.replay() + " | "
                    + small.smallest.failure;
        }
        for (auto& c : detail) {
          c = c == '\n' ? ' ' : c;
        }
        line = fmt::format("FAIL {} {} {} | {}\n", name, s, r.replay(), detail);
      }
      if (::write(fd, line.data(), line.size()) < 0) {
        std::_Exit(3);
      }
    }
  }
}

} // namespace

int main(int argc, char** argv) {
  args a;
  for (int i = 1; i < argc; ++i) {
    std::string opt = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::exit(usage(opt + " needs a value"));
      }
      return argv[++i];
    };
    try {
      if (opt == "--scenario") {
        a.scenario = value();
      } else if (opt == "--seeds") {
        a.seeds = std::stoull(value());
      } else if (opt == "--first") {
        a.first = std::stoull(value());
      } else if (opt == "--jobs") {
        a.jobs = static_cast<unsigned>(std::stoul(value()));
      } else if (opt == "--shrink") {
        a.shrink = true;
      } else if (opt == "--quiet") {
        a.quiet = true;
      } else {
        return usage("unknown option " + opt);
      }
    } catch (const std::exception&) {
      return usage(opt + " needs a number");
    }
  }
  std::vector<std::pair<std::string, sim::scenario>> list;
  for (const auto& sc : sim::all_scenarios()) {
    if (a.scenario == "all" || a.scenario == sc.name
        || (a.scenario == "ci" && sc.in_ci)) {
      list.emplace_back(sc.name, sc.make());
    }
  }
  if (list.empty()) {
    std::string names;
    for (const auto& sc : sim::all_scenarios()) {
      names += " " + sc.name;
    }
    return usage("no scenario " + a.scenario + "; there are ci, all and"
                 + names);
  }
  if (a.jobs == 0) {
    a.jobs = std::max(1L, ::sysconf(_SC_NPROCESSORS_ONLN));
  }
  auto started = std::chrono::steady_clock::now();
  int fds[2];
  if (::pipe(fds) != 0) {
    std::perror("pipe");
    return 2;
  }
  std::vector<pid_t> pids;
  for (unsigned k = 0; k < a.jobs; ++k) {
    auto pid = ::fork();
    if (pid == 0) {
      ::close(fds[0]);
      worker(list, a, k, fds[1]);
      ::close(fds[1]);
      std::_Exit(0);
    }
    pids.push_back(pid);
  }
  ::close(fds[1]);
  std::string pending;
  std::uint64_t ok = 0;
  std::uint64_t failed = 0;
  std::uint64_t known = 0;
  double simulated = 0;
  char buf[4096];
  for (;;) {
    auto n = ::read(fds[0], buf, sizeof(buf));
    if (n <= 0) {
      break;
    }
    pending.append(buf, static_cast<std::size_t>(n));
    for (auto nl = pending.find('\n'); nl != std::string::npos;
         nl = pending.find('\n')) {
      auto line = pending.substr(0, nl);
      pending.erase(0, nl + 1);
      if (line.rfind("ok ", 0) == 0) {
        ++ok;
        auto last = line.rfind(' ');
        simulated += std::atof(line.c_str() + last + 1);
        if (!a.quiet) {
          std::cout << line << '\n';
        }
      } else if (line.rfind("KNOWN ", 0) == 0
                 || line.rfind("NOW HOLDS ", 0) == 0) {
        known += line[0] == 'K' ? 1 : 0;
        std::cout << line << std::endl;
      } else {
        ++failed;
        std::cout << line << std::endl;
      }
    }
  }
  int crashed = 0;
  for (auto pid : pids) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      ++crashed;
    }
  }
  auto wall
    = std::chrono::duration<double>(std::chrono::steady_clock::now() - started)
        .count();
  std::cout << fmt::format("sim-swarm: {} runs held, {} failed, {} failed as "
                           "known, {} worker(s) died; {:.0f} s simulated in "
                           "{:.1f} s\n",
                           ok, failed, known, crashed, simulated, wall);
  return failed == 0 && crashed == 0 ? 0 : 1;
}
