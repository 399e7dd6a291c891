// The simulated network of the test kit's simulated world: connections
// between simulated nodes with delays, resets, partitions and slow links,
// all in virtual time and driven by one seeded generator.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <queue>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace troupe::testkit::sim {

/// Virtual time since the world began.
using sim_time = std::chrono::nanoseconds;

/// How the simulated network behaves.
struct network_options {
  /// One-way latency of every link.
  sim_time delay = std::chrono::microseconds{200};
  /// Up to this much more, drawn per frame (frames of one connection
  /// still arrive in order).
  sim_time jitter = std::chrono::microseconds{100};
  /// A dial into a partition fails after this long (a SYN nobody answers).
  sim_time connect_timeout = std::chrono::seconds{1};
  /// A connection one of whose directions stays cut this long is reset
  /// (the sender's TCP gives up), losing what it held.
  sim_time cut_reset_after = std::chrono::seconds{10};
};

/// The network: TCP-like connections between nodes. Within a connection,
/// bytes arrive in the order written and are never duplicated; what is
/// lost is lost with the connection (a reset). Reordering happens only
/// across connections. A direction that is cut holds what is written until
/// it is restored (or the connection resets). The world pops what the
/// network has to deliver (`pop_due`) and hands it to the nodes.
///
/// Each connection has two ends with ids of their own (the dialler's and
/// the acceptor's); an end belongs to one node in one life (a restarted
/// node never sees ends of its previous life).
class network {
public:
  using node_index = std::size_t;
  using end_id = std::uint64_t;

  /// What the network delivers to a node.
  struct event {
    enum class kind {
      accepted,    ///< a connection came in on `end`
      connected,   ///< a dial to `target` succeeded: `end` is ours
      dial_failed, ///< a dial to `target` found nobody
      data,        ///< `bytes` arrived on `end`
      closed,      ///< `end` was closed by the other side or reset
    };
    kind what = kind::data;
    sim_time at{};
    node_index node = 0;
    std::uint64_t life = 0; ///< the node's life it is meant for
    end_id end = 0;
    std::string target{};
    std::string bytes{};
  };

  network(network_options opts, std::uint64_t seed);

  const network_options& options() const {
    return opts_;
  }

  // -- nodes ------------------------------------------------------------------

  /// Node `n` (in life `life`) accepts connections on `address`.
  void listen(node_index n, std::uint64_t life, const std::string& address);

  /// Node `n` stops accepting; its connections stay.
  void unlisten(node_index n);

  /// Node `n` died (kill -9): it stops listening, its connections reset
  /// (the other sides see them close after one delay) and nothing more
  /// reaches it.
  void crash(node_index n, sim_time now);

  /// The node's current life (events of other lives are dropped).
  std::uint64_t life_of(node_index n) const;

  // -- connections ------------------------------------------------------------

  /// Node `n` dials `target` (`host:port`): `connected` or `dial_failed`
  /// comes back later.
  void dial(node_index n, const std::string& target, sim_time now);

  /// Writes bytes on `end`; false if the end is closed or reset.
  bool write(end_id end, std::string bytes, sim_time now);

  /// Closes `end` in order: the other side gets what was written, then
  /// `closed`.
  void close(end_id end, sim_time now);

  /// Resets every connection between `a` and `b` (both ways).
  void reset_between(node_index a, node_index b, sim_time now);

  // -- faults -----------------------------------------------------------------

  /// Cuts (or restores) the direction `from` → `to`.
  void cut(node_index from, node_index to, sim_time now);
  void restore(node_index from, node_index to, sim_time now);
  bool is_cut(node_index from, node_index to) const;

  /// Adds `extra` latency in both directions between `a` and `b` (0 undoes
  /// it).
  void slow(node_index a, node_index b, sim_time extra);

  // -- the world's side -------------------------------------------------------

  /// When the next event is due, if any.
  std::optional<sim_time> next_due() const;

  /// Takes the next event due at or before `now` (in time, then in the order
  /// scheduled), if any; events for ends or lives that are gone are
  /// skipped.
  std::optional<event> pop_due(sim_time now);

  /// The node an end belongs to.
  std::optional<node_index> owner_of(end_id end) const;

  /// Bytes and frames carried so far.
  std::uint64_t bytes_delivered() const {
    return bytes_delivered_;
  }

private:
  struct direction {
    sim_time last_at{};              // when the last scheduled byte arrives
    std::vector<std::string> held{}; // written while cut
  };
  struct connection {
    node_index dialler = 0;
    node_index acceptor = 0;
    std::uint64_t dialler_life = 0;
    std::uint64_t acceptor_life = 0;
    bool open[2] = {true, true}; // per end: may still write / receive
    bool reset = false;
    int closes_pending = 0; // of a reset, not yet delivered
    direction dir[2];       // [0]: dialler → acceptor, [1]: the other way
    std::optional<sim_time> cut_since{};
  };
  struct listener {
    node_index node = 0;
    std::uint64_t life = 0;
  };
  struct internal {
    sim_time at{};
    std::uint64_t seq = 0;
    event ev;
    bool expire = false; // a check whether a cut connection resets
    std::uint64_t conn = 0;
  };
  struct later {
    bool operator()(const internal& a, const internal& b) const {
      return a.at != b.at ? a.at > b.at : a.seq > b.seq;
    }
  };

  static std::uint64_t conn_of(end_id e) {
    return e / 2;
  }
  static int side_of(end_id e) {
    return static_cast<int>(e % 2);
  }
  node_index node_at(const connection& c, int side) const {
    return side == 0 ? c.dialler : c.acceptor;
  }
  std::uint64_t life_at(const connection& c, int side) const {
    return side == 0 ? c.dialler_life : c.acceptor_life;
  }
  sim_time latency(node_index from, node_index to);
  void schedule(event ev);
  void schedule_expiry(std::uint64_t conn, sim_time at);
  void deliver_in_order(std::uint64_t conn, int from_side, std::string bytes,
                        sim_time now);
  void reset_connection(std::uint64_t conn, sim_time now);
  void check_cut(std::uint64_t conn, sim_time now);
  bool crossing_cut(const connection& c) const;

  network_options opts_;
  std::mt19937_64 rng_;
  std::uint64_t seq_ = 0;
  std::uint64_t next_conn_ = 1;
  std::priority_queue<internal, std::vector<internal>, later> queue_;
  std::map<std::uint64_t, connection> conns_;
  std::map<std::string, listener> listeners_; // by address
  std::map<node_index, std::uint64_t> lives_; // current life per node
  std::set<std::pair<node_index, node_index>> cut_;
  std::map<std::pair<node_index, node_index>, sim_time> slow_;
  std::uint64_t bytes_delivered_ = 0;
};

} // namespace troupe::testkit::sim
