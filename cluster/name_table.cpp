// The activations table.
#include "name_table.hpp"

#include <caf/mailbox_element.hpp>

#include <utility>

namespace troupe::cluster {

void name_table::enqueue(const caf::actor& a, delivery&& d) {
  a->enqueue(caf::make_mailbox_element(std::move(d.sender), d.mid, {},
                                       std::move(d.msg)),
             nullptr);
}

delivery_outcome name_table::deliver(std::uint32_t p, delivery&& d) {
  std::lock_guard<std::mutex> guard{mtx_};
  return deliver_locked(p, std::move(d));
}

delivery_outcome name_table::deliver_locked(std::uint32_t p, delivery&& d) {
  if (auto i = parts_.find(p); i != parts_.end()) {
    auto& pt = i->second;
    if (pt.state == part_state::moved) {
      return delivery_outcome::not_here;
    }
    if (pt.state == part_state::held) {
      (d.from_previous ? pt.from_previous : pt.others).push_back(std::move(d));
      return delivery_outcome::buffered;
    }
  }
  auto [i, added] = entries_.try_emplace(d.name);
  auto& e = i->second;
  e.busy = true;
  if (added) {
    e.partition = p;
    e.buffer.push_back(std::move(d));
    return delivery_outcome::activate;
  }
  if (e.actor && !e.exporting) {
    enqueue(e.actor, std::move(d));
    return delivery_outcome::delivered;
  }
  e.buffer.push_back(std::move(d));
  return delivery_outcome::buffered;
}

void name_table::activated(const std::string& name, const caf::actor& a) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto& e = entries_[name];
  e.actor = a;
  e.exporting = false;
  for (auto& d : e.buffer) {
    enqueue(a, std::move(d));
  }
  e.buffer.clear();
}

std::vector<delivery> name_table::activation_failed(const std::string& name) {
  std::lock_guard<std::mutex> guard{mtx_};
  std::vector<delivery> out;
  if (auto i = entries_.find(name); i != entries_.end()) {
    out = std::move(i->second.buffer);
    entries_.erase(i);
  }
  return out;
}

bool name_table::exited(const std::string& name, const caf::actor_addr& who) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto i = entries_.find(name);
  if (i == entries_.end() || i->second.actor.address() != who) {
    return false;
  }
  auto& e = i->second;
  if (e.buffer.empty()) {
    entries_.erase(i);
    return false;
  }
  e.actor = caf::actor{};
  e.exporting = false;
  return true;
}

void name_table::hold(std::uint32_t p) {
  std::lock_guard<std::mutex> guard{mtx_};
  parts_[p].state = part_state::held;
}

std::vector<std::string> name_table::release(std::uint32_t p) {
  std::lock_guard<std::mutex> guard{mtx_};
  std::vector<std::string> start;
  release_locked(p, start);
  return start;
}

void name_table::release_locked(std::uint32_t p,
                                std::vector<std::string>& start) {
  auto i = parts_.find(p);
  if (i == parts_.end()) {
    return;
  }
  auto pt = std::move(i->second);
  parts_.erase(i);
  for (auto* q : {&pt.from_previous, &pt.others}) {
    for (auto& d : *q) {
      auto name = d.name;
      if (deliver_locked(p, std::move(d)) == delivery_outcome::activate) {
        start.push_back(std::move(name));
      }
    }
  }
}

std::vector<delivery> name_table::move_out(std::uint32_t p) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto& pt = parts_[p];
  std::vector<delivery> out = std::move(pt.from_previous);
  for (auto& d : pt.others) {
    out.push_back(std::move(d));
  }
  pt = part{};
  pt.state = part_state::moved;
  return out;
}

void name_table::move_in(std::uint32_t p) {
  std::lock_guard<std::mutex> guard{mtx_};
  if (auto i = parts_.find(p);
      i != parts_.end() && i->second.state == part_state::moved) {
    parts_.erase(i);
  }
}

bool name_table::held(std::uint32_t p) const {
  std::lock_guard<std::mutex> guard{mtx_};
  auto i = parts_.find(p);
  return i != parts_.end() && i->second.state == part_state::held;
}

std::map<std::string, caf::actor>
name_table::activations(std::optional<std::uint32_t> p) const {
  std::lock_guard<std::mutex> guard{mtx_};
  std::map<std::string, caf::actor> out;
  for (const auto& [name, e] : entries_) {
    if (e.actor && (!p || e.partition == *p)) {
      out.emplace(name, e.actor);
    }
  }
  return out;
}

std::map<std::string, caf::actor> name_table::serving() const {
  std::lock_guard<std::mutex> guard{mtx_};
  std::map<std::string, caf::actor> out;
  for (const auto& [name, e] : entries_) {
    if (e.actor && !e.exporting) {
      out.emplace(name, e.actor);
    }
  }
  return out;
}

caf::actor name_table::begin_export(const std::string& name) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto i = entries_.find(name);
  if (i == entries_.end() || !i->second.actor || i->second.exporting) {
    return {};
  }
  i->second.exporting = true;
  return i->second.actor;
}

std::vector<std::string> name_table::recover() {
  std::lock_guard<std::mutex> guard{mtx_};
  std::vector<std::string> start;
  for (auto& [name, e] : entries_) {
    if (e.actor) {
      e.exporting = false;
      for (auto& d : e.buffer) {
        enqueue(e.actor, std::move(d));
      }
      e.buffer.clear();
    } else if (!e.buffer.empty()) {
      start.push_back(name);
    }
  }
  std::vector<std::uint32_t> held;
  for (const auto& [p, pt] : parts_) {
    if (pt.state == part_state::held) {
      held.push_back(p);
    }
  }
  for (auto p : held) {
    release_locked(p, start);
  }
  return start;
}

std::vector<std::string> name_table::idle_since_last_sweep() {
  std::lock_guard<std::mutex> guard{mtx_};
  std::vector<std::string> out;
  for (auto& [name, e] : entries_) {
    if (e.actor && !e.exporting && !e.busy) {
      out.push_back(name);
    }
    e.busy = false;
  }
  return out;
}

} // namespace troupe::cluster
