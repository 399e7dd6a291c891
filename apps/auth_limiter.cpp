// A budget of failed console authentications per source address.
#include "auth_limiter.hpp"

#include <algorithm>

namespace troupe {

auth_limiter::auth_limiter(std::uint32_t burst,
                           std::chrono::milliseconds refill,
                           std::size_t max_sources)
  : burst_(std::max<std::uint32_t>(burst, 1)),
    refill_(std::max(refill, std::chrono::milliseconds{1})),
    max_sources_(std::max<std::size_t>(max_sources, 1)) {}

bool auth_limiter::refill(bucket& b, time_point now) const {
  if (now > b.updated) {
    b.tokens = std::min(burst_, b.tokens + (now - b.updated) / refill_);
    b.updated = now;
  }
  return b.tokens >= burst_;
}

bool auth_limiter::allows(const std::string& source, time_point now) {
  auto i = buckets_.find(source);
  if (i == buckets_.end()) {
    return true;
  }
  if (refill(i->second, now)) {
    buckets_.erase(i);
    return true;
  }
  return i->second.tokens >= 1.0;
}

void auth_limiter::failed(const std::string& source, time_point now) {
  auto [i, fresh] = buckets_.try_emplace(
    source, bucket{.tokens = burst_, .updated = now, .last_failure = now});
  if (!fresh) {
    refill(i->second, now);
  }
  i->second.tokens = std::max(0.0, i->second.tokens - 1.0);
  i->second.last_failure = now;
  if (buckets_.size() > max_sources_) {
    trim(now);
  }
}

void auth_limiter::trim(time_point now) {
  for (auto i = buckets_.begin(); i != buckets_.end();) {
    i = refill(i->second, now) ? buckets_.erase(i) : std::next(i);
  }
  while (buckets_.size() > max_sources_) {
    auto quietest = std::min_element(
      buckets_.begin(), buckets_.end(), [](const auto& a, const auto& b) {
        return a.second.last_failure < b.second.last_failure;
      });
    buckets_.erase(quietest);
  }
}

} // namespace troupe
