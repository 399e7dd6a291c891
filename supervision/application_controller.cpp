// The application controller: loads, starts and stops a node's
// applications under its root supervisor and applies their restart types.
#include "application_controller.hpp"

#include "../actors/blocking_request.hpp"
#include "../actors/crash_report.hpp"
#include "../actors/serial_tasks.hpp"
#include "../runtime/errors.hpp"
#include "../runtime/system_config.hpp"
#include "atoms.hpp"
#include "errors.hpp"
#include "supervisor.hpp"

#include <caf/event_based_actor.hpp>
#include <caf/exit_reason.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <memory>

namespace troupe::supervision {

namespace {

using clock_type = std::chrono::steady_clock;
using done_fn = actors::serial_tasks::done_fn;
using result_fn = std::function<void(caf::error)>;

struct app_entry {
  application_spec spec;
  app_status status = app_status::loaded;
  caf::actor sup{};
  clock_type::time_point started{};
  std::string last_exit{};
};

class controller_state : public std::enable_shared_from_this<controller_state> {
public:
  controller_state(caf::event_based_actor* self, controller_options opts)
    : self_(self), opts_(std::move(opts)) {}

  caf::behavior make_behavior();

private:
  std::shared_ptr<spdlog::logger> log() const {
    const auto* cfg = runtime::troupe_config(self_->system());
    if (cfg != nullptr && cfg->logs) {
      return cfg->logs->get("supervision", "apps");
    }
    static auto null_logger = std::make_shared<spdlog::logger>("null");
    return null_logger;
  }

  app_entry* find(const std::string& name) {
    auto i = apps_.find(name);
    return i == apps_.end() ? nullptr : &i->second;
  }

  caf::error not_loaded(const std::string& name) const {
    return caf::make_error(errc::no_such_application,
                           fmt::format("application \"{}\" is not loaded",
                                       name));
  }

  // Starts one loaded application whose dependencies run; `k` gets the
  // outcome.
  void start_one(const std::string& name, result_fn k) {
    auto* app = find(name);
    if (app == nullptr) {
      k(not_loaded(name));
      return;
    }
    if (app->status != app_status::loaded) {
      k(caf::error{}); // already running: nothing to do
      return;
    }
    for (const auto& dep : app->spec.dependencies) {
      const auto* d = find(dep);
      if (d == nullptr || d->status != app_status::running) {
        k(caf::make_error(errc::dependency_not_running,
                          fmt::format("application \"{}\" needs \"{}\", "
                                      "which is not running",
                                      name, dep)));
        return;
      }
    }
    app->status = app_status::starting;
    auto child = supervisor_child(name, app->spec.flags, app->spec.children);
    child.restart = restart_type::temporary; // applications never restart
    auto self = shared_from_this();
    self_->request(opts_.root, caf::infinite, start_child_atom::value, child)
      .then(
        [self, name, k](caf::actor& sup) {
          auto* a = self->find(name);
          a->status = app_status::running;
          a->sup = sup;
          a->started = self->self_->clock().now();
          self->self_->monitor(sup);
          self->order_.push_back(name);
          self->log()->info("event=app.start name={} type={} version={}", name,
                            to_string(a->spec.restart),
                            a->spec.version.empty() ? "-" : a->spec.version);
          k(caf::error{});
        },
        [self, name, k](caf::error& err) {
          self->find(name)->status = app_status::loaded;
          self->log()->error("event=app.start_failed name={} reason=\"{}\"",
                             name, runtime::describe(err));
          k(caf::make_error(errc::child_start_failed,
                            fmt::format("application \"{}\": {}", name,
                                        runtime::describe(err))));
        });
  }

  // Starts `names` one after another, stopping at the first failure.
  void
  start_chain(std::vector<std::string> names, std::size_t i,
              std::vector<std::string> started,
              std::function<void(caf::expected<std::vector<std::string>>)> k) {
    if (i == names.size()) {
      k(std::move(started));
      return;
    }
    auto self = shared_from_this();
    auto was_running = find(names[i])->status != app_status::loaded;
    start_one(names[i], [self, names, i, started, was_running,
                         k](caf::error err) mutable {
      if (err) {
        k(std::move(err));
        return;
      }
      if (!was_running) {
        started.push_back(names[i]);
      }
      self->start_chain(std::move(names), i + 1, std::move(started),
                        std::move(k));
    });
  }

  void stop_one(const std::string& name, result_fn k) {
    auto* app = find(name);
    if (app == nullptr) {
      k(not_loaded(name));
      return;
    }
    if (app->status != app_status::running) {
      k(caf::make_error(errc::application_not_running,
                        fmt::format("application \"{}\" is not running",
                                    name)));
      return;
    }
    app->status = app_status::stopping;
    auto self = shared_from_this();
    self_
      ->request(opts_.root, caf::infinite, terminate_child_atom::value, name)
      // An error means the tree went away by itself meanwhile: stopped all
      // the same.
      .then([self, name, k] { self->stopped(name, k); },
            [self, name, k](caf::error&) { self->stopped(name, k); });
  }

  void stopped(const std::string& name, const result_fn& k) {
    finish(*find(name), caf::exit_reason::user_shutdown, "stopped");
    log()->info("event=app.stop name={}", name);
    k(caf::error{});
  }

  // Marks an application as no longer running and runs its stop hook.
  void finish(app_entry& app, const caf::error& reason, std::string how) {
    app.status = app_status::loaded;
    app.sup = nullptr;
    app.last_exit = std::move(how);
    order_.erase(std::remove(order_.begin(), order_.end(), app.spec.name),
                 order_.end());
    if (app.spec.on_stop) {
      app.spec.on_stop(reason);
    }
  }

  void stop_reverse(done_fn k) {
    if (order_.empty()) {
      k();
      return;
    }
    auto self = shared_from_this();
    stop_one(order_.back(), [self, k](caf::error) { self->stop_reverse(k); });
  }

  // A top supervisor exited without being asked to.
  void on_down(const caf::down_msg& dm) {
    auto i = std::find_if(apps_.begin(), apps_.end(), [&dm](const auto& kv) {
      return kv.second.sup && kv.second.sup.address() == dm.source;
    });
    if (i == apps_.end() || i->second.status != app_status::running) {
      return; // stopped by request: handled by stop_one
    }
    auto& app = i->second;
    auto text = otp_reason(self_->system(), dm.reason);
    auto stop_node = stops_node(app.spec.restart, dm.reason);
    finish(app, dm.reason, "exited: " + text);
    if (!stop_node) {
      log()->info("event=app.exit name={} type={} reason=\"{}\"", app.spec.name,
                  to_string(app.spec.restart), text);
      return;
    }
    log()->error("event=app.exit name={} type={} reason=\"{}\" "
                 "action=stop_node",
                 app.spec.name, to_string(app.spec.restart), text);
    if (!node_stopping_ && opts_.stop_node) {
      node_stopping_ = true;
      opts_.stop_node(caf::make_error(
        errc::application_terminated,
        fmt::format("{} application \"{}\" exited: {}",
                    to_string(app.spec.restart), app.spec.name, text)));
    }
  }

  std::vector<application_info> which() const {
    std::vector<application_info> out;
    auto now = self_->clock().now();
    for (const auto& [name, app] : apps_) {
      auto up = app.status == app_status::running
                  ? std::chrono::duration_cast<std::chrono::milliseconds>(
                    now - app.started)
                  : std::chrono::milliseconds{0};
      out.push_back({.name = name,
                     .description = app.spec.description,
                     .version = app.spec.version,
                     .restart = app.spec.restart,
                     .status = app.status,
                     .supervisor = app.sup,
                     .uptime = up,
                     .last_exit = app.last_exit});
    }
    return out;
  }

  dependency_graph graph() const {
    dependency_graph g;
    for (const auto& [name, app] : apps_) {
      g.emplace(name, app.spec.dependencies);
    }
    return g;
  }

  caf::event_based_actor* self_;
  controller_options opts_;
  std::map<std::string, app_entry> apps_;
  std::vector<std::string> order_; // running applications, in start order
  actors::serial_tasks tasks_;
  bool node_stopping_ = false;
};

caf::behavior controller_state::make_behavior() {
  auto self = shared_from_this();
  self_->set_down_handler([self](caf::down_msg& dm) { self->on_down(dm); });
  self_->set_default_handler(
    actors::unexpected_message_handler("application_controller"));
  return {
    [self](load_app_atom, application_spec& spec) -> caf::result<void> {
      if (auto err = validate(spec)) {
        return err;
      }
      if (self->find(spec.name) != nullptr) {
        return caf::make_error(errc::application_already_loaded,
                               fmt::format("application \"{}\" is already "
                                           "loaded",
                                           spec.name));
      }
      auto name = spec.name;
      self->apps_.emplace(name, app_entry{.spec = std::move(spec)});
      return caf::unit;
    },
    [self](unload_app_atom, const std::string& name) -> caf::result<void> {
      auto* app = self->find(name);
      if (app == nullptr) {
        return self->not_loaded(name);
      }
      if (app->status != app_status::loaded) {
        return caf::make_error(errc::application_running,
                               fmt::format("application \"{}\" is {}", name,
                                           to_string(app->status)));
      }
      self->apps_.erase(name);
      return caf::unit;
    },
    [self](start_app_atom, const std::string& name) {
      auto rp = self->self_->make_response_promise();
      self->tasks_.enqueue([self, rp, name](done_fn k) mutable {
        self->start_one(name, [rp, k](caf::error err) mutable {
          actors::deliver_done(rp, std::move(err));
          k();
        });
      });
      return rp;
    },
    [self](ensure_apps_atom, const std::string& name) {
      auto rp = self->self_->make_response_promise();
      self->tasks_.enqueue([self, rp, name](done_fn k) mutable {
        auto order = start_order(self->graph(), name);
        if (!order) {
          rp.deliver(std::move(order.error()));
          k();
          return;
        }
        self->start_chain(
          std::move(*order), 0, {},
          [rp, k](caf::expected<std::vector<std::string>> started) mutable {
            if (started) {
              rp.deliver(std::move(*started));
            } else {
              rp.deliver(std::move(started.error()));
            }
            k();
          });
      });
      return rp;
    },
    [self](stop_app_atom, const std::string& name) {
      auto rp = self->self_->make_response_promise();
      self->tasks_.enqueue([self, rp, name](done_fn k) mutable {
        self->stop_one(name, [rp, k](caf::error err) mutable {
          actors::deliver_done(rp, std::move(err));
          k();
        });
      });
      return rp;
    },
    [self](stop_apps_atom) {
      auto rp = self->self_->make_response_promise();
      self->node_stopping_ = true;
      self->tasks_.enqueue([self, rp](done_fn k) mutable {
        self->stop_reverse([rp, k]() mutable {
          rp.deliver(caf::message{});
          k();
        });
      });
      return rp;
    },
    [self](which_apps_atom) { return self->which(); },
  };
}

} // namespace

std::string to_string(app_status x) {
  switch (x) {
    case app_status::loaded:
      return "loaded";
    case app_status::starting:
      return "starting";
    case app_status::running:
      return "running";
    case app_status::stopping:
      return "stopping";
  }
  return "app_status(?)";
}

caf::actor spawn_application_controller(caf::actor_system& sys,
                                        controller_options opts) {
  return sys.spawn([opts = std::move(opts)](caf::event_based_actor* self) {
    auto st = std::make_shared<controller_state>(self, opts);
    return st->make_behavior();
  });
}

// -- application_client -------------------------------------------------------

caf::error application_client::load(application_spec spec) {
  return actors::request_done(*sys_, ctl_, load_app_atom::value,
                              std::move(spec));
}

caf::error application_client::unload(const std::string& name) {
  return actors::request_done(*sys_, ctl_, unload_app_atom::value, name);
}

caf::error application_client::start(const std::string& name) {
  return actors::request_done(*sys_, ctl_, start_app_atom::value, name);
}

caf::expected<std::vector<std::string>>
application_client::ensure_all_started(const std::string& name) {
  return actors::request_blocking<std::vector<std::string>>(
    *sys_, ctl_, ensure_apps_atom::value, name);
}

caf::error application_client::stop(const std::string& name) {
  return actors::request_done(*sys_, ctl_, stop_app_atom::value, name);
}

caf::error application_client::stop_all() {
  return actors::request_done(*sys_, ctl_, stop_apps_atom::value);
}

caf::expected<std::vector<application_info>>
application_client::which_applications() {
  return actors::request_blocking<std::vector<application_info>>(
    *sys_, ctl_, which_apps_atom::value);
}

} // namespace troupe::supervision
