// Atoms of the supervision layer (CAF 0.17 atoms: at most 10 characters).
#pragma once

#include <caf/atom.hpp>

namespace troupe::supervision {

using start_child_atom = caf::atom_constant<caf::atom("tr_startc")>;
using terminate_child_atom = caf::atom_constant<caf::atom("tr_termc")>;
using restart_child_atom = caf::atom_constant<caf::atom("tr_restc")>;
using delete_child_atom = caf::atom_constant<caf::atom("tr_delc")>;
using which_children_atom = caf::atom_constant<caf::atom("tr_whichc")>;
using count_children_atom = caf::atom_constant<caf::atom("tr_countc")>;
/// A child that ignored its shutdown request for too long gets killed.
using kill_timer_atom = caf::atom_constant<caf::atom("tr_killt")>;
/// A restart delayed by the backoff is due.
using backoff_atom = caf::atom_constant<caf::atom("tr_backoff")>;

// The application controller's requests.
using load_app_atom = caf::atom_constant<caf::atom("tr_appload")>;
using unload_app_atom = caf::atom_constant<caf::atom("tr_appunld")>;
using start_app_atom = caf::atom_constant<caf::atom("tr_appstrt")>;
using ensure_apps_atom = caf::atom_constant<caf::atom("tr_appens")>;
using stop_app_atom = caf::atom_constant<caf::atom("tr_appstop")>;
using stop_apps_atom = caf::atom_constant<caf::atom("tr_appsall")>;
using which_apps_atom = caf::atom_constant<caf::atom("tr_appwhch")>;

} // namespace troupe::supervision
