#!/usr/bin/env bash
# Build a Debian bookworm base image with Python 3.11 from Debian's packages, for machines
# that reach Debian's mirror but no image registry (the container tests use it as the
# Dockerfile's BASE_IMAGE). Quick when the image already exists.
#
#   scripts/docker-base.sh [IMAGE]        default IMAGE: local/debian-python:bookworm
set -euo pipefail

image=${1:-local/debian-python:bookworm}
if docker image inspect "$image" >/dev/null 2>&1; then
    exit 0
fi
command -v debootstrap >/dev/null 2>&1 || {
    echo "docker-base: debootstrap is missing (apt-get install debootstrap)" >&2
    exit 1
}
mirror=$(sed -n 's/^URIs: *\(http[^ ]*debian\)$/\1/p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -1)
mirror=${mirror:-http://deb.debian.org/debian}
root=$(mktemp -d /tmp/callproc-rootfs.XXXXXX)
trap 'rm -rf "$root"' EXIT
echo "building $image from Debian bookworm ($mirror), about two minutes ..."
debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates \
    bookworm "$root" "$mirror" >/tmp/callproc-debootstrap.log 2>&1 || {
    echo "docker-base: debootstrap failed; see /tmp/callproc-debootstrap.log" >&2
    exit 1
}
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
# This machine's CA bundle: where its TLS to the registries passes a proxy with a CA of its
# own, builds on this image (pip) must trust that CA as the machine does.
cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
tar -C "$root" -c . | docker import \
    --change 'ENV LANG=C.UTF-8' \
    --change 'ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt' \
    --change 'ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt' \
    --change 'CMD ["/bin/bash"]' - "$image" >/dev/null
echo "built $image"
