#!/bin/sh
# Managed by djangoprod.stack (nginx role).
# usage: djangoprod-nginx-check-site TARGET CANDIDATE
# Runs `nginx -t` on the live configuration with TARGET (a file under
# /etc/nginx/sites-enabled/) replaced by CANDIDATE, without touching either.
set -eu
target=$1
candidate=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/sites"
for site in /etc/nginx/sites-enabled/*.conf; do
  if [ -e "$site" ] && [ "$site" != "$target" ]; then
    cp "$site" "$tmp/sites/"
  fi
done
cp "$candidate" "$tmp/sites/$(basename "$target")"
sed "s#/etc/nginx/sites-enabled/\*\.conf#$tmp/sites/*.conf#" /etc/nginx/nginx.conf >"$tmp/nginx.conf"
nginx -t -q -c "$tmp/nginx.conf"
