// Reading a stream socket in tests: exactly n bytes, blocking.
#pragma once

#include <cstddef>

#include <unistd.h>

namespace troupe::testkit {

/// Reads exactly `n` bytes from `fd` (a blocking socket or pipe); false at
/// the end of the stream, on an error or when a receive timeout expires.
inline bool read_exactly(int fd, void* out, std::size_t n) {
  auto* at = static_cast<char*>(out);
  while (n > 0) {
    auto got = ::read(fd, at, n);
    if (got <= 0) {
      return false;
    }
    at += got;
    n -= static_cast<std::size_t>(got);
  }
  return true;
}

} // namespace troupe::testkit
