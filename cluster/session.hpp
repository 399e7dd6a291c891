// What protects a connection's frames after its handshake: which
// protection two peers agree on, and the records that carry the frames
// under it.
#pragma once

#include "../runtime/config.hpp"
#include "frame_inbox.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace troupe::cluster {

/// The protection of a session, weakest first.
enum class protection : std::uint8_t {
  /// Nothing after the handshake (a peer set to `none`, or a build without
  /// session security).
  none = 0,
  /// Every record carries a tag over its bytes; nothing is hidden.
  authenticate = 1,
  /// Every record is encrypted and carries a tag.
  encrypt = 2,
};

/// `none`, `authenticate`, `encrypt`: what a hello offers.
std::string_view to_string(protection p);

/// What a node offers in its hello, and the least it accepts, under
/// `cluster.transport_security`.
struct security_policy {
  protection offer = protection::encrypt;
  protection least = protection::encrypt;
};
security_policy policy_of(runtime::transport_security s);

/// The protection of a session between a node under `mine` and a peer
/// whose hello offered `theirs` (empty: a build without session security,
/// which offers nothing): the weaker of both offers, if this node accepts
/// it. Both ends come to the same protection, or one of them refuses.
struct agreement {
  std::optional<protection> agreed{};
  std::string refusal{}; ///< why not, when `agreed` is empty
};
agreement agree(const security_policy& mine, const std::string& theirs);

/// The keys of one session, one per direction.
struct session_keys {
  protection level = protection::none;
  std::string send;    ///< 32 bytes
  std::string receive; ///< 32 bytes
};

/// Records: what goes on the socket once a session is protected. Each is a
/// 4-byte big-endian length and that many bytes: under `encrypt` the
/// ciphertext of up to `max_record_plain` bytes of the frame stream and a
/// 16-byte tag (ChaCha20-Poly1305), under `authenticate` those bytes in the
/// clear and a tag over them. The nonce is the record's number in its
/// direction, never sent: a record replayed, dropped, reordered or changed
/// fails its tag, and so does one sealed for the other direction or
/// another connection (every session has keys of its own).
inline constexpr std::size_t max_record_plain = 64 * 1024;
inline constexpr std::size_t record_tag_bytes = 16;

/// Seals a direction's frame stream into records.
class record_sealer {
public:
  record_sealer(protection level, std::string key);

  /// Appends the records that carry `n` bytes of the stream to `out` (one
  /// per `max_record_plain` bytes). False when the direction has sealed
  /// all the records its nonces allow (the connection must end).
  bool seal(const std::uint8_t* data, std::size_t n,
            std::vector<std::uint8_t>& out);

private:
  protection level_;
  std::string key_;
  std::uint64_t next_ = 0;
};

/// Opens the records of a direction's stream, in any pieces, into the
/// frames they carry.
class record_opener {
public:
  record_opener(protection level, std::string key);

  /// Bytes received, to read into directly, as `frame_inbox`.
  char* prepare(std::size_t n) {
    return records_.prepare(n);
  }
  void commit(std::size_t n) {
    records_.commit(n);
  }
  void append(const char* data, std::size_t n) {
    records_.append(data, n);
  }

  /// Opens every complete record and appends what it carries to `frames`.
  /// False, for good, at a record that does not open (a wrong tag, a length
  /// of zero or over the limit): `error` says which.
  bool open_into(frame_inbox& frames);

  const std::string& error() const {
    return error_;
  }

private:
  protection level_;
  std::string key_;
  std::uint64_t next_ = 0;
  frame_inbox records_;
  std::string error_;
};

/// What arrives on a connection, cut into frames: in the clear during the
/// handshake, then (once `secure` is called) through the session's
/// records. The carrier reads bytes in and takes frames out, unaware of
/// which.
class session_inbox {
public:
  explicit session_inbox(std::size_t max_frame_bytes)
    : frames_(max_frame_bytes) {}

  /// Room for at least `n` more bytes from the socket; `commit` says how
  /// many were written.
  char* prepare(std::size_t n);
  void commit(std::size_t n);
  void append(const char* data, std::size_t n);

  /// Everything received from here on, including what is not yet handed
  /// out, comes in records protected at `level` under `key` (nothing
  /// changes for `protection::none`).
  void secure(protection level, std::string key);

  /// The next complete frame, or an empty view if it is still on its way
  /// (or the inbox is broken). Valid until the next call that changes the
  /// inbox.
  frame_inbox::view next() {
    return frames_.next();
  }

  /// A frame or record was refused: nothing more comes out.
  bool broken() const {
    return frames_.broken() || (opener_ && !opener_->error().empty());
  }
  /// Why, when broken.
  std::string error() const;

  /// The largest frame accepted, and a new one from the next frame on.
  std::size_t limit() const {
    return frames_.limit();
  }
  void set_limit(std::size_t max_frame_bytes) {
    frames_.set_limit(max_frame_bytes);
  }

private:
  void open();

  frame_inbox frames_;
  std::unique_ptr<record_opener> opener_;
};

} // namespace troupe::cluster
