// Asking a running actor what it is.
#include "introspection.hpp"

#include <caf/actor_system.hpp>
#include <caf/scheduled_actor.hpp>
#include <caf/scoped_actor.hpp>

#include <unordered_map>

namespace troupe::actors {

std::optional<caf::message>
answer_probe(caf::scheduled_actor* self, const caf::message& msg,
             std::string_view behaviour, std::string_view status) {
  if (!msg.match_elements<probe_atom>()) {
    return std::nullopt;
  }
  auto mailbox = static_cast<std::uint64_t>(self->mailbox().size());
  return caf::make_message(probe_atom::value, std::string{behaviour}, mailbox,
                           std::string{status});
}

std::vector<actor_probe> probe_actors(caf::actor_system& sys,
                                      const std::vector<caf::actor>& actors,
                                      std::chrono::milliseconds timeout) {
  std::vector<actor_probe> out(actors.size());
  caf::scoped_actor self{sys};
  std::unordered_map<caf::actor_id, size_t> pending;
  for (size_t i = 0; i < actors.size(); ++i) {
    out[i].handle = actors[i];
    if (actors[i]) {
      pending.emplace(actors[i].id(), i);
      self->send(actors[i], probe_atom::value);
    }
  }
  auto deadline = std::chrono::steady_clock::now() + timeout;
  bool expired = false;
  while (!pending.empty() && !expired) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      break;
    }
    self->receive(
      [&](probe_atom, std::string& behaviour, std::uint64_t mailbox,
          std::string& status) {
        auto sender = caf::actor_cast<caf::actor>(self->current_sender());
        if (!sender) {
          return;
        }
        auto i = pending.find(sender.id());
        if (i == pending.end()) {
          return;
        }
        auto& p = out[i->second];
        p.answered = true;
        p.behaviour = std::move(behaviour);
        p.mailbox = mailbox;
        p.status = std::move(status);
        pending.erase(i);
      },
      [&](caf::error&) {
        // An actor that is not a Troupe behaviour answers with an error
        // (or not at all): it stays unanswered.
      },
      caf::after(left) >> [&] { expired = true; });
  }
  return out;
}

} // namespace troupe::actors
