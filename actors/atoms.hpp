// Atoms of the actors layer (CAF 0.17 atoms: at most 10 characters).
#pragma once

#include <caf/atom.hpp>

namespace troupe::actors {

/// Asks a freshly spawned behaviour to run its `init`.
using init_atom = caf::atom_constant<caf::atom("tr_init")>;
/// `init` succeeded; the behaviour runs.
using started_atom = caf::atom_constant<caf::atom("tr_started")>;
/// `init` asked to be ignored; the behaviour has exited normally.
using ignored_atom = caf::atom_constant<caf::atom("tr_ignored")>;
/// Asks a behaviour to stop with a reason (`terminate` runs first).
using stop_atom = caf::atom_constant<caf::atom("tr_stop")>;

} // namespace troupe::actors
