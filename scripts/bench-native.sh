#!/usr/bin/env bash
# The native protocol's benchmark matrix, in one run on one machine: strata-bench produce and
# e2e for 100 B and 1 KiB records with 1, 4 and 16 producers under fsync=interval:5 and
# fsync=always, each beside the raw disk measured just before and after it, Redis Streams
# (pipelined XADD, appendonly yes, appendfsync everysec) and NATS JetStream (file storage,
# pipelined publishes awaiting their acks; sync_interval 5 ms where nats-server has it, 2.10
# on, else its fsync every 2 minutes) under the same loads. The server under test runs on
# CPU 0 and the load generator on the others (--pin-server).
#
# The batch producer (ProduceBatch) runs the matrix; the per-record producer (Produce) runs the
# interval:5 produce rows again beside it, and e2e runs once more at an offered rate for tail
# latency.
#
# Usage: bash scripts/bench-native.sh [OUT_DIR]   (default target/bench-native)
# Env:   DURATION (seconds per run, default 5), PIN (server CPUs, default 0; empty: no pinning),
#        RATE (offered records/s of the tail-latency rows, default 250000)
# Needs: redis-server on PATH for the Redis rows (apt-get install redis-server) and
#        nats-server for the NATS rows (apt-get install nats-server); each skipped if missing. Writes one JSON report and one SVG plot (throughput over time and latency
#        percentiles, beside the raw disk) per run, and summary.md, into OUT_DIR.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
out="${1:-target/bench-native}"
duration="${DURATION:-5}"
pin="${PIN-0}"
mkdir -p "${out}"

cargo build --release --bins --quiet
bench="${CARGO_TARGET_DIR:-target}/release/strata-bench"
pin_args=()
if [[ -n "${pin}" ]]; then
    pin_args=(--pin-server "${pin}")
fi

for fsync in interval:5 always; do
    for bytes in 100 1024; do
        for producers in 1 4 16; do
            for mode in produce e2e; do
                name="${mode}-${fsync%%:*}-${bytes}-${producers}"
                echo "==> ${name}" >&2
                "${bench}" "${mode}" --spawn-server --fsync "${fsync}" "${pin_args[@]}" \
                    --record-bytes "${bytes}" --producers "${producers}" \
                    --duration-secs "${duration}" --json "${out}/${name}.json" \
                    --plot "${out}/${name}.svg" >/dev/null
            done
        done
    done
done

# The per-record producer (Produce requests, routed on the server) under the same loads, so
# the batch producer's gain is measured in the same run.
for bytes in 100 1024; do
    for producers in 1 4 16; do
        name="produce-record-interval-${bytes}-${producers}"
        echo "==> ${name}" >&2
        "${bench}" produce --client record --spawn-server --fsync interval:5 "${pin_args[@]}" \
            --record-bytes "${bytes}" --producers "${producers}" \
            --duration-secs "${duration}" --json "${out}/${name}.json" >/dev/null
    done
done

# Tail latency at an offered rate (about half of the 1 KiB maximum here): records leave on a
# schedule, batches linger 1 ms.
for fsync in interval:5 never; do
    name="e2e-rate-${fsync%%:*}-1024-4"
    echo "==> ${name}" >&2
    "${bench}" e2e --spawn-server --fsync "${fsync}" "${pin_args[@]}" --record-bytes 1024 \
        --producers 4 --rate "${RATE:-250000}" --linger-ms 1 --in-flight 16 \
        --duration-secs "${duration}" --json "${out}/${name}.json" --plot "${out}/${name}.svg" \
        >/dev/null
done

# The baselines: strata-bench <peer> --spawn-<peer> runs <peer>-server.
for peer in redis nats; do
    if ! command -v "${peer}-server" >/dev/null; then
        echo "${peer}-server not found: no ${peer} rows" >&2
        continue
    fi
    for bytes in 100 1024; do
        for producers in 1 4 16; do
            name="${peer}-${bytes}-${producers}"
            echo "==> ${name}" >&2
            "${bench}" "${peer}" "--spawn-${peer}" "${pin_args[@]}" --record-bytes "${bytes}" \
                --producers "${producers}" --duration-secs "${duration}" \
                --json "${out}/${name}.json" --plot "${out}/${name}.svg" >/dev/null
        done
    done
done

python3 scripts/bench_summary.py "${out}" | tee "${out}/summary.md"
