# shellcheck shell=bash
# Helpers for the credential end-to-end tests (sourced after lib.sh).  The
# test file sets SECRETS, the array of every secret value it uses.

# no_secrets FILE...: none of the secrets appears in any of the files.
no_secrets()
{
	local f i
	for f in "$@"; do
		[ -e "$f" ] || continue
		for i in "${!SECRETS[@]}"; do
			# The reason names the secret by number: the log is output too.
			grep -aqF -- "${SECRETS[$i]}" "$f" && fail "$f contains secret #$i (SECRETS[$i])"
		done
	done
	return 0
}
