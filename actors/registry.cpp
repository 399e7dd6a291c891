// The node-local name registry.
#include "registry.hpp"

#include <caf/abstract_actor.hpp>
#include <caf/sec.hpp>

namespace troupe::actors {

namespace {

constexpr size_t max_name_length = 255;

} // namespace

std::shared_ptr<name_registry> name_registry::make() {
  return std::shared_ptr<name_registry>{new name_registry};
}

caf::error name_registry::register_name(const std::string& name,
                                        const caf::actor& who) {
  if (name.empty() || name.size() > max_name_length || !who) {
    return caf::make_error(
      caf::sec::invalid_argument,
      "expected a name of 1 to 255 bytes and a live actor");
  }
  {
    std::lock_guard guard{mtx_};
    auto [it, inserted] = names_.emplace(name, who);
    if (!inserted) {
      return caf::make_error(errc::name_taken, name);
    }
  }
  // Outside the lock: attaching to an actor that already exited runs the
  // functor at once, on this thread.
  std::weak_ptr<name_registry> weak = shared_from_this();
  who->attach_functor([weak, name, addr = who.address()] {
    if (auto self = weak.lock()) {
      self->drop_if(name, addr);
    }
  });
  return {};
}

bool name_registry::unregister_name(const std::string& name) {
  std::lock_guard guard{mtx_};
  return names_.erase(name) > 0;
}

caf::actor name_registry::whereis(std::string_view name) const {
  std::lock_guard guard{mtx_};
  auto it = names_.find(name);
  return it == names_.end() ? caf::actor{} : it->second;
}

std::string name_registry::name_of(const caf::actor_addr& who) const {
  std::lock_guard guard{mtx_};
  for (const auto& [name, actor] : names_) {
    if (actor.address() == who) {
      return name;
    }
  }
  return {};
}

std::vector<std::string> name_registry::names() const {
  std::lock_guard guard{mtx_};
  std::vector<std::string> out;
  out.reserve(names_.size());
  for (const auto& entry : names_) {
    out.push_back(entry.first);
  }
  return out;
}

void name_registry::drop_if(const std::string& name,
                            const caf::actor_addr& who) {
  std::lock_guard guard{mtx_};
  auto it = names_.find(name);
  if (it != names_.end() && it->second.address() == who) {
    names_.erase(it);
  }
}

} // namespace troupe::actors
