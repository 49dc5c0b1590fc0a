#!/usr/bin/env python3
"""Pillow side of scripts/bench-decode, and the maker of its test photo.

  bench_decode_pillow.py make OUT.jpg        write a 4000×3000 (12 MP) photo-like JPEG, quality 90, 4:2:0
  bench_decode_pillow.py time IN.jpg N       time bytes → 224×224 normalised CHW float32 tensor, N repeats

The timed path is what a Pillow user would write for a CNN input: Image.open, draft('RGB', (224, 224)) for
DCT-domain downscaling, centre square crop, resize to 224 (bilinear, antialiased), (x − 127) / 128, CHW.
"""
import io
import json
import sys
import time

import numpy as np
from PIL import Image

try:  # HEIC through pillow-heif, as Pillow users read it
    import pillow_heif
    pillow_heif.register_heif_opener()
except ImportError:
    pass


def make(path):
    rng = np.random.default_rng(12)
    h, w = 3000, 4000
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    # Smooth shapes plus fine texture plus sensor-like noise: compresses like a real photo (several MB).
    r = 120 + 80 * np.sin(x / 310) * np.cos(y / 270) + 30 * np.sin((x + y) / 23)
    g = 110 + 70 * np.cos(x / 190 + 1) + 25 * np.sin(y / 17)
    b = 100 + 60 * np.sin((x - y) / 420) + 20 * np.cos(x / 11)
    image = np.stack([r, g, b], axis=-1) + rng.normal(0, 12, (h, w, 3))
    Image.fromarray(np.clip(image, 0, 255).astype(np.uint8)).save(path, quality=90, subsampling=2)


def preprocess(data):
    image = Image.open(io.BytesIO(data))
    image.draft("RGB", (224, 224))
    image = image.convert("RGB")
    width, height = image.size
    side = min(width, height)
    left, top = (width - side) // 2, (height - side) // 2
    image = image.resize((224, 224), Image.BILINEAR, box=(left, top, left + side, top + side))
    array = (np.asarray(image, dtype=np.float32) - 127.0) / 128.0
    return np.ascontiguousarray(array.transpose(2, 0, 1))


def main():
    if sys.argv[1] == "make":
        make(sys.argv[2])
        return
    data = open(sys.argv[2], "rb").read()
    repeats = int(sys.argv[3])
    times = []
    for index in range(repeats + 2):
        begin = time.perf_counter()
        tensor = preprocess(data)
        if index >= 2:
            times.append((time.perf_counter() - begin) * 1000)
    times.sort()
    print(json.dumps({"engine": "pillow", "median_ms": round(times[len(times) // 2], 3), "min_ms": round(times[0], 3),
                      "repeats": repeats, "checksum": round(float(tensor.sum()), 3)}))


if __name__ == "__main__":
    main()
