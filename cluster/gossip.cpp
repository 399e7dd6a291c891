// The gossip actor: starts a gossip round every interval.
#include "gossip.hpp"

#include "../actors/crash_report.hpp"
#include "atoms.hpp"

#include <caf/event_based_actor.hpp>

#include <random>

namespace troupe::cluster {

caf::expected<caf::actor> spawn_gossip(caf::actor_system& sys,
                                       const context_ptr& ctx,
                                       const caf::actor& parent) {
  return sys.spawn([ctx, parent](caf::event_based_actor* self) {
    auto rng = std::make_shared<std::mt19937_64>(ctx->seed ^ ctx->incarnation);
    auto* rounds
      = ctx->metrics != nullptr
          ? &ctx->metrics->add_counter("troupe_cluster_gossip_rounds_total",
                                       "Gossip rounds started")
          : nullptr;
    if (parent) {
      self->monitor(parent);
    }
    auto parent_addr = parent.address();
    self->set_down_handler([self, parent_addr](caf::down_msg& dm) {
      if (dm.source == parent_addr) {
        self->quit(dm.reason);
      }
    });
    self->set_default_handler(actors::unexpected_message_handler("gossip"));
    self->send(self, gossip_tick_atom::value);
    return caf::behavior{
      [self, ctx, rng, rounds](gossip_tick_atom) {
        self->send(ctx->membership(), gossip_round_atom::value, (*rng)());
        if (rounds != nullptr) {
          rounds->inc();
        }
        self->delayed_send(self, ctx->settings.gossip_interval,
                           gossip_tick_atom::value);
      },
    };
  });
}

} // namespace troupe::cluster
