#!/usr/bin/env python3
"""Prints the verify bench's medians from the last `cargo bench --bench verify` run, with
ratios against the floor (jsonwebtoken::decode) of the same algorithm, from the same run."""
import json
import pathlib

root = pathlib.Path(__file__).resolve().parent.parent / "target" / "criterion"


def median_ns(group, name):
    path = root / group / name / "new" / "estimates.json"
    if not path.exists():
        return None
    return json.loads(path.read_text())["median"]["point_estimate"]


def fmt(ns):
    return f"{ns / 1000:.2f} us" if ns >= 1000 else f"{ns:.0f} ns"


print("| alg | floor (jsonwebtoken::decode) | layer, cold token | ratio | layer, repeat token | floor / repeat |")
print("|---|---|---|---|---|---|")
for alg in ["RS256", "ES256", "EdDSA"]:
    floor = median_ns("floor", alg)
    cold = median_ns("layer_cold_token", alg)
    repeat = median_ns("layer_repeat_token", alg)
    if None in (floor, cold, repeat):
        continue
    print(f"| {alg} | {fmt(floor)} | {fmt(cold)} | {cold / floor:.3f}x | {fmt(repeat)} | {floor / repeat:.1f}x faster |")
print()
for group, name in [("extract", "bearer"), ("extract", "cookie"), ("keyset_parse", "10_keys")]:
    ns = median_ns(group, name)
    if ns is not None:
        print(f"| {group}/{name} | {fmt(ns)} |")
