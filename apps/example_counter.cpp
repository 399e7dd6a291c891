// An example service: counters addressed by name.
#include "example_counter.hpp"

#include "../actors/crash_report.hpp"
#include "../runtime/errors.hpp"

#include <caf/event_based_actor.hpp>
#include <caf/make_message.hpp>
#include <fmt/format.h>

#include <charconv>
#include <chrono>
#include <memory>

namespace troupe {

namespace {

using add_atom = caf::atom_constant<caf::atom("ex_add")>;
using get_atom = caf::atom_constant<caf::atom("ex_get")>;

std::int64_t parse_state(const std::string& state) {
  std::int64_t value = 0;
  std::from_chars(state.data(), state.data() + state.size(), value);
  return value;
}

} // namespace

cluster::actor_kind example_counter_kind(std::string node_name) {
  return {.kind = "counter",
          .start = [node_name](caf::actor_system& sys, const std::string&,
                               const std::string& state) {
            auto start = parse_state(state);
            return sys.spawn([node_name, start](caf::event_based_actor* self) {
              // Answers status probes (`actors`, `inspect`) and logs what
              // it does not understand, like every Troupe actor.
              self->set_default_handler(
                actors::unexpected_message_handler("counter"));
              auto total = std::make_shared<std::int64_t>(start);
              return caf::behavior{
                [total, node_name](add_atom, std::int64_t n) {
                  *total += n;
                  return caf::make_message(*total, node_name);
                },
                [total, node_name](get_atom) {
                  return caf::make_message(*total, node_name);
                },
                [total](cluster::handoff_atom) {
                  return std::to_string(*total);
                },
                [total](cluster::handoff_atom, const std::string& more) {
                  *total += parse_state(more);
                },
              };
            });
          }};
}

actors::console_command example_counter_command(cluster::router_client router) {
  auto handler = [router](const actors::console_call& call) mutable {
    const auto& a = call.args;
    bool add = a.size() == 3 && a[1] == "add";
    if (a.empty() || (a.size() != 1 && !add)) {
      return actors::console_reply::failure("usage: counter <key> [add <n>]");
    }
    std::int64_t n = 0;
    if (add) {
      auto [end, ec] = std::from_chars(a[2].data(), a[2].data() + a[2].size(),
                                       n);
      if (ec != std::errc{} || end != a[2].data() + a[2].size()) {
        return actors::console_reply::failure(
          fmt::format("counter: \"{}\" is not a whole number", a[2]));
      }
    }
    auto name = "counter/" + a[0];
    auto msg = add ? caf::make_message(add_atom::value, n)
                   : caf::make_message(get_atom::value);
    auto reply = router.request(name, std::move(msg), std::chrono::seconds{5});
    if (!reply) {
      return actors::console_reply::failure(
        fmt::format("counter {}: {}", a[0], runtime::describe(reply.error())));
    }
    if (!reply->match_elements<std::int64_t, std::string>()) {
      return actors::console_reply::failure(fmt::format(
        "counter {}: unexpected reply {}", a[0], caf::to_string(*reply)));
    }
    auto total = reply->get_as<std::int64_t>(0);
    const auto& node = reply->get_as<std::string>(1);
    return actors::console_reply::success(
      fmt::format("{} = {} (on {})", name, total, node),
      {{"name", name}, {"value", total}, {"node", node}});
  };
  return {.name = "counter",
          .usage = "<key> [add <n>]",
          .summary = "example service: reads or adds to counter/<key>, "
                     "wherever the ring puts it",
          .destructive = false,
          .max_args = 3,
          .handler = std::move(handler)};
}

} // namespace troupe
