// Threads that run actors.
#include "actor_thread.hpp"

namespace troupe::runtime {

namespace {

thread_local bool runs_actors = false;

} // namespace

void mark_actor_thread() {
  runs_actors = true;
}

bool may_wait_here() {
  return !runs_actors;
}

} // namespace troupe::runtime
