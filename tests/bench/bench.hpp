// Small helpers shared by the benchmark programs: timing and the output line.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string_view>

namespace troupe::bench {

/// Prints one figure as `bench <name> <value> <unit>`.
inline void report(std::string_view name, double value, std::string_view unit) {
  std::printf("bench %.*s %.6g %.*s\n", static_cast<int>(name.size()),
              name.data(), value, static_cast<int>(unit.size()), unit.data());
  std::fflush(stdout);
}

/// Runs `body(n)` (which does n operations) `rounds` times and returns the
/// best rate in operations per second; the best of several rounds is the
/// least disturbed by other load on a shared machine.
template <class F>
double best_rate(std::uint64_t n, int rounds, F&& body) {
  double best = 0;
  for (int r = 0; r < rounds; ++r) {
    auto start = std::chrono::steady_clock::now();
    body(n);
    std::chrono::duration<double> took = std::chrono::steady_clock::now()
                                         - start;
    best = std::max(best, static_cast<double>(n) / took.count());
  }
  return best;
}

/// Whether the command line asks for the part `part`: every part when no
/// names were given.
inline bool wanted(int argc, char** argv, std::string_view part) {
  if (argc < 2) {
    return true;
  }
  for (int i = 1; i < argc; ++i) {
    if (part == argv[i]) {
      return true;
    }
  }
  return false;
}

/// Whether the command line names the part `part` (for parts too slow to
/// run unless asked for).
inline bool named(int argc, char** argv, std::string_view part) {
  return argc >= 2 && wanted(argc, argv, part);
}

/// Keeps the optimizer from removing a computed value.
template <class T>
inline void keep(T const& value) {
  asm volatile("" : : "r,m"(value) : "memory");
}

} // namespace troupe::bench
