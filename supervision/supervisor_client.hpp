// The supervisor's dynamic API for code outside actors.
#pragma once

#include "child_spec.hpp"
#include "supervisor.hpp"

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/duration.hpp>

namespace troupe::supervision {

/// The dynamic API, for use outside actors (each call blocks until the
/// supervisor has answered). Inside an actor, send the same requests.
class supervisor_client {
public:
  supervisor_client(caf::actor_system& sys, caf::actor supervisor)
    : sys_(&sys), sup_(std::move(supervisor)) {}

  /// Adds and starts a child (any strategy but simple_one_for_one).
  caf::expected<caf::actor> start_child(child_spec spec);

  /// Starts a child of a simple_one_for_one supervisor from its template,
  /// with `args` passed to the template's start function. Its id is
  /// `<template id>/<n>`.
  caf::expected<caf::actor> start_child(caf::message args);

  /// Stops a child, keeping its spec (deleting it, for simple_one_for_one
  /// and temporary children, as OTP does).
  caf::error terminate_child(const std::string& id);

  /// Starts a stopped child again from its spec.
  caf::expected<caf::actor> restart_child(const std::string& id);

  /// Forgets a stopped child's spec.
  caf::error delete_child(const std::string& id);

  caf::expected<std::vector<child_info>> which_children();
  caf::expected<child_counts> count_children();

  /// The whole tree below the supervisor, nested supervisors included.
  caf::expected<std::vector<child_info>> tree();

  /// Makes the queries (`which_children`, `count_children`, `tree`) fail
  /// with a timeout after `timeout` per supervisor instead of waiting for a
  /// busy supervisor without end; for observers such as the console.
  void query_timeout(std::chrono::milliseconds timeout) {
    query_timeout_ = timeout;
  }

  /// Stops the supervisor: its children in reverse order, then itself.
  caf::error stop(caf::error reason = {});

private:
  caf::duration query_duration() const;

  caf::actor_system* sys_;
  std::optional<std::chrono::milliseconds> query_timeout_{};
  caf::actor sup_;
};

} // namespace troupe::supervision
