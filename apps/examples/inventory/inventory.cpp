// An example service built on an installed Troupe: stock as virtual actors.
#include "inventory.hpp"

#include <troupe/actors/crash_report.hpp>
#include <troupe/runtime/errors.hpp>

#include <caf/event_based_actor.hpp>
#include <caf/make_message.hpp>
#include <caf/result.hpp>
#include <caf/sec.hpp>
#include <fmt/format.h>

#include <charconv>
#include <chrono>
#include <memory>

namespace inventory {

namespace {

std::optional<std::int64_t> parse_int(const std::string& text) {
  std::int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(),
                                   value);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size()) {
    return std::nullopt;
  }
  return value;
}

// The state that moves with a handoff: "available,reserved".
struct stock {
  std::int64_t available = 0;
  std::int64_t reserved = 0;

  std::string encode() const {
    return fmt::format("{},{}", available, reserved);
  }
  static stock decode(const std::string& text, std::int64_t initial) {
    auto comma = text.find(',');
    if (comma == std::string::npos) {
      return {.available = initial, .reserved = 0};
    }
    auto a = parse_int(text.substr(0, comma));
    auto r = parse_int(text.substr(comma + 1));
    return {.available = a ? *a : 0, .reserved = r ? *r : 0};
  }
};

} // namespace

std::vector<troupe::runtime::custom_setting> settings() {
  namespace rt = troupe::runtime;
  return {
    rt::integer_setting("inventory.initial_stock", 100, 0, 1'000'000,
                        "stock of an item seen for the first time",
                        "--initial-stock"),
    rt::integer_setting("inventory.max_per_order", 10, 1, 1'000,
                        "largest quantity one reservation may take",
                        "--max-per-order"),
  };
}

options options_from(const troupe::runtime::node_config& cfg) {
  return {.initial_stock = cfg.custom.integer("inventory.initial_stock"),
          .max_per_order = cfg.custom.integer("inventory.max_per_order"),
          .node_name = cfg.full_name()};
}

void add_message_types(caf::actor_system_config& cfg) {
  cfg.add_message_type<reservation>("inventory.reservation");
  cfg.add_message_type<stock_level>("inventory.stock_level");
}

troupe::cluster::actor_kind stock_kind(options opts) {
  auto start = [opts](caf::actor_system& sys, const std::string& name,
                      const std::string& state) {
    auto item = name.substr(name.find('/') + 1);
    auto s = std::make_shared<stock>(stock::decode(state, opts.initial_stock));
    return sys.spawn([opts, item, s](caf::event_based_actor* self) {
      self->set_default_handler(
        troupe::actors::unexpected_message_handler("stock"));
      auto level = [opts, item, s] {
        return stock_level{.item = item,
                           .available = s->available,
                           .reserved = s->reserved,
                           .node = opts.node_name};
      };
      return caf::behavior{
        [=](const reservation& r) -> caf::result<stock_level> {
          if (r.quantity < 1 || r.quantity > opts.max_per_order) {
            return caf::make_error(
              caf::sec::invalid_argument,
              fmt::format("a reservation takes 1 to {} items, not {}",
                          opts.max_per_order, r.quantity));
          }
          if (r.quantity > s->available) {
            return caf::make_error(caf::sec::invalid_argument,
                                   fmt::format("only {} of {} left",
                                               s->available, item));
          }
          s->available -= r.quantity;
          s->reserved += r.quantity;
          return level();
        },
        [=](restock_atom, std::int64_t n) -> caf::result<stock_level> {
          if (n < 1) {
            return caf::make_error(caf::sec::invalid_argument,
                                   "restock takes a positive number");
          }
          s->available += n;
          return level();
        },
        [=](level_atom) { return level(); },
        [s](troupe::cluster::handoff_atom) { return s->encode(); },
        [s, opts](troupe::cluster::handoff_atom, const std::string& more) {
          // Another activation's state (a fallback handing back): merged.
          auto other = stock::decode(more, 0);
          s->available += other.available - opts.initial_stock;
          s->reserved += other.reserved;
        },
      };
    });
  };
  return {.kind = "stock", .start = std::move(start)};
}

troupe::actors::console_command
stock_command(troupe::cluster::router_client router) {
  auto handler = [router](const troupe::actors::console_call& call) mutable {
    const auto& a = call.args;
    constexpr auto usage = "usage: stock <item> [restock <n> | reserve <n> "
                           "<customer>]";
    bool restock = a.size() == 3 && a[1] == "restock";
    bool reserve = a.size() == 4 && a[1] == "reserve";
    if (a.empty() || (a.size() != 1 && !restock && !reserve)) {
      return troupe::actors::console_reply::failure(usage);
    }
    auto n = a.size() > 2 ? parse_int(a[2]) : std::optional<std::int64_t>{0};
    if (!n) {
      return troupe::actors::console_reply::failure(
        fmt::format("stock: \"{}\" is not a whole number", a[2]));
    }
    auto msg = reserve   ? caf::make_message(reservation{a[3], *n})
               : restock ? caf::make_message(restock_atom::value, *n)
                         : caf::make_message(level_atom::value);
    auto reply = router.request("stock/" + a[0], std::move(msg),
                                std::chrono::seconds{5});
    if (!reply) {
      return troupe::actors::console_reply::failure(fmt::format(
        "stock {}: {}", a[0], troupe::runtime::describe(reply.error())));
    }
    if (!reply->match_elements<stock_level>()) {
      return troupe::actors::console_reply::failure(fmt::format(
        "stock {}: unexpected reply {}", a[0], caf::to_string(*reply)));
    }
    const auto& l = reply->get_as<stock_level>(0);
    return troupe::actors::console_reply::success(
      fmt::format("{}: {} available, {} reserved (on {})", l.item, l.available,
                  l.reserved, l.node),
      {{"item", l.item},
       {"available", l.available},
       {"reserved", l.reserved},
       {"node", l.node}});
  };
  return {.name = "stock",
          .usage = "<item> [restock <n> | reserve <n> <customer>]",
          .summary = "inventory: reads, restocks or reserves stock/<item>",
          .destructive = false,
          .max_args = 4,
          .handler = std::move(handler)};
}

} // namespace inventory
