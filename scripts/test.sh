#!/usr/bin/env bash
# Strata's one test command: formatting, lints, then every test, with the storage tests run
# once per write path (io_uring and pwrite), as DESIGN.md requires, and the Python suite
# (tests/aws) that drives `strata serve` with unmodified boto3 and the aws CLI.
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

phase "AWS compatibility: unmodified boto3 and aws CLI against strata serve (tests/aws)"
cargo build --bin strata
# The Python of the virtual environment .ci/run prepares (STRATA_PYTHON), else the one in
# target/venv-aws, else python3 with tests/aws/requirements.txt installed.
python="${STRATA_PYTHON:-}"
if [[ -z "${python}" && -x target/venv-aws/bin/python ]]; then
    python=target/venv-aws/bin/python
fi
python="${python:-python3}"
if ! "${python}" -c 'import boto3, botocore, cbor2, pytest' 2>/dev/null; then
    echo "error: ${python} lacks the suite's packages; run:" >&2
    echo "  python3 -m venv target/venv-aws && target/venv-aws/bin/pip install -r tests/aws/requirements.txt" >&2
    exit 1
fi
STRATA_BIN="${PWD}/target/debug/strata" "${python}" -m pytest tests/aws -q

phase "Bounded fuzzing of the decoders (scripts/fuzz.sh)"
if cargo fuzz --help >/dev/null 2>&1; then
    bash scripts/fuzz.sh "${STRATA_FUZZ_SECONDS:-15}"
else
    echo "cargo-fuzz is not installed; skipping (.ci/run installs it)" >&2
fi

phase "All checks passed"
