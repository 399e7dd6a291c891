// Tests of the phi-accrual arithmetic.
#include "troupe/cluster/phi_detector.hpp"

#include <doctest/doctest.h>

namespace tc = troupe::cluster;
using namespace std::chrono_literals;

TEST_SUITE_BEGIN("cluster.phi");

TEST_CASE("phi grows with silence and is about 0.3 at the mean") {
  CHECK(tc::phi_of(100, 100, 10) == doctest::Approx(0.30103).epsilon(0.001));
  CHECK(tc::phi_of(50, 100, 10) < 0.01);
  double last = 0;
  for (double t = 100; t < 200; t += 5) {
    auto phi = tc::phi_of(t, 100, 10);
    CHECK(phi > last);
    last = phi;
  }
  // 0.135 % of a normal distribution lies beyond 3 deviations:
  // -log10(0.00135) = 2.87.
  CHECK(tc::phi_of(130, 100, 10) == doctest::Approx(2.87).epsilon(0.02));
}

TEST_CASE("regular heartbeats keep a peer available; silence makes it "
          "suspect within the expected time") {
  tc::phi_detector d{{.threshold = 8.0,
                      .min_std_dev = 100ms,
                      .acceptable_pause = 500ms,
                      .first_interval = 200ms}};
  tc::phi_detector::time_point t{};
  CHECK(d.phi(t) == 0.0);
  for (int i = 0; i < 50; ++i) {
    t += 200ms;
    d.heartbeat(t);
    CHECK(d.is_available(t + 100ms));
  }
  CHECK(d.mean_ms() == doctest::Approx(200).epsilon(0.01));
  CHECK(d.std_dev_ms() == doctest::Approx(100)); // the floor
  CHECK(d.is_available(t + 1000ms));
  CHECK_FALSE(d.is_available(t + 1500ms)); // the goal: under 2 s
  CHECK(d.phi(t + 3000ms) > d.phi(t + 1500ms));
}

TEST_CASE("the estimate keeps a bounded window of intervals") {
  tc::phi_detector d{{.max_samples = 10}};
  tc::phi_detector::time_point t{};
  for (int i = 0; i < 100; ++i) {
    t += 50ms;
    d.heartbeat(t);
  }
  CHECK(d.samples() == 10);
  CHECK(d.mean_ms() == doctest::Approx(50));
}

TEST_SUITE_END();
