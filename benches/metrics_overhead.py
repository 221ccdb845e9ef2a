#!/usr/bin/env python3
"""What the `metrics` feature costs the repeat-token path, from `cargo bench --bench ratio`.

The feature is chosen at compile time, so the comparison is between two builds of the same
bench: one without the feature, one with it (recording into a Prometheus recorder). They run
alternately, PAIRS times (default 10), and each pair gives, per algorithm, the change of the
floor / repeat ratio (the floor normalises the machine's speed at that moment). The median of
the per-pair changes is the figure; the spread shows the noise, which comparing two binaries
adds on its own (two code layouts).

    python3 benches/metrics_overhead.py [PAIRS]
"""
import json
import statistics
import subprocess
import sys

ALGS = ["RS256", "ES256", "ES512", "EdDSA"]


def build(features):
    """Builds the ratio bench and returns its executable's path."""
    cmd = ["cargo", "bench", "--bench", "ratio", "--no-run", "--message-format=json"] + features
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    for line in out.splitlines():
        msg = json.loads(line)
        if msg.get("reason") == "compiler-artifact" and msg["target"]["name"] == "ratio":
            if msg.get("executable"):
                return msg["executable"]
    sys.exit("no ratio bench executable in cargo's output")


def floor_over_repeat(executable):
    """Runs the bench once: {alg: floor / repeat}."""
    out = subprocess.run([executable, "--bench"], check=True, capture_output=True, text=True)
    ratios = {}
    for line in out.stdout.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 6 and cells[0] in ALGS:
            ratios[cells[0]] = float(cells[5].split("x")[0])
    return ratios


def main():
    pairs = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    off = build([])
    on = build(["--features", "metrics"])
    changes = {alg: [] for alg in ALGS}
    for pair in range(pairs):
        # Alternate which build goes first, so neither always runs on a warmer machine.
        first, second = (off, on) if pair % 2 == 0 else (on, off)
        a, b = floor_over_repeat(first), floor_over_repeat(second)
        without, with_ = (a, b) if first == off else (b, a)
        for alg in ALGS:
            # Slower with the feature = a smaller floor / repeat ratio.
            changes[alg].append((without[alg] / with_[alg] - 1) * 100)
        print(f"pair {pair + 1}: " + ", ".join(f"{alg} {changes[alg][-1]:+.1f}%" for alg in ALGS))
    print()
    print(f"| alg | repeat path with `metrics` vs without (median of {pairs} pairs) | range |")
    print("|---|---|---|")
    for alg in ALGS:
        c = changes[alg]
        print(f"| {alg} | {statistics.median(c):+.1f}% | {min(c):+.1f}% .. {max(c):+.1f}% |")
    # A repeat token is the same path whatever its algorithm (no signature is checked); the
    # algorithms differ only in how noisy their floor is (ES512's batch is ~4 ms long).
    pooled = [x for alg in ALGS for x in changes[alg]]
    print(f"| all, pooled | {statistics.median(pooled):+.1f}% | {min(pooled):+.1f}% .. {max(pooled):+.1f}% |")


if __name__ == "__main__":
    main()
