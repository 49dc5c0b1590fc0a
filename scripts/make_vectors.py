#!/usr/bin/env python3
"""Synthetic CNN-like feature vectors for index benchmarks.

Pooled CNN features are non-negative (after ReLU), sparse, clustered by content, and their PCA spectrum decays
like a power law. This draws cluster centres in a low-rank subspace with a power-law spectrum, adds
within-cluster variation and noise in pre-activation space, applies ReLU and L2-normalises. Queries are fresh
points from the same clusters (never copies of base rows).

Usage: make_vectors.py --dim 1280 --base 100000 --queries 1000 --out DIR [--clusters 1000] [--seed 1] [--formats npy,fvecs]
Writes DIR/base.npy, DIR/queries.npy (float32) and DIR/base.fvecs, DIR/queries.fvecs. The base set is streamed to
disk in blocks of 10,000 rows (millions of 1280-d rows never sit in memory at once); --formats npy skips the
.fvecs copies.
"""
import argparse
import os

import numpy as np


def write_fvecs(path, matrix):
    matrix = np.ascontiguousarray(matrix, dtype="<f4")
    out = np.empty((matrix.shape[0], matrix.shape[1] + 1), dtype="<i4")
    out[:, 0] = matrix.shape[1]
    out[:, 1:] = matrix.view("<i4")
    out.tofile(path)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dim", type=int, default=1280)
    parser.add_argument("--base", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--clusters", type=int, default=1000)
    parser.add_argument("--rank", type=int, default=256)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", required=True)
    parser.add_argument("--formats", default="npy,fvecs")
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    d, r = args.dim, args.rank
    basis = np.linalg.qr(rng.standard_normal((d, r)))[0].astype(np.float32)
    spectrum = (np.arange(1, r + 1) ** -0.6).astype(np.float32)
    mean = (rng.standard_normal(d) * 0.3 - 0.4).astype(np.float32)  # mostly negative: ReLU makes it sparse
    scale = np.exp(rng.standard_normal(d) * 0.4).astype(np.float32)
    centres = (rng.standard_normal((args.clusters, r)) * spectrum) @ basis.T * 3.0
    spread = np.exp(rng.standard_normal(args.clusters) * 0.3).astype(np.float32)
    weights = np.exp(rng.standard_normal(args.clusters))
    weights /= weights.sum()

    def blocks(count):
        """The rows in blocks of 10,000, in the order the generator draws them."""
        labels = rng.choice(args.clusters, size=count, p=weights)
        for start in range(0, count, 10_000):
            part = labels[start:start + 10_000]
            low = (rng.standard_normal((len(part), r)) * spectrum) @ basis.T
            noise = rng.standard_normal((len(part), d)) * 0.15
            x = mean + centres[part] + spread[part, None] * (low * 1.2 + noise)
            x = np.maximum(x * scale, 0)
            norms = np.linalg.norm(x, axis=1, keepdims=True)
            yield start, (x / np.maximum(norms, 1e-12)).astype(np.float32)

    formats = set(args.formats.split(","))
    os.makedirs(args.out, exist_ok=True)
    base = np.lib.format.open_memmap(os.path.join(args.out, "base.npy"), mode="w+", dtype=np.float32, shape=(args.base, d))
    zeros = 0
    for start, block in blocks(args.base):
        base[start:start + len(block)] = block
        zeros += int((block == 0).sum())
    base.flush()
    queries = np.concatenate([block for _, block in blocks(args.queries)])
    np.save(os.path.join(args.out, "queries.npy"), queries)
    if "fvecs" in formats:
        write_fvecs(os.path.join(args.out, "base.fvecs"), base)
        write_fvecs(os.path.join(args.out, "queries.fvecs"), queries)
    if "npy" not in formats:
        os.remove(os.path.join(args.out, "base.npy"))
        os.remove(os.path.join(args.out, "queries.npy"))
    print(f"make_vectors: {args.base} base and {args.queries} query vectors of {d} dims in {args.out}; "
          f"zero fraction {zeros / (args.base * d):.2f}")


if __name__ == "__main__":
    main()
