#!/usr/bin/env bash
# The walk-through of the README on a running broker: unkeyed, keyed, keyed with a
# multi-threaded consumer. Usage: scripts/demo.sh [bootstrap]
set -euo pipefail
cd "$(dirname "$0")/.."
export KAFKA_BOOTSTRAP_SERVERS=${1:-localhost:9092}
R=.venv/bin/ridectl
tag=$(date +%H%M%S)

echo "== 1. Unkeyed: events of one ride scatter over 6 partitions =="
$R produce -t "demo-unkeyed-$tag" --rides 1000 --unkeyed -p 6 --seed 1
$R check -t "demo-unkeyed-$tag" --limit 8

echo "== 2. Keyed by ride_id: each ride stays on one partition, in order =="
$R produce -t "demo-keyed-$tag" --rides 1000 --keyed -p 6 --seed 1
$R check -t "demo-keyed-$tag"

echo "== 3. Same keyed topic, consumed by 4 parallel workers =="
$R check -t "demo-keyed-$tag" --workers 4 --limit 8
