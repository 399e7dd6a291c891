// Child specifications and supervisor flags.
#include "child_spec.hpp"

#include "errors.hpp"

#include <fmt/format.h>

#include <set>

namespace troupe::supervision {

shutdown_spec child_spec::effective_shutdown() const {
  if (shutdown) {
    return *shutdown;
  }
  return type == child_type::supervisor
           ? shutdown_spec::infinity()
           : shutdown_spec::after(std::chrono::milliseconds{5000});
}

caf::error validate(const supervisor_flags& flags,
                    const std::vector<child_spec>& specs) {
  auto bad_flags = [](std::string text) {
    return caf::make_error(errc::invalid_flags, std::move(text));
  };
  if (flags.period.count() <= 0) {
    return bad_flags("period: expected a positive duration");
  }
  if (flags.restart_backoff) {
    const auto& b = *flags.restart_backoff;
    if (b.min.count() < 0 || b.max < b.min || b.jitter < 0 || b.jitter > 1) {
      return bad_flags("restart_backoff: expected 0 <= min <= max and a "
                       "jitter from 0 to 1");
    }
  }
  if (flags.strategy == strategy::simple_one_for_one && specs.size() != 1) {
    return bad_flags(fmt::format("strategy simple_one_for_one: expected "
                                 "exactly one child spec (the template), got "
                                 "{}",
                                 specs.size()));
  }
  std::set<std::string> ids;
  for (const auto& spec : specs) {
    auto bad = [&spec](std::string_view field, std::string_view expected) {
      return caf::make_error(errc::invalid_child_spec,
                             fmt::format("child {:?}: {}: expected {}", spec.id,
                                         field, expected));
    };
    if (spec.id.empty()) {
      return bad("id", "a non-empty id");
    }
    if (!ids.insert(spec.id).second) {
      return bad("id", "an id not used by another child");
    }
    if (!spec.start) {
      return bad("start", "a start function");
    }
    if (spec.significant && spec.restart == restart_type::permanent) {
      return bad("significant", "a transient or temporary child (a "
                                "permanent child cannot be significant)");
    }
    if (spec.significant && flags.auto_shutdown == auto_shutdown::never) {
      return bad("significant", "auto_shutdown any_significant or "
                                "all_significant in the supervisor flags");
    }
    auto sd = spec.effective_shutdown();
    if (sd.how == shutdown_spec::kind::timeout && sd.timeout.count() <= 0) {
      return bad("shutdown", "a positive timeout, brutal_kill or infinity");
    }
    if (spec.init_timeout.count() <= 0) {
      return bad("init_timeout", "a positive duration");
    }
  }
  return {};
}

std::string to_string(restart_type x) {
  switch (x) {
    case restart_type::permanent:
      return "permanent";
    case restart_type::transient:
      return "transient";
    case restart_type::temporary:
      return "temporary";
  }
  return "?";
}

std::string to_string(strategy x) {
  switch (x) {
    case strategy::one_for_one:
      return "one_for_one";
    case strategy::one_for_all:
      return "one_for_all";
    case strategy::rest_for_one:
      return "rest_for_one";
    case strategy::simple_one_for_one:
      return "simple_one_for_one";
  }
  return "?";
}

std::string to_string(child_type x) {
  switch (x) {
    case child_type::worker:
      return "worker";
    case child_type::supervisor:
      return "supervisor";
  }
  return "?";
}

} // namespace troupe::supervision
