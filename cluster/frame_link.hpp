// The sending side of a connection to a peer, whatever carries it, and the
// table of them by peer that every sender looks links up in.
#pragma once

#include "../runtime/metrics.hpp"
#include "session.hpp"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <shared_mutex>
#include <string>

namespace troupe::cluster {

/// What became of a frame given to a link.
enum class link_write {
  /// Written, or queued to be written.
  sent,
  /// The link is closed or broke: nothing more goes out on it.
  closed,
  /// Not taken: more than the link's limit waits to be written (the peer
  /// reads too slowly), and the sender runs actors, so it may not wait for
  /// room (`runtime::may_wait_here`).
  busy,
};

/// One connection's sending side: a TCP socket (`peer_link`) or a link of
/// the test kit's simulated network. Frames written to one link arrive in
/// the order written, whole, or not at all (the connection drops).
class frame_link {
public:
  virtual ~frame_link() = default;

  /// Sends one encoded frame (its Cap'n Proto body; the link adds the
  /// 4-byte length).
  virtual link_write write(const std::uint8_t* body, std::size_t size) = 0;

  /// From now on the frames go out in records sealed by `sealer` (the
  /// handshake is over; called once, before the link is published).
  virtual void secure(record_sealer sealer) = 0;

  /// Stops all writing (the transport closes the connection itself).
  virtual void close() = 0;

  /// Whether the link no longer writes.
  virtual bool closed() const = 0;
};

/// The established links by peer node id, shared by every thread that
/// sends to peers. The transport adds a link once the peer has
/// authenticated and removes it when the connection goes.
class peer_links {
public:
  /// Publishes `link` as the one to `node_id` (replacing any other).
  void put(const std::string& node_id, std::shared_ptr<frame_link> link);
  /// Removes the link to `node_id` if it is `link`.
  void erase(const std::string& node_id,
             const std::shared_ptr<frame_link>& link);
  /// The link to `node_id`, or null.
  std::shared_ptr<frame_link> find(const std::string& node_id) const;

  /// Counters for frames and bytes sent (may stay null).
  void set_counters(runtime::counter* frames, runtime::counter* bytes);

  /// Writes a frame's encoded body to `node_id`. A link closed meanwhile
  /// (its connection replaced by another to the same peer) is looked up
  /// once more. `closed` when the peer is not connected.
  link_write send(const std::string& node_id, const std::uint8_t* body,
                  std::size_t size);

private:
  mutable std::shared_mutex mtx_;
  std::map<std::string, std::shared_ptr<frame_link>> links_;
  std::atomic<runtime::counter*> frames_{nullptr};
  std::atomic<runtime::counter*> bytes_{nullptr};
};

} // namespace troupe::cluster
