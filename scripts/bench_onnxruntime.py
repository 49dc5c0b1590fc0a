#!/usr/bin/env python3
"""onnxruntime side of scripts/bench-model: same graph, batches and worker counts as `lookalike bench-model`.

Each worker is a thread with its own session limited to one intra-op thread (onnxruntime releases the GIL while
running), matching Lookalike's one-OpenBLAS-thread-per-worker pool. Prints one JSON object per row.

Usage: bench_onnxruntime.py MODEL.onnx --batches 1,8,32 --workers 1,2 --seconds 5
"""
import argparse
import json
import threading
import time

import numpy as np
import onnxruntime as ort


def run(path, batch, workers, seconds, size):
    x = np.random.default_rng(0).uniform(-1, 1, (batch, 3, size, size)).astype(np.float32)
    times = [[] for _ in range(workers)]

    def worker(index):
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
        session.run(["feature"], {"input": x})  # warm-up
        start = time.perf_counter()
        while time.perf_counter() - start < seconds or len(times[index]) < 3:
            begin = time.perf_counter()
            session.run(["feature"], {"input": x})
            times[index].append(time.perf_counter() - begin)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    images = sum(len(t) for t in times) * batch
    wall = max(sum(t) for t in times)
    median = float(np.median([v for t in times for v in t])) * 1000
    return {"engine": "onnxruntime", "workers": workers, "batch": batch,
            "images_per_s": round(images / wall, 2), "median_ms": round(median, 3)}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("model")
    parser.add_argument("--batches", default="1,8,32")
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--size", type=int, default=224)
    args = parser.parse_args()
    for workers in map(int, args.workers.split(",")):
        for batch in map(int, args.batches.split(",")):
            print(json.dumps(run(args.model, batch, workers, args.seconds, args.size)), flush=True)


if __name__ == "__main__":
    main()
