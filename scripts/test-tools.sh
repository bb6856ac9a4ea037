#!/usr/bin/env bash
# System tools the test suite needs beyond Python: Chromium (the operator console's browser
# test), promtool and amtool (the alert rules' and Alertmanager templates' tests). Installed
# from Debian's packages when missing; quick when already there.
set -euo pipefail

need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v promtool >/dev/null 2>&1 || need+=(prometheus)
command -v amtool >/dev/null 2>&1 || need+=(prometheus-alertmanager)
if [ ${#need[@]} -eq 0 ]; then
    exit 0
fi
echo "installing ${need[*]} for the tests (Debian packages) ..."
if [ "$(id -u)" -eq 0 ]; then
    sudo=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo=(sudo -n)
else
    echo "test-tools: need ${need[*]}; install them (apt-get install ${need[*]}) or run as root" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
if ! "${sudo[@]}" apt-get install -y -q --no-install-recommends "${need[@]}" >/tmp/callproc-apt.log 2>&1; then
    "${sudo[@]}" apt-get update -q >/tmp/callproc-apt.log 2>&1
    "${sudo[@]}" apt-get install -y -q --no-install-recommends "${need[@]}" >>/tmp/callproc-apt.log 2>&1 || {
        echo "test-tools: apt-get install ${need[*]} failed; see /tmp/callproc-apt.log" >&2
        exit 1
    }
fi
