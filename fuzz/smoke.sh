#!/usr/bin/env bash
# Fuzz smoke for CI: builds the fuzz targets once, then runs each for FUZZ_SECS seconds
# (default 25; six targets, so about 2.5 minutes of fuzzing) from its seed corpus, and prints
# the executions per target. Prints "skipped: ..." and exits 0 when the tooling is missing.
#
# Works on the stable toolchain: RUSTC_BOOTSTRAP=1 lets stable rustc take the -Z flags
# cargo-fuzz passes (-Zsanitizer=address and the sanitizer-coverage options).
#
#   bash fuzz/smoke.sh                    # every target, 25 s each
#   FUZZ_SECS=300 bash fuzz/smoke.sh verify jwks   # chosen targets, longer
set -euo pipefail
cd "$(dirname "$0")/.."

SECS="${FUZZ_SECS:-25}"
# address (default) or none: without the sanitizer the cold build takes ~4.5 min instead of
# ~12 on 2 cores; panics, hangs and the verify oracle are still caught.
SANITIZER="${FUZZ_SANITIZER:-address}"
# A fixed seed makes a run reproducible (the same mutations in the same order; a slower
# machine runs a prefix of a faster one's). FUZZ_SEED=0 lets libFuzzer pick one.
SEED="${FUZZ_SEED:-1}"
TARGETS=("$@")
if [ "${#TARGETS[@]}" -eq 0 ]; then
    TARGETS=(token_extract verify compact jwks discovery cf_identity)
fi

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "skipped: cargo-fuzz is not installed (cargo install cargo-fuzz --locked)"
    exit 0
fi
export RUSTC_BOOTSTRAP=1
if [ "$SANITIZER" = "address" ] && ! echo 'fn main() {}' | rustc -Zsanitizer=address --crate-type bin -o /dev/null - >/dev/null 2>&1; then
    echo "skipped: this rustc does not accept -Zsanitizer=address even with RUSTC_BOOTSTRAP=1"
    exit 0
fi

echo "== cargo fuzz build (stable, RUSTC_BOOTSTRAP=1, sanitizer: $SANITIZER, debug assertions)"
cargo fuzz build --sanitizer "$SANITIZER"

logs="$(mktemp -d)"
total_runs=0
summary=()
for target in "${TARGETS[@]}"; do
    mkdir -p "fuzz/corpus/$target"
    echo "== fuzz $target for ${SECS}s"
    # New inputs go to fuzz/corpus/<target> (ignored by git); fuzz/seeds/<target> is read only.
    if ! cargo fuzz run --sanitizer "$SANITIZER" "$target" "fuzz/corpus/$target" "fuzz/seeds/$target" -- \
        -seed="$SEED" -max_total_time="$SECS" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        >"$logs/$target.log" 2>&1; then
        tail -n 60 "$logs/$target.log"
        echo "FAILED: fuzz target $target (crash input saved under fuzz/artifacts/$target/)"
        exit 1
    fi
    runs="$(grep -Eo 'stat::number_of_executed_units: *[0-9]+' "$logs/$target.log" | grep -Eo '[0-9]+$' | tail -n1)"
    secs="$(grep -Eo 'Done [0-9]+ runs in [0-9]+ second' "$logs/$target.log" | grep -Eo 'in [0-9]+' | grep -Eo '[0-9]+' | tail -n1)"
    cov="$(grep -Eo 'cov: [0-9]+' "$logs/$target.log" | tail -n1 | grep -Eo '[0-9]+' || true)"
    total_runs=$((total_runs + ${runs:-0}))
    summary+=("$(printf '%-14s %12s runs in %4s s   cov %s' "$target" "${runs:-?}" "${secs:-?}" "${cov:-?}")")
done
echo "== fuzz smoke summary"
printf '%s\n' "${summary[@]}"
echo "fuzz smoke: ${#TARGETS[@]} targets, ${total_runs} executions, no crash"
