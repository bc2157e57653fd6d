"""Summarizes the JSON reports of scripts/bench-native.sh as Markdown tables.

Usage: python3 scripts/bench_summary.py DIR
"""

import json
import pathlib
import sys


def load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def num(value, digits=0):
    return f"{value:,.{digits}f}"


def lat(latency):
    return " / ".join(num(latency[k] / 1000, 1) for k in ("p50_us", "p99_us", "p999_us"))


def ratio(produce, baseline):
    """Records/s of `produce` over those of a baseline report, or a dash without one."""
    if not baseline or not baseline["throughput"]["records_per_s"]:
        return "—"
    return num(produce["throughput"]["records_per_s"] / baseline["throughput"]["records_per_s"], 2)


def main(directory):
    root = pathlib.Path(directory)
    native = []
    redis = {}
    nats = {}
    for path in sorted(root.glob("*.json")):
        report = load(path)
        config = report["config"]
        if report["benchmark"] == "redis":
            redis[(config["record_bytes"], config["producers"])] = report
        elif report["benchmark"] == "nats":
            nats[(config["record_bytes"], config["producers"])] = report
        elif report["benchmark"] in ("produce", "e2e"):
            native.append(report)
    native.sort(
        key=lambda r: (
            r["config"]["fsync"] != "interval:5",
            r["config"]["record_bytes"],
            r["config"]["producers"],
            r["benchmark"],
            r["config"].get("client", "record"),
            r["config"].get("rate", 0),
        )
    )
    print("| mode | client | fsync | record | producers | offered rec/s | rec/s | MB/s "
          "| ack p50 / p99 / p999 ms "
          "| e2e p50 / p99 / p999 ms | raw buffered MB/s: same volume after, 1 GiB before "
          "| × raw same volume | × raw 1 GiB | × raw synced | × Redis rec/s | × NATS rec/s "
          "| server CPU s/GB | bench CPU s/GB |")
    print("|---|---|---|---:|---:|---:|---:|---:|---|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for report in native:
        config = report["config"]
        produce = report["produce"]
        baseline = report.get("baseline") or {}
        buffered = baseline.get("buffered") or {}
        after = baseline.get("buffered_after") or {}
        e2e = report.get("e2e")
        key = (config["record_bytes"], config["producers"])
        versus = ratio(produce, redis.get(key))
        versus_nats = ratio(produce, nats.get(key))
        synced = produce.get("ratio_to_raw_synced")
        cpu = produce.get("cpu") or {}
        server_cpu = cpu.get("server_secs_per_gb")
        bench_cpu = cpu.get("bench_secs_per_gb")
        print(
            f"| {report['benchmark']} | {config.get('client', 'record')} | {config['fsync']} "
            f"| {config['record_bytes']} B "
            f"| {config['producers']} | {num(config['rate']) if config.get('rate') else 'max'} "
            f"| {num(produce['throughput']['records_per_s'])} "
            f"| {num(produce['throughput']['mb_per_s'], 1)} | {lat(produce['latency'])} "
            f"| {lat(e2e['latency']) if e2e else '—'} "
            f"| {num(after.get('mb_per_s', 0))}, {num(buffered.get('mb_per_s', 0))} "
            f"| {num(produce.get('ratio_to_raw_buffered') or 0, 2)} "
            f"| {num(produce['throughput']['mb_per_s'] / max(buffered.get('mb_per_s', 0), 1e-9), 2)} "
            f"| {num(synced, 2) if synced is not None else '—'} | {versus} | {versus_nats} "
            f"| {num(server_cpu, 2) if server_cpu is not None else '—'} "
            f"| {num(bench_cpu, 2) if bench_cpu is not None else '—'} |"
        )
    if redis:
        print()
        print("| Redis XADD (appendfsync everysec) | producers | rec/s | MB/s "
              "| round trip p50 / p99 / p999 ms |")
        print("|---|---:|---:|---:|---|")
        for (size, producers), report in sorted(redis.items()):
            print(
                f"| {size} B | {producers} | {num(report['throughput']['records_per_s'])} "
                f"| {num(report['throughput']['mb_per_s'], 1)} | {lat(report['latency'])} |"
            )
    if nats:
        print()
        print("| NATS JetStream publish | producers | durability | rec/s | MB/s "
              "| ack p50 / p99 / p999 ms |")
        print("|---|---:|---|---:|---:|---|")
        for (size, producers), report in sorted(nats.items()):
            config = report["config"]
            interval = config.get("sync_interval_ms")
            if not config["spawned_server"]:
                durability = "external server"
            elif interval:
                durability = f"sync_interval {interval} ms"
            else:
                durability = "fsync every 2 min"
            print(
                f"| {size} B | {producers} | {durability} "
                f"| {num(report['throughput']['records_per_s'])} "
                f"| {num(report['throughput']['mb_per_s'], 1)} | {lat(report['latency'])} |"
            )


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
