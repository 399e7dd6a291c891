// The receiving side of an authenticated connection, read by the
// scheduler's workers.
#pragma once

#include "../runtime/io_poller.hpp"
#include "context.hpp"
#include "session.hpp"
#include "wire/codec.hpp"

#include <cstdint>
#include <string>
#include <vector>

#include <caf/actor_addr.hpp>

namespace troupe::cluster {

/// Reads a peer's frames on whichever worker finds its socket ready (see
/// `runtime::io_poller`) and delivers them from there: payloads to their
/// kind's handler and routing frames to the router, enqueued on the same
/// worker so that they run next, with no thread in between. Everything
/// else (gossip, goodbye, a misplaced handshake frame) goes to the
/// transport as `(inbound_atom, serial, frame)`, where `serial` names this
/// reader (never reused, unlike a socket's number). A frame that is
/// too long or does not decode, the end of the stream and a read error end
/// the reader: it tells the transport `(reader_end_atom, serial, reason,
/// bool refused)` and reads no more.
class peer_reader : public runtime::io_source {
public:
  /// Takes `fd` (its own duplicate of the connection's socket, which it
  /// closes) and `inbox`, which holds what the transport read past the
  /// handshake and knows the session's protection. `frames`/`bytes` count
  /// what arrives and may be null.
  peer_reader(context_ptr ctx, int fd, std::string peer_id,
              std::string peer_name, std::int64_t connection,
              caf::actor_addr transport, session_inbox inbox,
              runtime::counter* frames, runtime::counter* bytes);
  ~peer_reader() override;
  peer_reader(const peer_reader&) = delete;
  peer_reader& operator=(const peer_reader&) = delete;

  /// Delivers the complete frames the inbox came with (before the socket
  /// is watched). False if they ended the reader.
  bool start();

  bool on_readable(caf::execution_unit* eu) override;

  /// Shuts the socket down both ways (the transport is closing the
  /// connection): the peer sees the end, and so does every reader.
  void shut_down();

private:
  // Reads what is there, up to a limit. False if the reader ended.
  bool read_some(caf::execution_unit* eu);
  // Delivers every complete frame in the inbox. False if the reader ended.
  bool deliver_frames(caf::execution_unit* eu);
  void deliver(caf::execution_unit* eu, wire::frame f);
  void end(const std::string& why, bool refused);

  context_ptr ctx_;
  int fd_;
  std::string peer_id_;
  std::string peer_name_;
  std::int64_t connection_;
  caf::actor_addr transport_;
  runtime::counter* frames_;
  runtime::counter* bytes_;
  session_inbox inbox_;
  bool ended_ = false;
};

} // namespace troupe::cluster
