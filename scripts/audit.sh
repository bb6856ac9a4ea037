#!/usr/bin/env bash
# `make audit` (and `make test`): pip-audit on each lock file, against PyPI's advisories.
# Exit 0: every dependency checked, no known vulnerability. 1: a vulnerability is known
# (pip-audit lists it). 3: the advisory service answered for none of the dependencies
# (unreachable, or a mirror without PyPI's per-release data): nothing was checked.
#
#   scripts/audit.sh PIP_AUDIT LOCKFILE...
set -uo pipefail

audit=$1
shift
status=0
for lock in "$@"; do
    out=$("$audit" --requirement "$lock" --require-hashes --disable-pip --progress-spinner off 2>&1)
    code=$?
    deps=$(grep -cE '^[a-zA-Z0-9_.-]+==' "$lock")
    skipped=$(grep -c "could not be audited" <<<"$out")
    if [ "$code" -ne 0 ] && grep -q "^Found [0-9]* known vulnerabilit" <<<"$out"; then
        echo "$out"
        echo "audit: $lock: known vulnerabilities (above)" >&2
        status=1
    elif [ "$code" -ne 0 ] || [ "$skipped" -ge "$deps" ]; then
        echo "audit: $lock: the advisory service answered for none of its $deps dependencies" \
            "(PyPI's vulnerability data unreachable from here); nothing was checked" >&2
        grep -m 3 -iE "error|could not be audited" <<<"$out" | sed 's/^/  /' >&2
        [ $status -eq 1 ] || status=3
    elif [ "$skipped" -gt 0 ]; then
        echo "audit: $lock: no known vulnerabilities in $((deps - skipped)) of $deps dependencies;" \
            "$skipped could not be checked:"
        grep "could not be audited" <<<"$out" | sed 's/^/  /'
    else
        echo "audit: $lock: no known vulnerabilities in its $deps dependencies"
    fi
done
exit $status
