// The table of links to peers.
#include "frame_link.hpp"

#include <mutex>
#include <utility>

namespace troupe::cluster {

void peer_links::put(const std::string& node_id,
                     std::shared_ptr<frame_link> link) {
  std::unique_lock<std::shared_mutex> guard{mtx_};
  links_[node_id] = std::move(link);
}

void peer_links::erase(const std::string& node_id,
                       const std::shared_ptr<frame_link>& link) {
  std::unique_lock<std::shared_mutex> guard{mtx_};
  if (auto i = links_.find(node_id); i != links_.end() && i->second == link) {
    links_.erase(i);
  }
}

std::shared_ptr<frame_link> peer_links::find(const std::string& node_id) const {
  std::shared_lock<std::shared_mutex> guard{mtx_};
  auto i = links_.find(node_id);
  return i == links_.end() ? nullptr : i->second;
}

void peer_links::set_counters(runtime::counter* frames,
                              runtime::counter* bytes) {
  frames_.store(frames);
  bytes_.store(bytes);
}

link_write peer_links::send(const std::string& node_id,
                            const std::uint8_t* body, std::size_t size) {
  std::shared_ptr<frame_link> tried;
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto link = find(node_id);
    if (link == nullptr || link == tried) {
      return link_write::closed;
    }
    switch (link->write(body, size)) {
      case link_write::sent:
        if (auto* frames = frames_.load(std::memory_order_relaxed)) {
          frames->inc();
        }
        if (auto* bytes = bytes_.load(std::memory_order_relaxed)) {
          bytes->inc(4 + size);
        }
        return link_write::sent;
      case link_write::busy:
        return link_write::busy;
      case link_write::closed:
        break;
    }
    tried = std::move(link);
  }
  return link_write::closed;
}

} // namespace troupe::cluster
