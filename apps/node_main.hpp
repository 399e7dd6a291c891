// A program's own node in a few lines: everything troupe-node does (flags,
// config file and environment, signals, an ordered stop, console, HTTP) plus
// the program's settings, applications, kinds, console commands and message
// types.
#pragma once

#include "../runtime/config.hpp"
#include "../runtime/custom_settings.hpp"
#include "node.hpp"

#include <functional>
#include <string>
#include <vector>

#include <caf/error.hpp>

namespace troupe {

/// What a program adds to a node.
struct node_program {
  /// The program's name, for `--help` and its messages (e.g.
  /// `greeter-node`).
  std::string name;
  /// One line for `--help`.
  std::string description{};
  /// The program's own settings, shown by `--help` beside Troupe's and
  /// validated with the same one-line errors.
  std::vector<runtime::custom_setting> settings{};
  /// Called once the configuration is loaded, before the node starts: adds
  /// applications, kinds and message types to `opts`. An error ends the
  /// program with exit status 2 and nothing started.
  std::function<caf::error(const runtime::node_config& cfg,
                           node::options& opts)>
    configure{};
  /// Called once the node runs: console commands, services. An error stops
  /// the node in order, and the program exits with status 1.
  std::function<caf::error(node& n)> started{};
};

/// Exit statuses of `node_main`.
constexpr int node_exit_ok = 0;
constexpr int node_exit_failure = 1;
constexpr int node_exit_usage = 2;

/// Runs one node as `troupe-node` does: parses the flags (Troupe's, then the
/// program's), loads the configuration (defaults, TOML file, `TROUPE_*`
/// environment, flags), starts the node, runs it until SIGINT or SIGTERM,
/// `--run-for` or a stop request, and stops it in order. Returns the exit
/// status: 0 after an orderly stop, 1 after a failure, 2 for bad flags or
/// configuration. Call it from `main` and return what it returns.
int node_main(int argc, char** argv, node_program program);

} // namespace troupe
