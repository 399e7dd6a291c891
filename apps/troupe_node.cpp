// troupe-node: runs one Troupe node from a config file, environment and flags.
#include "example_counter.hpp"
#include "node_main.hpp"

int main(int argc, char** argv) {
  using namespace troupe;
  return node_main(
    argc, argv,
    {
      .name = "troupe-node",
      .description = "runs one Troupe node",
      .settings = {runtime::switch_setting(
        "examples.enabled",
        "run the example service (counter/<key> virtual actors and the "
        "console command `counter`)",
        "--examples")},
      .configure =
        [](const runtime::node_config& cfg, node::options& opts) {
          if (cfg.custom.boolean("examples.enabled")) {
            opts.kinds.push_back(example_counter_kind(cfg.full_name()));
          }
          return caf::error{};
        },
      .started =
        [](node& n) {
          if (!n.config().custom.boolean("examples.enabled")) {
            return caf::error{};
          }
          if (auto err = n.console().add(example_counter_command(n.router()))) {
            return err;
          }
          return n.cluster().service("counter", true);
        },
    });
}
