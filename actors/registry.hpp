// The node-local name registry: string names for local actors, dropped
// automatically when the actor exits. Local by design: Troupe has no global
// registration; cluster-wide names are found by hashing, not by lookup.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_addr.hpp>
#include <caf/error.hpp>
#include <caf/send.hpp>

#include "errors.hpp"

namespace troupe::actors {

/// Maps names to live local actors. Thread-safe; create with `make`.
class name_registry : public std::enable_shared_from_this<name_registry> {
public:
  static std::shared_ptr<name_registry> make();

  /// Registers `who` under `name`. Fails with `errc::name_taken` if a live
  /// actor holds the name, and with `caf::sec::invalid_argument` for an
  /// empty or over-long (> 255 bytes) name or an invalid handle.
  caf::error register_name(const std::string& name, const caf::actor& who);

  /// Drops `name`; false if it was not registered.
  bool unregister_name(const std::string& name);

  /// The actor registered under `name`, or an invalid handle.
  caf::actor whereis(std::string_view name) const;

  /// The name `who` is registered under, or empty.
  std::string name_of(const caf::actor_addr& who) const;

  /// All registered names, sorted.
  std::vector<std::string> names() const;

  /// Sends to the actor registered under `name`.
  template <class... Ts>
  caf::error send(std::string_view name, Ts&&... xs) const {
    auto who = whereis(name);
    if (!who) {
      return caf::make_error(errc::name_not_registered, std::string{name});
    }
    caf::anon_send(who, std::forward<Ts>(xs)...);
    return {};
  }

private:
  name_registry() = default;

  void drop_if(const std::string& name, const caf::actor_addr& who);

  mutable std::mutex mtx_;
  std::map<std::string, caf::actor, std::less<>> names_;
};

} // namespace troupe::actors
