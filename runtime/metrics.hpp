// Metrics registry: counters, gauges and duration histograms, lock-free to
// update, rendered in the Prometheus text format.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace troupe::runtime {

/// Label pairs of one time series, e.g. `{{"status", "up"}}`.
using metric_labels = std::vector<std::pair<std::string, std::string>>;

/// A monotonically increasing count. Updating it is one relaxed atomic add.
class alignas(64) counter {
public:
  void inc(std::uint64_t n = 1) noexcept {
    value_.fetch_add(n, std::memory_order_relaxed);
  }
  std::uint64_t value() const noexcept {
    return value_.load(std::memory_order_relaxed);
  }

private:
  std::atomic<std::uint64_t> value_{0};
};

/// A value that goes up and down. Updating it is one relaxed atomic op.
class alignas(64) gauge {
public:
  void set(std::int64_t v) noexcept {
    value_.store(v, std::memory_order_relaxed);
  }
  void add(std::int64_t n) noexcept {
    value_.fetch_add(n, std::memory_order_relaxed);
  }
  std::int64_t value() const noexcept {
    return value_.load(std::memory_order_relaxed);
  }

private:
  std::atomic<std::int64_t> value_{0};
};

/// A distribution of durations over fixed buckets from 1 µs to 10 s (1-2.5-5
/// steps). Observing one is a short bucket search and two relaxed atomic adds.
class duration_histogram {
public:
  /// Upper bounds of the finite buckets, in nanoseconds.
  static constexpr std::array<std::int64_t, 22> bounds_ns{
    1'000,         2'500,         5'000,       10'000,        25'000,
    50'000,        100'000,       250'000,     500'000,       1'000'000,
    2'500'000,     5'000'000,     10'000'000,  25'000'000,    50'000'000,
    100'000'000,   250'000'000,   500'000'000, 1'000'000'000, 2'500'000'000,
    5'000'000'000, 10'000'000'000};

  void observe(std::chrono::nanoseconds d) noexcept;

  /// Per-bucket counts (not cumulative); the last entry is `+Inf`.
  std::array<std::uint64_t, bounds_ns.size() + 1> bucket_counts() const;

  /// Number of observations.
  std::uint64_t count() const noexcept;

  /// Sum of all observations.
  std::chrono::nanoseconds sum() const noexcept {
    return std::chrono::nanoseconds{sum_ns_.load(std::memory_order_relaxed)};
  }

private:
  std::array<std::atomic<std::uint64_t>, bounds_ns.size() + 1> buckets_{};
  std::atomic<std::int64_t> sum_ns_{0};
};

/// The metrics of one node. Registration takes a lock (do it once, keep the
/// reference); updates through the returned references never lock. The
/// references stay valid as long as the registry lives.
class metrics_registry {
public:
  /// Returns the counter `name{labels}`, creating it on first use. Names
  /// follow Prometheus (`[a-zA-Z_:][a-zA-Z0-9_:]*`); registering one name as
  /// two kinds of metric is a programming error and throws
  /// `std::logic_error`.
  counter& add_counter(std::string_view name, std::string_view help,
                       metric_labels labels = {});

  /// Returns the gauge `name{labels}`, creating it on first use.
  gauge& add_gauge(std::string_view name, std::string_view help,
                   metric_labels labels = {});

  /// Returns the histogram `name{labels}`, creating it on first use. Its
  /// samples are rendered in seconds, as Prometheus expects.
  duration_histogram& add_histogram(std::string_view name,
                                    std::string_view help,
                                    metric_labels labels = {});

  /// Renders every metric in the Prometheus text exposition format 0.0.4.
  std::string render_prometheus() const;

private:
  enum class kind { counter, gauge, histogram };

  struct series {
    metric_labels labels;
    std::unique_ptr<counter> c;
    std::unique_ptr<gauge> g;
    std::unique_ptr<duration_histogram> h;
  };

  struct family {
    std::string name;
    std::string help;
    kind type;
    std::deque<series> members;
  };

  series& find_or_add(std::string_view name, std::string_view help, kind type,
                      metric_labels labels);

  mutable std::mutex mtx_;
  std::deque<family> families_;
};

} // namespace troupe::runtime
