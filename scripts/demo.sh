#!/usr/bin/env bash
# Sets up everything on a fresh Debian 12 machine (as root), builds Kaze, starts a one-node Kaze
# on the embedded SQLite store, and boots a demo VM from the project's test guest image.
# Kazed keeps running in the background; stop it with: kill $(cat .kaze-demo/kazed.pid)
source "$(dirname "$0")/lib/setup.sh"
LISTEN=${KAZE_LISTEN:-127.0.0.1:7070}
DATA=${KAZE_DEMO_DIR:-$KAZE_ROOT/.kaze-demo}
setup_all
BIN=$(cd "$KAZE_ROOT" && swift build "${KAZE_BUILD_FLAGS[@]}" --show-bin-path)
export KAZE_SERVER=$LISTEN
KAZE=("$BIN/kaze")
mkdir -p "$DATA"

if [[ -f $DATA/kazed.pid ]] && kill -0 "$(cat "$DATA/kazed.pid")" 2>/dev/null; then
  say "kazed is already running (pid $(cat "$DATA/kazed.pid"))"
else
  say "starting kazed on $LISTEN with its data in $DATA"
  setsid "$BIN/kazed" --data-dir "$DATA" --listen "$LISTEN" \
    --probe-kernel "$KAZE_ROOT/.test-image/vmlinuz" >"$DATA/kazed.out" 2>"$DATA/kazed.log" &
  echo $! >"$DATA/kazed.pid"
  for _ in $(seq 1 100); do
    "${KAZE[@]}" node list >/dev/null 2>&1 && break
    kill -0 "$(cat "$DATA/kazed.pid")" 2>/dev/null || { cat "$DATA/kazed.log" >&2; exit 1; }
    sleep 0.2
  done
fi

"${KAZE[@]}" node show
if ! "${KAZE[@]}" image list | grep -q '^tiny '; then
  say "importing the test guest as image 'tiny'"
  "${KAZE[@]}" image import tiny --kernel "$KAZE_ROOT/.test-image/vmlinuz" \
    --initrd "$KAZE_ROOT/.test-image/initrd.img" --cmdline quiet
fi
if ! "${KAZE[@]}" vm show demo >/dev/null 2>&1; then
  say "creating and starting VM 'demo'"
  "${KAZE[@]}" vm create demo --image tiny --memory 256 --disk 1G --start
else
  "${KAZE[@]}" vm start demo 2>/dev/null || true
fi
"${KAZE[@]}" vm list
say "demo's serial console (watching for 8 seconds)"
timeout 8 "${KAZE[@]}" vm console demo --lines 5 --follow || true

cat <<EOT

Kaze is running: kazed (pid $(cat "$DATA/kazed.pid")) serves the web UI at http://$LISTEN/
(English and Japanese; demo's consoles: http://$LISTEN/#/vms/demo/console and
http://$LISTEN/#/vms/demo/display) and the REST API at http://$LISTEN/api/v1
(OpenAPI document: http://$LISTEN/api/v1/openapi.yaml). The CLI is $BIN/kaze:

  export PATH=$BIN:\$PATH KAZE_SERVER=$LISTEN
  kaze vm list                      kaze vm console demo --follow
  kaze vm shutdown demo             kaze vm start demo
  kaze snapshot create demo s1      kaze image template tpl --from-vm demo
  kaze vm create web --image tiny --cpus 2 --memory 512 --disk 2G --start
  kaze node show                    kaze events

Stop kazed with: kill \$(cat $DATA/kazed.pid)   (VMs keep running; a restarted kazed reattaches)
EOT
