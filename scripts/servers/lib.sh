# shellcheck shell=bash
# What the start-*.sh scripts of the test servers share (sourced after
# they set DIR, their state directory, and MARK, the file in it that says
# the directory is theirs):
#   srv_is_alive PID        a zombie (exited, not yet reaped) counts as stopped
#   srv_ours NAME           refuses (with a message) a DIR that is not ours
#   srv_kill PIDFILE...     stops the recorded processes
#   srv_main "$@"           start|stop dispatch to the script's start and stop

srv_is_alive() { local s; s=$(ps -o stat= -p "$1" 2>/dev/null) || return 1; [ "${s#Z}" = "$s" ]; }

# Never wipe a directory the script did not make.
srv_ours() {
	[ -e "$DIR/$MARK" ] || { echo "$1: $DIR is not ours; not touching it" >&2; return 1; }
}

# TERM to every process of the PID files (which are removed), up to 5 s for
# all of them together to exit, then KILL.  Servers that must stop in
# order take one call each.
srv_kill() {
	local pidf pid pids="" alive
	for pidf in "$@"; do
		[ -e "$pidf" ] || continue
		pid=$(cat "$pidf")
		rm -f "$pidf"
		kill "$pid" 2>/dev/null && pids="$pids $pid"
	done
	for _ in $(seq 50); do
		alive=""
		for pid in $pids; do srv_is_alive "$pid" && alive="$alive $pid"; done
		pids=$alive
		[ -z "$pids" ] && break
		sleep 0.1
	done
	for pid in $pids; do kill -9 "$pid" 2>/dev/null || true; done
}

srv_main() {
	case "${1:-}" in
	start) start ;;
	stop) stop ;;
	*)
		echo "usage: $0 start|stop" >&2
		exit 2
		;;
	esac
}
