#!/usr/bin/env bash
# The Docker engine the container tests need, from Debian's packages (docker.io,
# docker-compose v1, debootstrap), started by hand where no init system runs it.
#
#   scripts/docker-daemon.sh start   prints "running" (it was up) or "started" (by us)
#   scripts/docker-daemon.sh stop    stops the engine only if `start` started it
set -euo pipefail

pidfile=/tmp/callproc-dockerd.pid
log=/tmp/callproc-dockerd.log

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"
    elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo -n "$@"
    else echo "docker-daemon: needs root (or sudo) for: $*" >&2; exit 1
    fi
}

case "${1:-}" in
start)
    if docker info >/dev/null 2>&1; then echo running; exit 0; fi
    need=()
    command -v dockerd >/dev/null 2>&1 || need+=(docker.io)
    command -v docker-compose >/dev/null 2>&1 || need+=(docker-compose)
    command -v debootstrap >/dev/null 2>&1 || need+=(debootstrap)
    if [ ${#need[@]} -gt 0 ]; then
        echo "installing ${need[*]} (Debian packages) ..." >&2
        export DEBIAN_FRONTEND=noninteractive
        as_root apt-get install -y -q --no-install-recommends "${need[@]}" >/tmp/callproc-apt-docker.log 2>&1 || {
            as_root apt-get update -q >>/tmp/callproc-apt-docker.log 2>&1
            as_root apt-get install -y -q --no-install-recommends "${need[@]}" >>/tmp/callproc-apt-docker.log 2>&1 || {
                echo "docker-daemon: apt-get install ${need[*]} failed; see /tmp/callproc-apt-docker.log" >&2
                exit 1
            }
        }
    fi
    group=()  # not root: the engine's socket is given our group, so our docker commands work
    [ "$(id -u)" -eq 0 ] || group=(--group "$(id -gn)")
    as_root sh -c "dockerd ${group[*]} >$log 2>&1 & echo \$! >$pidfile"
    for _ in $(seq 1 60); do
        if docker info >/dev/null 2>&1; then echo started; exit 0; fi
        sleep 1
    done
    echo "docker-daemon: dockerd did not come up in 60 s; last lines of $log:" >&2
    tail -n 20 "$log" >&2 || true
    exit 1
    ;;
stop)
    if [ -f "$pidfile" ]; then
        pid=$(cat "$pidfile")
        as_root kill "$pid" 2>/dev/null || true
        for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
        as_root rm -f "$pidfile"
        echo stopped
    fi
    ;;
*)
    echo "usage: $0 start|stop" >&2
    exit 2
    ;;
esac
