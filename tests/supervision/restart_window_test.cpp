// Tests of the restart intensity window at its edges.
#include "troupe/supervision/restart_window.hpp"

#include <doctest/doctest.h>

using troupe::supervision::restart_window;
using namespace std::chrono_literals;

namespace {

restart_window::clock::time_point at(std::chrono::milliseconds t) {
  return restart_window::clock::time_point{} + t;
}

} // namespace

TEST_SUITE_BEGIN("supervision.restart_window");

TEST_CASE("exactly N restarts within the period are allowed, N+1 are not") {
  for (std::uint32_t n : {0u, 1u, 3u, 10u}) {
    CAPTURE(n);
    restart_window w{n, 5000ms};
    for (std::uint32_t i = 0; i < n; ++i) {
      CHECK(w.add(at(std::chrono::milliseconds{i})));
    }
    CHECK_FALSE(w.add(at(std::chrono::milliseconds{n})));
  }
}

TEST_CASE("restarts older than the period are forgotten") {
  restart_window w{1, 5000ms};
  CHECK(w.add(at(0ms)));
  CHECK(w.add(at(5000ms))); // the first is exactly one period old
  CHECK_FALSE(w.add(at(9999ms)));
}

TEST_CASE("a restart just inside the period still counts") {
  restart_window w{2, 1000ms};
  CHECK(w.add(at(0ms)));
  CHECK(w.add(at(500ms)));
  CHECK_FALSE(w.add(at(999ms)));
  CHECK_EQ(w.recent(), 3u);
}

TEST_CASE("a steady rate below the intensity runs forever") {
  restart_window w{3, 1000ms};
  for (int i = 0; i < 10000; ++i) {
    REQUIRE(w.add(at(std::chrono::milliseconds{i * 334})));
  }
  CHECK_LE(w.recent(), 3u);
}

TEST_SUITE_END();
