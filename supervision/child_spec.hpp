// Child specifications and supervisor flags, with OTP's names and defaults.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/error.hpp>
#include <caf/expected.hpp>
#include <caf/fwd.hpp>
#include <caf/message.hpp>

namespace troupe::supervision {

/// When a child that exits is restarted.
enum class restart_type {
  permanent, ///< always
  transient, ///< only after an abnormal exit (not normal or shutdown)
  temporary, ///< never; the child is forgotten when it exits
};

/// How a child is stopped.
struct shutdown_spec {
  enum class kind { brutal_kill, timeout, infinity };
  kind how = kind::timeout;
  std::chrono::milliseconds timeout{5000};

  /// Killed at once; it cannot clean up.
  static shutdown_spec brutal_kill() {
    return {.how = kind::brutal_kill, .timeout = {}};
  }
  /// Asked to exit with `shutdown`, killed if still alive after `t`.
  static shutdown_spec after(std::chrono::milliseconds t) {
    return {.how = kind::timeout, .timeout = t};
  }
  /// Asked to exit with `shutdown`, waited for as long as it takes.
  static shutdown_spec infinity() {
    return {.how = kind::infinity, .timeout = {}};
  }
};

enum class child_type { worker, supervisor };

/// Spawns a child; the supervisor links to it. `parent` is the supervisor
/// (pass it as a behaviour's `start_options::parent`). Arguments given to
/// `start_child` of a `simple_one_for_one` supervisor arrive in `args`.
using start_fn = std::function<caf::expected<caf::actor>(
  caf::actor_system& sys, const caf::actor& parent, const caf::message& args)>;

/// One child, as OTP's child_spec map.
struct child_spec {
  std::string id;
  start_fn start;
  restart_type restart = restart_type::permanent;
  /// Defaults as OTP: 5 s for workers, infinity for supervisors.
  std::optional<shutdown_spec> shutdown{};
  child_type type = child_type::worker;
  /// Its exit may shut the supervisor down (see `auto_shutdown`).
  bool significant = false;
  /// The child answers `actors::init_atom` once started (every Troupe
  /// behaviour and supervisor does); the supervisor waits for it.
  bool init_handshake = false;
  /// How long the init handshake may take.
  std::chrono::milliseconds init_timeout{5000};

  /// The shutdown that applies, with OTP's defaults filled in.
  shutdown_spec effective_shutdown() const;
};

enum class strategy {
  one_for_one,
  one_for_all,
  rest_for_one,
  simple_one_for_one
};

/// When significant children shut their supervisor down.
enum class auto_shutdown { never, any_significant, all_significant };

/// Optional delay before a restart, doubling from `min` to `max` with each
/// consecutive restart of the same child, plus up to `jitter` of it.
struct backoff {
  std::chrono::milliseconds min{0};
  std::chrono::milliseconds max{0};
  double jitter = 0.0;
};

/// A supervisor's flags, as OTP's sup_flags map.
struct supervisor_flags {
  enum strategy strategy = strategy::one_for_one;
  std::uint32_t intensity = 1;
  std::chrono::milliseconds period{5000};
  enum auto_shutdown auto_shutdown = auto_shutdown::never;
  std::optional<backoff> restart_backoff{};
};

/// Checks flags and specs as a supervisor does before starting anything:
/// the first problem is an `errc::invalid_child_spec` or
/// `errc::invalid_flags` error naming the child and the field.
caf::error validate(const supervisor_flags& flags,
                    const std::vector<child_spec>& specs);

std::string to_string(restart_type x);
std::string to_string(strategy x);
std::string to_string(child_type x);

} // namespace troupe::supervision
