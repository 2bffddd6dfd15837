#!/bin/sh
# config_doc.sh DEJAVIEWD — writes docs/config.md to standard output: the
# configuration reference, from the daemon's own key table
# (dejaviewd --help-config), so that the page cannot disagree with the code.
# make config-doc rewrites docs/config.md; tests/conf/config_doc.sh checks it.
set -e
d=${1:-./dejaviewd}
cat <<'HEAD'
# Configuration reference

One YAML file: `conf/dejaview.yaml` runs the real networks, `conf/example.yaml` the example plugins (no models).
`dejaviewd -c FILE --check-config` checks a file without serving it: every error as
`file:line:column: key: what was expected`, unknown keys with a "did you mean". SIGHUP reloads it (see
[operations.md](operations.md)); listen addresses, workers and the database need a restart.

This page is generated from the daemon's key table (`dejaviewd --help-config`; `make config-doc` rewrites it,
and `make check` fails when it is out of date).

```
HEAD
"$d" --help-config
cat <<'TAIL'
```

Sizes take `k`/`KiB`, `M`/`MiB`, `G`/`GiB` suffixes. Plugins are keyed by role; `so:` names a plugin in
`plugin_dir` (or is a path), every other key is one of the plugin's own parameters, checked against the table
the plugin declares (`dejaviewd --check-config` shows what a plugin takes; plugins/README.md lists them).

## Pipelines

`pipelines` maps an operation (`recognize`, `detect`) to its stages, which run in this order, each needing
what comes before it:

TAIL
"$d" --help-stages
cat <<'TAIL'

```yaml
listen: { http: "127.0.0.1:8080", tcp: "127.0.0.1:7070" }
workers: 0     # one per CPU core
database: "host=/path/to/socket dbname=dejaview"
limits: { body_bytes: 10MiB, queue: 64, faces: 32 }
plugins:
  detector:   { so: detect_example, threshold: 128, min_size: 8 }
  landmarker: { so: landmarks_example }
  embedder:   { so: embed_example, chip: 32, grid: 2 }
  matcher:    { so: match_example }
pipelines:
  recognize: [decode, detect, landmarks, align, embed, match, record, hooks]
  detect:    [decode, detect, landmarks]
```
TAIL
