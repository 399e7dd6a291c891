// Tests of the metrics registry and its Prometheus rendering.
#include "troupe/runtime/metrics.hpp"

#include <doctest/doctest.h>

#include <stdexcept>
#include <thread>

namespace rt = troupe::runtime;
using namespace std::chrono_literals;

namespace {

bool contains(const std::string& text, const std::string& needle) {
  return text.find(needle) != std::string::npos;
}

} // namespace

TEST_SUITE_BEGIN("runtime.metrics");

TEST_CASE("counters, gauges and histograms keep their values") {
  rt::metrics_registry reg;
  auto& c = reg.add_counter("troupe_messages_total", "Messages handled");
  c.inc();
  c.inc(4);
  CHECK_EQ(c.value(), 5u);
  auto& g = reg.add_gauge("troupe_members", "Members");
  g.set(3);
  g.add(-1);
  CHECK_EQ(g.value(), 2);
  auto& h = reg.add_histogram("troupe_call_seconds", "Call latency");
  h.observe(800ns);
  h.observe(3us);
  h.observe(20s);
  CHECK_EQ(h.count(), 3u);
  CHECK_EQ(h.sum(), 800ns + 3us + 20s);
  auto buckets = h.bucket_counts();
  CHECK_EQ(buckets.front(), 1u); // <= 1 µs
  CHECK_EQ(buckets[2], 1u);      // <= 5 µs
  CHECK_EQ(buckets.back(), 1u);  // +Inf
}

TEST_CASE("the same name and labels give the same series") {
  rt::metrics_registry reg;
  auto& a = reg.add_counter("troupe_x_total", "x", {{"kind", "a"}});
  auto& b = reg.add_counter("troupe_x_total", "x", {{"kind", "b"}});
  CHECK_NE(&a, &b);
  CHECK_EQ(&a, &reg.add_counter("troupe_x_total", "x", {{"kind", "a"}}));
}

TEST_CASE("misuse of names is a programming error") {
  rt::metrics_registry reg;
  reg.add_counter("troupe_y_total", "y");
  CHECK_THROWS_AS(reg.add_gauge("troupe_y_total", "y"), std::logic_error);
  CHECK_THROWS_AS(reg.add_counter("1bad", "bad"), std::logic_error);
  CHECK_THROWS_AS(reg.add_counter("ok", "bad", {{"bad-label", "v"}}),
                  std::logic_error);
}

TEST_CASE("counters are exact under concurrent updates") {
  rt::metrics_registry reg;
  auto& c = reg.add_counter("troupe_concurrent_total", "c");
  std::vector<std::thread> threads;
  threads.reserve(4);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&c] {
      for (int i = 0; i < 100000; ++i) {
        c.inc();
      }
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  CHECK_EQ(c.value(), 400000u);
}

TEST_CASE("rendering follows the Prometheus text format") {
  rt::metrics_registry reg;
  reg
    .add_counter("troupe_routed_total", "Messages routed",
                 {{"outcome", "local"}})
    .inc(7);
  reg.add_gauge("troupe_info", "Escaped \"label\"", {{"v", "a\"b\\c\nd"}})
    .set(1);
  auto& h = reg.add_histogram("troupe_lat_seconds", "Latency");
  h.observe(2ms);
  h.observe(2ms);
  auto text = reg.render_prometheus();
  CHECK(contains(text, "# HELP troupe_routed_total Messages routed\n"));
  CHECK(contains(text, "# TYPE troupe_routed_total counter\n"));
  CHECK(contains(text, "troupe_routed_total{outcome=\"local\"} 7\n"));
  CHECK(contains(text, "# TYPE troupe_info gauge\n"));
  CHECK(contains(text, "troupe_info{v=\"a\\\"b\\\\c\\nd\"} 1\n"));
  CHECK(contains(text, "# TYPE troupe_lat_seconds histogram\n"));
  CHECK(contains(text, "troupe_lat_seconds_bucket{le=\"0.001\"} 0\n"));
  CHECK(contains(text, "troupe_lat_seconds_bucket{le=\"0.0025\"} 2\n"));
  CHECK(contains(text, "troupe_lat_seconds_bucket{le=\"+Inf\"} 2\n"));
  CHECK(contains(text, "troupe_lat_seconds_sum 0.004\n"));
  CHECK(contains(text, "troupe_lat_seconds_count 2\n"));
  // Every line is a comment or `name[{labels}] value`.
  std::istringstream lines{text};
  std::string line;
  while (std::getline(lines, line)) {
    CAPTURE(line);
    CHECK((line.rfind("# ", 0) == 0 || line.find(' ') != std::string::npos));
  }
}

TEST_SUITE_END();
