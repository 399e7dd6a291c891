// The ledger kind and its tracker.
#include "troupe/testkit/sim_ledger.hpp"

#include "troupe/actors/crash_report.hpp"
#include "troupe/testkit/sim_world.hpp"

#include <caf/event_based_actor.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <memory>

namespace troupe::testkit::sim {

namespace {

using entries = std::vector<std::uint64_t>;

std::string encode(const entries& xs) {
  std::string out;
  for (auto x : xs) {
    if (!out.empty()) {
      out += ',';
    }
    out += std::to_string(x);
  }
  return out;
}

void decode_into(const std::string& text, entries& out) {
  const char* p = text.data();
  const char* end = text.data() + text.size();
  while (p < end) {
    std::uint64_t v = 0;
    auto [next, ec] = std::from_chars(p, end, v);
    if (ec != std::errc{}) {
      return;
    }
    out.push_back(v);
    p = next;
    if (p < end && *p == ',') {
      ++p;
    }
  }
}

} // namespace

cluster::actor_kind ledger_kind() {
  return {.kind = "ledger",
          .start = [](caf::actor_system& sys, const std::string&,
                      const std::string& state) {
            auto xs = std::make_shared<entries>();
            decode_into(state, *xs);
            return sys.spawn([xs](caf::event_based_actor* self) {
              self->set_default_handler(
                actors::unexpected_message_handler("ledger"));
              return caf::behavior{
                [xs](append_atom, std::uint64_t id) {
                  xs->push_back(id);
                  return static_cast<std::uint64_t>(xs->size());
                },
                [xs](entries_atom) { return encode(*xs); },
                [xs](cluster::handoff_atom) { return encode(*xs); },
                [xs](cluster::handoff_atom, const std::string& more) {
                  decode_into(more, *xs);
                },
              };
            });
          }};
}

std::string ledger_tracker::name_of(std::size_t key) {
  return fmt::format("ledger/{}", key);
}

namespace {

std::optional<std::size_t> random_running(world& w) {
  std::vector<std::size_t> up;
  for (std::size_t i = 0; i < w.size(); ++i) {
    if (w.running(i) && !w.frozen(i)) {
      up.push_back(i);
    }
  }
  if (up.empty()) {
    return std::nullopt;
  }
  return up[std::uniform_int_distribution<std::size_t>{0,
                                                       up.size() - 1}(w.rng())];
}

} // namespace

void ledger_tracker::append(world& w, sim_time timeout) {
  auto via = random_running(w);
  auto key = std::uniform_int_distribution<std::size_t>{0, keys_ - 1}(w.rng());
  auto id = next_id_++;
  if (!via) {
    ++failed_;
    return;
  }
  auto reply = w.request<std::uint64_t>(*via, name_of(key), timeout,
                                        append_atom::value, id);
  if (reply) {
    acked_[key].push_back(id);
    w.note(
      fmt::format("append {} to {} via n{}: ok", id, name_of(key), *via + 1));
  } else {
    ++failed_;
    w.note(fmt::format("append {} to {} via n{}: {}", id, name_of(key),
                       *via + 1, caf::to_string(reply.error())));
  }
}

std::size_t ledger_tracker::acknowledged() const {
  std::size_t n = 0;
  for (const auto& [key, ids] : acked_) {
    n += ids.size();
  }
  return n;
}

std::optional<std::string> ledger_tracker::verify(world& w, bool lost_allowed) {
  std::vector<std::string> problems;
  lost_ = 0;
  for (std::size_t key = 0; key < keys_; ++key) {
    auto via = random_running(w);
    if (!via) {
      return "no node runs to read the ledgers from";
    }
    auto text = w.request<std::string>(
      *via, name_of(key), std::chrono::seconds{5}, entries_atom::value);
    if (!text) {
      problems.push_back(fmt::format("{} does not answer through n{}: {}",
                                     name_of(key), *via + 1,
                                     caf::to_string(text.error())));
      continue;
    }
    entries got;
    decode_into(*text, got);
    std::map<std::uint64_t, int> seen;
    for (auto id : got) {
      ++seen[id];
    }
    for (const auto& [id, count] : seen) {
      if (count > 1) {
        problems.push_back(
          fmt::format("{}: id {} applied {} times", name_of(key), id, count));
      }
    }
    for (auto id : acked_[key]) {
      if (seen.count(id) == 0) {
        ++lost_;
        if (!lost_allowed) {
          problems.push_back(
            fmt::format("{}: acknowledged id {} is lost", name_of(key), id));
        }
      }
    }
  }
  if (problems.empty()) {
    return std::nullopt;
  }
  if (problems.size() > 5) {
    auto more = problems.size() - 5;
    problems.resize(5);
    problems.push_back(fmt::format("and {} more", more));
  }
  return fmt::format("{}", fmt::join(problems, "; "));
}

} // namespace troupe::testkit::sim
