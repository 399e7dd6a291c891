// Benchmark: cost of updating runtime metrics against the bare alternatives,
// on one thread and with two threads updating the same series.
#include "tests/bench/bench.hpp"
#include "troupe/runtime/metrics.hpp"

#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

namespace tb = troupe::bench;

namespace {

constexpr std::uint64_t ops = 20'000'000;
constexpr int rounds = 5;

template <class F>
double two_threads(F&& body) {
  return tb::best_rate(ops, rounds, [&body](std::uint64_t n) {
    std::thread other{[&body, n] { body(n / 2); }};
    body(n / 2);
    other.join();
  });
}

} // namespace

int main() {
  troupe::runtime::metrics_registry reg;
  auto& c = reg.add_counter("bench_total", "benchmark counter");
  auto& h = reg.add_histogram("bench_seconds", "benchmark histogram");
  std::atomic<std::uint64_t> raw{0};
  std::mutex mtx;
  std::uint64_t locked = 0;

  auto counter_inc = [&c](std::uint64_t n) {
    for (std::uint64_t i = 0; i < n; ++i) {
      c.inc();
    }
  };
  auto raw_inc = [&raw](std::uint64_t n) {
    for (std::uint64_t i = 0; i < n; ++i) {
      raw.fetch_add(1, std::memory_order_relaxed);
    }
  };
  auto locked_inc = [&mtx, &locked](std::uint64_t n) {
    for (std::uint64_t i = 0; i < n; ++i) {
      std::lock_guard guard{mtx};
      ++locked;
    }
  };
  auto observe = [&h](std::uint64_t n) {
    for (std::uint64_t i = 0; i < n; ++i) {
      h.observe(
        std::chrono::nanoseconds{static_cast<std::int64_t>(i & 0xFFFFF)});
    }
  };

  auto counter_rate = tb::best_rate(ops, rounds, counter_inc);
  auto raw_rate = tb::best_rate(ops, rounds, raw_inc);
  auto locked_rate = tb::best_rate(ops, rounds, locked_inc);
  auto observe_rate = tb::best_rate(ops, rounds, observe);
  tb::report("metrics.counter_inc", counter_rate / 1e6, "Mops/s");
  tb::report("metrics.raw_atomic_inc", raw_rate / 1e6, "Mops/s");
  tb::report("metrics.mutex_inc", locked_rate / 1e6, "Mops/s");
  tb::report("metrics.counter_vs_raw_atomic", counter_rate / raw_rate, "ratio");
  tb::report("metrics.counter_vs_mutex", counter_rate / locked_rate, "ratio");
  tb::report("metrics.histogram_observe", observe_rate / 1e6, "Mops/s");

  auto counter2 = two_threads(counter_inc);
  auto locked2 = two_threads(locked_inc);
  tb::report("metrics.counter_inc_2threads", counter2 / 1e6, "Mops/s");
  tb::report("metrics.mutex_inc_2threads", locked2 / 1e6, "Mops/s");
  tb::report("metrics.counter_vs_mutex_2threads", counter2 / locked2, "ratio");
  tb::keep(locked);
  return c.value() > 0 && h.count() > 0 ? 0 : 1;
}
