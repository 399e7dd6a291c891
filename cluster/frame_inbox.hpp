// Bytes received on a connection, cut into length-prefixed frames.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace troupe::cluster {

/// What arrives on a connection: frames of a 4-byte big-endian length and
/// that many bytes. Collects bytes in any pieces and hands out each
/// complete frame once. A length of zero or over the limit is an error
/// that stays (the connection must be dropped).
class frame_inbox {
public:
  explicit frame_inbox(std::size_t max_frame_bytes)
    : max_frame_bytes_(max_frame_bytes) {}

  /// Copies `n` bytes in.
  void append(const char* data, std::size_t n);

  /// Room for at least `n` more bytes, to read into directly; `commit`
  /// then says how many were written.
  char* prepare(std::size_t n);
  void commit(std::size_t n);

  /// One frame's body, valid until the next call that changes the inbox.
  struct view {
    const std::uint8_t* data = nullptr;
    std::size_t size = 0;
  };

  /// The next complete frame, or an empty view if it is still on its way
  /// (or the inbox is broken).
  view next();

  /// A frame's length was zero or over the limit: nothing more comes out.
  bool broken() const {
    return broken_;
  }
  /// The length that broke the inbox.
  std::uint32_t bad_length() const {
    return bad_length_;
  }

  /// Bytes received and not yet handed out.
  std::size_t pending() const {
    return used_ - at_;
  }

  /// The largest frame accepted.
  std::size_t limit() const {
    return max_frame_bytes_;
  }

  /// Changes the largest frame accepted from the next frame on.
  void set_limit(std::size_t max_frame_bytes) {
    max_frame_bytes_ = max_frame_bytes;
  }

  /// The bytes not yet handed out; the inbox is left empty.
  std::vector<char> take_pending();

private:
  void compact();

  std::size_t max_frame_bytes_;
  std::vector<char> buf_;
  std::size_t used_ = 0; // bytes of buf_ holding data
  std::size_t at_ = 0;   // where the next frame starts
  bool broken_ = false;
  std::uint32_t bad_length_ = 0;
};

} // namespace troupe::cluster
