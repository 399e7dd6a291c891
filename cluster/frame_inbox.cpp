// Bytes received on a connection, cut into length-prefixed frames.
#include "frame_inbox.hpp"

#include <algorithm>
#include <cstring>

namespace troupe::cluster {

void frame_inbox::compact() {
  if (at_ == used_) {
    at_ = 0;
    used_ = 0;
  } else if (at_ > 0 && at_ >= buf_.size() / 2) {
    std::memmove(buf_.data(), buf_.data() + at_, used_ - at_);
    used_ -= at_;
    at_ = 0;
  }
}

char* frame_inbox::prepare(std::size_t n) {
  compact();
  if (buf_.size() - used_ < n) {
    buf_.resize(std::max(used_ + n, 2 * buf_.size()));
  }
  return buf_.data() + used_;
}

void frame_inbox::commit(std::size_t n) {
  used_ += std::min(n, buf_.size() - used_);
}

void frame_inbox::append(const char* data, std::size_t n) {
  if (n == 0) {
    return;
  }
  std::memcpy(prepare(n), data, n);
  commit(n);
}

frame_inbox::view frame_inbox::next() {
  if (broken_ || used_ - at_ < 4) {
    return {};
  }
  const auto* p = reinterpret_cast<const std::uint8_t*>(buf_.data() + at_);
  auto n = (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16)
           | (std::uint32_t{p[2]} << 8) | std::uint32_t{p[3]};
  if (n == 0 || n > max_frame_bytes_) {
    broken_ = true;
    bad_length_ = n;
    return {};
  }
  if (used_ - at_ - 4 < n) {
    return {}; // the rest is still on its way
  }
  at_ += 4 + n;
  return {p + 4, n};
}

std::vector<char> frame_inbox::take_pending() {
  std::vector<char> out(buf_.begin() + static_cast<std::ptrdiff_t>(at_),
                        buf_.begin() + static_cast<std::ptrdiff_t>(used_));
  at_ = 0;
  used_ = 0;
  return out;
}

} // namespace troupe::cluster
