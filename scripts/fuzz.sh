#!/usr/bin/env bash
# Bounded fuzz runs of every decoder target (cargo-fuzz / libFuzzer).
#
# Usage: bash scripts/fuzz.sh [SECONDS_PER_TARGET]   (default 20)
#
# cargo-fuzz needs unstable compiler flags (sanitizers); RUSTC_BOOTSTRAP=1 lets the stable
# toolchain accept them. Crashes are saved under <crate>/fuzz/artifacts/<target>/ and replayed
# with `cargo fuzz run <target> <artifact>`.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
seconds="${1:-20}"
export RUSTC_BOOTSTRAP=1

for crate in storage protocol; do
    for target in $(cd "$crate" && cargo fuzz list); do
        echo "==> fuzz $crate/$target for ${seconds}s"
        (cd "$crate" && cargo fuzz run "$target" -- -max_total_time="$seconds" -print_final_stats=1 2>&1 \
            | grep -E '^(Done|stat::number_of_executed_units)|panicked|ERROR|SUMMARY' || true)
        # libFuzzer exits non-zero on a crash; pipefail is defeated by grep above, so check artifacts.
        if compgen -G "$crate/fuzz/artifacts/$target/crash-*" > /dev/null; then
            echo "fuzz target $crate/$target found a crash:" >&2
            ls "$crate/fuzz/artifacts/$target/" >&2
            exit 1
        fi
    done
done
