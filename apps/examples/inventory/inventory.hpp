// An example service built on an installed Troupe: stock of items as
// virtual actors (`stock/<item>`), reserved and restocked from any node,
// with the program's own settings, message types and console command.
#pragma once

#include <troupe/actors/console.hpp>
#include <troupe/cluster/router_client.hpp>
#include <troupe/cluster/virtual_actor.hpp>
#include <troupe/runtime/config.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include <caf/actor_system_config.hpp>
#include <caf/atom.hpp>
#include <caf/meta/type_name.hpp>

namespace inventory {

/// Asks for `quantity` of an item for `customer`.
struct reservation {
  std::string customer;
  std::int64_t quantity = 0;
};

/// An item's stock, and the node that answered.
struct stock_level {
  std::string item;
  std::int64_t available = 0;
  std::int64_t reserved = 0;
  std::string node;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, reservation& x) {
  return f(caf::meta::type_name("inventory.reservation"), x.customer,
           x.quantity);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, stock_level& x) {
  return f(caf::meta::type_name("inventory.stock_level"), x.item, x.available,
           x.reserved, x.node);
}

/// `(restock_atom, std::int64_t n)` adds n to an item's stock.
using restock_atom = caf::atom_constant<caf::atom("inv_restk")>;
/// `(level_atom)` reads an item's stock.
using level_atom = caf::atom_constant<caf::atom("inv_level")>;

/// The service's settings, in its own section `[inventory]`.
std::vector<troupe::runtime::custom_setting> settings();

/// What the settings say.
struct options {
  std::int64_t initial_stock = 0;
  std::int64_t max_per_order = 0;
  std::string node_name;
};
options options_from(const troupe::runtime::node_config& cfg);

/// Registers `reservation` and `stock_level`, on every node.
void add_message_types(caf::actor_system_config& cfg);

/// The kind `stock`: `(reservation)`, `(restock_atom, n)` and `(level_atom)`
/// answer a `stock_level`; a reservation over the stock or over
/// `max_per_order` answers an error and changes nothing.
troupe::cluster::actor_kind stock_kind(options opts);

/// The console command `stock <item> [restock <n> | reserve <n> <who>]`.
troupe::actors::console_command
stock_command(troupe::cluster::router_client router);

} // namespace inventory
