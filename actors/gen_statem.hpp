// The state machine behaviour (OTP's gen_statem, handle_event mode) on CAF.
//
//   struct door {
//     using interface = caf::typed_actor<...>; // what callers may send
//     using state_type = door_state;            // copyable, ==
//     statem_init<door_state> init(statem_context<door>& ctx, Args...);
//     void handle_event(statem_context<door>& ctx, event_type type,
//                       const caf::message& content);
//     // optional:
//     void on_enter(statem_context<door>& ctx, const door_state& old);
//     void terminate(statem_context<door>& ctx, const caf::error& reason);
//     std::string format_status() const;
//   };
//
// Every event, whatever its type, goes to `handle_event` with the current
// state in `ctx.state()`. Actions go through the context: `next_state`,
// `postpone` (the event comes back after the next state change), `reply`
// (to a call), event, state and named generic timeouts, `stop`. Callers use
// the typed `interface` with the same `start`, `caller` and `cast` as a
// generic server.
#pragma once

#include "atoms.hpp"
#include "crash_report.hpp"
#include "errors.hpp"
#include "gen_server.hpp"
#include "introspection.hpp"

#include <chrono>
#include <concepts>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/response_promise.hpp>
#include <caf/skip.hpp>

namespace troupe::actors {

/// Where an event came from.
enum class event_type {
  call,            ///< a request; reply with `ctx.reply` or `ctx.promise`
  cast,            ///< an asynchronous message of the interface
  info,            ///< anything else (e.g. a delayed message to self)
  event_timeout,   ///< no event arrived within the event timeout
  state_timeout,   ///< the state lasted as long as its state timeout
  generic_timeout, ///< a named timeout (`ctx.timeout_name()`) fired
};

/// What `init` decided: the initial state, or ignore or stop.
template <class State>
class statem_init {
public:
  static statem_init ok(State initial) {
    return statem_init{std::move(initial), {}, false};
  }
  static statem_init ignore() {
    return statem_init{std::nullopt, {}, true};
  }
  static statem_init stop(caf::error reason) {
    return statem_init{std::nullopt, std::move(reason), false};
  }

  std::optional<State> initial;
  caf::error reason;
  bool ignored;

private:
  statem_init(std::optional<State> s, caf::error r, bool i)
    : initial(std::move(s)), reason(std::move(r)), ignored(i) {}
};

namespace detail {

using statem_timeout_atom = caf::atom_constant<caf::atom("tr_tmo")>;

} // namespace detail

template <class Machine>
class statem_core;

/// What `handle_event` and `on_enter` can do.
template <class Machine>
class statem_context {
public:
  using state_type = typename Machine::state_type;

  caf::event_based_actor* self() const {
    return core_->self;
  }

  /// The current state.
  const state_type& state() const {
    return *core_->state;
  }

  /// Moves to `next` once the handler returns. A different state runs
  /// `on_enter`, cancels the state timeout and retries postponed events.
  void next_state(state_type next);

  /// Keeps the current event for after the next state change.
  void postpone() {
    core_->postponed = true;
  }

  /// Replies to the call being handled.
  template <class... Ts>
  void reply(Ts&&... xs) {
    core_->reply = caf::make_message(std::forward<Ts>(xs)...);
  }

  /// A promise for replying to the call being handled later.
  caf::response_promise promise() {
    return core_->self->make_response_promise();
  }

  /// Fires `event_timeout` with `content` unless another event arrives
  /// within `d`; replaces an earlier event timeout.
  void event_timeout(std::chrono::milliseconds d, caf::message content = {}) {
    core_->arm(event_type::event_timeout, "", d, std::move(content));
  }

  /// Fires `state_timeout` with `content` if the state is still the same
  /// after `d`; replaces an earlier state timeout.
  void state_timeout(std::chrono::milliseconds d, caf::message content = {}) {
    core_->arm(event_type::state_timeout, "", d, std::move(content));
  }

  /// Fires `generic_timeout` named `name` after `d`, whatever happens
  /// meanwhile; replaces an earlier timeout of that name.
  void generic_timeout(const std::string& name, std::chrono::milliseconds d,
                       caf::message content = {}) {
    core_->arm(event_type::generic_timeout, name, d, std::move(content));
  }

  /// Cancels the named generic timeout.
  void cancel_generic_timeout(const std::string& name) {
    core_->generic_gen.erase(name);
  }

  /// The name of the generic timeout being handled.
  const std::string& timeout_name() const {
    return core_->current_timeout_name;
  }

  /// Runs `terminate(reason)` and exits with `reason` after the handler.
  void stop(caf::error reason = {});

private:
  friend class statem_core<Machine>;
  statem_core<Machine>* core_ = nullptr;
};

/// The state behind one running state machine.
template <class Machine>
class statem_core {
public:
  using state_type = typename Machine::state_type;

  /// The user's machine; destroyed when the actor exits (see server_core).
  std::optional<Machine> machine{std::in_place};
  statem_context<Machine> ctx;
  caf::event_based_actor* self = nullptr;
  std::string name;
  caf::actor_addr parent;
  std::optional<state_type> state;
  std::optional<state_type> pending_state;
  bool in_enter = false;
  bool postponed = false;
  bool terminated = false;
  std::optional<caf::message> reply;
  std::string current_timeout_name;
  std::uint64_t next_gen = 0;
  std::uint64_t event_gen = 0;
  std::uint64_t state_gen = 0;
  std::map<std::string, std::uint64_t> generic_gen;

  statem_core() {
    ctx.core_ = this;
  }

  std::string status() const {
    if constexpr (requires(const Machine& m) {
                    { m.format_status() } -> std::convertible_to<std::string>;
                  }) {
      return machine->format_status();
    } else {
      return {};
    }
  }

  void arm(event_type kind, const std::string& timer,
           std::chrono::milliseconds d, caf::message content) {
    auto gen = ++next_gen;
    switch (kind) {
      case event_type::event_timeout:
        event_gen = gen;
        break;
      case event_type::state_timeout:
        state_gen = gen;
        break;
      case event_type::generic_timeout:
        generic_gen[timer] = gen;
        break;
      case event_type::call:
      case event_type::cast:
      case event_type::info:
        return;
    }
    self->delayed_send(self, d, detail::statem_timeout_atom::value,
                       static_cast<std::uint8_t>(kind), timer, gen,
                       std::move(content));
  }

  void run_terminate(const caf::error& reason) {
    if (terminated) {
      return;
    }
    terminated = true;
    if constexpr (requires(Machine & m) { m.terminate(ctx, reason); }) {
      machine->terminate(ctx, reason);
    }
  }

  void stop(caf::error reason) {
    run_terminate(reason);
    if (is_abnormal(reason)) {
      crash(current_message_text(self), reason);
    }
    self->quit(std::move(reason));
  }

  void crash(const std::string& last_message, const caf::error& reason) {
    auto st = status();
    report_crash(self,
                 {.behaviour = "gen_statem",
                  .name = name,
                  .last_message = last_message,
                  .status = st},
                 reason);
  }

  // Down messages of monitored actors other than the parent are info
  // events.
  void on_event_down(caf::down_msg& dm) {
    event_gen = 0;
    machine->handle_event(ctx, event_type::info,
                          caf::make_message(std::move(dm)));
    if (apply_transition()) {
      self->become(caf::behavior{[](const caf::unit_t&) {}});
    }
  }

  caf::error on_exception(std::exception_ptr& eptr) {
    auto reason = exception_to_error(eptr);
    auto last = current_message_text(self);
    run_terminate(reason);
    crash(last, reason);
    return reason;
  }

  void enter(const state_type& old) {
    if constexpr (requires(Machine & m) { m.on_enter(ctx, old); }) {
      in_enter = true;
      machine->on_enter(ctx, old);
      in_enter = false;
    }
  }

  // Applies a requested state change; true if the state changed.
  bool apply_transition() {
    if (!pending_state) {
      return false;
    }
    auto next = std::move(*pending_state);
    pending_state.reset();
    if (next == *state) {
      return false;
    }
    auto old = std::move(*state);
    state = std::move(next);
    state_gen = 0; // cancels the state timeout
    enter(old);
    return true;
  }

  // Decodes a timeout message; nullopt if it is stale or not a timeout.
  std::optional<std::pair<event_type, caf::message>>
  take_timeout(const caf::message& msg) {
    if (!msg.match_elements<detail::statem_timeout_atom, std::uint8_t,
                            std::string, std::uint64_t, caf::message>()) {
      return std::nullopt;
    }
    auto kind = static_cast<event_type>(msg.get_as<std::uint8_t>(1));
    const auto& timer = msg.get_as<std::string>(2);
    auto gen = msg.get_as<std::uint64_t>(3);
    bool live = false;
    switch (kind) {
      case event_type::event_timeout:
        live = gen == event_gen;
        break;
      case event_type::state_timeout:
        live = gen == state_gen;
        break;
      case event_type::generic_timeout: {
        auto i = generic_gen.find(timer);
        live = i != generic_gen.end() && i->second == gen;
        if (live) {
          generic_gen.erase(i);
        }
        break;
      }
      case event_type::call:
      case event_type::cast:
      case event_type::info:
        break;
    }
    current_timeout_name = timer;
    if (!live) {
      return std::pair{event_type::info, caf::message{}}; // stale: dropped
    }
    return std::pair{kind, msg.get_as<caf::message>(4)};
  }

  caf::result<caf::message> on_event(caf::message_view& view) {
    auto msg = view.move_content_to_message();
    if (msg.match_elements<stop_atom, caf::error>()) {
      stop(msg.get_as<caf::error>(1));
      return caf::message{};
    }
    if (msg.match_elements<probe_atom>()) { // status only when asked
      return *answer_probe(self, msg, "gen_statem", status());
    }
    auto* elem = self->current_mailbox_element();
    bool is_request = elem != nullptr && elem->mid.is_request();
    auto type = is_request ? event_type::call : event_type::cast;
    caf::message content = msg;
    if (auto timeout = take_timeout(msg)) {
      if (timeout->first == event_type::info) {
        return caf::message{}; // a cancelled timer
      }
      type = timeout->first;
      content = std::move(timeout->second);
    } else if (!is_request && !accepts_cast(msg)) {
      type = event_type::info;
    }
    if (type != event_type::event_timeout) {
      event_gen = 0; // any event cancels the event timeout
    }
    postponed = false;
    reply.reset();
    machine->handle_event(ctx, type, content);
    if (postponed) {
      pending_state.reset();
      return caf::skip;
    }
    if (apply_transition()) {
      self->become(caf::behavior{[](const caf::unit_t&) {}}); // retry stash
    }
    if (reply) {
      return std::move(*reply);
    }
    if (is_request) {
      // No reply yet: keep the caller waiting for a later `promise()`.
      static_cast<void>(self->make_response_promise());
    }
    return caf::message{};
  }

  // Casts are the interface's asynchronous messages; the rest is info.
  static bool accepts_cast(const caf::message& msg) {
    using sigs = typename Machine::interface::signatures;
    return accepts(msg, sigs{});
  }

  template <class... Sigs>
  static bool
  accepts(const caf::message& msg, caf::detail::type_list<Sigs...>) {
    return (matches(msg, static_cast<Sigs*>(nullptr)) || ...);
  }

  template <class... Ins, class Out>
  static bool matches(const caf::message& msg,
                      caf::typed_mpi<caf::detail::type_list<Ins...>, Out>*) {
    return msg.match_elements<Ins...>();
  }

  template <class... Args>
  caf::result<caf::atom_value> run_init(Args&... args) {
    auto result = machine->init(ctx, args...);
    if (result.ignored) {
      self->quit();
      return ignored_atom::value;
    }
    if (!result.initial) {
      self->quit(result.reason);
      return result.reason;
    }
    state = std::move(*result.initial);
    self->set_default_handler(
      [this](caf::scheduled_actor*, caf::message_view& view) {
        return on_event(view);
      });
    self->become(caf::behavior{[](const caf::unit_t&) {}});
    enter(*state); // OTP's initial state-enter call: old == new
    return started_atom::value;
  }
};

template <class Machine>
void statem_context<Machine>::next_state(state_type next) {
  if (core_->in_enter) {
    throw std::logic_error("next_state is not allowed in on_enter");
  }
  core_->pending_state = std::move(next);
}

template <class Machine>
void statem_context<Machine>::stop(caf::error reason) {
  core_->stop(std::move(reason));
}

/// Spawns a state machine that runs `init` on `init_atom` (see
/// `spawn_server`).
template <class Machine, class... Args>
caf::expected<caf::actor>
spawn_statem(caf::actor_system& sys, const start_options& opts, Args... args) {
  auto fun = [opts = opts, args...](caf::event_based_actor* self) mutable {
    auto core = std::make_shared<statem_core<Machine>>();
    core->self = self;
    core->name = opts.name;
    core->parent = opts.parent.address();
    self->attach_functor([core] { core->machine.reset(); });
    if (opts.parent) {
      self->monitor(opts.parent); // see start_options::parent
      opts.parent = nullptr;
    }
    self->set_down_handler(
      [core, parent = core->parent](caf::scheduled_actor*, caf::down_msg& dm) {
        if (dm.source == parent) {
          core->stop(std::move(dm.reason));
        } else {
          core->on_event_down(dm);
        }
      });
    self->set_default_handler(caf::skip);
    self->set_exception_handler(
      [core](caf::scheduled_actor*, std::exception_ptr& eptr) {
        return core->on_exception(eptr);
      });
    return caf::behavior{
      [core, args...](init_atom) mutable -> caf::result<caf::atom_value> {
        return core->run_init(args...);
      },
    };
  };
  return detail::spawn_named(sys, opts, std::move(fun));
}

/// Starts a state machine and returns once `init` has finished (see
/// `start` of the generic server).
template <class Machine, class... Args>
caf::expected<started<typename Machine::interface>>
start_statem(caf::actor_system& sys, const start_options& opts, Args... args) {
  auto spawned = spawn_statem<Machine>(sys, opts, std::move(args)...);
  if (!spawned) {
    return std::move(spawned.error());
  }
  return detail::await_init<typename Machine::interface>(sys, *spawned,
                                                         opts.init_timeout);
}

} // namespace troupe::actors
