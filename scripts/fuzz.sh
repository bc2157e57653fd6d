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
        output="$(mktemp)"
        status=0
        (cd "$crate" && cargo fuzz run "$target" -- -max_total_time="$seconds" -print_final_stats=1) \
            > "$output" 2>&1 || status=$?
        grep -E '^(Done|stat::number_of_executed_units)|panicked|ERROR|SUMMARY' "$output" || true
        # A target that does not build, or libFuzzer's non-zero exit on a crash, fails the run.
        if [[ ${status} -ne 0 ]]; then
            echo "fuzz target $crate/$target failed (exit ${status}); its last output:" >&2
            tail -n 40 "$output" >&2
            rm -f "$output"
            exit 1
        fi
        rm -f "$output"
        if compgen -G "$crate/fuzz/artifacts/$target/crash-*" > /dev/null; then
            echo "fuzz target $crate/$target found a crash:" >&2
            ls "$crate/fuzz/artifacts/$target/" >&2
            exit 1
        fi
    done
done
