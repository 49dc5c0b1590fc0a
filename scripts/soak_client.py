#!/usr/bin/env python3
"""Mixed-traffic soak and overload client for scripts/soak (Python standard library only).

Phase 1 (--seconds): uploads, searches, similar and deletes at a steady rate the machine can hold, with the
server's resident memory and open file descriptors sampled every 10 s. Phase 2 (--overload-seconds): far more
concurrent uploads than the model can embed; every answer must be 2xx or a quick 503, and afterwards the server
must serve normally again. Prints one JSON object with every figure."""
import argparse, http.client, json, os, random, struct, threading, time, zlib


def png(seed, w=160, h=120):
    rng = random.Random(seed)
    colours = [bytes(rng.randrange(256) for _ in range(3)) for _ in range(6)]
    rows, cell = [], rng.randrange(8, 40)
    for y in range(h):
        row = bytearray(b"\x00")
        for x in range(w):
            row += colours[((x // cell) * 7 + (y // cell) * 3 + (x * y) // (cell * cell)) % 6]
        rows.append(bytes(row))
    chunk = lambda t, d: struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"".join(rows), 1)) + chunk(b"IEND", b""))


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.latency = {}   # op -> [ms]
        self.status = {}    # "op status" -> count

    def add(self, op, status, ms):
        with self.lock:
            self.latency.setdefault(op, []).append(ms)
            key = f"{op} {status}"
            self.status[key] = self.status.get(key, 0) + 1

    def summary(self):
        def pct(values, p):
            values = sorted(values)
            return round(values[min(len(values) - 1, int(p * len(values)))], 1) if values else None
        with self.lock:
            return {"status": dict(sorted(self.status.items())),
                    "latency_ms": {op: {"n": len(v), "p50": pct(v, 0.50), "p99": pct(v, 0.99), "max": round(max(v), 1)}
                                   for op, v in sorted(self.latency.items())}}


def request(port, method, path, body=None, timeout=60):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        started = time.monotonic()
        connection.request(method, path, body=body)
        response = connection.getresponse()
        data = response.read()
        return response.status, data, (time.monotonic() - started) * 1000
    except (OSError, http.client.HTTPException):
        return -1, b"", 0.0
    finally:
        connection.close()


def process_sample(pid):
    with open(f"/proc/{pid}/status") as f:
        rss = next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
    return {"rss_mib": round(rss / 1024, 1), "fds": len(os.listdir(f"/proc/{pid}/fd"))}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--pid", type=int, required=True)
    parser.add_argument("--seconds", type=float, default=600)
    parser.add_argument("--rate", type=float, default=16, help="requests per second, all clients together")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--overload-seconds", type=float, default=30)
    parser.add_argument("--overload-clients", type=int, default=160)
    args = parser.parse_args()
    port = args.port

    # A starting collection.
    stored, stored_lock, next_seed = {}, threading.Lock(), [1000]
    for seed in range(200):
        status, _, _ = request(port, "PUT", f"/v1/images/seed-{seed}", png(seed))
        assert status in (200, 201), f"preload failed: {status}"
        stored[f"seed-{seed}"] = seed

    stats, stop = Stats(), threading.Event()
    samples = [{"t": 0.0, **process_sample(args.pid)}]

    def client(index):
        rng = random.Random(index)
        interval = args.clients / args.rate
        next_time = time.monotonic()
        while not stop.is_set():
            next_time += interval
            roll = rng.random()
            with stored_lock:
                key = rng.choice(list(stored)) if stored else None
                seed = stored.get(key)
            if roll < 0.35 or key is None:
                with stored_lock:
                    next_seed[0] += 1
                    new_seed = next_seed[0]
                new_key = f"soak-{new_seed}"
                status, _, ms = request(port, "PUT", f"/v1/images/{new_key}", png(new_seed))
                stats.add("upload", status, ms)
                if status in (200, 201):
                    with stored_lock:
                        stored[new_key] = new_seed
            elif roll < 0.65:
                status, body, ms = request(port, "POST", "/v1/search?k=10", png(seed))
                stats.add("search", status, ms)
                if status == 200:
                    top = json.loads(body)["results"][:1]
                    if not top or top[0]["id"] != key:
                        # It may have been deleted meanwhile by another client; count only stable misses.
                        with stored_lock:
                            if key in stored:
                                stats.add("search-miss", 0, 0)
            elif roll < 0.92:
                status, _, ms = request(port, "GET", f"/v1/images/{key}/similar?k=10")
                stats.add("similar", status, ms)
            else:
                with stored_lock:
                    present = stored.pop(key, None) is not None
                if present:
                    status, _, ms = request(port, "DELETE", f"/v1/images/{key}")
                    stats.add("delete", status, ms)
            time.sleep(max(0.0, next_time - time.monotonic()))

    threads = [threading.Thread(target=client, args=(i,)) for i in range(args.clients)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    while time.monotonic() - started < args.seconds:
        time.sleep(min(10, args.seconds - (time.monotonic() - started)))
        samples.append({"t": round(time.monotonic() - started, 1), **process_sample(args.pid)})
    stop.set()
    for thread in threads:
        thread.join()
    soak = stats.summary()
    status, body, _ = request(port, "GET", "/v1/stats")
    server_stats = json.loads(body) if status == 200 else {}
    with stored_lock:
        expected = len(stored)

    # Overload: many clients uploading back to back.
    overload, stop_overload = Stats(), threading.Event()

    def flooder(index):
        seed = 10_000_000 + index * 100_000
        while not stop_overload.is_set():
            seed += 1
            status, _, ms = request(port, "PUT", f"/v1/images/flood-{seed}", png(seed % 5000), timeout=120)
            overload.add(f"upload {'503' if status == 503 else 'other'}", status, ms)
    floods = [threading.Thread(target=flooder, args=(i,)) for i in range(args.overload_clients)]
    flood_started = time.monotonic()
    for thread in floods:
        thread.start()
    time.sleep(args.overload_seconds)
    stop_overload.set()
    for thread in floods:
        thread.join()
    flood_seconds = time.monotonic() - flood_started
    after = process_sample(args.pid)
    time.sleep(1)
    recovered = [request(port, "PUT", f"/v1/images/after-{i}", png(900_000 + i))[0] for i in range(5)]

    five_xx = {k: v for k, v in soak["status"].items() if k.split()[-1].startswith("5") and not k.endswith(" 503")}
    errors = {k: v for k, v in soak["status"].items() if k.split()[-1] == "-1"}
    warm = next((s for s in samples if s["t"] >= 60), samples[-1])
    print(json.dumps({
        "soak_seconds": args.seconds, "rate": args.rate, "clients": args.clients, "soak": soak,
        "unexpected_5xx": five_xx, "connection_errors": errors,
        "images_expected": expected, "images_stored": server_stats.get("images"), "images_indexed": server_stats.get("indexed"),
        "rss_mib": {"start": samples[0]["rss_mib"], "after_warmup": warm["rss_mib"], "end": samples[-1]["rss_mib"],
                    "max": max(s["rss_mib"] for s in samples)},
        "fds": {"start": samples[0]["fds"], "end": samples[-1]["fds"], "max": max(s["fds"] for s in samples)},
        "samples": samples,
        "overload": {"seconds": round(flood_seconds, 1), "clients": args.overload_clients, **overload.summary(),
                     "rss_mib_end": after["rss_mib"], "fds_end": after["fds"]},
        "recovered_statuses": recovered,
    }, indent=1))


if __name__ == "__main__":
    main()
