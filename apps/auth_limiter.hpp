// A budget of failed console authentications per source address (a token
// bucket each), so that one source's wrong tokens never lock another out.
// Pure: time is passed in.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>

namespace troupe {

class auth_limiter {
public:
  using time_point = std::chrono::steady_clock::time_point;

  /// Each source may fail `burst` times at once, then once more every
  /// `refill`; at most `max_sources` sources are tracked (those whose budget
  /// is whole again are forgotten first, then the longest quiet).
  auth_limiter(std::uint32_t burst, std::chrono::milliseconds refill,
               std::size_t max_sources = 4096);

  /// Whether `source` may try now: its budget holds one more failure.
  bool allows(const std::string& source, time_point now);

  /// Takes one failure from `source`'s budget.
  void failed(const std::string& source, time_point now);

  /// Sources with less than a whole budget.
  std::size_t tracked() const {
    return buckets_.size();
  }

private:
  struct bucket {
    double tokens = 0;
    time_point updated{};
    time_point last_failure{};
  };

  // Refills `b` up to `now`; returns whether it is whole again.
  bool refill(bucket& b, time_point now) const;
  void trim(time_point now);

  double burst_;
  std::chrono::duration<double> refill_;
  std::size_t max_sources_;
  std::map<std::string, bucket> buckets_;
};

} // namespace troupe
