#!/usr/bin/env python3
"""Convert an EfficientNet-Lite or ResNet checkpoint to Lookalike's weight file.

The output is a safetensors file: an 8-byte little-endian header length, a JSON header naming every tensor
(dtype F32, logical PyTorch shape, byte offsets), then the raw little-endian float32 data, each tensor
contiguous in row-major order of its logical shape. The header's __metadata__ records the architecture
(name, input size, per-block strides) so that the Swift loader needs no other description.

Inputs: a PyTorch .pth (torch.save's zip format or the legacy format; a bare state dict or one under "state_dict"
or "model"; a "module." prefix from DataParallel is dropped) or a .safetensors file. Needs only numpy: .pth files
are read with Python's own pickle module, torch's classes replaced by small stand-ins, so torch itself is never
imported.

ResNet (--name resnet50, resnet101, resnet152): the torchvision / timm layout (conv1, bn1, layer1.0.conv1, …,
layer1.0.downsample.0/1, fc), v1.5 (the stride on each stage's first 3×3 convolution), ImageNet normalisation.
Every tensor is checked against the architecture; the first missing, mis-shaped or unexpected one is named.

A retrieval head (--projection HEAD): a linear layer applied after pooling, e.g. `torch.save(head.state_dict())` of
an nn.Linear(2048, d): tensors `weight` [d, features] and `bias` [d] (or `projection.weight`, `projection.bias`),
stored in the same file; the served vectors are then d-dimensional.

Usage: convert_model.py --name efficientnet-lite0 INPUT.pth OUTPUT.safetensors
       convert_model.py --name resnet50 INPUT.pth|INPUT.safetensors OUTPUT.safetensors [--projection HEAD.pth]
"""
import argparse
import collections
import json
import math
import pickle
import struct
import sys
import zipfile

import numpy as np

# (repeats, kernel, stride, expand ratio, output channels) of EfficientNet-B0, shared by the Lite family.
BASE_BLOCKS = [(1, 3, 1, 1, 16), (2, 3, 2, 6, 24), (2, 5, 2, 6, 40), (3, 3, 2, 6, 80),
               (3, 5, 1, 6, 112), (4, 5, 2, 6, 192), (1, 3, 1, 6, 320)]
# name: (depth multiplier, input size). Lite models keep the stem and head fixed and do not scale the first
# and last stage's repeats.
VARIANTS = {
    "efficientnet-lite0": (1.0, 224),
    "efficientnet-lite1": (1.1, 240),
    "efficientnet-lite2": (1.2, 260),
    "efficientnet-lite3": (1.4, 280),
    "efficientnet-lite4": (1.8, 300),
}


def block_strides(name):
    depth, _ = VARIANTS[name]
    strides = []
    for index, (repeats, _, stride, _, _) in enumerate(BASE_BLOCKS):
        if 0 < index < len(BASE_BLOCKS) - 1:
            repeats = int(math.ceil(depth * repeats))
        strides += [stride] + [1] * (repeats - 1)
    return strides


class StorageType:
    def __init__(self, name):
        self.name = name


DTYPES = {"FloatStorage": (np.float32, 4), "LongStorage": (np.int64, 8), "HalfStorage": (np.float16, 2),
          "DoubleStorage": (np.float64, 8), "IntStorage": (np.int32, 4)}
# ResNet depths (blocks per stage) and bottleneck widths of torchvision's models.
RESNETS = {"resnet50": [3, 4, 6, 3], "resnet101": [3, 4, 23, 3], "resnet152": [3, 8, 36, 3]}
RESNET_WIDTHS = [64, 128, 256, 512]


def rebuild_tensor(storage, offset, size, stride, *rest):
    return ("tensor", storage, offset, tuple(size), tuple(stride))


def rebuild_parameter(data, *rest):
    return data


class CheckpointUnpickler(pickle.Unpickler):
    """Resolves only the globals a state-dict checkpoint needs; anything else is refused."""

    def find_class(self, module, name):
        if module == "collections" and name == "OrderedDict":
            return collections.OrderedDict
        if module == "torch._utils" and name in ("_rebuild_tensor_v2", "_rebuild_tensor"):
            return rebuild_tensor
        if module == "torch._utils" and name == "_rebuild_parameter":
            return rebuild_parameter
        if module == "torch" and name in DTYPES:
            return StorageType(name)
        raise pickle.UnpicklingError(f"unexpected global {module}.{name} in checkpoint")

    def persistent_load(self, pid):
        # ('storage', storage type, key, location, element count)
        _, storage_type, key, _, count = pid[:5]
        return (storage_type.name, key, count)


def read_checkpoint(path):
    with open(path, "rb") as f:
        for _ in range(3):  # magic number, protocol version, system info
            pickle.load(f)
        state = unwrap_state(CheckpointUnpickler(f).load(), path)
        state = collections.OrderedDict(
            (name, value) for name, value in state.items() if isinstance(value, tuple) and value and value[0] == "tensor")
        keys = pickle.load(f)
        storages = {}
        types = {}
        for value in state.values():
            types[value[1][1]] = value[1][0]
        for key in keys:
            (count,) = struct.unpack("<q", f.read(8))
            dtype, width = DTYPES[types[key]]
            storages[key] = np.frombuffer(f.read(count * width), dtype=dtype)
    tensors = collections.OrderedDict()
    for name, (_, (kind, key, _), offset, size, stride) in state.items():
        tensors[name] = materialize(storages[key], offset, size, stride)
    return tensors


def materialize(data, offset, size, stride):
    """A tensor's values, contiguous, from its storage and view. The stride is honoured: the Lite weights were
    converted from TensorFlow and sit behind transposed views."""
    view = np.lib.stride_tricks.as_strided(data[offset:], shape=size, strides=tuple(s * data.dtype.itemsize for s in stride))
    return np.ascontiguousarray(view)


def read_zip_checkpoint(path):
    """torch.save's zip format: ARCHIVE/data.pkl pickles the state dict, ARCHIVE/data/KEY holds each storage."""
    with zipfile.ZipFile(path) as archive:
        pickles = [n for n in archive.namelist() if n.endswith("/data.pkl") or n == "data.pkl"]
        if len(pickles) != 1:
            sys.exit(f"convert_model: {path}: a zip without exactly one data.pkl is not a PyTorch checkpoint")
        prefix = pickles[0][: -len("data.pkl")]

        class ZipUnpickler(CheckpointUnpickler):
            def persistent_load(self, pid):
                _, storage_type, key, _, count = pid[:5]
                dtype, width = DTYPES[storage_type.name]
                data = archive.read(f"{prefix}data/{key}")
                if len(data) < count * width:
                    sys.exit(f"convert_model: {path}: storage {key} is truncated")
                return np.frombuffer(data[: count * width], dtype=dtype)

        with archive.open(pickles[0]) as f:
            state = ZipUnpickler(f).load()
    state = unwrap_state(state, path)
    tensors = collections.OrderedDict()
    for name, value in state.items():
        if not (isinstance(value, tuple) and value and value[0] == "tensor"):
            continue
        _, data, offset, size, stride = value
        tensors[name] = materialize(data, offset, size, stride)
    return tensors


def unwrap_state(state, path):
    """The state dict itself, from a training checkpoint that keeps it under "state_dict" or "model"."""
    for key in ("state_dict", "model"):
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
    if not isinstance(state, dict):
        sys.exit(f"convert_model: {path}: the checkpoint is not a state dict")
    return collections.OrderedDict(
        (name[len("module."):] if name.startswith("module.") else name, value) for name, value in state.items())


SAFETENSORS_DTYPES = {"F32": "<f4", "F16": "<f2", "F64": "<f8", "BF16": None, "I64": "<i8"}


def read_safetensors(path):
    with open(path, "rb") as f:
        (size,) = struct.unpack("<Q", f.read(8))
        if size > 100 << 20:
            sys.exit(f"convert_model: {path}: header of {size} bytes is not safetensors")
        header = json.loads(f.read(size))
        data = f.read()
    header.pop("__metadata__", None)
    tensors = collections.OrderedDict()
    for name, info in header.items():
        start, end = info["data_offsets"]
        kind = info["dtype"]
        if kind == "BF16":
            raw = np.frombuffer(data[start:end], dtype="<u2").astype(np.uint32) << 16
            values = raw.view(np.float32)
        elif kind in SAFETENSORS_DTYPES:
            values = np.frombuffer(data[start:end], dtype=SAFETENSORS_DTYPES[kind])
        else:
            sys.exit(f"convert_model: {path}: tensor {name} has dtype {kind}")
        tensors[name] = values.reshape(info["shape"])
    return tensors


def read_any(path):
    with open(path, "rb") as f:
        head = f.read(9)
    if head[:4] == b"PK\x03\x04":
        return read_zip_checkpoint(path)
    if len(head) == 9 and head[8:9] == b"{":
        return read_safetensors(path)
    return read_checkpoint(path)


def resnet_expected(depths, classes):
    """Every tensor of a torchvision ResNet with bottleneck blocks, in order, with its shape."""
    expected = collections.OrderedDict()

    def norm(prefix, channels):
        for part in ("weight", "bias", "running_mean", "running_var"):
            expected[f"{prefix}.{part}"] = (channels,)

    expected["conv1.weight"] = (64, 3, 7, 7)
    norm("bn1", 64)
    channels = 64
    for stage, (depth, width) in enumerate(zip(depths, RESNET_WIDTHS), start=1):
        for index in range(depth):
            p = f"layer{stage}.{index}."
            expected[p + "conv1.weight"] = (width, channels, 1, 1)
            norm(p + "bn1", width)
            expected[p + "conv2.weight"] = (width, width, 3, 3)
            norm(p + "bn2", width)
            expected[p + "conv3.weight"] = (width * 4, width, 1, 1)
            norm(p + "bn3", width * 4)
            if index == 0:
                expected[p + "downsample.0.weight"] = (width * 4, channels, 1, 1)
                norm(p + "downsample.1", width * 4)
            channels = width * 4
    if classes:
        expected["fc.weight"] = (classes, channels)
        expected["fc.bias"] = (classes,)
    return expected


def check_resnet(tensors, name, path):
    """The checkpoint's tensors in the architecture's order; exits naming the first one that does not fit."""
    tensors = collections.OrderedDict(
        (key, value) for key, value in tensors.items() if not key.endswith("num_batches_tracked"))
    classes = tensors["fc.weight"].shape[0] if "fc.weight" in tensors and tensors["fc.weight"].ndim == 2 else 0
    expected = resnet_expected(RESNETS[name], classes)
    for key, shape in expected.items():
        if key not in tensors:
            sys.exit(f"convert_model: {path}: {name} needs tensor '{key}' {list(shape)}, which the checkpoint lacks")
        if tuple(tensors[key].shape) != shape:
            sys.exit(f"convert_model: {path}: tensor '{key}' has shape {list(tensors[key].shape)}, {name} needs {list(shape)}")
    for key in tensors:
        if key not in expected:
            sys.exit(f"convert_model: {path}: tensor '{key}' is not part of {name} (torchvision layout)")
    return collections.OrderedDict((key, tensors[key].astype(np.float32)) for key in expected)


def read_projection(path, features):
    """A linear head's weight [d, features] and bias [d], under `weight`/`bias` or `projection.weight`/`.bias`."""
    tensors = read_any(path)
    weight = tensors.get("weight", tensors.get("projection.weight"))
    bias = tensors.get("bias", tensors.get("projection.bias"))
    if weight is None or bias is None:
        sys.exit(f"convert_model: {path}: a projection head needs tensors 'weight' and 'bias' "
                 f"(found {', '.join(tensors) or 'none'})")
    if weight.ndim != 2 or weight.shape[1] != features or not 1 <= weight.shape[0] <= 8192:
        sys.exit(f"convert_model: {path}: projection 'weight' has shape {list(weight.shape)}, needs [d, {features}], d ≤ 8192")
    if tuple(bias.shape) != (weight.shape[0],):
        sys.exit(f"convert_model: {path}: projection 'bias' has shape {list(bias.shape)}, needs [{weight.shape[0]}]")
    return weight.astype(np.float32), bias.astype(np.float32)


def write_safetensors(path, tensors, metadata):
    header = {"__metadata__": metadata}
    offset = 0
    blobs = []
    for name, array in tensors.items():
        blob = array.astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(array.shape), "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    encoded = json.dumps(header, separators=(",", ":")).encode()
    encoded += b" " * (-len(encoded) % 8)  # align the data section to 8 bytes
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(encoded)))
        f.write(encoded)
        for blob in blobs:
            f.write(blob)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--name", default="efficientnet-lite0", choices=sorted(VARIANTS) + sorted(RESNETS))
    parser.add_argument("--projection", help="a linear retrieval head applied after pooling (see above)")
    parser.add_argument("input")
    parser.add_argument("output")
    args = parser.parse_args()

    if args.name in RESNETS:
        tensors = check_resnet(read_any(args.input), args.name, args.input)
        metadata = {
            "format": "lookalike-cnn-1",
            "architecture": "resnet",
            "variant": "v1.5 (torchvision: stride on the 3x3 convolution)",
            "name": args.name,
            "input_size": "224",
            "stage_depths": ",".join(map(str, RESNETS[args.name])),
            "batchnorm_epsilon": "1e-05",
            # ImageNet's mean and standard deviation, on pixels in 0...255.
            "input_mean": "123.675,116.28,103.53",
            "input_std": "58.395,57.12,57.375",
        }
        if args.projection:
            weight, bias = read_projection(args.projection, tensors["layer4.0.conv3.weight"].shape[0])
            tensors["projection.weight"], tensors["projection.bias"] = weight, bias
            metadata["projection"] = f"{weight.shape[1]}->{weight.shape[0]}"
        write_safetensors(args.output, tensors, metadata)
        print(f"convert_model: wrote {len(tensors)} tensors, "
              f"{sum(t.size for t in tensors.values())} parameters to {args.output}")
        return

    tensors = read_checkpoint(args.input)
    tensors = collections.OrderedDict(
        (name, value) for name, value in tensors.items() if not name.endswith("num_batches_tracked"))
    blocks = sorted({int(name.split(".")[1]) for name in tensors if name.startswith("_blocks.")})
    strides = block_strides(args.name)
    if len(blocks) != len(strides):
        sys.exit(f"{args.input}: has {len(blocks)} blocks, but {args.name} has {len(strides)}")
    metadata = {
        "format": "lookalike-cnn-1",
        "architecture": "efficientnet-lite",
        "name": args.name,
        "input_size": str(VARIANTS[args.name][1]),
        "block_strides": ",".join(map(str, strides)),
        "batchnorm_epsilon": "0.001",
        "input_mean": "127,127,127",
        "input_std": "128,128,128",
    }
    write_safetensors(args.output, tensors, metadata)
    print(f"convert_model: wrote {len(tensors)} tensors, "
          f"{sum(t.size for t in tensors.values())} parameters to {args.output}")


if __name__ == "__main__":
    main()
