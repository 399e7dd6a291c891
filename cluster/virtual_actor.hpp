// Virtual actors: the kinds of actors addressed by name (`kind/key`), how
// a node starts them, and the handoff protocol they follow.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/atom.hpp>

namespace troupe::cluster {

/// Handoff, as a virtual actor sees it:
/// - a request `(handoff_atom)` asks it to export its state: it replies
///   with a `std::string` of bytes and is then stopped (an actor that does
///   not answer it moves without state);
/// - a message `(handoff_atom, std::string)` gives it state exported by
///   another activation of the same name while it was already running
///   (a fallback handing back): it merges it.
using handoff_atom = caf::atom_constant<caf::atom("tr_handoff")>;

/// Starts the actor for `name` with the state its last activation exported
/// (empty for a new one). Returns an invalid handle on failure.
using actor_factory = std::function<caf::actor(
  caf::actor_system& sys, const std::string& name, const std::string& state)>;

/// A kind of virtual actor: every name `kind/...` is one of its actors.
/// Register the same kinds on every node.
struct actor_kind {
  std::string kind;
  actor_factory start;
};

/// The kind part of a name (before the first '/'), or empty.
std::string_view kind_of_name(std::string_view name);

/// Whether `name` can be routed: `kind/key`, both non-empty, at most 1,024
/// bytes, no NUL byte.
bool is_routable_name(std::string_view name);

/// The kinds a node knows (thread-safe).
class kind_registry {
public:
  void add(actor_kind k) {
    std::lock_guard<std::mutex> guard{mtx_};
    auto name = k.kind;
    kinds_[name] = std::move(k);
  }
  std::optional<actor_kind> find(std::string_view kind) const {
    std::lock_guard<std::mutex> guard{mtx_};
    auto i = kinds_.find(std::string{kind});
    if (i == kinds_.end()) {
      return std::nullopt;
    }
    return i->second;
  }

private:
  mutable std::mutex mtx_;
  std::map<std::string, actor_kind> kinds_;
};

} // namespace troupe::cluster
