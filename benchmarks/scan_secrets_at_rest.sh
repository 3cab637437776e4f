#!/bin/bash
# Secrets at rest (issue #17): a scripted demo run to its approval, then count, in OUT (the workspace copy of the
# target excluded) and in the checkpoint store, the target's JWT secret and the JWTs derived from it.
#   benchmarks/scan_secrets_at_rest.sh [SRC]     (SRC: another checkout's src, e.g. the code before the fix;
#                                                 set FIXLOOP_PROJECT_ROOT to that checkout too)
set -u
SRC=${1:-$(cd "$(dirname "$0")/.." && pwd)/src}
export FIXLOOP_HOME=$(mktemp -d)
OUT=$FIXLOOP_HOME/out
PYTHONPATH=$SRC python -m fixloop demo --scenario handshake-500 --llm scripted --requested-by carol --out "$OUT" \
  > "$FIXLOOP_HOME/demo.log" 2>&1 || { echo "demo failed: $(tail -1 "$FIXLOOP_HOME/demo.log")"; exit 1; }
SECRET=$(python -c "import json,sys; print(json.load(open(sys.argv[1]))['secret'])" "$OUT/workspace/.fixloop/target.json")
count() { grep -oaE "$1" | wc -l; }
JWT='eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}'
echo "JWT secret:   OUT $(grep -rhoaF "$SECRET" "$OUT" --exclude-dir=workspace | wc -l), checkpoints $(cat "$FIXLOOP_HOME"/checkpoints.sqlite* | grep -oaF "$SECRET" | wc -l)"
echo "Bearer eyJ…:  OUT $(grep -rhaE "Bearer eyJ" "$OUT" --exclude-dir=workspace | count 'Bearer eyJ'), checkpoints $(cat "$FIXLOOP_HOME"/checkpoints.sqlite* | count 'Bearer eyJ[A-Za-z0-9_-]{5,}')"
echo "JWTs:         OUT $(cat $(find "$OUT" -path "$OUT/workspace" -prune -o -type f -print) | count "$JWT"), checkpoints $(cat "$FIXLOOP_HOME"/checkpoints.sqlite* | count "$JWT")"
PYTHONPATH=$SRC python -m fixloop verify "$OUT" 2>&1 | tail -1
PYTHONPATH=$SRC python -m fixloop target down --repo "$OUT/workspace" > /dev/null 2>&1
rm -rf "$FIXLOOP_HOME"
