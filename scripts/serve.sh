#!/bin/sh
# serve.sh — quick start: installs what is missing, builds, starts a private
# PostgreSQL when no database is configured, and runs dejaviewd in the
# foreground on http://127.0.0.1:8080 (raw TCP on 127.0.0.1:7070).
#
#   DV_DATABASE=conninfo   use this database instead of a private cluster
#   DV_CONFIG=file         use this config instead of conf/dejaview.yaml
set -eu
cd "$(dirname "$0")/.."
top=$(pwd)
scripts/deps.sh
scripts/build.sh
make -s models || echo "serve.sh: make models failed (see above); the example pipeline does not need the models yet"
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
./dejaviewd --check-config -c var/dejaview.yaml
echo "serve.sh: starting dejaviewd on http://127.0.0.1:8080 (Ctrl-C or SIGTERM to stop)"
exec ./dejaviewd -c var/dejaview.yaml
