// CAF's work-stealing scheduler whose workers also read sockets.
#pragma once

#include <caf/actor_system.hpp>

namespace troupe::runtime {

/// Builds the scheduler module for an actor system whose configuration is
/// a `system_config` with a poller. It schedules like CAF's work stealing
/// (same settings), and its workers watch the poller's sockets:
///  - a worker out of jobs looks at the sockets while it spins (CAF's
///    counts of polls, but at most 250 us), so a frame that arrives during
///    the spin is read and its actor run on the same thread, with no
///    wake-up at all; it yields its core between looks, so that threads
///    with work (a blocked caller that was just woken, the other process
///    of a round trip) run meanwhile;
///  - once the spin is over, one idle worker waits in the poller instead of
///    on its condition variable (the others sleep as usual), and a job for
///    it from outside the scheduler wakes it through the poller;
///  - a busy worker looks at the sockets every few jobs, so frames are read
///    while every worker is busy.
/// Erlang's schedulers check for input the same way.
/// Its workers mark their threads (`mark_actor_thread`).
caf::actor_system::module* make_io_scheduler(caf::actor_system& sys);

/// CAF's work stealing (without a poller) and work sharing, as CAF builds
/// them, but with workers that mark their threads.
caf::actor_system::module* make_stealing_scheduler(caf::actor_system& sys);
caf::actor_system::module* make_sharing_scheduler(caf::actor_system& sys);

} // namespace troupe::runtime
