// The restart intensity window (pure): how many restarts a supervisor has
// made within its period, and whether one more is still allowed.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>

namespace troupe::supervision {

/// OTP's rule: a supervisor may restart at most `intensity` times within any
/// `period`; the restart that would exceed it makes the supervisor give up.
/// Restarts older than the period are forgotten. Time is passed in, never
/// read, so the rule can be tested exhaustively.
class restart_window {
public:
  using clock = std::chrono::steady_clock;

  restart_window(std::uint32_t intensity, std::chrono::milliseconds period)
    : intensity_(intensity), period_(period) {}

  /// Records a restart at `now`; false if it exceeds the intensity (the
  /// supervisor must then shut down instead of restarting).
  bool add(clock::time_point now) {
    while (!restarts_.empty() && now - restarts_.front() >= period_) {
      restarts_.pop_front();
    }
    restarts_.push_back(now);
    return restarts_.size() <= intensity_;
  }

  /// Restarts remembered within the period ending at the latest `add`.
  std::size_t recent() const {
    return restarts_.size();
  }

private:
  std::uint32_t intensity_;
  std::chrono::milliseconds period_;
  std::deque<clock::time_point> restarts_;
};

} // namespace troupe::supervision
