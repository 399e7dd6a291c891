// Calling behaviours: a reusable blocking caller for code outside actors,
// `cast`, and `call` from inside actors.
#pragma once

#include "atoms.hpp"
#include "errors.hpp"

#include <chrono>
#include <optional>
#include <tuple>
#include <utility>

#include <caf/actor.hpp>
#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/after.hpp>
#include <caf/response_type.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <caf/system_messages.hpp>

namespace troupe::actors {

/// The default time a call waits for its reply (OTP's 5 s).
inline constexpr std::chrono::milliseconds default_call_timeout{5000};

namespace detail {

template <class List>
struct reply_of;

template <>
struct reply_of<caf::detail::type_list<>> {
  using type = caf::unit_t;
};

template <class T>
struct reply_of<caf::detail::type_list<T>> {
  using type = T;
};

template <class T1, class T2, class... Ts>
struct reply_of<caf::detail::type_list<T1, T2, Ts...>> {
  using type = std::tuple<T1, T2, Ts...>;
};

template <class Result, class... Outs>
auto store_reply(std::optional<Result>& out, caf::detail::type_list<Outs...>) {
  return [&out](Outs&... xs) {
    if constexpr (sizeof...(Outs) == 0) {
      out = caf::unit;
    } else if constexpr (sizeof...(Outs) == 1) {
      out = Result{std::move(xs)...};
    } else {
      out = Result{std::move(xs)...};
    }
  };
}

} // namespace detail

/// The reply type of calling `Handle` with `Ts...`: `caf::unit_t` for none,
/// the value for one, a tuple for several.
template <class Handle, class... Ts>
using call_reply_t = typename detail::reply_of<
  caf::response_type_t<typename Handle::signatures, std::decay_t<Ts>...>>::type;

/// Calls servers from outside any actor (a `main`, a test, a thread pool).
/// Keep one per thread and reuse it: it owns the blocking actor the replies
/// come back to, so a call costs no spawn.
class caller {
public:
  explicit caller(caf::actor_system& sys) : self_(sys) {}

  /// Sends a call and waits up to `timeout` for the reply; the error is
  /// `caf::sec::request_timeout` on timeout,
  /// `caf::sec::request_receiver_down` if the server is not running, or
  /// the error the server replied with.
  template <class Handle, class... Ts>
  caf::expected<call_reply_t<Handle, Ts...>>
  call(const Handle& server, std::chrono::milliseconds timeout, Ts&&... xs) {
    using reply = call_reply_t<Handle, Ts...>;
    using outs
      = caf::response_type_t<typename Handle::signatures, std::decay_t<Ts>...>;
    std::optional<reply> value;
    caf::error err;
    self_->request(server, timeout, std::forward<Ts>(xs)...)
      .receive(detail::store_reply(value, outs{}),
               [&err](caf::error& e) { err = std::move(e); });
    if (value) {
      return std::move(*value);
    }
    return err;
  }

  /// `call` with the default timeout of 5 s.
  template <class Handle, class... Ts>
  caf::expected<call_reply_t<Handle, Ts...>>
  call(const Handle& server, Ts&&... xs) {
    return call(server, default_call_timeout, std::forward<Ts>(xs)...);
  }

  /// Asks the server to stop with `reason` and waits until it has exited
  /// (`terminate` has run); `errc::stop_timeout` if it has not within
  /// `timeout`.
  template <class Handle>
  caf::error stop(const Handle& server, caf::error reason = {},
                  std::chrono::milliseconds timeout = default_call_timeout) {
    auto target = caf::actor_cast<caf::actor>(server);
    self_->monitor(target);
    self_->send(target, stop_atom::value, std::move(reason));
    bool down = false;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (auto left = timeout; !down && left.count() > 0;
         left = std::chrono::duration_cast<std::chrono::milliseconds>(
           deadline - std::chrono::steady_clock::now())) {
      self_->receive(
        [&down, &target](caf::down_msg& dm) {
          down = down || dm.source == target;
        },
        caf::after(left) >> [] {});
    }
    self_->demonitor(target);
    return down ? caf::error{} : caf::make_error(errc::stop_timeout);
  }

private:
  caf::scoped_actor self_;
};

/// Sends a cast; the message type is checked against the interface.
template <class Handle, class... Ts>
void cast(const Handle& server, Ts&&... xs) {
  caf::anon_send(server, std::forward<Ts>(xs)...);
}

/// Calls a server from inside an actor; continue with `.then(...)`. Never
/// blocks the calling actor.
template <class Self, class Handle, class... Ts>
auto call(Self* self, const Handle& server, Ts&&... xs) {
  return self->request(server, default_call_timeout, std::forward<Ts>(xs)...);
}

} // namespace troupe::actors
