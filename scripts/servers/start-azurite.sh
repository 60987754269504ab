#!/usr/bin/env bash
# A throw-away Azurite (the Azure Blob emulator) on 127.0.0.1, for cairn's
# Azure tests.
#
#   scripts/servers/start-azurite.sh start   starts, waits, prints KEY=VALUE env
#   scripts/servers/start-azurite.sh stop    kills the server by its recorded PID
#                                            and wipes the state directory
#
# Env knobs:
#   AZURITE_DIR    state dir (default ${TMPDIR:-/tmp}/cairn-azurite.PORT);
#                  created by start, wiped by stop
#   AZURITE_PORT   blob service port (default 10000)
#   AZURITE_DEBUG=1  Azurite's (large) debug log in AZURITE_DIR/debug.log
#
# Azurite itself is the npm package pinned by scripts/servers/azurite/
# (package.json + package-lock.json), installed next to them by
# `scripts/install-deps servers` (npm ci); this script runs that when it is
# missing.  Azurite 3.35.0 is the newest release that runs on Debian 12's
# node 20.
#
# Account: devstoreaccount1 with the emulator's well-known key (public,
# printed in Microsoft's documentation: not a secret); path-style URLs
# http://127.0.0.1:PORT/devstoreaccount1/<container>/<blob>.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PORT=${AZURITE_PORT:-10000}
DIR=${AZURITE_DIR:-${TMPDIR:-/tmp}/cairn-azurite.$PORT}
BIN=$ROOT/scripts/servers/azurite/node_modules/.bin/azurite-blob
MARK=.cairn-azurite
ACCOUNT=devstoreaccount1
KEY=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==
# shellcheck source=scripts/servers/lib.sh
. "$ROOT/scripts/servers/lib.sh"

stop() {
	[ -d "$DIR" ] || return 0
	srv_ours azurite || return 1
	srv_kill "$DIR/azurite.pid"
	rm -rf "$DIR"
}

start() {
	if [ ! -x "$BIN" ] || ! command -v node >/dev/null; then
		"$ROOT/scripts/install-deps" servers >&2
		[ -x "$BIN" ] || { echo "azurite: not installed (scripts/install-deps servers)" >&2; exit 1; }
	fi
	if [ -e "$DIR" ]; then
		stop
	fi
	mkdir -p "$DIR/data"
	touch "$DIR/$MARK"
	local debug=()
	[ "${AZURITE_DEBUG:-0}" = 1 ] && debug=(--debug "$DIR/debug.log")
	# --disableTelemetry: otherwise Azurite sets up Application Insights
	# and tries to reach the internet.  --skipApiVersionCheck: accept any
	# x-ms-version.
	nohup "$BIN" --blobHost 127.0.0.1 --blobPort "$PORT" --location "$DIR/data" \
		--silent --skipApiVersionCheck --disableTelemetry "${debug[@]}" \
		>"$DIR/azurite.log" 2>&1 </dev/null &
	echo $! >"$DIR/azurite.pid"
	for _ in $(seq 300); do
		if curl -s -o /dev/null "http://127.0.0.1:$PORT/$ACCOUNT?comp=list"; then
			echo "AZURE_BLOB_ENDPOINT=http://127.0.0.1:$PORT/$ACCOUNT"
			echo "AZURE_ACCOUNT=$ACCOUNT"
			echo "AZURE_KEY=$KEY"
			return 0
		fi
		srv_is_alive "$(cat "$DIR/azurite.pid")" || break
		sleep 0.1
	done
	echo "azurite: did not come up:" >&2
	tail -n 20 "$DIR/azurite.log" >&2
	stop
	return 1
}

srv_main "$@"
