// Waiting for a condition with a deadline, never for a fixed time.
#pragma once

#include <chrono>
#include <functional>
#include <thread>

namespace troupe::testkit {

/// Polls `condition` until it holds or `deadline` has passed; returns whether
/// it held. The poll interval only bounds how late success is noticed.
inline bool
wait_until(const std::function<bool()>& condition,
           std::chrono::milliseconds deadline,
           std::chrono::milliseconds poll = std::chrono::milliseconds{5}) {
  auto end = std::chrono::steady_clock::now() + deadline;
  for (;;) {
    if (condition()) {
      return true;
    }
    if (std::chrono::steady_clock::now() >= end) {
      return condition();
    }
    std::this_thread::sleep_for(poll);
  }
}

} // namespace troupe::testkit
