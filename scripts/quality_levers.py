"""Retrieval-quality levers that need the CNN's last feature maps, scored on the evaluation sets.

    quality_levers.py WEIGHTS.safetensors MODEL.onnx NEARDUP/manifest.csv CATEGORY/manifest.csv

The ONNX export of the model (scripts/build_onnx.py) is run by onnxruntime with three more outputs: the head's
7×7×1280 activations, their pre-activations and the last block's 7×7×320 output. Images are prepared like
Lookalike's default recipe (the whole image centred on a square of the model's mean colour, 224×224; Pillow's
resize stands in for Lookalike's resampler, so figures differ from `lookalike eval` by a few thousandths), then each
lever turns the maps into one vector per image and is scored with `lookalike eval`'s definitions: every image
with a group is a query against all the others; mAP@10 (normalised by min(relevant, 10)), recall@1, precision@10.
"""
import csv
import json
import os
import struct
import sys
from math import erf

import numpy as np
import onnx
import onnxruntime
from PIL import Image, ImageOps

MAPS = {"head": "relu6_204", "head_pre": "bn_203", "last_block": "bn_201"}
SIDE = 224


def session(model_path):
    model = onnx.load(model_path)
    names = {node.output[0] for node in model.graph.node}
    for name in MAPS.values():
        if name not in names:
            sys.exit(f"{model_path} has no node output {name}: not an export of scripts/build_onnx.py")
        model.graph.output.append(onnx.helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, None))
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 2
    return onnxruntime.InferenceSession(model.SerializeToString(), options)


def padded_input(path):
    image = ImageOps.exif_transpose(Image.open(path)).convert("RGB")
    width, height = image.size
    side = max(width, height)
    square = Image.new("RGB", (side, side), (127, 127, 127))
    square.paste(image, ((side - width) // 2, (side - height) // 2))
    pixels = np.asarray(square.resize((SIDE, SIDE), Image.BILINEAR), dtype=np.float32)
    return ((pixels - 127) / 128).transpose(2, 0, 1), (width / side, height / side)


def content_weights(extents, cells=7):
    """Each feature-map cell's share covered by the image (not the padding)."""
    edges = np.arange(cells + 1) / cells
    def cover(extent):
        low, high = 0.5 - extent / 2, 0.5 + extent / 2
        return np.clip(np.minimum(edges[1:], high) - np.maximum(edges[:-1], low), 0, None) * cells
    return np.stack([np.outer(cover(h), cover(w)) for w, h in extents])


def load_set(runner, manifest):
    base = os.path.dirname(os.path.abspath(manifest))
    rows = list(csv.DictReader(open(manifest)))
    maps = {key: [] for key in MAPS}
    extents = []
    for start in range(0, len(rows), 32):
        batch = [padded_input(os.path.join(base, row["path"])) for row in rows[start:start + 32]]
        extents += [extent for _, extent in batch]
        outputs = runner.run(list(MAPS.values()), {"input": np.stack([tensor for tensor, _ in batch])})
        for key, output in zip(MAPS, outputs):
            maps[key].append(output.astype(np.float32))
    data = {key: np.concatenate(value) for key, value in maps.items()}
    data["content"] = content_weights(extents)
    data["groups"] = np.array([row["group_id"] for row in rows])
    return data


def head_statistics(weights_path):
    """The head's per-channel mean activation and share of positive activations over ImageNet, from its
    BatchNorm: after normalisation a channel is distributed with mean β and standard deviation |γ|."""
    with open(weights_path, "rb") as file:
        length = struct.unpack("<Q", file.read(8))[0]
        header = json.loads(file.read(length))
        def tensor(name):
            start, end = header[name]["data_offsets"]
            file.seek(8 + length + start)
            return np.frombuffer(file.read(end - start), dtype=np.float32).astype(np.float64)
        gamma, beta = np.abs(tensor("_bn1.weight")), tensor("_bn1.bias")
    grid = np.linspace(-8, 8, 4001)
    density = np.exp(-grid ** 2 / 2)
    density /= density.sum()
    mean = np.array([(np.clip(b + grid * g, 0, 6) * density).sum() for b, g in zip(beta, gamma)])
    positive = np.array([0.5 * (1 + erf(b / (g * np.sqrt(2)))) for b, g in zip(beta, gamma)])
    return mean, positive


def normalized(x):
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def powered(x, p):
    return np.sign(x) * np.abs(x) ** p


def weighted_pool(maps, weights):
    return (maps * weights[:, None]).sum((2, 3)) / weights.sum((1, 2))[:, None]


def scores(vectors, groups, expansion=0, augmentation=0):
    x = normalized(vectors.astype(np.float64))
    def neighbours(similarity, count):
        order = np.argsort(-similarity, axis=1)[:, :count]
        return x + np.stack([(similarity[i, order[i]][:, None] * x[order[i]]).sum(0) for i in range(len(x))])
    similarity = x @ x.T
    np.fill_diagonal(similarity, -np.inf)
    if augmentation:
        x = normalized(neighbours(similarity, augmentation))
        similarity = x @ x.T
        np.fill_diagonal(similarity, -np.inf)
    if expansion:
        similarity = normalized(neighbours(similarity, expansion)) @ x.T
        np.fill_diagonal(similarity, -np.inf)
    top = np.argsort(-similarity, axis=1)[:, :10]
    average_precision, recall_at_1, precision_at_10, queries = 0.0, 0.0, 0.0, 0
    for i, group in enumerate(groups):
        relevant = (groups == group).sum() - 1 if group else 0
        if relevant == 0:
            continue
        hits = groups[top[i]] == group
        average_precision += (hits * np.cumsum(hits) / np.arange(1, 11)).sum() / min(relevant, 10)
        recall_at_1 += hits[0]
        precision_at_10 += hits.sum() / 10
        queries += 1
    return average_precision / queries, recall_at_1 / queries, precision_at_10 / queries


def levers(imagenet_mean, positive_share):
    idf = np.log(positive_share.sum() / positive_share)
    def average(d): return d["head"].mean((2, 3))
    def content(d): return weighted_pool(d["head"], d["content"])
    def gem(p): return lambda d: weighted_pool(d["head"] ** p, d["content"]) ** (1 / p)
    def crow(d):
        spatial = d["head"].sum(1)
        spatial = np.sqrt(spatial / np.sqrt((spatial ** 2).sum((1, 2)))[:, None, None])
        return weighted_pool(d["head"], spatial)
    def default(d): return powered(average(d), 0.8)
    def own_centred(d):
        v = normalized(default(d))
        return v - v.mean(0)
    def whitened(d, shrink=16, strength=0.25):
        v = normalized(default(d))
        v = v - v.mean(0)
        eigenvalues, basis = np.linalg.eigh(np.cov(v.T))
        eigenvalues = np.clip(eigenvalues, 0, None)
        return (v @ basis) * (eigenvalues + shrink * eigenvalues.mean()) ** (-strength / 2)
    return [
        ("average pool, power 0.8 (the default recipe)", default, {}),
        ("average pool, no power", average, {}),
        ("average over the image's cells only (padding masked)", lambda d: powered(content(d), 0.8), {}),
        ("GeM p = 1.5, image cells", lambda d: powered(gem(1.5)(d), 0.8), {}),
        ("GeM p = 2, image cells", lambda d: powered(gem(2)(d), 0.8), {}),
        ("GeM p = 3, image cells", lambda d: powered(gem(3)(d), 0.8), {}),
        ("max pool", lambda d: d["head"].max((2, 3)), {}),
        ("average ⊕ max", lambda d: np.hstack([normalized(default(d)), normalized(powered(d["head"].max((2, 3)), 0.8))]), {}),
        ("CroW spatial weights", lambda d: powered(crow(d), 0.8), {}),
        ("pre-activation average", lambda d: d["head_pre"].mean((2, 3)), {}),
        ("last block's 320 channels, average", lambda d: d["last_block"].mean((2, 3)), {}),
        ("default ⊕ 0.5 × last block", lambda d: np.hstack([normalized(default(d)), 0.5 * normalized(d["last_block"].mean((2, 3)))]), {}),
        ("centred on the ImageNet mean (from the head's BatchNorm), ×0.5", lambda d: powered(average(d) - 0.5 * imagenet_mean, 0.8), {}),
        ("centred on the ImageNet mean, ×1", lambda d: powered(average(d) - imagenet_mean, 0.8), {}),
        ("channels weighted by ImageNet idf", lambda d: powered(average(d) * idf, 0.8), {}),
        ("centred on the collection's own mean", own_centred, {}),
        ("whitened on the collection (shrink 16, strength 0.25)", whitened, {}),
        ("default + query expansion 3", default, {"expansion": 3}),
        ("collection-centred + query expansion 3", own_centred, {"expansion": 3}),
        ("default + database-side augmentation 3", default, {"augmentation": 3}),
    ]


def main():
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    weights_path, model_path, neardup, category = sys.argv[1:]
    runner = session(model_path)
    sets = {"near-dup": load_set(runner, neardup), "category": load_set(runner, category)}
    print(f"near-dup: {len(sets['near-dup']['groups'])} images; category: {len(sets['category']['groups'])} images")
    print("| lever | near-dup mAP@10 | near-dup recall@1 | category P@10 | category mAP@10 |")
    print("| --- | --- | --- | --- | --- |")
    for name, vectors, search in levers(*head_statistics(weights_path)):
        near = scores(vectors(sets["near-dup"]), sets["near-dup"]["groups"], **search)
        cat = scores(vectors(sets["category"]), sets["category"]["groups"], **search)
        print(f"| {name} | {near[0]:.4f} | {near[1]:.4f} | {cat[2]:.4f} | {cat[0]:.4f} |", flush=True)


if __name__ == "__main__":
    main()
