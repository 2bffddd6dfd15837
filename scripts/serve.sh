#!/bin/sh
# serve.sh — quick start: installs what is missing, builds, starts a private
# PostgreSQL when no database is configured, and runs dejaviewd in the
# foreground on http://127.0.0.1:8080 (raw TCP on 127.0.0.1:7070; /healthz,
# /readyz and /metrics also on http://127.0.0.1:8081).
#
#   DV_DATABASE=conninfo   use this database instead of a private cluster
#   DV_CONFIG=file         use this config instead of conf/dejaview.yaml
#                          (conf/example.yaml: the example plugins, no models)
# The first run makes an admin key (var/admin.key) and a tenant "demo" whose
# API key is in var/demo.key.
set -eu
cd "$(dirname "$0")/.."
top=$(pwd)
scripts/deps.sh
scripts/build.sh
make -s models
mkdir -p var
if [ -z "${DV_DATABASE:-}" ]; then
	DV_DATABASE=$(scripts/pg.sh start "$top/var/pg")
	echo "serve.sh: private PostgreSQL running ($DV_DATABASE); stop it with scripts/pg.sh stop"
fi
conf=${DV_CONFIG:-conf/dejaview.yaml}
# Run from the build tree: plugins from plugins/.libs, models from models/.
sed -e "s|^database:.*|database: \"$DV_DATABASE\"|" "$conf" >var/dejaview.yaml
grep -q '^plugin_dir:' var/dejaview.yaml || echo "plugin_dir: \"$top/plugins/.libs\"" >>var/dejaview.yaml
grep -q '^model_dir:' var/dejaview.yaml || echo "model_dir: \"$top/models\"" >>var/dejaview.yaml
grep -q "^web:" var/dejaview.yaml || printf "web:\n  dir: \"%s/web\"\n" "$top" >>var/dejaview.yaml
# An admin key (for /v1/admin/...) and a first tenant, made once and kept in var/.
umask 077
if [ ! -s var/admin.key ]; then
	./dejaviewd admin key >var/admin.key 2>var/admin.sha256.txt
fi
hash=$(sed -n 's/.*key_sha256: "\(.*\)"/\1/p' var/admin.sha256.txt)
grep -q '^admin:' var/dejaview.yaml || printf 'admin:\n  key_sha256: "%s"\n' "$hash" >>var/dejaview.yaml
./dejaviewd --check-config -c var/dejaview.yaml
if [ ! -s var/demo.key ]; then
	./dejaviewd -c var/dejaview.yaml admin tenant create demo >var/demo.key 2>/dev/null ||
		{ echo "serve.sh: cannot create the demo tenant" >&2; exit 1; }
fi
umask 022
echo "serve.sh: the demo tenant's API key is in var/demo.key, the admin key in var/admin.key. Try:"
echo '  KEY=$(cat var/demo.key)'
echo '  curl -s -H "Authorization: Bearer $KEY" -H "Content-Type: application/json" -d '"'"'{"name":"Ada"}'"'"' localhost:8080/v1/persons'
echo '  curl -s -H "Authorization: Bearer $KEY" --data-binary @photo.jpg localhost:8080/v1/persons/1/faces'
echo '  curl -s -H "Authorization: Bearer $KEY" --data-binary @another.jpg localhost:8080/v1/recognize'
echo '(docs/api.md walks through the front-desk flow)'
echo "serve.sh: starting dejaviewd on http://127.0.0.1:8080 (Ctrl-C or SIGTERM to stop)"
exec ./dejaviewd -c var/dejaview.yaml
