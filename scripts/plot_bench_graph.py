#!/usr/bin/env python3
"""Queries/s against recall@10 from scripts/bench-graph's output: one curve per engine and setting, the median of
the rounds' queries/s at each point (recall is the same in every round).

Usage: plot_bench_graph.py RESULTS.jsonl OUT.png
"""
import json
import statistics
import sys
from collections import defaultdict

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt


def main():
    results, out = sys.argv[1], sys.argv[2]
    points = defaultdict(list)
    for line in open(results):
        if not line.startswith("{"):
            continue
        row = json.loads(line)
        params = row["params"]
        if row["engine"] == "lookalike":
            curve = "Lookalike graph, rerank " + params.split("rerank=")[1] + f" ({row['bytes'] // 50000} B/vector)"
        else:
            m = params.split()[0]
            curve = f"hnswlib {m}, " + ("one call per query" if row["strategy"] == "hnsw" else "batch, one thread") \
                + f" ({row['bytes'] // 50000} B/vector)"
        points[(curve, params)].append((row["recall"], row["qps"]))
    curves = defaultdict(list)
    for (curve, _), values in points.items():
        curves[curve].append((values[0][0], statistics.median(q for _, q in values)))
    plt.figure(figsize=(8, 5))
    for curve, values in sorted(curves.items()):
        values.sort()
        plt.plot([r for r, _ in values], [q for _, q in values], marker="o", markersize=3,
                 linestyle="-" if curve.startswith("Lookalike") else "--", label=curve)
    plt.xlabel("recall@10")
    plt.ylabel("queries/s (one thread, median of rounds)")
    plt.xlim(0.86, 1.0)
    plt.grid(alpha=0.3)
    plt.title("50,000 real Lite0 features (photo crops), 1,000 queries")
    plt.legend(fontsize=7)
    plt.tight_layout()
    plt.savefig(out, dpi=120)


if __name__ == "__main__":
    main()
