// The cluster layer's console commands.
#include "console_commands.hpp"

#include "capabilities.hpp"
#include "cluster_app.hpp"
#include "router.hpp"
#include "router_client.hpp"
#include "virtual_actor.hpp"

#include <caf/actor_system.hpp>
#include <caf/make_message.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <chrono>
#include <map>

namespace troupe::cluster {

namespace {

using actors::console_call;
using actors::console_reply;

/// How long a console command waits for the membership actor.
constexpr auto query_timeout = std::chrono::seconds{5};

std::string short_id(const std::string& node_id) {
  return node_id.substr(0, 8);
}

class commands {
public:
  commands(caf::actor_system& sys, context_ptr ctx,
           std::shared_ptr<actors::name_registry> names)
    : sys_(&sys), ctx_(std::move(ctx)), names_(std::move(names)) {}

  cluster_client client() const {
    cluster_client c{*sys_, ctx_};
    c.request_timeout(query_timeout);
    return c;
  }

  console_reply failed(std::string_view what, const caf::error& err) const {
    return console_reply::failure(
      fmt::format("{}: {}", what, sys_->render(err)));
  }

  console_reply members(const console_call&) const {
    auto snap = client().snapshot();
    auto views = client().members();
    if (!views) {
      return failed("members", views.error());
    }
    std::string text = fmt::format(
      "{:<24} {:<9} {:<22} {:<9} {:>4} {:>4}  {:<16} {}", "name", "node",
      "address", "status", "inc", "up#", "flags", "software");
    auto list = nlohmann::json::array();
    for (const auto& v : *views) {
      const auto& m = v.info;
      std::string flags;
      auto flag = [&flags](bool on, std::string_view f) {
        if (on) {
          flags += flags.empty() ? "" : ",";
          flags += f;
        }
      };
      flag(v.self, "self");
      flag(v.leader, "leader");
      flag(v.unreachable && m.status != member_status::removed, "unreachable");
      flag(m.announcement.draining, "draining");
      text += fmt::format(
        "\n{:<24} {:<9} {:<22} {:<9} {:>4} {:>4}  {:<16} {}", m.name,
        short_id(m.node_id), runtime::to_string(m.address), to_string(m.status),
        m.incarnation,
        m.up_number == 0 ? std::string{"-"} : std::to_string(m.up_number),
        flags.empty() ? "-" : flags, m.software.empty() ? "?" : m.software);
      list.push_back({{"name", m.name},
                      {"node_id", m.node_id},
                      {"address", runtime::to_string(m.address)},
                      {"status", to_string(m.status)},
                      {"incarnation", m.incarnation},
                      {"up_number", m.up_number},
                      {"self", v.self},
                      {"leader", v.leader},
                      {"unreachable", v.unreachable},
                      {"draining", m.announcement.draining},
                      {"software", m.software},
                      {"capabilities", m.capabilities}});
    }
    nlohmann::json data{{"members", list}};
    if (snap) {
      text += fmt::format("\nconverged: {}, gossip rounds started here: {}",
                          snap->converged ? "yes" : "no", snap->rounds);
      text += fmt::format(
        "\nquorum: {} ({} of {} counted members on this side, {})",
        snap->quorum.quorum ? "yes" : "NO: serves no names, downs nobody",
        snap->quorum.reachable, snap->quorum.members,
        runtime::to_string(ctx_->settings.split_brain));
      data["converged"] = snap->converged;
      data["rounds"] = snap->rounds;
      data["quorum"] = snap->quorum.quorum;
    }
    return console_reply::success(std::move(text), std::move(data));
  }

  console_reply ring(const console_call& call) const {
    bool full = !call.args.empty() && call.args[0] == "full";
    if (!call.args.empty() && !full) {
      return console_reply::failure("usage: ring [full]");
    }
    auto snap = client().snapshot();
    if (!snap) {
      return failed("ring", snap.error());
    }
    const auto& state = snap->gossip.state;
    const auto& r = state.current_ring();
    if (r.empty()) {
      return console_reply::success(
        "no ring yet (the leader claims one once members are up)",
        {{"epoch", 0}, {"size", 0}});
    }
    std::map<std::string, std::string> names;
    for (const auto& [id, m] : state.members()) {
      names[id] = m.name;
    }
    auto name_of = [&names](const std::string& id) {
      auto i = names.find(id);
      return i == names.end() ? short_id(id) : i->second;
    };
    std::string text = fmt::format("ring epoch {}, {} partitions", r.epoch(),
                                   r.size());
    auto owners = nlohmann::json::object();
    for (const auto& [id, n] : r.counts()) {
      text += fmt::format("\n  {:<24} {:>6} partitions ({:.1f}%){}",
                          name_of(id), n, 100.0 * n / r.size(),
                          id == ctx_->node_id ? "  <- this node" : "");
      owners[id] = {{"name", name_of(id)}, {"partitions", n}};
    }
    nlohmann::json data{
      {"epoch", r.epoch()}, {"size", r.size()}, {"owners", owners}};
    if (full) {
      auto table = nlohmann::json::array();
      text += "\npartition  owner                    previous owner";
      for (std::uint32_t p = 0; p < r.size(); ++p) {
        const auto& prev = r.previous_owner(p);
        text += fmt::format("\n{:>9}  {:<24} {}", p, name_of(r.owner(p)),
                            prev == r.owner(p) ? "-" : name_of(prev));
        table.push_back(
          {{"partition", p}, {"owner", r.owner(p)}, {"previous_owner", prev}});
      }
      data["partitions"] = std::move(table);
    } else {
      text += "\n(ring full for the whole table)";
    }
    return console_reply::success(std::move(text), std::move(data));
  }

  console_reply capabilities(const console_call&) const {
    auto views = client().members();
    if (!views) {
      return failed("capabilities", views.error());
    }
    std::vector<member> ms;
    for (const auto& v : *views) {
      ms.push_back(v.info);
    }
    auto agreed = negotiated_capabilities(ms);
    auto missing = missing_capabilities(ms);
    std::string text = fmt::format(
      "in use: {}",
      agreed.empty() ? "none" : fmt::format("{}", fmt::join(agreed, ", ")));
    auto lacking = nlohmann::json::object();
    for (const auto& [name, caps] : missing) {
      text += fmt::format("\n{} lacks {}", name, fmt::join(caps, ", "));
      lacking[name] = caps;
    }
    if (missing.empty()) {
      text += "\nevery member states the same capabilities";
    }
    return console_reply::success(std::move(text),
                                  {{"in_use", agreed}, {"missing", lacking}});
  }

  console_reply services(const console_call&) const {
    auto views = client().members();
    if (!views) {
      return failed("services", views.error());
    }
    std::string text;
    auto list = nlohmann::json::array();
    for (const auto& v : *views) {
      const auto& a = v.info.announcement;
      std::string line;
      auto svc = nlohmann::json::object();
      for (const auto& [name, up] : a.services) {
        line += fmt::format("{}{}={}", line.empty() ? "" : " ", name,
                            up ? "up" : "down");
        svc[name] = up;
      }
      text += fmt::format("{}{:<24} {}{}", text.empty() ? "" : "\n",
                          v.info.name, a.draining ? "[draining] " : "",
                          line.empty() ? "(no services)" : line);
      list.push_back({{"name", v.info.name},
                      {"node_id", v.info.node_id},
                      {"draining", a.draining},
                      {"services", svc}});
    }
    return console_reply::success(std::move(text), {{"members", list}});
  }

  console_reply transfers(const console_call&) const {
    router_client router{*sys_, ctx_};
    auto list = router.transfers();
    if (!list) {
      return failed("transfers", list.error());
    }
    auto stats = router.stats();
    std::string text
      = list->empty() ? "no handoffs in progress"
                      : fmt::format("{} handoff{} in progress:", list->size(),
                                    list->size() == 1 ? "" : "s");
    auto items = nlohmann::json::array();
    for (const auto& t : *list) {
      text += fmt::format(
        "\n  partition {:>5} -> {:<9} epoch {} {}/{} actors exported{}, "
        "attempt {}",
        t.partition, short_id(t.to), t.epoch, t.exported, t.total,
        t.sent ? ", waiting for the ack" : "", t.attempts);
      items.push_back({{"partition", t.partition},
                       {"epoch", t.epoch},
                       {"to", t.to},
                       {"exported", t.exported},
                       {"total", t.total},
                       {"sent", t.sent},
                       {"attempts", t.attempts}});
    }
    nlohmann::json data{{"transfers", items}};
    if (stats) {
      text += fmt::format(
        "\nvirtual actors running here: {}; partitions awaited: {}; "
        "handoffs out {}, in {}",
        stats->running, stats->awaiting, stats->handoffs_out,
        stats->handoffs_in);
      data["running"] = stats->running;
      data["awaiting"] = stats->awaiting;
      data["handoffs_out"] = stats->handoffs_out;
      data["handoffs_in"] = stats->handoffs_in;
    }
    return console_reply::success(std::move(text), std::move(data));
  }

  console_reply join(const console_call& call) const {
    if (call.args.size() != 1) {
      return console_reply::failure("usage: join <host:port> --yes");
    }
    if (auto ep = runtime::parse_endpoint(call.args[0]); !ep) {
      return failed("join", ep.error());
    }
    if (auto err = client().join(call.args[0])) {
      return failed("join", err);
    }
    return console_reply::success(
      fmt::format("joining through {} (watch: members)", call.args[0]));
  }

  console_reply leave(const console_call&) const {
    if (auto err = client().leave()) {
      return failed("leave", err);
    }
    return console_reply::success(
      "leaving: this node hands off what it owns, then exits the cluster "
      "(watch: members, transfers)");
  }

  console_reply down(const console_call& call) const {
    if (call.args.size() != 1) {
      return console_reply::failure("usage: down <node name or id> --yes");
    }
    if (auto err = client().down(call.args[0])) {
      return failed("down", err);
    }
    return console_reply::success(fmt::format(
      "{} is down: the leader removes it and its partitions go to the "
      "others; if it still runs, it rejoins as a new incarnation (watch: "
      "members)",
      call.args[0]));
  }

  console_reply drain(bool on) const {
    if (auto err = client().drain(on)) {
      return failed(on ? "drain" : "undrain", err);
    }
    return console_reply::success(
      on ? "draining: this node stays a member and gets no routed traffic"
         : "serving again");
  }

  console_reply send(const console_call& call) const {
    if (call.args.size() < 2) {
      return console_reply::failure(
        "usage: send <registered name | kind/key> <text>");
    }
    const auto& name = call.args[0];
    std::string text;
    for (size_t i = 1; i < call.args.size(); ++i) {
      text += i == 1 ? "" : " ";
      text += call.args[i];
    }
    if (names_) {
      if (auto who = names_->whereis(name)) {
        caf::anon_send(who, text);
        return console_reply::success(fmt::format(
          "sent \"{}\" to local actor {} <{}>", text, name, who.id()));
      }
    }
    if (!is_routable_name(name)) {
      return console_reply::failure(fmt::format(
        "send: no local actor is registered as \"{}\", and it is not a "
        "virtual actor name (kind/key)",
        name));
    }
    router_client router{*sys_, ctx_};
    if (auto err = router.send(name, caf::make_message(text))) {
      return failed("send", err);
    }
    auto owner = router.owner_of(name);
    return console_reply::success(
      fmt::format("routed \"{}\" to {} (owner {})", text, name,
                  owner ? short_id(*owner) : std::string{"unknown"}));
  }

private:
  caf::actor_system* sys_;
  context_ptr ctx_;
  std::shared_ptr<actors::name_registry> names_;
};

} // namespace

caf::error add_cluster_commands(actors::console_registry& registry,
                                caf::actor_system& system, context_ptr ctx,
                                std::shared_ptr<actors::name_registry> names) {
  auto c = std::make_shared<commands>(system, std::move(ctx), std::move(names));
  auto cmd = [c](auto f) {
    return [c, f](const console_call& call) { return ((*c).*f)(call); };
  };
  std::vector<actors::console_command> list{
    {.name = "members",
     .usage = "",
     .summary = "the cluster's members as this node sees them",
     .destructive = false,
     .max_args = 0,
     .handler = cmd(&commands::members)},
    {.name = "capabilities",
     .usage = "",
     .summary = "the features every member supports (in use), and which "
                "members hold others back",
     .destructive = false,
     .max_args = 0,
     .handler = cmd(&commands::capabilities)},
    {.name = "ring",
     .usage = "[full]",
     .summary = "who owns how much of the ring; `full` for every partition",
     .destructive = false,
     .max_args = 1,
     .handler = cmd(&commands::ring)},
    {.name = "services",
     .usage = "",
     .summary = "services each member announces, and who is draining",
     .destructive = false,
     .max_args = 0,
     .handler = cmd(&commands::services)},
    {.name = "transfers",
     .usage = "",
     .summary = "handoffs of partitions in progress on this node",
     .destructive = false,
     .max_args = 0,
     .handler = cmd(&commands::transfers)},
    {.name = "join",
     .usage = "<host:port>",
     .summary = "joins the cluster that member belongs to",
     .destructive = true,
     .max_args = 1,
     .handler = cmd(&commands::join)},
    {.name = "leave",
     .usage = "",
     .summary = "leaves the cluster gracefully, handing off first",
     .destructive = true,
     .max_args = 0,
     .handler = cmd(&commands::leave)},
    {.name = "down",
     .usage = "<node>",
     .summary = "marks an unreachable member down (what cluster.down_after "
                "does by itself)",
     .destructive = true,
     .max_args = 1,
     .handler = cmd(&commands::down)},
    {.name = "drain",
     .usage = "",
     .summary = "stays a member but asks for no routed traffic",
     .destructive = true,
     .max_args = 0,
     .handler = [c](const console_call&) { return c->drain(true); }},
    {.name = "undrain",
     .usage = "",
     .summary = "takes routed traffic again",
     .destructive = true,
     .max_args = 0,
     .handler = [c](const console_call&) { return c->drain(false); }},
    {.name = "send",
     .usage = "<registered name | kind/key> <text>",
     .summary = "sends text (a std::string message) to an actor",
     .destructive = false,
     .max_args = std::nullopt,
     .handler = cmd(&commands::send)},
  };
  for (auto& x : list) {
    if (auto err = registry.add(std::move(x))) {
      return err;
    }
  }
  return {};
}

} // namespace troupe::cluster
