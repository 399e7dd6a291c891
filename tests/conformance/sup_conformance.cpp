// Runs the supervisor scenarios of a file on Troupe's supervisors and prints
// the same trace as the OTP reference runner (otp_sup.escript) does for the
// same file; the conformance suite compares the two.
//
//   sup_conformance SCENARIOS.sup
//
// Everything runs on CAF's deterministic test scheduler: a step runs until
// nothing is left to run, passing virtual time only to reach a timer (a
// shutdown timeout, a slow child), as the OTP runner waits in real time.
#include "troupe/actors/atoms.hpp"
#include "troupe/actors/crash_report.hpp"
#include "troupe/actors/gen_server.hpp"
#include "troupe/runtime/crash_log.hpp"
#include "troupe/runtime/logging.hpp"
#include "troupe/supervision/atoms.hpp"
#include "troupe/supervision/errors.hpp"
#include "troupe/supervision/supervisor.hpp"
#include "troupe/testkit/deterministic.hpp"
#include "troupe/testkit/node_process.hpp"

#include <caf/event_based_actor.hpp>
#include <caf/exit_reason.hpp>
#include <caf/typed_actor.hpp>
#include <fmt/format.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace ta = troupe::actors;
namespace ts = troupe::supervision;
using namespace std::chrono_literals;

namespace {

// -- the scenario file
// ---------------------------------------------------------

struct tree_node {
  std::vector<std::string> tokens; // `sup ...` or `worker ...`
  std::vector<tree_node> kids;

  bool is_sup() const {
    return tokens.at(0) == "sup";
  }
  const std::string& id() const {
    return tokens.at(1);
  }
};

struct scenario {
  std::string name;
  tree_node tree;
  std::vector<std::vector<std::string>> steps;
};

std::vector<std::string> split(const std::string& s) {
  std::istringstream in{s};
  std::vector<std::string> out;
  for (std::string w; in >> w;) {
    out.push_back(w);
  }
  return out;
}

std::size_t indent_of(const std::string& s) {
  return s.find_first_not_of(' ');
}

std::vector<tree_node> parse_tree(const std::vector<std::string>& lines,
                                  std::size_t& i, std::size_t level) {
  std::vector<tree_node> out;
  while (i < lines.size() && indent_of(lines[i]) >= level) {
    tree_node n{split(lines[i]), {}};
    auto own = indent_of(lines[i]);
    ++i;
    if (n.is_sup()) {
      n.kids = parse_tree(lines, i, own + 1);
    }
    out.push_back(std::move(n));
  }
  return out;
}

std::vector<scenario> parse_file(const std::string& path) {
  std::ifstream in{path};
  if (!in) {
    throw std::runtime_error("cannot read " + path);
  }
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    if (auto hash = line.find('#'); hash != std::string::npos) {
      line.erase(hash);
    }
    while (!line.empty() && (line.back() == ' ' || line.back() == '\r')) {
      line.pop_back();
    }
    if (line.find_first_not_of(' ') != std::string::npos) {
      lines.push_back(line);
    }
  }
  std::vector<scenario> out;
  std::size_t i = 0;
  while (i < lines.size()) {
    if (lines[i].rfind("scenario ", 0) != 0) {
      throw std::runtime_error("expected `scenario NAME`, got: " + lines[i]);
    }
    scenario s;
    s.name = lines[i].substr(9);
    ++i;
    std::vector<std::string> tree;
    while (i < lines.size() && lines[i].rfind("do ", 0) != 0
           && lines[i].rfind("scenario ", 0) != 0) {
      tree.push_back(lines[i++]);
    }
    std::size_t j = 0;
    auto roots = parse_tree(tree, j, 0);
    if (roots.size() != 1 || !roots[0].is_sup()) {
      throw std::runtime_error(s.name + ": expected one `sup` at the top");
    }
    s.tree = std::move(roots[0]);
    while (i < lines.size() && lines[i].rfind("do ", 0) == 0) {
      s.steps.push_back(split(lines[i].substr(3)));
      ++i;
    }
    out.push_back(std::move(s));
  }
  return out;
}

std::optional<std::string> opt(const std::vector<std::string>& tokens,
                               const std::string& key) {
  for (const auto& t : tokens) {
    if (t.rfind(key + "=", 0) == 0) {
      return t.substr(key.size() + 1);
    }
  }
  return std::nullopt;
}

bool flag(const std::vector<std::string>& tokens, const std::string& name) {
  return std::find(tokens.begin(), tokens.end(), name) != tokens.end();
}

// -- reasons, as the trace shows them
// ------------------------------------------

// The scenario's own abnormal reasons, in an error category of their own
// that renders them as the atoms they stand for in OTP (`boom`, `fail`).
constexpr auto conform_category = caf::atom("conform");

caf::error reason_of(const std::string& token) {
  if (token == "normal") {
    return {};
  }
  if (token == "shutdown") {
    return caf::exit_reason::user_shutdown;
  }
  if (token.rfind("shutdown:", 0) == 0) {
    return ta::shutdown_with(token.substr(9));
  }
  return caf::error{static_cast<std::uint8_t>(token == "fail" ? 2 : 1),
                    conform_category};
}

std::string show(const caf::actor_system& sys, const caf::error& reason) {
  return ts::otp_reason(sys, reason);
}

// -- the workers
// ---------------------------------------------------------------

using exit_atom = caf::atom_constant<caf::atom("cf_exit")>;

// What the runner records, in the order it happens (one thread).
struct recorder {
  std::vector<std::string> life;
  std::map<caf::actor_addr, std::string> paths;
  std::map<std::string, int> starts;
  caf::actor_system* sys = nullptr;

  void started(const caf::actor& a, const std::string& path) {
    paths[a.address()] = path;
    life.push_back("start " + path);
    a->attach_functor([this, path](const caf::error& reason) {
      life.push_back("exit " + path + " " + show(*sys, reason));
    });
  }

  std::optional<caf::actor> alive(const std::string& path) const {
    for (auto i = paths.rbegin(); i != paths.rend(); ++i) {
      if (i->second == path) {
        if (auto a = caf::actor_cast<caf::actor>(i->first)) {
          return a;
        }
      }
    }
    return std::nullopt;
  }

  std::string path_of_id(std::uint64_t id) const {
    for (const auto& [addr, path] : paths) {
      if (addr.id() == id) {
        return path;
      }
    }
    return {};
  }
};

struct worker {
  using interface = caf::typed_actor<caf::reacts_to<exit_atom, std::string>>;

  ta::init_result init(ta::server_context<worker>& ctx, std::string path,
                       std::vector<std::string> opts,
                       std::shared_ptr<recorder> rec) {
    auto n = ++rec->starts[path];
    if (flag(opts, "trap")) {
      ctx.trap_exits(true);
    }
    auto how = opt(opts, "init").value_or("ok");
    if (how == "ignore") {
      return ta::init_result::ignore();
    }
    if (how == "fail"
        || (how.rfind("fail_after:", 0) == 0
            && n > std::stoi(how.substr(11)))) {
      return ta::init_result::stop(reason_of("fail"));
    }
    return ta::init_result::ok();
  }

  interface::behavior_type handlers(ta::server_context<worker>& ctx) {
    return {
      [&ctx](exit_atom, const std::string& reason) {
        ctx.stop(reason_of(reason));
      },
    };
  }
};

// A child whose shutdown takes time (`stop_takes`) or ends with another
// reason (`on_shutdown`): an actor of its own, since a Troupe server stops
// at once with the reason it is given.
caf::behavior slow_worker(caf::event_based_actor* self, caf::actor parent,
                          std::vector<std::string> opts) {
  using done_atom = caf::atom_constant<caf::atom("cf_done")>;
  auto parent_addr = parent.address();
  self->monitor(parent);
  auto finish = [self, opts](caf::error reason) {
    if (auto r = opt(opts, "on_shutdown")) {
      reason = reason_of(*r);
    }
    if (auto ms = opt(opts, "stop_takes")) {
      self->delayed_send(self, std::chrono::milliseconds{std::stoi(*ms)},
                         done_atom::value, std::move(reason));
      return;
    }
    self->quit(std::move(reason));
  };
  self->set_exit_handler([finish, parent_addr](caf::exit_msg& em) {
    if (em.source == parent_addr || em.reason) {
      finish(em.reason);
    }
  });
  self->set_down_handler([finish, parent_addr](caf::down_msg& dm) {
    if (dm.source == parent_addr) {
      finish(dm.reason);
    }
  });
  return {
    [](ta::init_atom) { return ta::started_atom::value; },
    [self](done_atom, caf::error& reason) { self->quit(std::move(reason)); },
    [self](exit_atom, const std::string& reason) {
      self->quit(reason_of(reason));
    },
  };
}

// -- building trees
// --------------------------------------------------------------

ts::shutdown_spec shutdown_of(const std::string& s) {
  if (s == "brutal_kill") {
    return ts::shutdown_spec::brutal_kill();
  }
  if (s == "infinity") {
    return ts::shutdown_spec::infinity();
  }
  return ts::shutdown_spec::after(std::chrono::milliseconds{std::stoi(s)});
}

ts::restart_type restart_of(const std::string& s) {
  if (s == "transient") {
    return ts::restart_type::transient;
  }
  if (s == "temporary") {
    return ts::restart_type::temporary;
  }
  return ts::restart_type::permanent;
}

ts::supervisor_flags flags_of(const tree_node& n) {
  const auto& t = n.tokens; // sup ID STRATEGY INTENSITY PERIOD [opts]
  ts::supervisor_flags f;
  const auto& s = t.at(2);
  f.strategy = s == "one_for_all"          ? ts::strategy::one_for_all
               : s == "rest_for_one"       ? ts::strategy::rest_for_one
               : s == "simple_one_for_one" ? ts::strategy::simple_one_for_one
                                           : ts::strategy::one_for_one;
  f.intensity = static_cast<std::uint32_t>(std::stoul(t.at(3)));
  f.period = std::chrono::seconds{std::stoi(t.at(4))};
  auto a = opt(t, "auto").value_or("never");
  f.auto_shutdown = a == "any_significant" ? ts::auto_shutdown::any_significant
                    : a == "all_significant"
                      ? ts::auto_shutdown::all_significant
                      : ts::auto_shutdown::never;
  return f;
}

ts::child_spec spec_of(const tree_node& n, const std::string& prefix,
                       const std::shared_ptr<recorder>& rec);

std::vector<ts::child_spec> kids_of(const tree_node& n, const std::string& path,
                                    const std::shared_ptr<recorder>& rec) {
  std::vector<ts::child_spec> out;
  for (const auto& k : n.kids) {
    out.push_back(spec_of(k, path + "/", rec));
  }
  return out;
}

ts::child_spec worker_spec(const std::vector<std::string>& t,
                           const std::string& prefix,
                           const std::shared_ptr<recorder>& rec) {
  // worker ID RESTART SHUTDOWN [opts]
  ts::child_spec spec;
  spec.id = t.at(1);
  spec.restart = restart_of(t.at(2));
  spec.shutdown = shutdown_of(t.at(3));
  spec.significant = flag(t, "significant");
  spec.init_handshake = true;
  std::vector<std::string> opts(t.begin() + 4, t.end());
  bool slow = opt(opts, "stop_takes") || opt(opts, "on_shutdown");
  auto path = prefix + spec.id;
  spec.start = [rec, path, opts,
                slow](caf::actor_system& sys, const caf::actor& parent,
                      const caf::message& args) -> caf::expected<caf::actor> {
    auto my_path = path;
    if (args.match_elements<std::int32_t>()) {
      my_path += "." + std::to_string(args.get_as<std::int32_t>(0));
    }
    caf::actor hdl;
    if (slow) {
      hdl = sys.spawn(slow_worker, parent, opts);
    } else {
      auto spawned = ta::spawn_server<worker>(sys, {.parent = parent}, my_path,
                                              opts, rec);
      if (!spawned) {
        return spawned.error();
      }
      hdl = caf::actor_cast<caf::actor>(*spawned);
    }
    rec->started(hdl, my_path);
    return hdl;
  };
  return spec;
}

ts::child_spec spec_of(const tree_node& n, const std::string& prefix,
                       const std::shared_ptr<recorder>& rec) {
  if (!n.is_sup()) {
    return worker_spec(n.tokens, prefix, rec);
  }
  auto path = prefix + n.id();
  auto spec = ts::supervisor_child(n.id(), flags_of(n), kids_of(n, path, rec));
  spec.restart = restart_of(opt(n.tokens, "restart").value_or("permanent"));
  if (auto s = opt(n.tokens, "shutdown")) {
    spec.shutdown = shutdown_of(*s);
  }
  spec.significant = flag(n.tokens, "significant");
  auto start = spec.start;
  spec.start = [start, rec,
                path](caf::actor_system& sys, const caf::actor& parent,
                      const caf::message& args) -> caf::expected<caf::actor> {
    auto hdl = start(sys, parent, args);
    if (hdl) {
      rec->started(*hdl, path);
    }
    return hdl;
  };
  return spec;
}

// -- running a scenario
// ----------------------------------------------------------

class runner {
public:
  runner(const scenario& s, const std::filesystem::path& dir)
    : s_(s), crash_dir_(dir / s.name),
      ds_([this](troupe::runtime::system_config& cfg) {
        std::filesystem::create_directories(crash_dir_);
        auto logs = troupe::runtime::log_context::make(
          {.node = "c1",
           .level = troupe::runtime::log_level::off,
           .console = false});
        cfg.logs = *logs;
        cfg.crashes = *troupe::runtime::crash_log::open(crash_dir_);
        ts::add_supervision_types(cfg);
        cfg.add_error_category(conform_category,
                               [](std::uint8_t code, caf::atom_value,
                                  const caf::message&) -> std::string {
                                 return code == 2 ? "fail" : "boom";
                               });
      }) {
    rec_->sys = &ds_.sys();
    parent_ = ds_.spawn([](caf::event_based_actor* self) {
      self->set_exit_handler([](caf::exit_msg&) {});
      self->set_down_handler([](caf::down_msg&) {});
      return caf::behavior{
        [self](exit_atom, const caf::actor& whom, caf::error& reason) {
          self->send_exit(whom, std::move(reason));
        }};
    });
  }

  void run() {
    std::cout << "scenario " << s_.name << "\n";
    int i = 1;
    for (const auto& step : s_.steps) {
      std::string text;
      for (const auto& w : step) {
        text += (text.empty() ? "" : " ") + w;
      }
      std::cout << "step " << i++ << " " << text << "\n";
      auto result = do_step(step);
      settle();
      print_events();
      std::cout << "  result " << result << "\n";
    }
    if (top_) {
      caf::anon_send_exit(top_, caf::exit_reason::kill);
      settle();
    }
    std::cout << "end\n";
  }

private:
  // Runs what is ready; when nothing is, jumps to the next message sent
  // with a delay (a shutdown timeout, a slow child), as time passes in OTP
  // while something waits. Request timeouts do not count: nothing waits
  // for them once their answers are in.
  void settle() {
    using clock_type = caf::detail::simple_actor_clock;
    for (;;) {
      ds_.run();
      std::optional<caf::actor_clock::time_point> next;
      for (const auto& [due, ev] : ds_.sched().clock().schedule()) {
        if (ev->subtype == clock_type::actor_msg_type) {
          next = due;
          break;
        }
      }
      if (!next) {
        return;
      }
      auto now = ds_.sched().clock().current_time;
      ds_.sched().advance_time(*next > now ? *next - now : caf::timespan{0});
    }
  }

  // The children of a killed supervisor all get the signal at once: the
  // order of their exits is the scheduler's, so a run of them is shown
  // sorted (as the OTP runner does).
  static void sort_concurrent_exits(std::vector<std::string>& life) {
    auto killed = [](const std::string& e) {
      return e.rfind("exit ", 0) == 0 && e.size() > 12
             && e.compare(e.size() - 7, 7, " killed") == 0;
    };
    for (std::size_t i = 0; i < life.size(); ++i) {
      if (!killed(life[i])) {
        continue;
      }
      auto sup = life[i].substr(5, life[i].size() - 12) + "/";
      auto j = i + 1;
      while (j < life.size() && killed(life[j])
             && life[j].compare(5, sup.size(), sup) == 0) {
        ++j;
      }
      std::sort(life.begin() + static_cast<std::ptrdiff_t>(i + 1),
                life.begin() + static_cast<std::ptrdiff_t>(j));
    }
  }

  void print_events() {
    sort_concurrent_exits(rec_->life);
    for (const auto& e : rec_->life) {
      std::cout << "  life " << e << "\n";
    }
    rec_->life.clear();
    auto contents = troupe::runtime::crash_log::read(crash_dir_);
    for (std::size_t i = reports_seen_; i < contents.reports.size(); ++i) {
      const auto& r = contents.reports[i];
      if (r.kind != "supervisor") {
        continue;
      }
      auto sup = rec_->path_of_id(r.actor_id);
      auto who = r.offender_actor != 0 ? rec_->path_of_id(r.offender_actor)
                                       : std::string{};
      if (who.empty()) {
        who = sup + "/" + r.offender;
      }
      const auto& reason = r.reason;
      std::cout << "  report " << r.context << " " << who << " " << reason
                << "\n";
    }
    reports_seen_ = contents.reports.size();
  }

  caf::actor sup_named(const std::string& path) {
    auto a = rec_->alive(path);
    if (!a) {
      throw std::runtime_error("no process " + path);
    }
    return *a;
  }

  // Sends a request from a one-shot actor and runs until the answer.
  template <class R>
  caf::expected<R> call(const caf::actor& dest, caf::message msg) {
    auto box = std::make_shared<std::optional<caf::expected<R>>>();
    ds_.sys().spawn([dest, msg, box](caf::event_based_actor* self) {
      if constexpr (std::is_same_v<R, caf::unit_t>) {
        self->request(dest, caf::infinite, msg)
          .then([box] { *box = caf::unit; },
                [box](caf::error& err) { *box = std::move(err); });
      } else {
        self->request(dest, caf::infinite, msg)
          .then([box](R& r) { *box = std::move(r); },
                [box](caf::error& err) { *box = std::move(err); });
      }
    });
    settle();
    if (!box->has_value()) {
      return caf::make_error(caf::sec::request_timeout);
    }
    return std::move(**box);
  }

  std::string show_error(const caf::error& err, bool start_error_is_bare) {
    if (err == ts::errc::no_such_child) {
      return "{error,not_found}";
    }
    if (err == ts::errc::child_running) {
      return "{error,running}";
    }
    if (err == ts::errc::child_restarting) {
      return "{error,restarting}";
    }
    if (err == ts::errc::already_present) {
      return "{error,already_present}";
    }
    if (err == ts::errc::already_started) {
      return "{error,{already_started,_}}";
    }
    if (err == ts::errc::wrong_strategy) {
      return "{error,simple_one_for_one}";
    }
    if (err == ts::errc::child_start_failed) {
      auto cause = ts::start_failure_cause(err);
      auto text = cause ? show(ds_.sys(), *cause) : std::string{"?"};
      return start_error_is_bare ? "{error," + text + "}"
                                 : "{error,{" + text + ",_}}";
    }
    return "{error," + show(ds_.sys(), err) + "}";
  }

  std::string show_handle(const caf::expected<caf::actor>& r, bool simple) {
    if (!r) {
      return show_error(r.error(), simple);
    }
    return *r ? "{ok,_}" : "{ok,undefined}";
  }

  std::string show_done(const caf::expected<caf::unit_t>& r) {
    return r ? "ok" : show_error(r.error(), false);
  }

  bool is_simple(const std::string& sup_path) const {
    auto* n = find_node(s_.tree, "", sup_path);
    return n != nullptr && n->tokens.at(2) == "simple_one_for_one";
  }

  static const tree_node* find_node(const tree_node& n,
                                    const std::string& prefix,
                                    const std::string& path) {
    auto mine = prefix + n.id();
    if (mine == path) {
      return &n;
    }
    for (const auto& k : n.kids) {
      if (auto* f = find_node(k, mine + "/", path)) {
        return f;
      }
    }
    return nullptr;
  }

  std::string do_step(const std::vector<std::string>& step) {
    try {
      return step_or_throw(step);
    } catch (const std::exception& e) {
      return e.what();
    }
  }

  std::string step_or_throw(const std::vector<std::string>& st) {
    const auto& cmd = st.at(0);
    if (cmd == "start") {
      auto path = s_.tree.id();
      auto sup = ts::spawn_supervisor(ds_.sys(), flags_of(s_.tree),
                                      kids_of(s_.tree, path, rec_),
                                      {.parent = parent_});
      if (!sup) {
        return "error " + show(ds_.sys(), sup.error());
      }
      rec_->started(*sup, path);
      auto started
        = call<caf::atom_value>(*sup, caf::make_message(ta::init_atom::value));
      if (!started) {
        auto cause = ts::start_failure_cause(started.error());
        return fmt::format("error failed_to_start_child {} {}",
                           ts::start_failure_child(started.error()),
                           cause ? show(ds_.sys(), *cause) : "?");
      }
      top_ = *sup;
      return "ok";
    }
    if (cmd == "exit") {
      caf::anon_send(sup_named(st.at(1)), exit_atom::value, st.at(2));
      return "ok";
    }
    if (cmd == "kill") {
      caf::anon_send_exit(sup_named(st.at(1)), caf::exit_reason::kill);
      return "ok";
    }
    if (cmd == "stop") {
      caf::anon_send(parent_, exit_atom::value, top_,
                     caf::error{caf::exit_reason::user_shutdown});
      settle();
      top_ = nullptr;
      return "ok";
    }
    if (cmd == "wait") {
      ds_.sched().advance_time(std::chrono::milliseconds{std::stoi(st.at(1))});
      return "ok";
    }
    auto sup = sup_named(st.at(1));
    if (cmd == "which_children") {
      auto list = call<std::vector<ts::child_info>>(
        sup, caf::make_message(ts::which_children_atom::value));
      if (!list) {
        return show_error(list.error(), false);
      }
      std::string out;
      bool simple = is_simple(st.at(1));
      for (const auto& c : *list) {
        out += fmt::format("{}{{{},{},{}}}", out.empty() ? "" : ",",
                           simple ? "undefined" : c.id,
                           c.restarting ? "restarting"
                           : c.running  ? "running"
                                        : "undefined",
                           ts::to_string(c.type));
      }
      return "[" + out + "]";
    }
    if (cmd == "count_children") {
      auto n = call<ts::child_counts>(
        sup, caf::make_message(ts::count_children_atom::value));
      if (!n) {
        return show_error(n.error(), false);
      }
      return fmt::format("[{{specs,{}}},{{active,{}}},{{supervisors,{}}},"
                         "{{workers,{}}}]",
                         n->specs, n->active, n->supervisors, n->workers);
    }
    if (cmd == "terminate_child") {
      return show_done(call<caf::unit_t>(
        sup, caf::make_message(ts::terminate_child_atom::value, st.at(2))));
    }
    if (cmd == "terminate_child_pid") {
      auto known = std::optional<caf::actor>{};
      for (const auto& [addr, path] : rec_->paths) {
        if (path == st.at(2)) {
          known = caf::actor_cast<caf::actor>(addr);
        }
      }
      return show_done(call<caf::unit_t>(
        sup, caf::make_message(ts::terminate_child_atom::value,
                               known ? *known : caf::actor{})));
    }
    if (cmd == "restart_child") {
      return show_handle(
        call<caf::actor>(sup, caf::make_message(ts::restart_child_atom::value,
                                                st.at(2))),
        true);
    }
    if (cmd == "delete_child") {
      return show_done(call<caf::unit_t>(
        sup, caf::make_message(ts::delete_child_atom::value, st.at(2))));
    }
    if (cmd == "start_child") {
      std::vector<std::string> tokens{"worker"};
      tokens.insert(tokens.end(), st.begin() + 2, st.end());
      return show_handle(
        call<caf::actor>(
          sup, caf::make_message(ts::start_child_atom::value,
                                 worker_spec(tokens, st.at(1) + "/", rec_))),
        false);
    }
    if (cmd == "start_child_args") {
      return show_handle(
        call<caf::actor>(
          sup, caf::make_message(ts::start_child_atom::value,
                                 caf::make_message(static_cast<std::int32_t>(
                                   std::stoi(st.at(2)))))),
        true);
    }
    throw std::runtime_error("unknown step " + cmd);
  }

  const scenario& s_;
  std::filesystem::path crash_dir_;
  troupe::testkit::deterministic_system ds_;
  std::shared_ptr<recorder> rec_ = std::make_shared<recorder>();
  caf::actor parent_;
  caf::actor top_;
  std::size_t reports_seen_ = 0;
};

} // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: sup_conformance SCENARIOS.sup\n";
    return 2;
  }
  try {
    auto scenarios = parse_file(argv[1]);
    troupe::testkit::temp_dir dir;
    for (const auto& s : scenarios) {
      runner r{s, dir.path()};
      r.run();
    }
  } catch (const std::exception& e) {
    std::cerr << "sup_conformance: " << e.what() << "\n";
    return 2;
  }
  return 0;
}
