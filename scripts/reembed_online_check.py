#!/usr/bin/env python3
"""Online re-embedding under load, end to end: a release server with N stored images moves its collection to another
recipe while clients search and upload; every request must succeed, every search must find its own image at
cosine 1 (a query of one recipe scored against vectors of the other would not), and afterwards every stored vector
must be the one `lookalike embed-all` computes for the image's file with the new recipe (cosine >= 0.9999).

Usage: scripts/reembed-online-check [IMAGES] [CLIENTS]   (run through the shell wrapper, which builds the binary)
"""
import argparse
import json
import os
import random
import re
import signal
import sqlite3
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
from PIL import Image, ImageDraw

TARGET = {"crop": "squash", "feature_power": 0.6}


def make_images(folder: Path, count: int, offset: int) -> list:
    """Distinct 320x200 JPEGs: a random gradient under random ellipses and bars."""
    paths = []
    for index in range(offset, offset + count):
        rng = random.Random(index)
        image = Image.new("RGB", (320, 200))
        a, b = [tuple(rng.randrange(256) for _ in range(3)) for _ in range(2)]
        draw = ImageDraw.Draw(image)
        for x in range(0, 320, 8):
            t = x / 320
            draw.rectangle([x, 0, x + 8, 200], fill=tuple(int(a[c] * (1 - t) + b[c] * t) for c in range(3)))
        for _ in range(rng.randrange(3, 9)):
            x0, y0 = rng.randrange(300), rng.randrange(180)
            shape = [x0, y0, x0 + rng.randrange(10, 160), y0 + rng.randrange(10, 120)]
            colour = tuple(rng.randrange(256) for _ in range(3))
            (draw.ellipse if rng.random() < 0.5 else draw.rectangle)(shape, fill=colour)
        path = folder / f"img{index:05d}.jpg"
        image.save(path, quality=88)
        paths.append(path)
    return paths


def start_server(binary: str, work: Path):
    log = open(work / "server.log", "w")
    environment = dict(os.environ, LOOKALIKE_STORAGE_KEEP_ORIGINALS="true")
    process = subprocess.Popen([binary, "serve", "--host", "127.0.0.1", "--port", "0", "--db", str(work / "db.sqlite")],
                               stdout=log, stderr=subprocess.STDOUT, env=environment)
    for _ in range(600):
        text = (work / "server.log").read_text()
        match = re.search(r"port[=\":]+\s*\"?(\d+)", text) if "index ready" in text else None
        if match:
            return process, f"http://127.0.0.1:{match.group(1)}"
        time.sleep(0.1)
    raise SystemExit("the server did not start:\n" + (work / "server.log").read_text())


def upload_all(base: str, paths: list, threads: int) -> None:
    queue = list(paths)
    lock = threading.Lock()
    failures = []

    def lane():
        with httpx.Client(base_url=base, timeout=120) as client:
            while True:
                with lock:
                    if not queue:
                        return
                    path = queue.pop()
                answer = client.post(f"/v1/images?id={path.stem}", content=path.read_bytes())
                if answer.status_code != 201:
                    failures.append(f"{path.stem}: {answer.status_code} {answer.text[:200]}")

    workers = [threading.Thread(target=lane) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    if failures:
        raise SystemExit(f"{len(failures)} uploads failed before the change, first: {failures[0]}")


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else 0.0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", required=True)
    parser.add_argument("--images", type=int, default=5000)
    parser.add_argument("--extra", type=int, default=200, help="images uploaded during the change")
    parser.add_argument("--clients", type=int, default=4)
    arguments = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="lookalike-reembed-"))
    folder = work / "images"
    folder.mkdir()
    started = time.monotonic()
    stored = make_images(folder, arguments.images, 0)
    extra = make_images(folder, arguments.extra, arguments.images)
    print(f"reembed-check: {len(stored)} + {len(extra)} images made in {time.monotonic() - started:.0f} s", flush=True)

    process, base = start_server(arguments.binary, work)
    try:
        started = time.monotonic()
        upload_all(base, stored, 4)
        print(f"reembed-check: {len(stored)} stored in {time.monotonic() - started:.0f} s", flush=True)
        before = httpx.get(f"{base}/v1/collections/default").json()

        done = threading.Event()
        lock = threading.Lock()
        uploads = list(extra)
        uploaded = []
        results = {"search": [], "upload": [], "failed": [], "mixed": []}

        def client(lane: int) -> None:
            rng = random.Random(1000 + lane)
            with httpx.Client(base_url=base, timeout=120) as http:
                step = 0
                while not done.is_set():
                    step += 1
                    path = None
                    if step % 4 == 0:
                        with lock:
                            path = uploads.pop() if uploads else None
                    began = time.monotonic()
                    try:
                        if path is not None:
                            answer = http.post(f"/v1/images?id={path.stem}", content=path.read_bytes())
                            kind = "upload"
                            ok = answer.status_code == 201
                            if ok:
                                with lock:
                                    uploaded.append(path)
                        else:
                            probe = rng.choice(stored)
                            answer = http.post("/v1/search?k=1", content=probe.read_bytes())
                            kind = "search"
                            ok = answer.status_code == 200
                            if ok:
                                top = (answer.json().get("results") or [{}])[0]
                                if top.get("id") != probe.stem or top.get("score", 0) < 0.9999:
                                    with lock:
                                        results["mixed"].append(f"{probe.stem}: {top}")
                    except httpx.HTTPError as error:
                        kind, ok, answer = "request", False, error
                    elapsed = time.monotonic() - began
                    with lock:
                        if ok:
                            results[kind].append(elapsed)
                        else:
                            results["failed"].append(f"{kind}: {getattr(answer, 'status_code', answer)} "
                                                     f"{getattr(answer, 'text', '')[:200]}")

        patched = httpx.patch(f"{base}/v1/collections/default", json={"recipe": TARGET})
        if patched.status_code != 202:
            raise SystemExit(f"PATCH answered {patched.status_code}: {patched.text}")
        change_started = time.monotonic()
        workers = [threading.Thread(target=client, args=(lane,)) for lane in range(arguments.clients)]
        for worker in workers:
            worker.start()
        change = {}
        while time.monotonic() - change_started < 3600:
            change = httpx.get(f"{base}/v1/collections/default").json().get("recipe_change", {})
            if change.get("state") in ("done", "failed"):
                break
            time.sleep(0.5)
        change_seconds = time.monotonic() - change_started
        time.sleep(3)  # searches and uploads on the new recipe too
        done.set()
        for worker in workers:
            worker.join()
        after = httpx.get(f"{base}/v1/collections/default").json()
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=120)

    # Every stored vector against an independent computation from the files.
    all_paths = stored + uploaded
    listing = work / "list.txt"
    listing.write_text("\n".join(str(path) for path in all_paths))
    reference = work / "reference.npy"
    subprocess.run([arguments.binary, "embed-all", str(listing), "--output", str(reference), "--crop", TARGET["crop"],
                    "--feature-power", str(TARGET["feature_power"])], check=True, stdout=subprocess.DEVNULL)
    raw = reference.read_bytes()
    header_length = struct.unpack("<H", raw[8:10])[0]
    data = raw[10 + header_length:]
    dimension = len(data) // 4 // len(all_paths)
    database = sqlite3.connect(work / "db.sqlite")
    rows = {key: (model, blob) for key, model, blob in database.execute(
        "SELECT i.key, v.model, v.data FROM images i JOIN vectors v ON v.image_id = i.id")}
    cosines, wrong_model, missing = [], [], []
    for row, path in enumerate(all_paths):
        if path.stem not in rows:
            missing.append(path.stem)
            continue
        model, blob = rows[path.stem]
        if model != after["model"]:
            wrong_model.append(f"{path.stem}: {model}")
        stored_vector = struct.unpack(f"<{dimension}f", blob)
        expected = struct.unpack_from(f"<{dimension}f", data, row * dimension * 4)
        cosines.append(sum(x * y for x, y in zip(stored_vector, expected)))
    below = sum(1 for value in cosines if value < 0.9999)

    summary = {
        "images": len(stored), "uploaded_during_change": len(uploaded), "clients": arguments.clients,
        "change_state": change.get("state"), "change_seconds": round(change_seconds, 1),
        "images_per_second": change.get("images_per_second"), "from_model": before["model"], "to_model": after["model"],
        "searches": len(results["search"]), "uploads": len(results["upload"]), "failed_requests": len(results["failed"]),
        "mixed_spaces": len(results["mixed"]),
        "search_ms_p50": round(1000 * statistics.median(results["search"]), 1) if results["search"] else None,
        "search_ms_p99": round(1000 * percentile(results["search"], 0.99), 1),
        "upload_ms_p50": round(1000 * statistics.median(results["upload"]), 1) if results["upload"] else None,
        "vectors_checked": len(cosines), "vectors_missing": len(missing), "vectors_of_another_recipe": len(wrong_model),
        "cosine_min": round(min(cosines), 6) if cosines else None, "cosine_below_0.9999": below,
    }
    print(json.dumps(summary, indent=1))
    for line in (results["failed"][:5] + results["mixed"][:5] + wrong_model[:5] + missing[:5]):
        print("  " + line)
    ok = (change.get("state") == "done" and not results["failed"] and not results["mixed"] and not missing
          and not wrong_model and below == 0 and len(cosines) == len(all_paths))
    print("reembed-check: " + ("passed" if ok else "FAILED"))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
