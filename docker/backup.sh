#!/bin/sh
# The stack's backup job (docker-compose.yml, service `backup`): a pg_dump of the callproc
# database as its owner into /backups now and then every BACKUP_EVERY_SECS, dumps older than
# BACKUP_KEEP_DAYS removed. Custom format: restore with pg_restore (docs/deploy.md).
set -eu
every=${BACKUP_EVERY_SECS:-86400}
keep=${BACKUP_KEEP_DAYS:-14}
until pg_isready -q; do sleep 2; done
while true; do
    name="callproc-$(date -u +%Y%m%dT%H%M%SZ).dump"
    if pg_dump --format=custom --no-owner --file="/backups/$name.part"; then
        mv "/backups/$name.part" "/backups/$name"
        echo "backup: wrote /backups/$name ($(wc -c <"/backups/$name") bytes)"
    else
        rm -f "/backups/$name.part"
        echo "backup: pg_dump failed; next attempt in ${every}s" >&2
    fi
    find /backups -name 'callproc-*.dump' -mtime +"$keep" -print -delete
    sleep "$every" &
    wait $!
done
