# Sourced by the shell checks: wait_for SECONDS COMMAND... runs COMMAND until
# it succeeds or SECONDS have passed (then returns 1). The pause between
# tries only bounds how late success is noticed; the condition decides.
wait_for() {
  local deadline=$(($(date +%s) + $1))
  shift
  until "$@"; do
    [ "$(date +%s)" -lt "$deadline" ] || return 1
    sleep 0.2
  done
}
