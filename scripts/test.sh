#!/usr/bin/env bash
# Strata's one test command: formatting, lints, then every test, with the storage tests run
# once per write path (io_uring and pwrite), as DESIGN.md requires.
#
# Usage: bash scripts/test.sh
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

phase() {
    printf '\n==> %s\n\n' "$*"
}

phase "Formatting (cargo fmt --check)"
cargo fmt --all -- --check

phase "Lints (cargo clippy, warnings are errors)"
cargo clippy --workspace --all-targets -- -D warnings

phase "All tests, storage on the io_uring write path (STRATA_TEST_IO=uring)"
STRATA_TEST_IO=uring cargo nextest run --workspace --no-fail-fast

phase "Storage tests on the pwrite write path (STRATA_TEST_IO=pwrite)"
STRATA_TEST_IO=pwrite cargo nextest run -p strata-storage --no-fail-fast

phase "Bounded fuzzing of the decoders (scripts/fuzz.sh)"
if cargo fuzz --help >/dev/null 2>&1; then
    bash scripts/fuzz.sh "${STRATA_FUZZ_SECONDS:-15}"
else
    echo "cargo-fuzz is not installed; skipping (.ci/run installs it)" >&2
fi

phase "All checks passed"
