// The activations of virtual actors on one node, shared by the router and
// the threads that send by name: who is running, what waits for an
// activation, and which partitions are held during a handoff.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_addr.hpp>
#include <caf/mailbox_element.hpp>
#include <caf/message.hpp>
#include <caf/message_id.hpp>

namespace troupe::cluster {

/// One message on its way to a virtual actor, with where a reply goes.
struct delivery {
  std::string name;
  caf::message msg;
  caf::strong_actor_ptr sender{};
  caf::message_id mid = caf::make_message_id();
  /// Forwarded by the previous owner during a handoff.
  bool from_previous = false;
};

/// What `name_table::deliver` did.
enum class delivery_outcome {
  delivered, ///< in the actor's mailbox
  buffered,  ///< waits for an activation or a handoff
  activate,  ///< buffered, and the name needs an activation
  not_here,  ///< its partition has moved away: route it again
};

class name_table {
public:
  /// Delivers `d` (for partition `p`) to the running activation, or
  /// buffers it. On `not_here`, `d` is left as it was, to be routed again.
  delivery_outcome deliver(std::uint32_t p, delivery&& d);

  /// The fast path: enqueues the mailbox element `make()` builds into the
  /// running activation of `name` when there is one and nothing waits for
  /// it (under the lock, so that it stays in order with handoffs); returns
  /// false, enqueuing nothing, otherwise.
  template <class F>
  bool enqueue_if_running(std::uint32_t p, const std::string& name, F&& make) {
    std::lock_guard<std::mutex> guard{mtx_};
    if (!parts_.empty() && parts_.count(p) > 0) {
      return false;
    }
    auto i = entries_.find(name);
    if (i == entries_.end() || !i->second.actor || i->second.exporting) {
      return false;
    }
    i->second.busy = true;
    i->second.actor->enqueue(make(), nullptr);
    return true;
  }

  // -- the router's side ------------------------------------------------------

  /// The activation of `name` started: buffered messages go to it in order.
  void activated(const std::string& name, const caf::actor& a);
  /// The activation failed: the buffered messages, for error replies.
  std::vector<delivery> activation_failed(const std::string& name);
  /// The activation `who` of `name` exited: forget it. Returns whether
  /// messages wait for a new activation (they came while it stopped).
  bool exited(const std::string& name, const caf::actor_addr& who);

  /// Buffers everything for `p` from now on.
  void hold(std::uint32_t p);
  /// Stops holding `p`: buffered messages are delivered in order, those
  /// forwarded by the previous owner first. Returns the names that need an
  /// activation.
  std::vector<std::string> release(std::uint32_t p);
  /// Stops holding `p`, marking it as moved: returns the buffered messages
  /// (the caller forwards them); later ones get `not_here`.
  std::vector<delivery> move_out(std::uint32_t p);
  /// `p` is this node's again (or a fallback's): deliver here.
  void move_in(std::uint32_t p);
  bool held(std::uint32_t p) const;

  /// Running activations (name → actor) of partition `p`, or of all
  /// partitions.
  std::map<std::string, caf::actor>
  activations(std::optional<std::uint32_t> p = std::nullopt) const;
  /// The activations that take messages (name → actor): running and not
  /// handing their state off (an exporting one answers its export and
  /// stops: what is sent to it after that is lost).
  std::map<std::string, caf::actor> serving() const;
  /// Marks `name` as exporting: messages wait until `exited` or
  /// `activated`. Returns the actor, or an invalid handle.
  caf::actor begin_export(const std::string& name);

  /// A new router takes over after one crashed: exports it had begun are
  /// called off (those actors carry on, with what waited for them) and
  /// held partitions are released. Returns the names that need an
  /// activation (messages wait and no activation runs).
  std::vector<std::string> recover();

  /// Names with messages since the last call (for passivation).
  std::vector<std::string> idle_since_last_sweep();

private:
  struct entry {
    std::uint32_t partition = 0;
    caf::actor actor;
    std::vector<delivery> buffer;
    bool exporting = false;
    bool busy = false; ///< got messages since the last sweep
  };
  enum class part_state : std::uint8_t { normal, held, moved };
  struct part {
    part_state state = part_state::normal;
    std::vector<delivery> from_previous;
    std::vector<delivery> others;
  };

  delivery_outcome deliver_locked(std::uint32_t p, delivery&& d);
  // Stops holding `p`; adds the names that need an activation to `start`.
  void release_locked(std::uint32_t p, std::vector<std::string>& start);
  static void enqueue(const caf::actor& a, delivery&& d);

  mutable std::mutex mtx_;
  std::unordered_map<std::string, entry> entries_;
  std::unordered_map<std::uint32_t, part> parts_;
};

} // namespace troupe::cluster
