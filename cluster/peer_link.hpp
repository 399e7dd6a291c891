// The sending side of the connections to peers: an idle link is written by
// the sending thread itself; a busy one is written in batches.
#pragma once

#include "frame_link.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

namespace troupe::cluster {

/// One connection's sending side. A frame sent while the link is idle is
/// written to the socket by the sending thread itself, under the link's
/// lock (no hop to another thread: the latency of a request and its
/// reply). Frames that follow one another closely, or that find the socket
/// full, are queued instead and written in batches by the transport, which
/// the link wakes with `kick` (the throughput of a burst). Either way every
/// frame passes the one lock, so frames never interleave and those from one
/// thread keep their order.
///
/// Once secured, a frame written directly goes out as one record of its
/// own; queued frames are sealed together, in records of up to
/// `max_record_plain` bytes, when the batch is written.
///
/// The link keeps a duplicate of the socket, so that the transport closing
/// its own descriptor can never leave a writer with a number the system
/// has given to another file.
class peer_link final : public frame_link {
public:
  /// What a batch write achieved.
  enum class flush_result { done, again, broken };

  /// Duplicates `fd` (non-blocking, as the transport keeps it). When the
  /// socket takes nothing for longer than `stall_limit` while frames wait,
  /// the link breaks and the connection is shut down, which the transport
  /// then sees as closed.
  peer_link(int fd, std::chrono::milliseconds stall_limit,
            std::function<void()> kick);
  peer_link(const peer_link&) = delete;
  peer_link& operator=(const peer_link&) = delete;
  ~peer_link();

  /// Sends a 4-byte big-endian length and `body`, whole, now or queued.
  /// While more than `max_queued` bytes wait (a peer that does not read),
  /// a thread that runs actors gets `busy` at once and its frame is not
  /// taken; any other thread waits for room, for at most the stall limit.
  link_write write(const std::uint8_t* body, std::size_t size) override;

  /// Seals every frame from now on (see `frame_link::secure`).
  void secure(record_sealer sealer) override;

  /// Writes queued frames (the transport calls this after a kick). `again`
  /// when the socket is full: call again a little later.
  flush_result flush();

  /// Stops all writing and releases the duplicate (the transport closes
  /// the connection itself).
  void close() override;

  /// Whether the link no longer writes.
  bool closed() const override;

  /// Bytes a link queues before senders wait.
  static constexpr std::size_t max_queued = 8 * 1024 * 1024;

  /// Frames sent within this long of the last one written directly are
  /// queued for a batch.
  static constexpr std::chrono::microseconds busy_window{50};

private:
  using clock_type = std::chrono::steady_clock;

  std::size_t queued() const {
    return pending_.size() - pending_at_ + plain_.size();
  }
  // Seals what waits in the clear onto `pending_`. False: the session can
  // seal no more (the link fails).
  bool seal_plain();
  void fail();

  mutable std::mutex mtx_;
  std::condition_variable room_;
  int fd_ = -1;
  std::vector<std::uint8_t> pending_; // queued bytes for the socket
  std::size_t pending_at_ = 0;        // what of `pending_` is written
  // Secured: frames queued after `pending_`, not yet sealed, and the
  // sealer.
  std::vector<std::uint8_t> plain_;
  std::optional<record_sealer> sealer_;
  // A frame written directly, in the clear and sealed.
  std::vector<std::uint8_t> scratch_;
  std::vector<std::uint8_t> sealed_;
  bool kicked_ = false; // a batch write is on its way
  clock_type::time_point last_direct_{};
  clock_type::time_point last_progress_{};
  std::chrono::milliseconds stall_limit_;
  std::function<void()> kick_;
};

} // namespace troupe::cluster
