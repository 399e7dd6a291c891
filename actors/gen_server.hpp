// The generic server behaviour (OTP's gen_server) on CAF.
//
// A server is a type with a typed CAF interface and a few callbacks:
//
//   struct counter {
//     using interface = caf::typed_actor<
//       caf::replies_to<get_atom>::with<int>,   // a call
//       caf::reacts_to<add_atom, int>>;         // a cast
//     int value = 0;
//     init_result init(server_context<counter>& ctx, int start);
//     interface::behavior_type handlers(server_context<counter>& ctx);
//     // optional:
//     void handle_info(server_context<counter>& ctx, const caf::message& m);
//     void terminate(server_context<counter>& ctx, const caf::error& reason);
//     std::string format_status() const;
//   };
//
// `handlers` returns the calls and casts as a typed CAF behaviour, so a call
// with the wrong message type does not compile. A handler replies by
// returning a value, later through `ctx.promise<T>()`, or stops the server
// with `ctx.stop(reason)` (and may still return a reply). Everything the
// interface does not name (timeouts, exit and down messages, stray messages)
// goes to `handle_info`.
#pragma once

#include "atoms.hpp"
#include "caller.hpp"
#include "crash_report.hpp"
#include "errors.hpp"
#include "introspection.hpp"
#include "registry.hpp"

#include <chrono>
#include <concepts>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <utility>

#include <caf/actor.hpp>
#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/after.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/exit_reason.hpp>
#include <caf/message_view.hpp>
#include <caf/response_type.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/sec.hpp>
#include <caf/send.hpp>
#include <caf/skip.hpp>
#include <caf/system_messages.hpp>
#include <caf/typed_actor.hpp>
#include <caf/typed_response_promise.hpp>

namespace troupe::actors {

/// What `init` decided.
class init_result {
public:
  enum class kind { ok, ignore, stop };

  /// Start serving.
  static init_result ok() {
    return init_result{kind::ok, {}};
  }
  /// Exit normally; the starter is told the server was ignored.
  static init_result ignore() {
    return init_result{kind::ignore, {}};
  }
  /// Exit with `reason`; the starter gets it as the start error.
  static init_result stop(caf::error reason) {
    return init_result{kind::stop, std::move(reason)};
  }

  kind outcome() const {
    return kind_;
  }
  const caf::error& reason() const {
    return reason_;
  }

private:
  init_result(kind k, caf::error reason)
    : kind_(k), reason_(std::move(reason)) {}
  kind kind_;
  caf::error reason_;
};

/// How to start a server.
struct start_options {
  /// Register the server under this name in `registry` before `init` runs.
  std::string name{};
  /// The node's registry; required when `name` is set.
  std::shared_ptr<name_registry> registry{};
  /// How long the starter waits for `init`.
  std::chrono::milliseconds init_timeout{default_call_timeout};
  /// The server's parent (OTP's start_link): when it exits, the server
  /// reacts as to an exit signal from its parent (see
  /// `server_context::trap_exits`). CAF links are two-way and a `kill`
  /// would travel up, so the server monitors its parent instead.
  caf::actor parent{};
};

namespace detail {

/// What every server has, whatever its type.
struct server_base {
  caf::event_based_actor* self = nullptr;
  std::string name;
  caf::actor_addr parent;
  bool trapping = false;
  bool terminated = false;
};

} // namespace detail

/// What a server's callbacks can do besides returning values.
template <class Server>
class server_context {
public:
  explicit server_context(detail::server_base& base) : base_(base) {}

  /// The CAF actor running the server.
  caf::event_based_actor* self() const {
    return base_.self;
  }

  /// The registered name, or empty.
  const std::string& name() const {
    return base_.name;
  }

  /// Runs `terminate(reason)` and exits with `reason` once the current
  /// handler returns (its return value is still sent as the reply).
  void stop(caf::error reason = {});

  /// Trapping on: exit signals arrive in `handle_info` as `caf::exit_msg`,
  /// except the parent's, which run `terminate` and stop the server. Off
  /// (the default): an abnormal exit signal stops the server without
  /// `terminate`; `normal` is ignored. `kill` can never be trapped.
  void trap_exits(bool on);

  /// A promise for replying later to the call being handled.
  template <class... Ts>
  caf::typed_response_promise<Ts...> promise() {
    return base_.self->template make_response_promise<Ts...>();
  }

private:
  template <class>
  friend class server_core;
  detail::server_base& base_;
  Server* server_ = nullptr;
};

namespace detail {

template <class S>
concept has_handle_info
  = requires(S& s, server_context<S>& ctx, const caf::message& m) {
  s.handle_info(ctx, m);
};

template <class S>
concept has_terminate
  = requires(S& s, server_context<S>& ctx, const caf::error& e) {
  s.terminate(ctx, e);
};

template <class S>
concept has_format_status = requires(const S& s) {
  { s.format_status() } -> std::convertible_to<std::string>;
};

} // namespace detail

/// The state behind one running server; owned by its actor's behaviour.
template <class Server>
class server_core : public detail::server_base {
public:
  server_core() : ctx(*this) {
    ctx.server_ = &*server;
  }

  /// The user's server; destroyed when the actor exits, so that promises it
  /// holds (which keep the actor referenced) never form a cycle.
  std::optional<Server> server{std::in_place};
  server_context<Server> ctx;

  std::string status() const {
    if constexpr (detail::has_format_status<Server>) {
      return server->format_status();
    } else {
      return {};
    }
  }

  void run_terminate(const caf::error& reason) {
    if (terminated) {
      return;
    }
    terminated = true;
    if constexpr (detail::has_terminate<Server>) {
      server->terminate(ctx, reason);
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
    auto state = status();
    report_crash(self,
                 {.behaviour = "gen_server",
                  .name = name,
                  .last_message = last_message,
                  .status = state},
                 reason);
  }

  void unexpected(const caf::message& msg) {
    log_unexpected(self, "gen_server", name, msg);
  }

  // Everything the interface does not handle.
  caf::result<caf::message> on_other(caf::message_view& view) {
    auto msg = view.move_content_to_message();
    if (msg.match_elements<stop_atom, caf::error>()) {
      stop(msg.get_as<caf::error>(1));
      return caf::message{};
    }
    if (msg.match_elements<probe_atom>()) { // status only when asked
      return *answer_probe(self, msg, "gen_server", status());
    }
    auto* elem = self->current_mailbox_element();
    bool is_request = elem != nullptr && elem->mid.is_request();
    if constexpr (detail::has_handle_info<Server>) {
      if (!is_request) {
        server->handle_info(ctx, msg);
        return caf::message{};
      }
    }
    unexpected(msg);
    if (is_request) {
      return caf::make_error(errc::unexpected_request, caf::to_string(msg));
    }
    return caf::message{};
  }

  void on_exit_signal(caf::exit_msg& em) {
    if (!trapping) {
      if (em.reason) {
        self->quit(std::move(em.reason)); // OTP: no terminate, no report
      }
      return;
    }
    if (em.source == parent) {
      stop(std::move(em.reason));
      return;
    }
    if constexpr (detail::has_handle_info<Server>) {
      server->handle_info(ctx, caf::make_message(std::move(em)));
    } else {
      unexpected(caf::make_message(em));
    }
  }

  void on_down(caf::down_msg& dm) {
    if (dm.source == parent) {
      // The parent's exit acts as OTP's exit signal from a linked parent.
      caf::exit_msg em{dm.source, std::move(dm.reason)};
      on_exit_signal(em);
      return;
    }
    if constexpr (detail::has_handle_info<Server>) {
      server->handle_info(ctx, caf::make_message(std::move(dm)));
    } else {
      unexpected(caf::make_message(dm));
    }
  }

  caf::error on_exception(std::exception_ptr& eptr) {
    auto reason = exception_to_error(eptr);
    auto last = current_message_text(self);
    run_terminate(reason);
    crash(last, reason);
    return reason;
  }

  template <class... Args>
  caf::result<caf::atom_value> run_init(Args&... args) {
    auto result = server->init(ctx, args...);
    switch (result.outcome()) {
      case init_result::kind::ok: {
        self->set_default_handler(
          [this](caf::scheduled_actor*, caf::message_view& view) {
            return on_other(view);
          });
        auto handlers = server->handlers(ctx);
        self->become(std::move(handlers.unbox()));
        return started_atom::value;
      }
      case init_result::kind::ignore:
        self->quit();
        return ignored_atom::value;
      case init_result::kind::stop:
        self->quit(result.reason());
        return result.reason();
    }
    return result.reason();
  }
};

template <class Server>
void server_context<Server>::stop(caf::error reason) {
  static_cast<server_core<Server>&>(base_).stop(std::move(reason));
}

template <class Server>
void server_context<Server>::trap_exits(bool on) {
  base_.trapping = on;
}

/// The handle callers use: the server's typed interface.
template <class Server>
using server_handle = typename Server::interface;

/// What `start` gives back when `init` did not fail.
template <class Handle>
struct started {
  /// The running server; not valid when `ignored`.
  Handle handle;
  /// `init` returned `ignore`: the server has exited normally.
  bool ignored = false;
};

namespace detail {

/// Spawns a behaviour's actor with `fun` and registers it under the name in
/// `opts`, if any; shared by every behaviour's spawn function.
template <class F>
caf::expected<caf::actor>
spawn_named(caf::actor_system& sys, const start_options& opts, F fun) {
  if (!opts.name.empty() && !opts.registry) {
    return caf::make_error(caf::sec::invalid_argument,
                           "a name needs start_options::registry");
  }
  auto handle = sys.spawn(std::move(fun));
  if (!opts.name.empty()) {
    if (auto err = opts.registry->register_name(opts.name, handle)) {
      caf::anon_send_exit(handle, caf::exit_reason::kill);
      return err;
    }
  }
  return handle;
}

} // namespace detail

/// Spawns a server that waits for `init_atom` before running `init`, and
/// registers its name if `opts` has one (`errc::name_taken` if held).
/// Messages that arrive before `init` has finished wait in the mailbox.
/// `start` builds on this; a supervisor sends the `init_atom` request
/// itself so that it never blocks.
template <class Server, class... Args>
caf::expected<caf::actor>
spawn_server(caf::actor_system& sys, const start_options& opts, Args... args) {
  if (!opts.name.empty() && !opts.registry) {
    return caf::make_error(caf::sec::invalid_argument,
                           "a server name needs start_options::registry");
  }
  auto fun = [opts = opts, args...](caf::event_based_actor* self) mutable {
    auto core = std::make_shared<server_core<Server>>();
    core->self = self;
    core->name = opts.name;
    core->parent = opts.parent.address();
    self->attach_functor([core] { core->server.reset(); });
    if (opts.parent) {
      // Monitored, not linked: CAF's links are two-way, and a child killed
      // with `kill` must not take its parent down.
      self->monitor(opts.parent);
      opts.parent = nullptr; // keep no strong handle
    }
    self->set_default_handler(caf::skip);
    self->set_exception_handler(
      [core](caf::scheduled_actor*, std::exception_ptr& eptr) {
        return core->on_exception(eptr);
      });
    self->set_exit_handler([core](caf::scheduled_actor*, caf::exit_msg& em) {
      core->on_exit_signal(em);
    });
    self->set_down_handler(
      [core](caf::scheduled_actor*, caf::down_msg& dm) { core->on_down(dm); });
    return caf::behavior{
      [core, args...](init_atom) mutable -> caf::result<caf::atom_value> {
        return core->run_init(args...);
      },
    };
  };
  return detail::spawn_named(sys, opts, std::move(fun));
}

namespace detail {

/// Sends `init_atom` to a spawned behaviour and waits for the outcome.
template <class Handle>
caf::expected<started<Handle>> await_init(caf::actor_system& sys,
                                          const caf::actor& spawned,
                                          std::chrono::milliseconds timeout) {
  caf::expected<started<Handle>> result{caf::error{}};
  caf::scoped_actor starter{sys};
  starter->request(spawned, timeout, init_atom::value)
    .receive(
      [&](caf::atom_value outcome) {
        result = started<Handle>{
          .handle = caf::actor_cast<Handle>(spawned),
          .ignored = outcome == ignored_atom::value,
        };
      },
      [&](caf::error& err) {
        if (err == caf::sec::request_timeout) {
          caf::anon_send_exit(spawned, caf::exit_reason::kill);
          err = caf::make_error(errc::init_timeout);
        }
        result = std::move(err);
      });
  return result;
}

} // namespace detail

/// Starts a server and returns once its `init` has finished: the handle,
/// or `ignored`, or the error `init` stopped with (`errc::name_taken` if the
/// name is held; `errc::init_timeout`, and the server killed, if `init` took
/// longer than `opts.init_timeout`). Blocks the calling thread: for use
/// outside actors.
template <class Server, class... Args>
caf::expected<started<server_handle<Server>>>
start(caf::actor_system& sys, const start_options& opts, Args... args) {
  auto spawned = spawn_server<Server>(sys, opts, std::move(args)...);
  if (!spawned) {
    return std::move(spawned.error());
  }
  return detail::await_init<server_handle<Server>>(sys, *spawned,
                                                   opts.init_timeout);
}

} // namespace troupe::actors
