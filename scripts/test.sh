#!/usr/bin/env bash
# Strata's one test command, for a fresh machine as much as for a developer's: it installs
# what the tests need (idempotently: a second run installs nothing), checks every
# prerequisite before the long phases start, then runs formatting, lints, every Rust test
# (the storage tests once per write path, io_uring and pwrite, as DESIGN.md requires), the
# Python suite (tests/aws: unmodified boto3 and the aws CLI against `strata serve`), and
# bounded fuzzing of the decoders. It prints the time of each phase at the end.
#
# Usage: bash scripts/test.sh
#   STRATA_FUZZ_SECONDS=N   seconds per fuzz target (default 15; 0 skips fuzzing)
#   STRATA_PYTHON=PATH      a Python that already has tests/aws/requirements.txt installed
#   STRATA_PYTEST_WORKERS=N parallel pytest workers (default: the number of CPUs)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
root="${PWD}"

phase_names=()
phase_seconds=()
phase_started=0
phase_name=""

# Ends the running phase (if any), then starts the next one.
phase() {
    local now
    now=$(date +%s)
    if [[ -n "${phase_name}" ]]; then
        phase_names+=("${phase_name}")
        phase_seconds+=($((now - phase_started)))
    fi
    phase_name="$*"
    phase_started=${now}
    printf '\n==> %s\n\n' "$*"
}

summary() {
    local status=$?
    if [[ -n "${phase_name}" ]]; then
        phase_names+=("${phase_name}")
        phase_seconds+=($(($(date +%s) - phase_started)))
    fi
    printf '\n==> Time per phase\n'
    local i total=0
    for i in "${!phase_names[@]}"; do
        printf '  %6ss  %s\n' "${phase_seconds[$i]}" "${phase_names[$i]}"
        total=$((total + phase_seconds[i]))
    done
    printf '  %6ss  total\n' "${total}"
    exit "${status}"
}
trap summary EXIT

fail() {
    echo "error: $*" >&2
    exit 1
}

phase "Set-up: toolchain components and cargo tools"
cargo --version
rustc --version
for component in rustfmt clippy; do
    if ! rustup component list --installed 2>/dev/null | grep -q "^${component}"; then
        echo "Installing the ${component} component"
        rustup component add "${component}" || fail "rustup could not add ${component}"
    fi
done
if ! cargo nextest --version >/dev/null 2>&1; then
    echo "Installing cargo-nextest"
    cargo install cargo-nextest --locked
fi
cargo nextest --version
fuzz_seconds="${STRATA_FUZZ_SECONDS:-15}"
if [[ "${fuzz_seconds}" != 0 ]] && ! cargo fuzz --help >/dev/null 2>&1; then
    echo "Installing cargo-fuzz"
    cargo install cargo-fuzz --locked
fi

phase "Set-up: the Python environment of tests/aws (target/venv-aws)"
python="${STRATA_PYTHON:-}"
if [[ -z "${python}" ]]; then
    command -v python3 >/dev/null || fail "python3 is missing (Debian: apt-get install python3 python3-venv)"
    python3 --version
    venv="${root}/target/venv-aws"
    if ! "${venv}/bin/python" -c 'import sys' >/dev/null 2>&1; then
        rm -rf "${venv}"
        mkdir -p target
        python3 -m venv "${venv}" \
            || fail "python3 cannot make a virtual environment (Debian: apt-get install python3-venv)"
    fi
    # Reinstalled only when the requirements change.
    stamp="${venv}/.requirements.sha256"
    wanted=$(sha256sum tests/aws/requirements.txt | cut -d' ' -f1)
    if [[ ! -f "${stamp}" || "$(cat "${stamp}")" != "${wanted}" ]]; then
        "${venv}/bin/python" -m pip install --quiet --disable-pip-version-check \
            -r tests/aws/requirements.txt
        echo "${wanted}" > "${stamp}"
    fi
    python="${venv}/bin/python"
fi
"${python}" -m pip list --disable-pip-version-check 2>/dev/null \
    | grep -Ei '^(boto3|botocore|awscli|pytest|pytest-timeout|pytest-xdist|cbor2|cryptography|moto) ' || true

phase "Set-up: the query-protocol SDK of tests/aws (target/venv-query)"
query_venv="${root}/target/venv-query"
if ! "${query_venv}/bin/python" -c 'import sys' >/dev/null 2>&1; then
    rm -rf "${query_venv}"
    mkdir -p target
    python3 -m venv "${query_venv}" \
        || fail "python3 cannot make a virtual environment (Debian: apt-get install python3-venv)"
fi
query_stamp="${query_venv}/.requirements.sha256"
query_wanted=$(sha256sum tests/aws/query/requirements.txt | cut -d' ' -f1)
if [[ ! -f "${query_stamp}" || "$(cat "${query_stamp}")" != "${query_wanted}" ]]; then
    "${query_venv}/bin/python" -m pip install --quiet --disable-pip-version-check \
        -r tests/aws/query/requirements.txt
    echo "${query_wanted}" > "${query_stamp}"
fi

phase "Set-up: the JavaScript SDK of tests/aws (tests/aws/js/node_modules)"
command -v node >/dev/null && command -v npm >/dev/null \
    || fail "node and npm are missing (Debian: apt-get install nodejs npm)"
node --version
# Reinstalled only when the lock file changes.
js_stamp="tests/aws/js/node_modules/.package-lock.sha256"
js_wanted=$(sha256sum tests/aws/js/package-lock.json | cut -d' ' -f1)
if [[ ! -f "${js_stamp}" || "$(cat "${js_stamp}")" != "${js_wanted}" ]]; then
    npm ci --prefix tests/aws/js --no-audit --no-fund --loglevel=error
    echo "${js_wanted}" > "${js_stamp}"
fi

phase "Set-up: Debian packages (prometheus for the metrics test, chromium for the console's)"
debian_packages=()
command -v prometheus >/dev/null || debian_packages+=(prometheus)
command -v chromium >/dev/null || debian_packages+=(chromium)
command -v chromedriver >/dev/null || debian_packages+=(chromium-driver)
if ((${#debian_packages[@]})); then
    command -v apt-get >/dev/null \
        || fail "missing ${debian_packages[*]} and no apt-get to install it; install it by hand"
    apt=(apt-get)
    if [[ "$(id -u)" != 0 ]]; then
        command -v sudo >/dev/null || fail "missing ${debian_packages[*]}; run as root: apt-get install ${debian_packages[*]}"
        apt=(sudo apt-get)
    fi
    echo "Installing ${debian_packages[*]}"
    # The package lists of a fresh machine may be empty or stale: refresh them if the
    # install cannot find the package.
    DEBIAN_FRONTEND=noninteractive "${apt[@]}" install -y -qq --no-install-recommends "${debian_packages[@]}" \
        || { "${apt[@]}" update -qq && DEBIAN_FRONTEND=noninteractive "${apt[@]}" install -y -qq --no-install-recommends "${debian_packages[@]}"; } \
        || fail "could not install ${debian_packages[*]}; run: apt-get install ${debian_packages[*]}"
fi
prometheus --version 2>&1 | head -1
chromium --version 2>/dev/null || true

phase "Prerequisites"
df -h . "${TMPDIR:-/tmp}" 2>/dev/null | sed 's/^/disk: /' || true
"${python}" -c 'import boto3, botocore, cbor2, cryptography, moto, pytest, pytest_timeout, selenium, xdist' \
    || fail "${python} lacks the packages of tests/aws/requirements.txt; run: ${python} -m pip install -r tests/aws/requirements.txt"
aws_cli="$(dirname "${python}")/aws"
[[ -x "${aws_cli}" ]] || command -v aws >/dev/null || fail "the aws CLI is missing; run: ${python} -m pip install awscli"
command -v prometheus >/dev/null || fail "prometheus is missing (Debian: apt-get install prometheus)"
command -v chromium >/dev/null && command -v chromedriver >/dev/null \
    || fail "chromium or chromedriver is missing (Debian: apt-get install chromium chromium-driver)"
command -v prlimit >/dev/null || fail "prlimit is missing (Debian: apt-get install util-linux)"
for tool in mkfs.ext4 losetup; do
    command -v "${tool}" >/dev/null \
        || echo "note: ${tool} is missing; the full-disk tests on ext4 will be skipped (Debian: apt-get install e2fsprogs mount)"
done
"${query_venv}/bin/python" -c 'import boto3' \
    || fail "the query-protocol SDK is missing; run: ${query_venv}/bin/pip install -r tests/aws/query/requirements.txt"
[[ -d tests/aws/js/node_modules/@aws-sdk/client-sqs && -d tests/aws/js/node_modules/@aws-sdk/client-sns ]] \
    || fail "the JavaScript SDK of tests/aws is missing; run: npm ci --prefix tests/aws/js"
echo "all prerequisites present"

phase "Formatting (cargo fmt --check)"
cargo fmt --all -- --check

phase "Lints (cargo clippy, warnings are errors)"
cargo clippy --workspace --all-targets -- -D warnings

phase "All Rust tests, storage on the io_uring write path (STRATA_TEST_IO=uring)"
STRATA_TEST_IO=uring cargo nextest run --workspace --no-fail-fast

phase "Storage tests on the pwrite write path (STRATA_TEST_IO=pwrite)"
STRATA_TEST_IO=pwrite cargo nextest run -p strata-storage --no-fail-fast

phase "AWS compatibility: unmodified boto3 and aws CLI against strata serve (tests/aws)"
cargo build --bin strata
workers="${STRATA_PYTEST_WORKERS:-$(nproc)}"
STRATA_BIN="${root}/target/debug/strata" STRATA_NO_BUILD=1 \
    "${python}" -m pytest tests/aws -q -n "${workers}"

phase "Bounded fuzzing of the decoders (scripts/fuzz.sh, ${fuzz_seconds}s per target)"
if [[ "${fuzz_seconds}" != 0 ]]; then
    bash scripts/fuzz.sh "${fuzz_seconds}"
else
    echo "skipped (STRATA_FUZZ_SECONDS=0)"
fi

phase_names+=("${phase_name}")
phase_seconds+=($(($(date +%s) - phase_started)))
phase_name=""
printf '\n==> All checks passed\n'
