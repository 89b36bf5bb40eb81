#!/usr/bin/env bash
# Starts one member of the etcd cluster that Kaze nodes share, with Kaze's settings.
#
# Run it on every server (next to kazed) and, with two servers, on a third small machine as a
# VM-less "witness" that only gives the cluster its quorum:
#
#   scripts/etcd-member.sh --name node-1  --ip 10.0.0.1 --cluster node-1=10.0.0.1,node-2=10.0.0.2,witness=10.0.0.3
#   scripts/etcd-member.sh --name node-2  --ip 10.0.0.2 --cluster node-1=10.0.0.1,node-2=10.0.0.2,witness=10.0.0.3
#   scripts/etcd-member.sh --name witness --ip 10.0.0.3 --cluster node-1=10.0.0.1,node-2=10.0.0.2,witness=10.0.0.3
#
# Options: --data-dir DIR (default /var/lib/kaze-etcd/NAME), --client-port (2379),
# --peer-port (2380), --join (add a member to a running cluster instead of creating one).
# A --cluster entry is NAME=IP or NAME=IP:PEERPORT.
#
# Heartbeat 50 ms and election timeout 500 ms: a new etcd leader is elected well within the
# nodes' fencing deadline (lease TTL minus margin, 2.4 s by default), so losing one member —
# even the leader — makes no node fence its VMs.
set -euo pipefail

usage() {
  sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}
fail() {
  echo "etcd-member.sh: $*" >&2
  exit 2
}

name="" ip="" cluster="" data_dir="" client_port=2379 peer_port=2380 state=new
while [ $# -gt 0 ]; do
  case "$1" in
    --name) name="${2:-}"; shift 2 ;;
    --ip) ip="${2:-}"; shift 2 ;;
    --cluster) cluster="${2:-}"; shift 2 ;;
    --data-dir) data_dir="${2:-}"; shift 2 ;;
    --client-port) client_port="${2:-}"; shift 2 ;;
    --peer-port) peer_port="${2:-}"; shift 2 ;;
    --join) state=existing; shift ;;
    -h|--help) usage ;;
    *) fail "unknown option $1 (see --help)" ;;
  esac
done
[ -n "$name" ] || fail "--name is required (this member's name, e.g. witness)"
[[ "$name" =~ ^[a-z0-9][a-z0-9-]*$ ]] || fail "--name '$name': use lower-case letters, digits and -"
[[ "$ip" =~ ^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$ ]] || fail "--ip '$ip' is not an IPv4 address"
for port in "$client_port" "$peer_port"; do
  [[ "$port" =~ ^[0-9]+$ ]] && [ "$port" -ge 1 ] && [ "$port" -le 65535 ] \
    || fail "port '$port' is not 1-65535"
done
[ -n "$cluster" ] || fail "--cluster is required: every member as NAME=IP[:PEERPORT], comma-separated"
initial=""
found=no
IFS=',' read -r -a entries <<< "$cluster"
[ "${#entries[@]}" -ge 3 ] || echo "etcd-member.sh: warning: ${#entries[@]} member(s) give no quorum after a failure; use 3 (two servers and a witness) or 5" >&2
for entry in "${entries[@]}"; do
  [[ "$entry" =~ ^([a-z0-9][a-z0-9-]*)=([0-9.]+)(:([0-9]+))?$ ]] \
    || fail "--cluster entry '$entry' is not NAME=IP or NAME=IP:PEERPORT"
  member="${BASH_REMATCH[1]}" host="${BASH_REMATCH[2]}" port="${BASH_REMATCH[4]:-2380}"
  [ "$member" = "$name" ] && found=yes
  initial="${initial:+$initial,}$member=http://$host:$port"
done
[ "$found" = yes ] || fail "--cluster does not list this member ($name)"
command -v etcd > /dev/null || fail "etcd is not installed (Debian: apt-get install etcd-server)"
data_dir="${data_dir:-/var/lib/kaze-etcd/$name}"
mkdir -p "$data_dir"

exec etcd --name "$name" --data-dir "$data_dir" \
  --listen-client-urls "http://$ip:$client_port" --advertise-client-urls "http://$ip:$client_port" \
  --listen-peer-urls "http://$ip:$peer_port" --initial-advertise-peer-urls "http://$ip:$peer_port" \
  --initial-cluster "$initial" --initial-cluster-state "$state" --initial-cluster-token kaze \
  --heartbeat-interval 50 --election-timeout 500 --log-level warn
