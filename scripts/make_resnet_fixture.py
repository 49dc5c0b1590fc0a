#!/usr/bin/env python3
"""Seeded random ResNet weights in torchvision's layout, and the outputs of an independent numpy forward pass.

Writes to OUT: weights.pth (torch.save's zip format, written here without torch), weights.safetensors (the same
tensors), input.npy (one preprocessed (3, 224, 224) float32 tensor), and the reference's outputs (computed in
float64, stored as float32):
stage0.npy (after the stem and max pool), stage1.npy … stage4.npy (after each stage, NCHW), feature.npy (the
global average pool, before L2 normalisation), logits.npy, and with a projection head (head.pth, nn.Linear's
layout) projected.npy.

The reference keeps BatchNorm as its own step (no folding), pads explicitly and computes convolutions by
im2col in float64: it shares no code with Lookalike's Swift engine.

Usage: make_resnet_fixture.py OUT [--seed 7] [--classes 10] [--depths 3,4,6,3]
       [--drop TENSOR] [--reshape TENSOR]   (a broken checkpoint, for the converter's refusals)
"""
import argparse
import collections
import io
import json
import pathlib
import pickle
import struct
import sys
import types
import zipfile

import numpy as np

WIDTHS = [64, 128, 256, 512]
EPSILON = 1e-5


def make_weights(seed, depths, classes):
    rng = np.random.default_rng(seed)
    tensors = collections.OrderedDict()

    def conv(name, cout, cin, k):
        tensors[name] = rng.normal(0, np.sqrt(2 / (cin * k * k)), (cout, cin, k, k)).astype(np.float32)

    def norm(name, channels, scale=(0.5, 1.0)):
        tensors[name + ".weight"] = rng.uniform(*scale, channels).astype(np.float32)
        tensors[name + ".bias"] = rng.normal(0, 0.1, channels).astype(np.float32)
        tensors[name + ".running_mean"] = rng.normal(0, 0.1, channels).astype(np.float32)
        tensors[name + ".running_var"] = rng.uniform(0.5, 1.5, channels).astype(np.float32)
        tensors[name + ".num_batches_tracked"] = np.array(1000, dtype=np.int64)

    conv("conv1.weight", 64, 3, 7)
    norm("bn1", 64)
    channels = 64
    for stage, (depth, width) in enumerate(zip(depths, WIDTHS), start=1):
        for index in range(depth):
            p = f"layer{stage}.{index}."
            conv(p + "conv1.weight", width, channels, 1)
            norm(p + "bn1", width)
            conv(p + "conv2.weight", width, width, 3)
            norm(p + "bn2", width)
            conv(p + "conv3.weight", width * 4, width, 1)
            # Small last-BN scales keep the residual sums from growing over 16 blocks (as zero-init-residual does).
            norm(p + "bn3", width * 4, scale=(0.1, 0.3))
            if index == 0:
                conv(p + "downsample.0.weight", width * 4, channels, 1)
                norm(p + "downsample.1", width * 4)
            channels = width * 4
    tensors["fc.weight"] = rng.normal(0, 0.02, (classes, channels)).astype(np.float32)
    tensors["fc.bias"] = rng.normal(0, 0.01, classes).astype(np.float32)
    return tensors


# ---------------------------------------------------------------- writing checkpoints without torch

def install_torch_stand_ins():
    """Module objects named like torch's, so pickle writes the globals torch.load expects (made once)."""
    if "torch._utils" in sys.modules:
        torch = sys.modules["torch"]
        return sys.modules["torch._utils"]._rebuild_tensor_v2, {n: getattr(torch, n) for n in ("FloatStorage", "LongStorage")}
    torch = types.ModuleType("torch")
    utils = types.ModuleType("torch._utils")

    def _rebuild_tensor_v2(*args):
        raise RuntimeError("stand-in")

    _rebuild_tensor_v2.__module__ = "torch._utils"
    _rebuild_tensor_v2.__qualname__ = "_rebuild_tensor_v2"
    utils._rebuild_tensor_v2 = _rebuild_tensor_v2
    storages = {}
    for name in ("FloatStorage", "LongStorage"):
        storages[name] = type(name, (), {"__module__": "torch"})
        setattr(torch, name, storages[name])
    torch._utils = utils
    sys.modules["torch"] = torch
    sys.modules["torch._utils"] = utils
    return utils._rebuild_tensor_v2, storages


class Storage:
    def __init__(self, key, kind, count):
        self.key, self.kind, self.count = key, kind, count


class Tensor:
    def __init__(self, storage, shape, rebuild):
        self.storage, self.shape, self.rebuild = storage, shape, rebuild

    def __reduce__(self):
        strides, step = [], 1
        for size in reversed(self.shape):
            strides.insert(0, step)
            step *= size
        return self.rebuild, (self.storage, 0, tuple(self.shape), tuple(strides), False, collections.OrderedDict())


def write_pth(path, tensors):
    rebuild, storage_types = install_torch_stand_ins()
    state = collections.OrderedDict()
    blobs = {}
    for index, (name, array) in enumerate(tensors.items()):
        kind = storage_types["LongStorage" if array.dtype == np.int64 else "FloatStorage"]
        storage = Storage(str(index), kind, array.size)
        blobs[storage.key] = np.ascontiguousarray(array).astype(array.dtype.newbyteorder("<")).tobytes()
        state[name] = Tensor(storage, array.shape, rebuild)

    class CheckpointPickler(pickle.Pickler):
        def persistent_id(self, obj):
            if isinstance(obj, Storage):
                return ("storage", obj.kind, obj.key, "cpu", obj.count)
            return None

    buffer = io.BytesIO()
    CheckpointPickler(buffer, protocol=2).dump(state)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("weights/data.pkl", buffer.getvalue())
        archive.writestr("weights/byteorder", "little")
        for key, blob in blobs.items():
            archive.writestr(f"weights/data/{key}", blob)
        archive.writestr("weights/version", "3\n")


def write_safetensors(path, tensors):
    header, blobs, offset = {}, [], 0
    for name, array in tensors.items():
        kind = "I64" if array.dtype == np.int64 else "F32"
        blob = np.ascontiguousarray(array).astype("<i8" if kind == "I64" else "<f4").tobytes()
        header[name] = {"dtype": kind, "shape": list(array.shape), "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    encoded = json.dumps(header).encode()
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(encoded)) + encoded + b"".join(blobs))


# ---------------------------------------------------------------- the reference forward pass (float64, NCHW)

def conv2d(x, weight, stride, padding):
    cout, cin, k, _ = weight.shape
    _, height, width = x.shape
    padded = np.pad(x, ((0, 0), (padding, padding), (padding, padding)))
    out_h = (height + 2 * padding - k) // stride + 1
    out_w = (width + 2 * padding - k) // stride + 1
    columns = np.empty((cin, k, k, out_h, out_w))
    for ky in range(k):
        for kx in range(k):
            columns[:, ky, kx] = padded[:, ky: ky + stride * out_h: stride, kx: kx + stride * out_w: stride]
    return (weight.reshape(cout, -1).astype(np.float64) @ columns.reshape(cin * k * k, -1)).reshape(cout, out_h, out_w)


def batch_norm(x, tensors, prefix):
    scale = tensors[prefix + ".weight"].astype(np.float64) / np.sqrt(tensors[prefix + ".running_var"].astype(np.float64) + EPSILON)
    return (x - tensors[prefix + ".running_mean"][:, None, None]) * scale[:, None, None] + tensors[prefix + ".bias"][:, None, None]


def max_pool(x, k=3, stride=2, padding=1):
    channels, height, width = x.shape
    padded = np.pad(x, ((0, 0), (padding, padding), (padding, padding)), constant_values=-np.inf)
    out_h, out_w = (height + 2 * padding - k) // stride + 1, (width + 2 * padding - k) // stride + 1
    out = np.full((channels, out_h, out_w), -np.inf)
    for ky in range(k):
        for kx in range(k):
            out = np.maximum(out, padded[:, ky: ky + stride * out_h: stride, kx: kx + stride * out_w: stride])
    return out


def forward(tensors, x, depths):
    relu = lambda v: np.maximum(v, 0)  # noqa: E731
    outputs = {}
    x = relu(batch_norm(conv2d(x.astype(np.float64), tensors["conv1.weight"], 2, 3), tensors, "bn1"))
    x = max_pool(x)
    outputs["stage0"] = x
    for stage, depth in enumerate(depths, start=1):
        for index in range(depth):
            p = f"layer{stage}.{index}."
            stride = 2 if stage > 1 and index == 0 else 1
            y = relu(batch_norm(conv2d(x, tensors[p + "conv1.weight"], 1, 0), tensors, p + "bn1"))
            y = relu(batch_norm(conv2d(y, tensors[p + "conv2.weight"], stride, 1), tensors, p + "bn2"))
            y = batch_norm(conv2d(y, tensors[p + "conv3.weight"], 1, 0), tensors, p + "bn3")
            shortcut = x
            if p + "downsample.0.weight" in tensors:
                shortcut = batch_norm(conv2d(x, tensors[p + "downsample.0.weight"], stride, 0), tensors, p + "downsample.1")
            x = relu(y + shortcut)
        outputs[f"stage{stage}"] = x
    feature = x.mean(axis=(1, 2))
    outputs["feature"] = feature
    outputs["logits"] = tensors["fc.weight"].astype(np.float64) @ feature + tensors["fc.bias"]
    return outputs


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=pathlib.Path)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--classes", type=int, default=10)
    parser.add_argument("--depths", default="3,4,6,3")
    parser.add_argument("--projection", type=int, default=256,
                        help="also write head.pth, an nn.Linear(2048, N) state dict, and projected.npy")
    parser.add_argument("--drop", help="leave this tensor out (a broken checkpoint; no reference is computed)")
    parser.add_argument("--reshape", help="give this tensor a wrong shape (a broken checkpoint)")
    args = parser.parse_args()
    depths = [int(d) for d in args.depths.split(",")]
    args.out.mkdir(parents=True, exist_ok=True)
    tensors = make_weights(args.seed, depths, args.classes)
    if args.drop or args.reshape:
        if args.drop:
            del tensors[args.drop]
        if args.reshape:
            tensors[args.reshape] = tensors[args.reshape][1:].copy()
        write_pth(args.out / "broken.pth", tensors)
        return
    write_pth(args.out / "weights.pth", tensors)
    write_safetensors(args.out / "weights.safetensors", tensors)
    image = np.random.default_rng(args.seed + 1).uniform(-2, 2, (3, 224, 224)).astype(np.float32)
    np.save(args.out / "input.npy", image)
    outputs = forward(tensors, image, depths)
    if args.projection:
        rng = np.random.default_rng(args.seed + 2)
        head = collections.OrderedDict(
            weight=rng.normal(0, 0.02, (args.projection, outputs["feature"].size)).astype(np.float32),
            bias=rng.normal(0, 0.01, args.projection).astype(np.float32))
        write_pth(args.out / "head.pth", head)
        outputs["projected"] = head["weight"].astype(np.float64) @ outputs["feature"] + head["bias"]
    for name, value in outputs.items():
        # Computed in float64, stored as float32 (what the Swift test reads); NCHW.
        np.save(args.out / f"{name}.npy", value.astype(np.float32))


if __name__ == "__main__":
    main()
