// The supervision layer's console commands.
#include "console_commands.hpp"

#include "../actors/console_commands.hpp"
#include "../actors/introspection.hpp"
#include "supervisor_client.hpp"

#include <caf/actor_registry.hpp>
#include <caf/actor_system.hpp>
#include <caf/exit_reason.hpp>
#include <caf/message_id.hpp>
#include <caf/sec.hpp>
#include <caf/system_messages.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <chrono>

namespace troupe::supervision {

namespace {

using actors::console_call;
using actors::console_reply;
using namespace std::chrono_literals;

/// How long a console command waits for one supervisor or actor.
constexpr auto query_timeout = 2s;

/// A running child with its place in the tree.
struct placed {
  std::string path;
  const child_info* info;
};

void flatten(const std::vector<child_info>& children, const std::string& prefix,
             std::vector<placed>& out) {
  for (const auto& c : children) {
    auto path = prefix.empty() ? c.id : prefix + "/" + c.id;
    out.push_back({path, &c});
    flatten(c.children, path, out);
  }
}

std::string format_uptime(std::chrono::milliseconds up) {
  auto s = up.count() / 1000;
  if (s < 60) {
    return fmt::format("{}.{}s", s, (up.count() % 1000) / 100);
  }
  if (s < 3600) {
    return fmt::format("{}m{:02}s", s / 60, s % 60);
  }
  return fmt::format("{}h{:02}m", s / 3600, (s / 60) % 60);
}

nlohmann::json to_json(const child_info& c) {
  nlohmann::json j{{"id", c.id},
                   {"type", to_string(c.type)},
                   {"restart", to_string(c.restart)},
                   {"running", c.running},
                   {"restarts", c.restarts},
                   {"uptime_ms", c.uptime.count()},
                   {"actor_id", c.running ? c.handle.id() : 0}};
  if (c.type == child_type::supervisor) {
    auto kids = nlohmann::json::array();
    for (const auto& k : c.children) {
      kids.push_back(to_json(k));
    }
    j["children"] = std::move(kids);
  }
  return j;
}

void render_tree(const std::vector<child_info>& children, int depth,
                 std::string& out) {
  for (const auto& c : children) {
    auto label = fmt::format("{:{}}{}", "", depth * 2, c.id);
    out += fmt::format(
      "\n{:<32} {:<10} {:<9} {:<8} restarts {:<3} {}", label, to_string(c.type),
      to_string(c.restart), c.running ? "running" : "stopped", c.restarts,
      c.running
        ? fmt::format("up {} <{}>", format_uptime(c.uptime), c.handle.id())
        : std::string{});
    render_tree(c.children, depth + 1, out);
  }
}

class commands {
public:
  explicit commands(tree_sources src) : src_(std::move(src)) {}

  caf::expected<std::vector<child_info>> tree() const {
    supervisor_client client{*src_.system, src_.root};
    client.query_timeout(query_timeout);
    return client.tree();
  }

  console_reply tree_command(const console_call&) const {
    auto children = tree();
    if (!children) {
      return console_reply::failure(
        fmt::format("tree: the root supervisor did not answer: {}",
                    src_.system->render(children.error())));
    }
    std::string text = fmt::format("root <{}>", src_.root.id());
    render_tree(*children, 1, text);
    auto list = nlohmann::json::array();
    for (const auto& c : *children) {
      list.push_back(to_json(c));
    }
    return console_reply::success(std::move(text), {{"root", src_.root.id()},
                                                    {"children", list}});
  }

  console_reply actors_command(const console_call& call) const {
    size_t top = 10;
    if (!call.args.empty()) {
      auto n = actors::parse_count(call.args[0], 10000);
      if (!n) {
        return console_reply::failure(fmt::format(
          "usage: actors [n] ({})", src_.system->render(n.error())));
      }
      top = *n;
    }
    auto children = tree();
    if (!children) {
      return console_reply::failure(
        fmt::format("actors: the root supervisor did not answer: {}",
                    src_.system->render(children.error())));
    }
    std::vector<placed> all;
    flatten(*children, "", all);
    std::vector<placed> running;
    std::vector<caf::actor> handles;
    for (const auto& p : all) {
      if (p.info->running) {
        running.push_back(p);
        handles.push_back(p.info->handle);
      }
    }
    auto probes = actors::probe_actors(*src_.system, handles, query_timeout);
    std::vector<size_t> order(probes.size());
    for (size_t i = 0; i < order.size(); ++i) {
      order[i] = i;
    }
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
      return probes[a].mailbox > probes[b].mailbox;
    });
    auto unanswered = std::count_if(probes.begin(), probes.end(),
                                    [](const auto& p) { return !p.answered; });
    auto count = src_.system->registry().running();
    auto text = fmt::format(
      "{} actors running on this node, {} in the supervision tree"
      "{}\nbusiest by mailbox:",
      count, running.size(),
      unanswered > 0 ? fmt::format(" ({} did not answer a probe)", unanswered)
                     : std::string{});
    auto list = nlohmann::json::array();
    for (size_t k = 0; k < order.size() && k < top; ++k) {
      const auto& p = probes[order[k]];
      const auto& where = running[order[k]];
      text += fmt::format("\n  {:>8}  {:<40} {:<12} <{}>",
                          p.answered ? std::to_string(p.mailbox) : "?",
                          where.path, p.answered ? p.behaviour : "-",
                          p.handle.id());
      list.push_back({{"path", where.path},
                      {"actor_id", p.handle.id()},
                      {"answered", p.answered},
                      {"behaviour", p.behaviour},
                      {"mailbox", p.mailbox}});
    }
    return console_reply::success(std::move(text),
                                  {{"running", count},
                                   {"supervised", running.size()},
                                   {"unanswered", unanswered},
                                   {"busiest", list}});
  }

  /// Finds an actor by registered name, tree path or actor id.
  struct target {
    caf::actor handle;
    std::string path;
    std::string name;
    std::optional<child_info> info;
  };

  caf::expected<target> find(const std::string& what) const {
    target t;
    if (src_.names) {
      if (auto who = src_.names->whereis(what)) {
        t.handle = who;
        t.name = what;
      }
    }
    caf::actor_id id = 0;
    const auto* end = what.data() + what.size();
    auto [ptr, ec] = std::from_chars(what.data(), end, id);
    bool is_id = ec == std::errc{} && ptr == end;
    if (is_id && id == src_.root.id()) {
      t.handle = src_.root;
      t.path = "root";
      return t;
    }
    auto children = tree();
    if (children) {
      std::vector<placed> all;
      flatten(*children, "", all);
      for (const auto& p : all) {
        if (!p.info->running) {
          if (p.path == what) {
            return caf::make_error(
              caf::sec::runtime_error,
              fmt::format("{} is in the tree but not running", what));
          }
          continue;
        }
        bool match = (t.handle && p.info->handle == t.handle) || p.path == what
                     || (is_id && p.info->handle.id() == id);
        if (match) {
          t.handle = p.info->handle;
          t.path = p.path;
          t.info = *p.info;
          break;
        }
      }
    }
    if (!t.handle) {
      return caf::make_error(
        caf::sec::runtime_error,
        fmt::format("no actor \"{}\" (a registered name, a tree path such as "
                    "cluster/gossip, or an actor id from `tree`)",
                    what));
    }
    if (t.name.empty() && src_.names) {
      t.name = src_.names->name_of(t.handle.address());
    }
    return t;
  }

  console_reply inspect_command(const console_call& call) const {
    if (call.args.size() != 1) {
      return console_reply::failure(
        "usage: inspect <registered name | tree path | actor id>");
    }
    auto t = find(call.args[0]);
    if (!t) {
      return console_reply::failure(
        fmt::format("inspect: {}", src_.system->render(t.error())));
    }
    auto probe = actors::probe_actors(*src_.system, {t->handle},
                                      query_timeout)[0];
    nlohmann::json data{{"actor_id", t->handle.id()},
                        {"name", t->name},
                        {"path", t->path},
                        {"answered", probe.answered}};
    auto text = fmt::format("actor <{}>\n  name:      {}\n  tree path: {}",
                            t->handle.id(), t->name.empty() ? "-" : t->name,
                            t->path.empty() ? "- (not supervised)" : t->path);
    if (t->info) {
      const auto& c = *t->info;
      text += fmt::format("\n  child:     {} {}, {} restarts, up {}",
                          to_string(c.type), to_string(c.restart), c.restarts,
                          format_uptime(c.uptime));
      data["type"] = to_string(c.type);
      data["restart"] = to_string(c.restart);
      data["restarts"] = c.restarts;
      data["uptime_ms"] = c.uptime.count();
    }
    if (probe.answered) {
      text += fmt::format("\n  behaviour: {}\n  mailbox:   {}", probe.behaviour,
                          probe.mailbox);
      if (!probe.status.empty()) {
        text += fmt::format("\n  status:    {}", probe.status);
      }
      data["behaviour"] = probe.behaviour;
      data["mailbox"] = probe.mailbox;
      data["status"] = probe.status;
    } else {
      text += "\n  (did not answer a status probe: busy, or not a Troupe "
              "behaviour)";
    }
    return console_reply::success(std::move(text), std::move(data));
  }

  console_reply kill_command(const console_call& call) const {
    if (call.args.empty() || call.args.size() > 2) {
      return console_reply::failure(
        "usage: kill <registered name | tree path | actor id> "
        "[kill | shutdown | normal | <text>]");
    }
    auto t = find(call.args[0]);
    if (!t) {
      return console_reply::failure(
        fmt::format("kill: {}", src_.system->render(t.error())));
    }
    if (t->handle == src_.root) {
      return console_reply::failure(
        "kill: refusing to kill the root supervisor (stop the node instead)");
    }
    std::string why = call.args.size() == 2 ? call.args[1] : "kill";
    caf::error reason;
    if (why == "kill") {
      reason = caf::exit_reason::kill;
    } else if (why == "shutdown") {
      reason = caf::exit_reason::user_shutdown;
    } else if (why == "normal") {
      reason = caf::error{};
    } else {
      reason = caf::make_error(caf::sec::runtime_error,
                               fmt::format("killed from the console: {}", why));
    }
    auto rendered = reason ? src_.system->render(reason) : "normal";
    // An exit signal with any reason, as OTP's exit(Pid, Reason).
    t->handle->enqueue(
      nullptr, caf::make_message_id(),
      caf::make_message(caf::exit_msg{t->handle.address(), reason}), nullptr);
    return console_reply::success(
      fmt::format("sent exit({}) to <{}> {}", rendered, t->handle.id(),
                  t->path.empty() ? t->name : t->path),
      {{"actor_id", t->handle.id()},
       {"path", t->path},
       {"name", t->name},
       {"reason", rendered}});
  }

private:
  tree_sources src_;
};

} // namespace

caf::error add_supervision_commands(actors::console_registry& registry,
                                    tree_sources sources) {
  auto cmds = std::make_shared<commands>(std::move(sources));
  std::vector<actors::console_command> list{
    {.name = "tree",
     .usage = "",
     .summary = "the supervision tree, with restart counts and uptimes",
     .destructive = false,
     .max_args = 0,
     .handler
     = [cmds](const console_call& c) { return cmds->tree_command(c); }},
    {.name = "actors",
     .usage = "[n]",
     .summary = "how many actors run, and the n busiest by mailbox size",
     .destructive = false,
     .max_args = 1,
     .handler
     = [cmds](const console_call& c) { return cmds->actors_command(c); }},
    {.name = "inspect",
     .usage = "<registered name | tree path | actor id>",
     .summary = "one actor: place in the tree, behaviour, mailbox, status",
     .destructive = false,
     .max_args = 1,
     .handler
     = [cmds](const console_call& c) { return cmds->inspect_command(c); }},
    {.name = "kill",
     .usage = "<registered name | tree path | actor id> [reason]",
     .summary = "sends an exit signal (default: kill) to exercise supervisors",
     .destructive = true,
     .max_args = 2,
     .handler
     = [cmds](const console_call& c) { return cmds->kill_command(c); }},
  };
  for (auto& cmd : list) {
    if (auto err = registry.add(std::move(cmd))) {
      return err;
    }
  }
  return {};
}

} // namespace troupe::supervision
