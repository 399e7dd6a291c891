// The event manager behaviour (OTP's gen_event) on CAF: one actor, many
// handlers, each event given to every handler in the order they were added.
//
// A handler that throws is removed and reported; the manager and the other
// handlers carry on. Events must be CAF message types (an `inspect`
// overload, or a type CAF already knows such as std::string).
#pragma once

#include "atoms.hpp"
#include "crash_report.hpp"
#include "errors.hpp"
#include "gen_server.hpp"

#include <any>
#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>

namespace troupe::actors {

/// One handler of events of type `Event`. Subclass and override.
template <class Event>
class event_handler {
public:
  virtual ~event_handler() = default;

  /// Called when the handler is added; an error refuses the handler.
  virtual caf::error init() {
    return {};
  }

  /// Called for every event; throwing removes the handler.
  virtual void handle_event(const Event& event) = 0;

  /// Called when the handler is removed, the manager stops, or the handler
  /// is swapped out (reason `swapped`).
  virtual void terminate(const caf::error& reason) {
    static_cast<void>(reason);
  }

  /// State handed to the handler that replaces this one in `swap_handler`.
  virtual std::any swap_out() {
    return {};
  }

  /// Receives the replaced handler's `swap_out`, before `init`.
  virtual void swap_in(std::any state) {
    static_cast<void>(state);
  }

  /// Text for crash reports and the console.
  virtual std::string format_status() const {
    return {};
  }
};

template <class Event>
using event_handler_ptr = std::shared_ptr<event_handler<Event>>;

using add_handler_atom = caf::atom_constant<caf::atom("tr_addh")>;
using delete_handler_atom = caf::atom_constant<caf::atom("tr_delh")>;
using swap_handler_atom = caf::atom_constant<caf::atom("tr_swaph")>;
using which_handlers_atom = caf::atom_constant<caf::atom("tr_whichh")>;
using notify_atom = caf::atom_constant<caf::atom("tr_notify")>;
using sync_notify_atom = caf::atom_constant<caf::atom("tr_snotify")>;

} // namespace troupe::actors

namespace caf {
// Handlers travel between threads of one node only, never on the wire.
template <class Event>
struct allowed_unsafe_message_type<troupe::actors::event_handler_ptr<Event>>
  : std::true_type {};
} // namespace caf

namespace troupe::actors {

namespace detail {

template <class Event>
struct event_manager_state {
  caf::event_based_actor* self = nullptr;
  std::string name;
  std::vector<std::pair<std::string, event_handler_ptr<Event>>> handlers;

  auto find(const std::string& id) {
    return std::find_if(handlers.begin(), handlers.end(),
                        [&id](const auto& entry) { return entry.first == id; });
  }

  caf::error add(std::string id, event_handler_ptr<Event> handler) {
    if (!handler || id.empty()) {
      return caf::make_error(caf::sec::invalid_argument,
                             "expected a handler id and a handler");
    }
    if (find(id) != handlers.end()) {
      return caf::make_error(errc::name_taken, "handler " + id);
    }
    if (auto err = handler->init()) {
      return err;
    }
    handlers.emplace_back(std::move(id), std::move(handler));
    return {};
  }

  caf::error remove(const std::string& id, const caf::error& reason) {
    auto i = find(id);
    if (i == handlers.end()) {
      return caf::make_error(errc::name_not_registered, "handler " + id);
    }
    auto handler = std::move(i->second);
    handlers.erase(i);
    handler->terminate(reason);
    return {};
  }

  void dispatch(const Event& event) {
    // Handlers removed while dispatching are skipped; indexes stay valid
    // because removal happens after the loop.
    std::vector<std::string> failed;
    for (auto& [id, handler] : handlers) {
      try {
        handler->handle_event(event);
      } catch (...) {
        auto reason = exception_to_error(std::current_exception());
        auto status = handler->format_status();
        auto last = current_message_text(self);
        report_crash(self,
                     {.behaviour = "gen_event handler",
                      .name = id,
                      .last_message = last,
                      .status = status},
                     reason);
        handler->terminate(reason);
        failed.push_back(id);
      }
    }
    for (const auto& id : failed) {
      auto i = find(id);
      if (i != handlers.end()) {
        handlers.erase(i);
      }
    }
  }

  void terminate_all(const caf::error& reason) {
    for (auto& entry : handlers) {
      entry.second->terminate(reason);
    }
    handlers.clear();
  }
};

} // namespace detail

/// A running event manager. Copyable; all copies talk to the same actor.
/// Management calls block the calling thread: use them from outside actors
/// (actors send the same messages with `request`).
template <class Event>
class event_manager {
public:
  /// Starts a manager, registering it under `opts.name` if given.
  static caf::expected<event_manager> start(caf::actor_system& sys,
                                            const start_options& opts = {}) {
    auto handle = detail::spawn_named(sys, opts,
                                      [opts](caf::event_based_actor* self) {
                                        return behavior(self, opts);
                                      });
    if (!handle) {
      return std::move(handle.error());
    }
    return event_manager{sys, std::move(*handle)};
  }

  /// Adds a handler under `id`; fails if the id is taken or `init` fails.
  caf::error add_handler(std::string id, event_handler_ptr<Event> handler) {
    return ask(add_handler_atom::value, std::move(id), std::move(handler));
  }

  /// Removes the handler `id`, calling its `terminate(reason)`.
  caf::error delete_handler(std::string id, caf::error reason = {}) {
    return ask(delete_handler_atom::value, std::move(id), std::move(reason));
  }

  /// Replaces handler `old_id` by `handler` under `new_id`, handing over
  /// the old handler's `swap_out()`. If `old_id` is absent the new handler
  /// is still added (as OTP does).
  caf::error swap_handler(std::string old_id, std::string new_id,
                          event_handler_ptr<Event> handler) {
    return ask(swap_handler_atom::value, std::move(old_id), std::move(new_id),
               std::move(handler));
  }

  /// Ids of the installed handlers, in dispatch order.
  caf::expected<std::vector<std::string>> which_handlers() {
    caf::scoped_actor self{*sys_};
    caf::expected<std::vector<std::string>> out{caf::error{}};
    self->request(handle_, default_call_timeout, which_handlers_atom::value)
      .receive([&out](std::vector<std::string>& ids) { out = std::move(ids); },
               [&out](caf::error& err) { out = std::move(err); });
    return out;
  }

  /// Hands `event` to every handler, without waiting.
  void notify(Event event) const {
    caf::anon_send(handle_, notify_atom::value, std::move(event));
  }

  /// Hands `event` to every handler and waits until all have handled it.
  caf::error sync_notify(Event event) {
    return ask(sync_notify_atom::value, std::move(event));
  }

  /// Stops the manager; every handler's `terminate` runs.
  caf::error stop(caf::error reason = {}) {
    caller c{*sys_};
    return c.stop(handle_, std::move(reason));
  }

  const caf::actor& handle() const {
    return handle_;
  }

private:
  event_manager(caf::actor_system& sys, caf::actor handle)
    : sys_(&sys), handle_(std::move(handle)) {}

  template <class... Ts>
  caf::error ask(Ts&&... xs) {
    caf::scoped_actor self{*sys_};
    caf::error result;
    self->request(handle_, default_call_timeout, std::forward<Ts>(xs)...)
      .receive([] {}, [&result](caf::error& err) { result = std::move(err); });
    return result;
  }

  static caf::behavior behavior(caf::event_based_actor* self,
                                const start_options& opts) {
    using state_type = detail::event_manager_state<Event>;
    auto st = std::make_shared<state_type>();
    st->self = self;
    st->name = opts.name;
    if (opts.parent) {
      self->monitor(opts.parent); // see start_options::parent
      self->set_down_handler(
        [self, parent = opts.parent.address()](caf::down_msg& dm) {
          if (dm.source == parent) {
            self->quit(std::move(dm.reason));
          }
        });
    }
    self->attach_functor(
      [st](const caf::error& reason) { st->terminate_all(reason); });
    self->set_default_handler(
      [st](caf::scheduled_actor*,
           caf::message_view& view) -> caf::result<caf::message> {
        auto msg = view.move_content_to_message();
        if (msg.match_elements<stop_atom, caf::error>()) {
          // Terminate the handlers before exiting, so that whoever waits
          // for the exit sees them terminated.
          const auto& reason = msg.get_as<caf::error>(1);
          st->terminate_all(reason);
          st->self->quit(reason);
          return caf::message{};
        }
        if (auto reply = answer_probe(st->self, msg, "gen_event")) {
          return std::move(*reply);
        }
        log_unexpected(st->self, "gen_event", st->name, msg);
        return caf::message{};
      });
    return {
      [st](add_handler_atom, std::string& id,
           event_handler_ptr<Event>& h) -> caf::result<void> {
        if (auto err = st->add(std::move(id), std::move(h))) {
          return err;
        }
        return caf::unit;
      },
      [st](delete_handler_atom, const std::string& id,
           const caf::error& reason) -> caf::result<void> {
        if (auto err = st->remove(id, reason)) {
          return err;
        }
        return caf::unit;
      },
      [st](swap_handler_atom, const std::string& old_id, std::string& new_id,
           event_handler_ptr<Event>& h) -> caf::result<void> {
        if (!h) {
          return caf::make_error(caf::sec::invalid_argument,
                                 "expected a handler");
        }
        auto i = st->find(old_id);
        if (i != st->handlers.end()) {
          auto old = std::move(i->second);
          st->handlers.erase(i);
          auto state = old->swap_out();
          old->terminate(caf::make_error(caf::sec::runtime_error, "swapped"));
          h->swap_in(std::move(state));
        }
        if (auto err = st->add(std::move(new_id), std::move(h))) {
          return err;
        }
        return caf::unit;
      },
      [st](which_handlers_atom) {
        std::vector<std::string> ids;
        ids.reserve(st->handlers.size());
        for (const auto& entry : st->handlers) {
          ids.push_back(entry.first);
        }
        return ids;
      },
      [st](notify_atom, const Event& event) { st->dispatch(event); },
      [st](sync_notify_atom, const Event& event) -> caf::result<void> {
        st->dispatch(event);
        return caf::unit;
      },
    };
  }

  caf::actor_system* sys_;
  caf::actor handle_;
};

} // namespace troupe::actors
