// The simulated network of the test kit's simulated world.
#include "troupe/testkit/sim_network.hpp"

#include <algorithm>

namespace troupe::testkit::sim {

network::network(network_options opts, std::uint64_t seed)
  : opts_(opts), rng_(seed) {}

void network::listen(node_index n, std::uint64_t life,
                     const std::string& address) {
  lives_[n] = life;
  listeners_[address] = {.node = n, .life = life};
}

void network::unlisten(node_index n) {
  for (auto i = listeners_.begin(); i != listeners_.end();) {
    i = i->second.node == n ? listeners_.erase(i) : std::next(i);
  }
}

std::uint64_t network::life_of(node_index n) const {
  auto i = lives_.find(n);
  return i == lives_.end() ? 0 : i->second;
}

void network::crash(node_index n, sim_time now) {
  unlisten(n);
  auto life = life_of(n);
  lives_[n] = 0; // nothing more reaches this life
  std::vector<std::uint64_t> gone;
  for (auto& [id, c] : conns_) {
    if ((c.dialler == n && c.dialler_life == life)
        || (c.acceptor == n && c.acceptor_life == life)) {
      gone.push_back(id);
    }
  }
  for (auto id : gone) {
    reset_connection(id, now);
  }
}

sim_time network::latency(node_index from, node_index to) {
  auto extra = sim_time{0};
  if (opts_.jitter.count() > 0) {
    std::uniform_int_distribution<std::int64_t> pick{0, opts_.jitter.count()};
    extra = sim_time{pick(rng_)};
  }
  auto key = std::minmax(from, to);
  if (auto i = slow_.find({key.first, key.second}); i != slow_.end()) {
    extra += i->second;
  }
  return opts_.delay + extra;
}

void network::schedule(event ev) {
  internal in;
  in.at = ev.at;
  in.seq = ++seq_;
  in.ev = std::move(ev);
  queue_.push(std::move(in));
}

void network::schedule_expiry(std::uint64_t conn, sim_time at) {
  internal in;
  in.at = at;
  in.seq = ++seq_;
  in.expire = true;
  in.conn = conn;
  queue_.push(std::move(in));
}

void network::dial(node_index n, const std::string& target, sim_time now) {
  auto life = life_of(n);
  auto l = listeners_.find(target);
  if (l == listeners_.end()) {
    // Refused at once: nobody listens there.
    schedule({.what = event::kind::dial_failed,
              .at = now + 2 * opts_.delay,
              .node = n,
              .life = life,
              .target = target});
    return;
  }
  auto to = l->second.node;
  if (is_cut(n, to) || is_cut(to, n)) {
    schedule({.what = event::kind::dial_failed,
              .at = now + opts_.connect_timeout,
              .node = n,
              .life = life,
              .target = target});
    return;
  }
  auto id = next_conn_++;
  auto& c = conns_[id];
  c.dialler = n;
  c.acceptor = to;
  c.dialler_life = life;
  c.acceptor_life = l->second.life;
  auto accepted_at = now + latency(n, to);
  auto connected_at = accepted_at + latency(to, n);
  // Nothing either side writes can overtake the handshake.
  c.dir[0].last_at = accepted_at;
  c.dir[1].last_at = connected_at;
  schedule({.what = event::kind::accepted,
            .at = accepted_at,
            .node = to,
            .life = c.acceptor_life,
            .end = 2 * id + 1});
  schedule({.what = event::kind::connected,
            .at = connected_at,
            .node = n,
            .life = life,
            .end = 2 * id,
            .target = target});
}

void network::deliver_in_order(std::uint64_t conn, int from_side,
                               std::string bytes, sim_time now) {
  auto& c = conns_.at(conn);
  auto from = node_at(c, from_side);
  auto to = node_at(c, 1 - from_side);
  auto& d = c.dir[from_side];
  auto at = std::max(now + latency(from, to), d.last_at);
  d.last_at = at;
  bool fin = bytes.empty();
  schedule({.what = fin ? event::kind::closed : event::kind::data,
            .at = at,
            .node = to,
            .life = life_at(c, 1 - from_side),
            .end = 2 * conn + static_cast<std::uint64_t>(1 - from_side),
            .bytes = std::move(bytes)});
}

bool network::write(end_id end, std::string bytes, sim_time now) {
  auto i = conns_.find(conn_of(end));
  if (i == conns_.end() || bytes.empty()) {
    return false;
  }
  auto& c = i->second;
  auto s = side_of(end);
  if (c.reset || !c.open[s]) {
    return false;
  }
  auto from = node_at(c, s);
  auto to = node_at(c, 1 - s);
  if (is_cut(from, to)) {
    c.dir[s].held.push_back(std::move(bytes));
    check_cut(i->first, now);
    return true;
  }
  deliver_in_order(i->first, s, std::move(bytes), now);
  return true;
}

void network::close(end_id end, sim_time now) {
  auto i = conns_.find(conn_of(end));
  if (i == conns_.end()) {
    return;
  }
  auto& c = i->second;
  auto s = side_of(end);
  if (c.reset || !c.open[s]) {
    c.open[s] = false;
    return;
  }
  c.open[s] = false;
  // The end of the stream travels after what was written (an empty piece
  // of bytes stands for it).
  if (is_cut(node_at(c, s), node_at(c, 1 - s))) {
    c.dir[s].held.emplace_back();
    return;
  }
  deliver_in_order(i->first, s, std::string{}, now);
}

void network::reset_connection(std::uint64_t conn, sim_time now) {
  auto& c = conns_.at(conn);
  if (c.reset) {
    return;
  }
  c.reset = true;
  for (int s = 0; s < 2; ++s) {
    c.dir[s].held.clear();
    if (c.open[s] && life_at(c, s) != life_of(node_at(c, s))) {
      c.open[s] = false; // its node died: nobody to tell
    }
    if (c.open[s]) {
      c.open[s] = false;
      ++c.closes_pending;
      schedule({.what = event::kind::closed,
                .at = now + latency(node_at(c, 1 - s), node_at(c, s)),
                .node = node_at(c, s),
                .life = life_at(c, s),
                .end = 2 * conn + static_cast<std::uint64_t>(s)});
    }
  }
  if (c.closes_pending == 0) {
    conns_.erase(conn);
  }
}

void network::reset_between(node_index a, node_index b, sim_time now) {
  std::vector<std::uint64_t> gone;
  for (auto& [id, c] : conns_) {
    if ((c.dialler == a && c.acceptor == b)
        || (c.dialler == b && c.acceptor == a)) {
      gone.push_back(id);
    }
  }
  for (auto id : gone) {
    reset_connection(id, now);
  }
}

bool network::is_cut(node_index from, node_index to) const {
  return cut_.count({from, to}) != 0;
}

bool network::crossing_cut(const connection& c) const {
  return is_cut(c.dialler, c.acceptor) || is_cut(c.acceptor, c.dialler);
}

void network::check_cut(std::uint64_t conn, sim_time now) {
  auto& c = conns_.at(conn);
  if (c.reset || !crossing_cut(c)) {
    c.cut_since.reset();
    return;
  }
  if (!c.cut_since) {
    c.cut_since = now;
    schedule_expiry(conn, now + opts_.cut_reset_after);
  }
}

void network::cut(node_index from, node_index to, sim_time now) {
  cut_.insert({from, to});
  for (auto& [id, c] : conns_) {
    if (!c.reset
        && ((c.dialler == from && c.acceptor == to)
            || (c.dialler == to && c.acceptor == from))) {
      check_cut(id, now);
    }
  }
}

void network::restore(node_index from, node_index to, sim_time now) {
  if (cut_.erase({from, to}) == 0) {
    return;
  }
  for (auto& [id, c] : conns_) {
    if (c.reset) {
      continue;
    }
    for (int s = 0; s < 2; ++s) {
      if (node_at(c, s) == from && node_at(c, 1 - s) == to) {
        auto held = std::move(c.dir[s].held);
        c.dir[s].held.clear();
        for (auto& bytes : held) {
          deliver_in_order(id, s, std::move(bytes), now);
        }
      }
    }
    check_cut(id, now);
  }
}

void network::slow(node_index a, node_index b, sim_time extra) {
  auto key = std::minmax(a, b);
  if (extra.count() == 0) {
    slow_.erase({key.first, key.second});
  } else {
    slow_[{key.first, key.second}] = extra;
  }
}

std::optional<sim_time> network::next_due() const {
  if (queue_.empty()) {
    return std::nullopt;
  }
  return queue_.top().at;
}

std::optional<network::node_index> network::owner_of(end_id end) const {
  auto i = conns_.find(conn_of(end));
  if (i == conns_.end()) {
    return std::nullopt;
  }
  return node_at(i->second, side_of(end));
}

std::optional<network::event> network::pop_due(sim_time now) {
  while (!queue_.empty() && queue_.top().at <= now) {
    // The top is moved out (it is popped at once): its bytes are not
    // copied.
    auto in = std::move(const_cast<internal&>(queue_.top()));
    queue_.pop();
    if (in.expire) {
      auto i = conns_.find(in.conn);
      if (i != conns_.end() && !i->second.reset && i->second.cut_since
          && in.at - *i->second.cut_since >= opts_.cut_reset_after) {
        reset_connection(in.conn, in.at);
      }
      continue;
    }
    auto& ev = in.ev;
    if (ev.life == 0 || ev.life != life_of(ev.node)) {
      // That life of the node is over.
      if (ev.what == event::kind::closed) {
        auto i = conns_.find(conn_of(ev.end));
        if (i != conns_.end() && i->second.reset
            && --i->second.closes_pending == 0) {
          conns_.erase(i);
        }
      }
      continue;
    }
    using kind = event::kind;
    if (ev.what == kind::accepted || ev.what == kind::connected) {
      auto i = conns_.find(conn_of(ev.end));
      if (i == conns_.end() || i->second.reset) {
        if (ev.what == kind::connected) {
          ev.what = kind::dial_failed; // the other side went meanwhile
          ev.end = 0;
          return std::move(ev);
        }
        continue;
      }
      return std::move(ev);
    }
    if (ev.what == kind::data || ev.what == kind::closed) {
      auto i = conns_.find(conn_of(ev.end));
      if (i == conns_.end()) {
        continue;
      }
      auto& c = i->second;
      auto s = side_of(ev.end);
      if (ev.what == kind::data) {
        if (c.reset || !c.open[s]) {
          continue;
        }
        bytes_delivered_ += ev.bytes.size();
        return std::move(ev);
      }
      // The end of the stream or a reset: the end is gone for its owner
      // too. A connection both of whose ends are gone is forgotten.
      bool was_open = c.open[s] || c.reset;
      c.open[s] = false;
      if (c.reset && c.closes_pending > 0) {
        --c.closes_pending;
      }
      if (!c.open[0] && !c.open[1] && c.closes_pending == 0) {
        conns_.erase(i);
      }
      if (!was_open) {
        continue;
      }
      return std::move(ev);
    }
    return std::move(ev);
  }
  return std::nullopt;
}

} // namespace troupe::testkit::sim
