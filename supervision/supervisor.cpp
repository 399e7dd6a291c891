// The supervisor actor.
#include "supervisor.hpp"

#include "../actors/atoms.hpp"
#include "../actors/crash_report.hpp"
#include "../actors/serial_tasks.hpp"
#include "../runtime/system_config.hpp"
#include "atoms.hpp"
#include "report.hpp"
#include "restart_window.hpp"

#include <caf/event_based_actor.hpp>
#include <caf/exit_reason.hpp>
#include <caf/scoped_actor.hpp>
#include <fmt/format.h>

#include <functional>
#include <map>
#include <memory>
#include <random>

namespace troupe::supervision {

namespace {

using clock_type = std::chrono::steady_clock;

struct child {
  child_spec spec;
  caf::message args;
  caf::actor handle;
  /// A restart of this child failed and is tried again (OTP's
  /// `{restarting, OldPid}`).
  bool restarting = false;
  std::uint32_t restarts = 0;
  std::uint32_t consecutive = 0; // restarts since it last ran a while
  clock_type::time_point started{};
};

using child_ptr = std::shared_ptr<child>;
using done_fn = std::function<void()>;
using result_fn = std::function<void(caf::error)>;
// Called with the exit reason of a child being shut down.
using exit_fn = std::function<void(const caf::error&)>;

// What starting one child gave: a handle, nothing (`ignore`), or an error.
struct start_outcome {
  caf::error error{};
  bool ignored = false;
};
using start_fn_k = std::function<void(start_outcome)>;

// One supervisor's state; every change to its children runs as a task, one
// at a time, so that restarts, shutdowns and API calls never interleave.
class supervisor_state : public std::enable_shared_from_this<supervisor_state> {
public:
  supervisor_state(caf::event_based_actor* self, supervisor_flags flags,
                   std::vector<child_spec> specs, actors::start_options opts)
    : self_(self), flags_(flags), specs_(std::move(specs)),
      opts_(std::move(opts)), window_(flags.intensity, flags.period) {}

  caf::behavior make_behavior();

private:
  bool simple() const {
    return flags_.strategy == strategy::simple_one_for_one;
  }

  // -- tasks ----------------------------------------------------------------

  void enqueue(actors::serial_tasks::task_fn task) {
    tasks_.enqueue(std::move(task));
  }

  // Runs `f(child, promise, done)` as a task if `id` names a child;
  // otherwise answers `no_such_child`. A simple_one_for_one supervisor's
  // children have no ids: `wrong_strategy`, as OTP's.
  template <class F>
  caf::response_promise with_child(const std::string& id, F f) {
    auto rp = self_->make_response_promise();
    if (simple()) {
      rp.deliver(caf::make_error(errc::wrong_strategy,
                                 "simple_one_for_one children have no ids"));
      return rp;
    }
    auto self = shared_from_this();
    enqueue([self, rp, id, f](done_fn k) mutable {
      auto c = self->find(id);
      if (!c) {
        rp.deliver(caf::make_error(errc::no_such_child, id));
        k();
        return;
      }
      f(c, rp, std::move(k));
    });
    return rp;
  }

  // -- reports ----------------------------------------------------------------

  std::string show(const caf::error& reason) const {
    return otp_reason(self_->system(), reason);
  }

  void report(report_context context, const child& c, const caf::error& reason,
              std::uint64_t actor = 0) {
    if (reports_go_somewhere()) {
      report(context, c, show(reason), actor);
    }
  }

  // Whether the system keeps a log or a crash log (rendering a reason for
  // nobody costs about as much as a restart).
  bool reports_go_somewhere() const {
    const auto* cfg = runtime::troupe_config(self_->system());
    return cfg != nullptr && (cfg->logs || cfg->crashes);
  }

  // `actor`: the child's actor id when it is no longer in its record.
  void report(report_context context, const child& c, std::string reason,
              std::uint64_t actor = 0) {
    supervision::report(self_, opts_.name,
                        {.context = context,
                         .offender = c.spec.id,
                         .offender_actor = actor != 0 ? actor
                                           : c.handle ? c.handle.id()
                                                      : 0,
                         .reason = std::move(reason)});
  }

  // -- starting and stopping one child
  // ------------------------------------------

  void start_one(const child_ptr& c, start_fn_k k) {
    auto spawned = c->spec.start(self_->system(), caf::actor{self_}, c->args);
    if (!spawned) {
      k({.error = std::move(spawned.error())});
      return;
    }
    if (!*spawned) {
      k({.error = {},
         .ignored = true}); // the start function chose not to start one
      return;
    }
    // Monitored, not linked: in CAF a linked child killed with `kill` would
    // take its supervisor down with it, trapping or not.
    self_->monitor(*spawned);
    c->handle = *spawned;
    c->restarting = false;
    c->started = self_->clock().now();
    if (!c->spec.init_handshake) {
      k({});
      return;
    }
    auto self = shared_from_this();
    self_->request(*spawned, c->spec.init_timeout, actors::init_atom::value)
      .then(
        [self, c, k](caf::atom_value outcome) {
          if (outcome == actors::ignored_atom::value) {
            self->forget_handle(*c);
            k({.error = {}, .ignored = true});
            return;
          }
          k({});
        },
        [self, c, k](caf::error& err) {
          if (c->handle) {
            caf::anon_send_exit(c->handle, caf::exit_reason::kill);
            self->forget_handle(*c);
          }
          k({.error = std::move(err)});
        });
  }

  void forget_handle(child& c) {
    if (c.handle) {
      self_->demonitor(c.handle);
      c.handle = nullptr;
    }
  }

  // Stops one child as its shutdown spec says, then calls `k` with its
  // exit reason (nothing to stop: `k` with no reason).
  void stop_one(const child_ptr& c, exit_fn k) {
    if (!c->handle) {
      k(caf::error{});
      return;
    }
    auto target = c->handle;
    awaiting_exit_[target.address()]
      = [c, k = std::move(k)](const caf::error& reason) {
          c->handle = nullptr;
          k(reason);
        };
    auto sd = c->spec.effective_shutdown();
    switch (sd.how) {
      case shutdown_spec::kind::brutal_kill:
        self_->send_exit(target, caf::exit_reason::kill);
        break;
      case shutdown_spec::kind::timeout:
        self_->send_exit(target, caf::exit_reason::user_shutdown);
        self_->delayed_send(self_, sd.timeout, kill_timer_atom::value, target);
        break;
      case shutdown_spec::kind::infinity:
        self_->send_exit(target, caf::exit_reason::user_shutdown);
        break;
    }
  }

  // OTP's do_terminate: stops the child and reports it when it exits with
  // another reason than the one asked for (`killed` after `brutal_kill`,
  // `shutdown` otherwise), but for a non-permanent child exiting normally.
  void terminate_one(const child_ptr& c, done_fn k) {
    if (!c->handle) {
      k();
      return;
    }
    auto self = shared_from_this();
    auto handle = c->handle;
    stop_one(c, [self, c, handle, k = std::move(k)](const caf::error& reason) {
      if (!self->expected_shutdown(*c, reason)) {
        self->report(report_context::shutdown_error, *c, reason, handle.id());
      }
      k();
    });
  }

  bool expected_shutdown(const child& c, const caf::error& reason) const {
    bool brutal = c.spec.effective_shutdown().how
                  == shutdown_spec::kind::brutal_kill;
    if (reason
        == (brutal ? caf::error{caf::exit_reason::kill}
                   : caf::error{caf::exit_reason::user_shutdown})) {
      return true;
    }
    return !reason && c.spec.restart != restart_type::permanent;
  }

  // Stops `list` one after the other, last first.
  void terminate_reverse(std::vector<child_ptr> list, done_fn k) {
    auto shared
      = std::make_shared<const std::vector<child_ptr>>(std::move(list));
    terminate_from(shared, shared->size(), std::move(k));
  }

  // Stops the first `n` of `list`, last first. The list is shared, not
  // carried along in each continuation: a tree of 10,000 children would
  // otherwise copy it 10,000 times.
  void terminate_from(std::shared_ptr<const std::vector<child_ptr>> list,
                      std::size_t n, done_fn k) {
    if (n == 0) {
      k();
      return;
    }
    auto self = shared_from_this();
    auto c = (*list)[n - 1];
    terminate_one(c, [self, list = std::move(list), n,
                      k = std::move(k)]() mutable {
      self->terminate_from(std::move(list), n - 1, std::move(k));
    });
  }

  // A simple_one_for_one supervisor stops its children all at once and
  // reports once for each reason it did not ask for, with how many.
  void terminate_all_at_once(done_fn k) {
    std::vector<child_ptr> running;
    for (const auto& c : children_) {
      if (c->handle) {
        running.push_back(c);
      }
    }
    if (running.empty()) {
      k();
      return;
    }
    struct tally {
      std::size_t left;
      std::vector<std::pair<caf::error, std::size_t>> unexpected;
    };
    auto t = std::make_shared<tally>(tally{running.size(), {}});
    auto self = shared_from_this();
    for (const auto& c : running) {
      stop_one(c, [self, c, t, k](const caf::error& reason) {
        if (!self->expected_shutdown(*c, reason)) {
          auto i = std::find_if(t->unexpected.begin(), t->unexpected.end(),
                                [&reason](const auto& e) {
                                  return e.first == reason;
                                });
          if (i == t->unexpected.end()) {
            t->unexpected.emplace_back(reason, 1);
          } else {
            ++i->second;
          }
        }
        if (--t->left == 0) {
          const auto& tmpl = self->specs_.front();
          for (const auto& [why, n] : t->unexpected) {
            child many;
            many.spec = tmpl;
            many.spec.id = fmt::format("{}*{}", tmpl.id, n);
            self->report(report_context::shutdown_error, many, why);
          }
          k();
        }
      });
    }
  }

  void terminate_children(done_fn k) {
    if (simple()) {
      terminate_all_at_once(std::move(k));
    } else {
      terminate_reverse(children_, std::move(k));
    }
  }

  // Starts `list` in order; the first failure stops there (its error in
  // OTP's form, the failing child reported). A temporary child that
  // ignores its start is forgotten; others stay, not running.
  void start_in_order(std::vector<child_ptr> list, result_fn k) {
    start_from(std::make_shared<const std::vector<child_ptr>>(std::move(list)),
               0, std::move(k));
  }

  void start_from(std::shared_ptr<const std::vector<child_ptr>> list, size_t i,
                  result_fn k) {
    if (i == list->size()) {
      k({});
      return;
    }
    auto c = (*list)[i];
    auto self = shared_from_this();
    start_one(c, [self, list = std::move(list), i, c,
                  k = std::move(k)](start_outcome out) mutable {
      if (out.error) {
        self->report(report_context::start_error, *c,
                     otp_reason(self->self_->system(), out.error));
        k(start_failure(self->self_->system(), c->spec.id,
                        std::move(out.error)));
        return;
      }
      if (out.ignored && c->spec.restart == restart_type::temporary) {
        self->erase(c);
      }
      self->start_from(std::move(list), i + 1, std::move(k));
    });
  }

  // -- exits and restarts -----------------------------------------------------

  // OTP's del_child: a temporary child (and every child of a
  // simple_one_for_one supervisor) is forgotten, the others stay, not
  // running.
  void del_child(const child_ptr& c) {
    c->handle = nullptr;
    if (c->spec.restart == restart_type::temporary || simple()) {
      erase(c);
    }
  }

  // OTP's do_restart: what the exit of child `c` (actor id `who`) leads
  // to.
  void on_child_exit(const child_ptr& c, const caf::error& reason,
                     std::uint64_t who, done_fn k) {
    c->handle = nullptr;
    switch (c->spec.restart) {
      case restart_type::permanent:
        report(report_context::child_terminated, *c, reason, who);
        restart(c, std::move(k));
        return;
      case restart_type::transient:
        if (actors::is_abnormal(reason)) {
          report(report_context::child_terminated, *c, reason, who);
          restart(c, std::move(k));
          return;
        }
        break;
      case restart_type::temporary:
        if (actors::is_abnormal(reason)) {
          report(report_context::child_terminated, *c, reason, who);
        }
        break;
    }
    del_child(c);
    if (c->spec.significant && significant_shutdown_due(*c)) {
      log()->info("event=sup.auto_shutdown child={}", c->spec.id);
      shutdown_and_quit(caf::exit_reason::user_shutdown, std::move(k));
      return;
    }
    k();
  }

  bool significant_shutdown_due(const child& exited) const {
    switch (flags_.auto_shutdown) {
      case auto_shutdown::never:
        return false;
      case auto_shutdown::any_significant:
        return true;
      case auto_shutdown::all_significant:
        return std::none_of(
          children_.begin(), children_.end(), [&exited](const child_ptr& c) {
            return c.get() != &exited && c->spec.significant && c->handle;
          });
    }
    return false;
  }

  // OTP's restart: one more restart within the period, else give up (a
  // report, and the supervisor exits with `shutdown`).
  void restart(const child_ptr& failed, done_fn k) {
    if (!window_.add(self_->clock().now())) {
      log()->error("event=sup.give_up child={} intensity={} period_ms={}",
                   failed->spec.id, flags_.intensity, flags_.period.count());
      report(report_context::shutdown, *failed,
             std::string{"reached_max_restart_intensity"});
      del_child(failed);
      shutdown_and_quit(caf::exit_reason::user_shutdown, std::move(k));
      return;
    }
    failed->restarts += 1;
    std::vector<child_ptr> affected;
    switch (flags_.strategy) {
      case strategy::one_for_one:
      case strategy::simple_one_for_one:
        affected = {failed};
        break;
      case strategy::one_for_all:
        affected = children_;
        break;
      case strategy::rest_for_one: {
        auto at = std::find(children_.begin(), children_.end(), failed);
        affected.assign(at, children_.end());
        break;
      }
    }
    log()->warn("event=sup.restart child={} strategy={} restarts={}",
                failed->spec.id, to_string(flags_.strategy), failed->restarts);
    count_restart();
    auto self = shared_from_this();
    terminate_reverse(affected, [self, affected, failed, k]() mutable {
      self->after_backoff(failed, [self, affected, k]() mutable {
        self->restart_in_order(
          std::make_shared<const std::vector<child_ptr>>(std::move(affected)),
          0, std::move(k));
      });
    });
  }

  // Starts the children a restart stopped, in order. One that fails to
  // start is reported and marked restarting, and the restart is tried
  // again (counting as another restart, as OTP's `try_again`).
  void restart_in_order(std::shared_ptr<const std::vector<child_ptr>> list,
                        size_t i, done_fn k) {
    if (i == list->size()) {
      k();
      return;
    }
    auto c = (*list)[i];
    auto self = shared_from_this();
    start_one(c, [self, list = std::move(list), i, c,
                  k = std::move(k)](start_outcome out) mutable {
      if (out.error) {
        self->report(report_context::start_error, *c, out.error);
        c->restarting = true;
        self->restart(c, std::move(k));
        return;
      }
      if (out.ignored && self->simple()) {
        self->erase(c);
      }
      self->restart_in_order(std::move(list), i + 1, std::move(k));
    });
  }

  void after_backoff(const child_ptr& c, done_fn k) {
    if (!flags_.restart_backoff || flags_.restart_backoff->max.count() == 0) {
      k();
      return;
    }
    const auto& b = *flags_.restart_backoff;
    auto shift = std::min<std::uint32_t>(c->consecutive, 20);
    c->consecutive += 1;
    auto delay = std::min(b.max, b.min * (1 << shift));
    std::uniform_real_distribution<double> jitter{0.0, b.jitter};
    delay += std::chrono::milliseconds{static_cast<std::int64_t>(
      static_cast<double>(delay.count()) * jitter(rng_))};
    auto id = ++backoff_seq_;
    backoff_waiting_[id] = std::move(k);
    self_->delayed_send(self_, delay, backoff_atom::value, id);
  }

  // -- shutdown ---------------------------------------------------------------

  void shutdown_and_quit(caf::error reason, done_fn k) {
    auto self = shared_from_this();
    terminate_children([self, reason, k]() mutable {
      self->tasks_.halt();
      self->self_->quit(reason);
      k();
    });
  }

  // -- lookup -----------------------------------------------------------------

  child_ptr find(const std::string& id) const {
    for (const auto& c : children_) {
      if (c->spec.id == id) {
        return c;
      }
    }
    return nullptr;
  }

  child_ptr find(const caf::actor_addr& addr) const {
    for (const auto& c : children_) {
      if (c->handle && c->handle.address() == addr) {
        return c;
      }
    }
    return nullptr;
  }

  void erase(const child_ptr& c) {
    children_.erase(std::remove(children_.begin(), children_.end(), c),
                    children_.end());
  }

  std::shared_ptr<spdlog::logger> log() const {
    const auto* cfg = runtime::troupe_config(self_->system());
    if (cfg != nullptr && cfg->logs) {
      return cfg->logs->get("supervision", "supervisor");
    }
    return null_logger();
  }

  void count_restart() const {
    const auto* cfg = runtime::troupe_config(self_->system());
    if (cfg != nullptr && cfg->metrics != nullptr) {
      cfg->metrics
        ->add_counter("troupe_supervisor_restarts_total",
                      "Children restarted by their supervisor")
        .inc();
    }
  }

  static std::shared_ptr<spdlog::logger> null_logger() {
    static auto logger = std::make_shared<spdlog::logger>("null");
    return logger;
  }

  child_info info(const child& c) const {
    auto up = c.handle ? std::chrono::duration_cast<std::chrono::milliseconds>(
                self_->clock().now() - c.started)
                       : std::chrono::milliseconds{0};
    return {.id = c.spec.id,
            .handle = c.handle,
            .type = c.spec.type,
            .restart = c.spec.restart,
            .restarts = c.restarts,
            .running = static_cast<bool>(c.handle),
            .uptime = up,
            .restarting = c.restarting};
  }

  // -- message handlers -------------------------------------------------------

  // True if `who` was being shut down; its continuation then runs.
  bool resolve_shutdown(const caf::actor_addr& who, const caf::error& reason) {
    auto i = awaiting_exit_.find(who);
    if (i == awaiting_exit_.end()) {
      return false;
    }
    auto k = std::move(i->second);
    awaiting_exit_.erase(i);
    k(reason);
    return true;
  }

  // Children and the parent are monitored; their exits arrive here.
  void on_down(caf::down_msg& dm) {
    if (resolve_shutdown(dm.source, dm.reason)) {
      return;
    }
    if (dm.source == parent_) {
      auto reason = dm.reason;
      enqueue([self = shared_from_this(), reason](done_fn k) {
        self->shutdown_and_quit(reason, std::move(k));
      });
      return;
    }
    auto c = find(dm.source);
    if (!c) {
      return; // a child we already gave up on
    }
    if (actors::is_abnormal(dm.reason)) {
      log()->warn("event=actor.exit child={} reason=\"{}\"", c->spec.id,
                  show(dm.reason));
    }
    auto addr = dm.source;
    auto reason = dm.reason;
    enqueue([self = shared_from_this(), c, addr, reason](done_fn k) {
      // The handle may have changed while the task waited.
      if (!c->handle || c->handle.address() != addr) {
        c->handle = nullptr;
      }
      self->on_child_exit(c, reason, addr.id(), std::move(k));
    });
  }

  caf::response_promise start_child(child_spec spec);
  void on_terminated(const caf::error& reason);
  caf::response_promise start_simple_child(caf::message args);
  caf::response_promise terminate_by_handle(const caf::actor& who);

  caf::event_based_actor* self_;
  supervisor_flags flags_;
  std::vector<child_spec> specs_;
  actors::start_options opts_;
  restart_window window_;
  caf::actor_addr parent_;
  std::vector<child_ptr> children_;
  actors::serial_tasks tasks_;
  std::map<caf::actor_addr, exit_fn> awaiting_exit_;
  std::map<std::uint64_t, done_fn> backoff_waiting_;
  std::uint64_t backoff_seq_ = 0;
  std::uint64_t simple_seq_ = 0;
  std::mt19937_64 rng_{seed_for(self_)};

  // The node's seed (mixed with this supervisor's id), else the OS's.
  static std::uint64_t seed_for(caf::event_based_actor* self) {
    const auto* cfg = runtime::troupe_config(self->system());
    if (cfg != nullptr && cfg->seed) {
      return *cfg->seed ^ (self->id() * 0x9e3779b97f4a7c15ULL);
    }
    return std::random_device{}();
  }
};

// OTP's start_child: a new child, `already_started` (with its handle) for
// the id of a running child, `already_present` for one not running.
caf::response_promise supervisor_state::start_child(child_spec spec) {
  auto rp = self_->make_response_promise();
  if (simple()) {
    rp.deliver(caf::make_error(errc::wrong_strategy,
                               "start a simple_one_for_one child with "
                               "arguments"));
    return rp;
  }
  if (auto err = validate(flags_, {spec})) {
    rp.deliver(err);
    return rp;
  }
  auto self = shared_from_this();
  enqueue([self, rp, spec](done_fn k) mutable {
    if (auto old = self->find(spec.id)) {
      if (old->handle) {
        rp.deliver(
          caf::make_error(errc::already_started, spec.id, old->handle));
      } else {
        rp.deliver(caf::make_error(errc::already_present, spec.id));
      }
      k();
      return;
    }
    auto c = std::make_shared<child>();
    c->spec = spec;
    self->start_one(c, [self, rp, c, k](start_outcome out) mutable {
      if (out.error) {
        rp.deliver(start_failure(self->self_->system(), c->spec.id,
                                 std::move(out.error)));
      } else {
        if (!out.ignored || c->spec.restart != restart_type::temporary) {
          self->children_.push_back(c);
        }
        rp.deliver(c->handle);
      }
      k();
    });
  });
  return rp;
}

caf::response_promise supervisor_state::start_simple_child(caf::message args) {
  auto rp = self_->make_response_promise();
  if (!simple()) {
    rp.deliver(caf::make_error(errc::wrong_strategy,
                               "only simple_one_for_one children start "
                               "from arguments"));
    return rp;
  }
  auto self = shared_from_this();
  enqueue([self, rp, args](done_fn k) mutable {
    auto c = std::make_shared<child>();
    c->spec = self->specs_.front();
    c->spec.id = fmt::format("{}/{}", c->spec.id, ++self->simple_seq_);
    c->args = args;
    self->start_one(c, [self, rp, c, k](start_outcome out) mutable {
      if (out.error) {
        rp.deliver(start_failure(self->self_->system(), c->spec.id,
                                 std::move(out.error)));
      } else {
        if (c->handle) {
          self->children_.push_back(c);
        }
        rp.deliver(c->handle);
      }
      k();
    });
  });
  return rp;
}

// OTP's terminate_child with a pid: any child, found by its handle; one
// that is gone already is `no_such_child`.
caf::response_promise
supervisor_state::terminate_by_handle(const caf::actor& who) {
  auto rp = self_->make_response_promise();
  auto self = shared_from_this();
  enqueue([self, rp, who](done_fn k) mutable {
    auto c = who ? self->find(who.address()) : nullptr;
    if (!c) {
      // As OTP's: a simple_one_for_one supervisor takes the handle of a
      // child that is gone already as done.
      bool gone = !who || who->getf(caf::abstract_actor::is_cleaned_up_flag);
      if (self->simple() && gone) {
        rp.deliver(caf::message{});
      } else {
        rp.deliver(caf::make_error(errc::no_such_child, "no such child"));
      }
      k();
      return;
    }
    self->terminate_one(c, [self, rp, c, k]() mutable {
      self->del_child(c);
      rp.deliver(caf::message{});
      k();
    });
  });
  return rp;
}

// The supervisor is gone with children still running (it was killed, or
// crashed): each gets the supervisor's exit reason at once, as OTP's
// linked children do (`killed` after a kill). Without this they would stay
// until no handle holds them and then exit `unreachable`.
void supervisor_state::on_terminated(const caf::error& reason) {
  for (const auto& c : children_) {
    if (c->handle) {
      auto why = reason ? reason : caf::error{caf::exit_reason::kill};
      c->handle->enqueue(
        nullptr, caf::make_message_id(),
        caf::make_message(caf::exit_msg{self_->address(), std::move(why)}),
        nullptr);
    }
  }
  // The actor is gone: drop what pending work still holds (its closures
  // hold this state, so they would keep it forever).
  children_.clear();
  awaiting_exit_.clear();
  backoff_waiting_.clear();
  tasks_ = actors::serial_tasks{};
}

caf::behavior supervisor_state::make_behavior() {
  parent_ = opts_.parent.address();
  self_->attach_functor([st = shared_from_this()](const caf::error& reason) {
    st->on_terminated(reason);
  });
  if (opts_.parent) {
    self_->monitor(opts_.parent);
    opts_.parent = nullptr; // the monitor is enough; keep no strong handle
  }
  // Supervisors trap exits: the parent's exit signal (how a parent
  // supervisor stops this one) shuts down in order; others are ignored.
  self_->set_exit_handler(
    [self = shared_from_this()](caf::scheduled_actor*, caf::exit_msg& em) {
      if (em.source == self->parent_) {
        auto reason = em.reason;
        self->enqueue([self, reason](done_fn k) {
          self->shutdown_and_quit(reason, std::move(k));
        });
      }
    });
  self_->set_down_handler(
    [self = shared_from_this()](caf::scheduled_actor*, caf::down_msg& dm) {
      self->on_down(dm);
    });
  self_->set_default_handler(caf::skip);
  if (!simple()) {
    for (const auto& spec : specs_) {
      auto c = std::make_shared<child>();
      c->spec = spec;
      children_.push_back(std::move(c));
    }
  }
  auto self = shared_from_this();
  return {
    [self](actors::init_atom) {
      auto rp = self->self_->make_response_promise();
      self->enqueue([self, rp](done_fn k) mutable {
        self->start_in_order(self->children_, [self, rp,
                                               k](caf::error err) mutable {
          if (!err) {
            self->self_->set_default_handler(
              actors::unexpected_message_handler("supervisor"));
            rp.deliver(actors::started_atom::value);
            k();
            return;
          }
          self->log()->error("event=sup.start_failed reason=\"{}\"",
                             self->self_->system().render(err));
          // As OTP's: the supervisor exits with {shutdown,
          // {failed_to_start_child, Id, Reason}}.
          auto exit_reason = actors::shutdown_with(fmt::format(
            "{{failed_to_start_child,{},{}}}", start_failure_child(err),
            otp_reason(self->self_->system(), *start_failure_cause(err))));
          self->terminate_children([self, rp, err, exit_reason, k]() mutable {
            rp.deliver(err);
            self->tasks_.halt();
            self->self_->quit(exit_reason);
            k();
          });
        });
      });
      return rp;
    },
    [self](actors::stop_atom, caf::error& reason) {
      self->enqueue([self, reason](done_fn k) {
        self->shutdown_and_quit(reason, std::move(k));
      });
    },
    [self](kill_timer_atom, const caf::actor& target) {
      if (self->awaiting_exit_.count(target.address()) > 0) {
        self->log()->warn("event=sup.kill_after_timeout actor={}", target.id());
        self->self_->send_exit(target, caf::exit_reason::kill);
      }
    },
    [self](backoff_atom, std::uint64_t id) {
      if (auto i = self->backoff_waiting_.find(id);
          i != self->backoff_waiting_.end()) {
        auto k = std::move(i->second);
        self->backoff_waiting_.erase(i);
        k();
      }
    },
    [self](start_child_atom, child_spec& spec) {
      return self->start_child(std::move(spec));
    },
    [self](start_child_atom, caf::message& args) {
      return self->start_simple_child(std::move(args));
    },
    [self](terminate_child_atom, const std::string& id) {
      return self->with_child(id, [self](child_ptr c, auto rp, done_fn k) {
        self->terminate_one(c, [self, rp, c, k]() mutable {
          self->del_child(c);
          c->restarting = false;
          rp.deliver(caf::message{});
          k();
        });
      });
    },
    [self](terminate_child_atom, const caf::actor& who) {
      return self->terminate_by_handle(who);
    },
    [self](restart_child_atom, const std::string& id) {
      return self->with_child(id, [self](child_ptr c, auto rp, done_fn k) {
        if (c->restarting) {
          rp.deliver(caf::make_error(errc::child_restarting, c->spec.id));
          k();
          return;
        }
        if (c->handle) {
          rp.deliver(caf::make_error(errc::child_running, c->spec.id));
          k();
          return;
        }
        self->start_one(c, [rp, c, k](start_outcome out) mutable {
          if (out.error) {
            rp.deliver(std::move(out.error));
          } else {
            rp.deliver(c->handle);
          }
          k();
        });
      });
    },
    [self](delete_child_atom, const std::string& id) {
      return self->with_child(id, [self](child_ptr c, auto rp, done_fn k) {
        if (c->restarting) {
          rp.deliver(caf::make_error(errc::child_restarting, c->spec.id));
        } else if (c->handle) {
          rp.deliver(caf::make_error(errc::child_running, c->spec.id));
        } else {
          self->erase(c);
          rp.deliver(caf::message{});
        }
        k();
      });
    },
    // OTP's order: the last started first.
    [self](which_children_atom) {
      std::vector<child_info> out;
      out.reserve(self->children_.size());
      for (auto i = self->children_.rbegin(); i != self->children_.rend();
           ++i) {
        out.push_back(self->info(**i));
      }
      return out;
    },
    [self](count_children_atom) {
      child_counts n;
      if (self->simple()) {
        // One spec; every child counts by the template's type.
        n.specs = 1;
        for (const auto& c : self->children_) {
          n.active += c->handle ? 1 : 0;
        }
        auto type = self->specs_.front().type;
        (type == child_type::supervisor ? n.supervisors : n.workers)
          = self->children_.size();
        return n;
      }
      for (const auto& c : self->children_) {
        n.specs += 1;
        n.active += c->handle ? 1 : 0;
        n.supervisors += c->spec.type == child_type::supervisor ? 1 : 0;
        n.workers += c->spec.type == child_type::worker ? 1 : 0;
      }
      return n;
    },
  };
}

} // namespace

caf::expected<caf::actor> spawn_supervisor(caf::actor_system& sys,
                                           supervisor_flags flags,
                                           std::vector<child_spec> specs,
                                           const actors::start_options& opts) {
  if (auto err = validate(flags, specs)) {
    return err;
  }
  return actors::detail::spawn_named(
    sys, opts,
    [flags, specs = std::move(specs), opts](caf::event_based_actor* self) {
      auto st = std::make_shared<supervisor_state>(self, flags, specs, opts);
      return st->make_behavior();
    });
}

caf::expected<caf::actor> start_supervisor(caf::actor_system& sys,
                                           supervisor_flags flags,
                                           std::vector<child_spec> specs,
                                           const actors::start_options& opts) {
  auto sup = spawn_supervisor(sys, flags, std::move(specs), opts);
  if (!sup) {
    return sup;
  }
  auto started = actors::detail::await_init<caf::actor>(sys, *sup,
                                                        std::chrono::hours{24});
  if (!started) {
    return std::move(started.error());
  }
  return *sup;
}

child_spec supervisor_child(std::string id, supervisor_flags flags,
                            std::vector<child_spec> specs) {
  child_spec spec;
  spec.id = std::move(id);
  spec.type = child_type::supervisor;
  spec.init_handshake = true;
  spec.init_timeout = std::chrono::hours{24};
  spec.start = [flags, specs](caf::actor_system& sys, const caf::actor& parent,
                              const caf::message&) {
    return spawn_supervisor(sys, flags, specs, {.parent = parent});
  };
  return spec;
}

} // namespace troupe::supervision
