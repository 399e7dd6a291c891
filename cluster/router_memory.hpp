// What a node's router keeps that must outlive the router: a router that
// crashes is restarted by its supervisor and takes this over, as it takes
// over the running activations from the name table, so that no state given
// to this node dies with the router and no transfer is applied twice.
// Only the running router touches it.
#pragma once

#include "handoff_ledger.hpp"
#include "wire/route.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <vector>

namespace troupe::cluster {

/// One partition on its way from this node to another.
struct outgoing_transfer {
  std::uint32_t partition = 0;
  std::uint64_t epoch = 0;
  std::uint64_t id = 0; ///< given when it starts (`handoff_ledger.hpp`)
  std::string to;
  bool ownership = false; ///< the ring moved it (not a fallback handing back)
  std::vector<wire::handoff_item> items;
  std::size_t exporting = 0;
  std::size_t total = 0;
  bool started = false;
  bool sent = false;
  std::uint32_t attempts = 0;
  std::chrono::steady_clock::time_point resend_at{}; ///< the next try
};

struct router_memory {
  /// Outgoing transfers by partition.
  std::map<std::uint32_t, outgoing_transfer> transfers;
  /// (from, epoch, partition) of transfers applied here.
  std::set<std::tuple<std::string, std::uint64_t, std::uint32_t>> completed;
  /// What was handed here, by sender and transfer.
  handoff_ledger ledger;
  /// State of names not running here, several per name (see `router.cpp`).
  std::map<std::string, std::vector<std::string>> dormant;
  /// The ring epoch up to which this node reported its handoffs done.
  std::uint64_t reported_epoch = 0;
};

} // namespace troupe::cluster
