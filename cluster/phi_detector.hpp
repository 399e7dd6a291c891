// The phi-accrual failure detector's arithmetic (a pure value).
#pragma once

#include <chrono>
#include <cstddef>
#include <deque>
#include <optional>

namespace troupe::cluster {

/// Settings of the phi-accrual detector.
struct phi_settings {
  /// Suspicion level above which a peer counts as unreachable.
  double threshold = 8.0;
  /// How many heartbeat intervals the estimate keeps.
  std::size_t max_samples = 200;
  /// Floor of the standard deviation, so that very regular heartbeats do not
  /// make the detector jumpy.
  std::chrono::milliseconds min_std_dev{100};
  /// A pause in heartbeats this long is tolerated (GC, scheduling, a busy
  /// machine) without raising suspicion much.
  std::chrono::milliseconds acceptable_pause{500};
  /// The interval assumed before any has been measured.
  std::chrono::milliseconds first_interval{200};
};

/// Accrual failure detection (Hayashibara et al.): from the intervals
/// between heartbeats it estimates how unlikely the current silence is,
/// as phi = -log10(P(a heartbeat arrives later than now)). Time is passed
/// in, never read: the owner feeds a monotonic clock.
class phi_detector {
public:
  using time_point = std::chrono::steady_clock::time_point;

  explicit phi_detector(phi_settings settings = {});

  /// Records a heartbeat that arrived at `now`.
  void heartbeat(time_point now);

  /// The suspicion level at `now`; 0 before the first heartbeat.
  double phi(time_point now) const;

  /// Whether `phi(now)` is below the threshold.
  bool is_available(time_point now) const;

  /// Mean and standard deviation of the intervals, in milliseconds.
  double mean_ms() const;
  double std_dev_ms() const;

  std::size_t samples() const {
    return intervals_.size();
  }

private:
  void add_interval(double ms);

  phi_settings settings_;
  std::deque<double> intervals_;
  double sum_ = 0;
  double sum_squares_ = 0;
  std::optional<time_point> last_;
};

/// phi for a silence of `elapsed_ms` given intervals with this mean and
/// standard deviation (a logistic approximation of the normal CDF).
double phi_of(double elapsed_ms, double mean_ms, double std_dev_ms);

} // namespace troupe::cluster
