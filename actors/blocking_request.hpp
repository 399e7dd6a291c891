// Untyped requests from outside actors that wait for the reply.
#pragma once

#include <utility>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/duration.hpp>
#include <caf/error.hpp>
#include <caf/expected.hpp>
#include <caf/scoped_actor.hpp>

namespace troupe::actors {

/// Sends `xs` to `dest` and waits, without a timeout, for a reply of type
/// `Result` or an error. For control APIs (supervisors, applications) whose
/// operations may take as long as a tree takes to start or stop.
template <class Result, class... Ts>
caf::expected<Result>
request_blocking(caf::actor_system& sys, const caf::actor& dest, Ts&&... xs) {
  caf::scoped_actor self{sys};
  caf::expected<Result> out{caf::error{}};
  self->request(dest, caf::infinite, std::forward<Ts>(xs)...)
    .receive([&out](Result& r) { out = std::move(r); },
             [&out](caf::error& err) { out = std::move(err); });
  return out;
}

/// As `request_blocking`, failing with `sec::request_timeout` after
/// `timeout` (`caf::infinite` waits without end).
template <class Result, class... Ts>
caf::expected<Result> request_within(caf::actor_system& sys,
                                     const caf::actor& dest,
                                     caf::duration timeout, Ts&&... xs) {
  caf::scoped_actor self{sys};
  caf::expected<Result> out{caf::error{}};
  self->request(dest, timeout, std::forward<Ts>(xs)...)
    .receive([&out](Result& r) { out = std::move(r); },
             [&out](caf::error& err) { out = std::move(err); });
  return out;
}

/// As `request_blocking` for requests answered with an empty reply.
template <class... Ts>
caf::error
request_done(caf::actor_system& sys, const caf::actor& dest, Ts&&... xs) {
  caf::scoped_actor self{sys};
  caf::error result;
  self->request(dest, caf::infinite, std::forward<Ts>(xs)...)
    .receive([] {}, [&result](caf::error& err) { result = std::move(err); });
  return result;
}

/// Answers a promise with `err`, or with an empty reply if there is none.
template <class Promise>
void deliver_done(Promise& rp, caf::error err) {
  if (err) {
    rp.deliver(std::move(err));
  } else {
    rp.deliver(caf::message{});
  }
}

} // namespace troupe::actors
