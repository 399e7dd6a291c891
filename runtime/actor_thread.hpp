// Threads that run actors: nothing on them may wait for another thread.
#pragma once

namespace troupe::runtime {

/// Marks the calling thread as one that runs actors (a scheduler worker,
/// the I/O thread): code running on it must not wait for other threads,
/// or every actor queued behind it waits too.
void mark_actor_thread();

/// Whether the calling thread may wait for others (true on threads that
/// run no actors: a program's own threads, a blocking caller).
bool may_wait_here();

} // namespace troupe::runtime
