#!/usr/bin/env python3
"""Regenerate the model-test fixtures in Tests/InferenceTests/Fixtures (not needed to build or test).

- chelsea.png: scikit-image's "chelsea" photo (public domain), lossless.
- coffee.jpg: scikit-image's "coffee" photo (public domain), downscaled to 300 px wide, JPEG q90.
- chelsea_reference.json: onnxruntime's output for chelsea under the reference preprocessing (centre square
  crop, bilinear resize with half-pixel centres, no antialias, (x - 127) / 128): the full pooled 1280-d
  feature and the top-5 classes. onnxruntime runs the graph from scripts/build_onnx.py.

Usage: make_reference_fixtures.py MODEL.onnx   (needs numpy, scikit-image, pillow, onnxruntime)
"""
import json
import os
import sys

import numpy as np
import onnxruntime as ort
import skimage.data
from PIL import Image

OUT = os.path.join(os.path.dirname(__file__), "..", "Tests", "InferenceTests", "Fixtures")


def reference_input(image, size=224):
    image = image.astype(np.float64)
    height, width, _ = image.shape
    side = min(height, width)
    top, left = (height - side) // 2, (width - side) // 2
    crop = image[top:top + side, left:left + side]

    def taps(n_in, n_out):
        src = np.clip((np.arange(n_out) + 0.5) * n_in / n_out - 0.5, 0, n_in - 1)
        lo = np.floor(src).astype(int)
        return lo, np.minimum(lo + 1, n_in - 1), src - lo

    ly, hy, fy = taps(side, size)
    lx, hx, fx = taps(side, size)
    rows = crop[ly] * (1 - fy)[:, None, None] + crop[hy] * fy[:, None, None]
    out = rows[:, lx] * (1 - fx)[None, :, None] + rows[:, hx] * fx[None, :, None]
    return ((out - 127) / 128).transpose(2, 0, 1)[None].astype(np.float32)


def main():
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(sys.argv[1], options, providers=["CPUExecutionProvider"])
    chelsea = skimage.data.chelsea()
    Image.fromarray(chelsea).save(os.path.join(OUT, "chelsea.png"), optimize=True)
    coffee = Image.fromarray(skimage.data.coffee())
    coffee.resize((300, 200), Image.LANCZOS).save(os.path.join(OUT, "coffee.jpg"), quality=90)

    x = reference_input(chelsea)
    feature, logits = session.run(None, {"input": x})
    probabilities = np.exp(logits[0] - logits[0].max())
    probabilities /= probabilities.sum()
    top = np.argsort(-probabilities)[:5]
    reference = {
        "input_sum": float(x.astype(np.float64).sum()),
        "feature": [round(float(v), 7) for v in feature[0]],
        "top5": [[int(i), float(probabilities[i])] for i in top],
    }
    with open(os.path.join(OUT, "chelsea_reference.json"), "w") as f:
        json.dump(reference, f)
    print("top-5:", reference["top5"])


if __name__ == "__main__":
    main()
