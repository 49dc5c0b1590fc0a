"""Import jobs against the bare model: a release server imports the 400 upload-benchmark PNGs, as URLs from a local
origin and as paths under imports.root, in rounds each bracketed by two bare-model measurements.

Usage: bench_import.py BINARY FOLDER ROUNDS CONCURRENCY   (FOLDER/img holds the PNGs; prints one line per round and the medians)"""
import functools
import http.server
import json
import re
import statistics
import subprocess
import sys
import threading
import time
import urllib.request

binary, folder, rounds, lanes = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
images = sorted((p for p in __import__("os").listdir(f"{folder}/img") if p.endswith(".png")), key=lambda n: int(n[:-4]))

class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


handler = functools.partial(QuietHandler, directory=f"{folder}/img")
origin = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
threading.Thread(target=origin.serve_forever, daemon=True).start()
origin_url = f"http://127.0.0.1:{origin.server_address[1]}"

log = open(f"{folder}/server.log", "w")
server = subprocess.Popen([binary, "serve", "--host", "127.0.0.1", "--port", "18191", "--db", f"{folder}/bench.sqlite",
                           "--log-level", "warning"], stdout=log, stderr=subprocess.STDOUT,
                          env={**__import__("os").environ, "LOOKALIKE_IMPORTS_ROOT": f"{folder}/img"})
base = "http://127.0.0.1:18191"
for _ in range(300):
    try:
        if urllib.request.urlopen(f"{base}/readyz").status == 200:
            break
    except OSError:
        time.sleep(0.2)


def request(method, path, body=None, content_type=None):
    req = urllib.request.Request(base + path, data=body, method=method)
    if content_type:
        req.add_header("Content-Type", content_type)
    with urllib.request.urlopen(req) as response:
        return json.loads(response.read() or b"{}")


def bare_model():
    out = subprocess.run([binary, "bench-model", "--batches", "1,2", "--workers", "2", "--seconds", "2", "--json"],
                         capture_output=True, text=True).stdout
    rates = {int(b): float(r) for b, r in re.findall(r'"batch":(\d+),"images_per_s":([0-9.]+)', out)}
    return max(rates.values())


def import_rate(kind, prefix, concurrency):
    if kind == "url":
        lines = [json.dumps({"id": f"{prefix}{n}", "url": f"{origin_url}/{n}"}) for n in images]
    else:
        lines = [json.dumps({"id": f"{prefix}{n}", "path": n}) for n in images]
    start = time.monotonic()
    job = request("POST", f"/v1/imports?concurrency={concurrency}", "\n".join(lines).encode(), "application/x-ndjson")
    while True:
        status = request("GET", f"/v1/imports/{job['id']}")
        if status["state"] == "completed":
            break
        time.sleep(0.05)
    elapsed = time.monotonic() - start
    assert status["counts"]["stored"] == len(images), status
    return len(images) / elapsed


try:
    import_rate("url", "warm-", lanes)  # unrecorded: the first minute of a server runs slower
    print(f"{'round':>5} {'bare':>8} {'urls':>8} {'bare':>8} {'paths':>8} {'bare':>8} {'ratio url':>9} {'ratio path':>10}  ({lanes} at a time)")
    ratios_url, ratios_path = [], []
    before = bare_model()
    for round_ in range(1, rounds + 1):
        url = import_rate("url", f"r{round_}u-", lanes)
        middle = bare_model()
        path = import_rate("path", f"r{round_}p-", lanes)
        after = bare_model()
        ratio_url, ratio_path = 2 * url / (before + middle), 2 * path / (middle + after)
        ratios_url.append(ratio_url)
        ratios_path.append(ratio_path)
        print(f"{round_:>5} {before:8.1f} {url:8.1f} {middle:8.1f} {path:8.1f} {after:8.1f} {ratio_url:9.3f} {ratio_path:10.3f}", flush=True)
        before = after
    print(f"import / bare model, median over rounds: URLs {statistics.median(ratios_url):.3f}, paths {statistics.median(ratios_path):.3f}")
finally:
    server.terminate()
    server.wait()
    origin.shutdown()
