// inventory-node: a Troupe node serving the inventory example.
#include "inventory.hpp"

#include <troupe/apps/node_main.hpp>

int main(int argc, char** argv) {
  using namespace troupe;
  return node_main(
    argc, argv,
    {
      .name = "inventory-node",
      .description = "a Troupe node serving stock/<item> virtual actors",
      .settings = inventory::settings(),
      .configure =
        [](const runtime::node_config& cfg, node::options& opts) {
          opts.kinds.push_back(
            inventory::stock_kind(inventory::options_from(cfg)));
          opts.add_message_types = inventory::add_message_types;
          return caf::error{};
        },
      .started =
        [](node& n) {
          if (auto err
              = n.console().add(inventory::stock_command(n.router()))) {
            return err;
          }
          return n.cluster().service("inventory", true);
        },
    });
}
