#!/usr/bin/env python3
"""Peers for `lookalike bench-index`: Annoy, hnswlib and faiss (HNSW, IVF-Flat) on the same files.

Recall@k against exact inner-product search (the vectors are L2-normalised, so inner product = cosine),
queries/s with one thread. Prints one JSON object per row, like `lookalike bench-index --json`.

Usage: bench_index_peers.py BASE.npy QUERIES.npy [--k 10] [--max-queries 1000] [--only annoy,hnswlib,faiss]
"""
import argparse
import json
import time

import numpy as np


def normalise(x):
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def recall(found, truth):
    return float(np.mean([len(set(f) & set(t)) / len(t) for f, t in zip(found, truth)]))


def timed_queries(function, queries):
    start = time.perf_counter()
    found = [function(q) for q in queries]
    return found, len(queries) / (time.perf_counter() - start)


def emit(engine, strategy, params, r, qps, build, size):
    print(json.dumps({"engine": engine, "strategy": strategy, "params": params, "recall": round(r, 4),
                      "qps": round(qps, 1), "build_s": round(build, 2), "bytes": size}), flush=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("base")
    parser.add_argument("queries")
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--max-queries", type=int, default=1000)
    parser.add_argument("--only", default="annoy,hnswlib,faiss")
    args = parser.parse_args()
    base = normalise(np.load(args.base).astype(np.float32))
    queries = normalise(np.load(args.queries).astype(np.float32))[: args.max_queries]
    n, d = base.shape
    k = args.k
    truth = np.argsort(-(queries @ base.T), axis=1)[:, :k]
    only = set(args.only.split(","))

    if "annoy" in only:
        import annoy
        for trees in (10, 20):
            index = annoy.AnnoyIndex(d, "angular")
            for i, v in enumerate(base):
                index.add_item(i, v)
            start = time.perf_counter()
            index.build(trees, n_jobs=1)
            build = time.perf_counter() - start
            for search_k in (5000, 10000, 20000, 40000, 80000):
                found, qps = timed_queries(lambda q: index.get_nns_by_vector(q, k, search_k=search_k), queries)
                emit("annoy", "forest", f"trees={trees} search_k={search_k}", recall(found, truth), qps, build, None)
            index.unload()

    if "hnswlib" in only:
        import hnswlib
        for m in (16, 32):
            index = hnswlib.Index(space="ip", dim=d)
            index.init_index(max_elements=n, M=m, ef_construction=200)
            index.set_num_threads(2)
            start = time.perf_counter()
            index.add_items(base, np.arange(n))
            build = time.perf_counter() - start
            index.set_num_threads(1)
            # hnswlib's own estimate of its memory: the vector and level-0 links, plus upper levels on average.
            size = n * (4 * d + 4 * 2 * m + 8 + 4) + n * 4 * m // max(1, int(np.log(m)))
            for ef in (10, 20, 40, 80, 160, 320):
                index.set_ef(max(ef, k))
                found, qps = timed_queries(lambda q: index.knn_query(q[None, :], k=k)[0][0], queries)
                emit("hnswlib", "hnsw", f"M={m} ef_construction=200 ef={ef} one call per query", recall(found, truth), qps, build, size)
                # The same queries in one call on one thread: no interpreter overhead per query.
                start = time.perf_counter()
                labels, _ = index.knn_query(queries, k=k, num_threads=1)
                qps = len(queries) / (time.perf_counter() - start)
                emit("hnswlib", "hnsw-batch", f"M={m} ef_construction=200 ef={ef} one call, one thread", recall(labels, truth), qps, build, size)

    if "faiss" in only:
        import faiss
        faiss.omp_set_num_threads(1)
        quantizer = faiss.IndexFlatIP(d)
        lists = 1024
        index = faiss.IndexIVFFlat(quantizer, d, lists, faiss.METRIC_INNER_PRODUCT)
        start = time.perf_counter()
        index.train(base[np.random.default_rng(0).choice(n, min(n, 50_000), replace=False)])
        index.add(base)
        build = time.perf_counter() - start
        for probes in (4, 8, 16, 32, 64):
            index.nprobe = probes
            found, qps = timed_queries(lambda q: index.search(q[None, :], k)[1][0], queries)
            emit("faiss", "ivf-flat", f"lists={lists} nprobe={probes}", recall(found, truth), qps, build, None)


if __name__ == "__main__":
    main()
