// Routing-by-name and handoff frames as C++ values (encoded by the codec
// as the `route` member of a frame).
#pragma once

#include <cstdint>
#include <string>
#include <variant>

namespace troupe::cluster::wire {

/// Longest name a message can be routed by.
inline constexpr std::size_t max_name_bytes = 1024;

/// A message for the actor registered under `name` on the owner.
struct routed {
  std::string name{};
  std::string message{}; ///< serialized by CAF
  std::uint8_t hops = 0;
  std::uint64_t epoch = 0;
  std::string origin{};         ///< requests only: the requester's node id
  std::uint64_t request_id = 0; ///< 0: a send
  bool from_previous = false;
  friend bool operator==(const routed&, const routed&) = default;
};

struct route_reply {
  std::uint64_t request_id = 0;
  std::string message{}; ///< serialized by CAF; empty with an error
  std::string error{};
  friend bool operator==(const route_reply&, const route_reply&) = default;
};

/// One actor's state on its way to another node, as part of a transfer
/// (the sender's id for one partition's move; see `handoff_ledger.hpp`).
struct handoff_item {
  std::uint64_t epoch = 0;
  std::uint32_t partition = 0;
  std::string name{};
  std::string state{};
  std::uint64_t transfer = 0;
  std::uint32_t sequence = 0; ///< its place in the transfer: 0, 1, ...
  friend bool operator==(const handoff_item&, const handoff_item&) = default;
};

struct handoff_done {
  std::uint64_t epoch = 0;
  std::uint32_t partition = 0;
  std::uint32_t items = 0;
  std::uint64_t transfer = 0;
  /// The sender's oldest transfer not yet acknowledged.
  std::uint64_t open_from = 0;
  friend bool operator==(const handoff_done&, const handoff_done&) = default;
};

struct handoff_ack {
  std::uint64_t epoch = 0;
  std::uint32_t partition = 0;
  std::uint64_t transfer = 0;
  friend bool operator==(const handoff_ack&, const handoff_ack&) = default;
};

struct route {
  std::variant<routed, route_reply, handoff_item, handoff_done, handoff_ack>
    body;
  friend bool operator==(const route&, const route&) = default;
};

} // namespace troupe::cluster::wire
