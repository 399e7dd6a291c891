// The phi-accrual failure detector's arithmetic.
#include "phi_detector.hpp"

#include <algorithm>
#include <cmath>

namespace troupe::cluster {

phi_detector::phi_detector(phi_settings settings) : settings_(settings) {
  // Seed the estimate with two intervals around the first guess, so that
  // the first silence is judged by something sensible.
  auto first = static_cast<double>(settings_.first_interval.count());
  add_interval(first - first / 4);
  add_interval(first + first / 4);
}

void phi_detector::add_interval(double ms) {
  if (intervals_.size() >= std::max<std::size_t>(settings_.max_samples, 2)) {
    auto old = intervals_.front();
    intervals_.pop_front();
    sum_ -= old;
    sum_squares_ -= old * old;
  }
  intervals_.push_back(ms);
  sum_ += ms;
  sum_squares_ += ms * ms;
}

void phi_detector::heartbeat(time_point now) {
  if (last_) {
    auto ms = std::chrono::duration<double, std::milli>(now - *last_).count();
    add_interval(std::max(ms, 0.0));
  }
  last_ = now;
}

double phi_detector::mean_ms() const {
  return sum_ / static_cast<double>(intervals_.size());
}

double phi_detector::std_dev_ms() const {
  auto n = static_cast<double>(intervals_.size());
  auto mean = mean_ms();
  auto variance = std::max(sum_squares_ / n - mean * mean, 0.0);
  return std::max(std::sqrt(variance),
                  static_cast<double>(settings_.min_std_dev.count()));
}

double phi_detector::phi(time_point now) const {
  if (!last_) {
    return 0.0;
  }
  auto elapsed
    = std::chrono::duration<double, std::milli>(now - *last_).count();
  auto pause = static_cast<double>(settings_.acceptable_pause.count());
  return phi_of(elapsed, mean_ms() + pause, std_dev_ms());
}

bool phi_detector::is_available(time_point now) const {
  return phi(now) < settings_.threshold;
}

double phi_of(double elapsed_ms, double mean_ms, double std_dev_ms) {
  auto y = (elapsed_ms - mean_ms) / std_dev_ms;
  auto e = std::exp(-y * (1.5976 + 0.070566 * y * y));
  if (elapsed_ms > mean_ms) {
    return -std::log10(e / (1.0 + e));
  }
  return -std::log10(1.0 - 1.0 / (1.0 + e));
}

} // namespace troupe::cluster
