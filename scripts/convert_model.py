#!/usr/bin/env python3
"""Convert an EfficientNet-Lite checkpoint (legacy PyTorch .pth) to Lookalike's weight file.

The output is a safetensors file: an 8-byte little-endian header length, a JSON header naming every tensor
(dtype F32, logical PyTorch shape, byte offsets), then the raw little-endian float32 data, each tensor
contiguous in row-major order of its logical shape. The header's __metadata__ records the architecture
(name, input size, per-block strides) so that the Swift loader needs no other description.

Needs only numpy. The legacy format is read with Python's own pickle module: torch's classes are replaced by
small stand-ins, so torch itself is never imported.

Usage: convert_model.py --name efficientnet-lite0 INPUT.pth OUTPUT.safetensors
"""
import argparse
import collections
import json
import math
import pickle
import struct
import sys

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


DTYPES = {"FloatStorage": (np.float32, 4), "LongStorage": (np.int64, 8)}


def rebuild_tensor(storage, offset, size, stride, *rest):
    return ("tensor", storage, offset, tuple(size), tuple(stride))


class CheckpointUnpickler(pickle.Unpickler):
    """Resolves only the globals a state-dict checkpoint needs; anything else is refused."""

    def find_class(self, module, name):
        if module == "collections" and name == "OrderedDict":
            return collections.OrderedDict
        if module == "torch._utils" and name in ("_rebuild_tensor_v2", "_rebuild_tensor"):
            return rebuild_tensor
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
        state = CheckpointUnpickler(f).load()
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
        data = storages[key]
        itemsize = data.dtype.itemsize
        # Honour the stride: these weights were converted from TensorFlow and sit behind transposed views.
        view = np.lib.stride_tricks.as_strided(
            data[offset:], shape=size, strides=tuple(s * itemsize for s in stride))
        tensors[name] = np.ascontiguousarray(view)
    return tensors


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
    parser.add_argument("--name", default="efficientnet-lite0", choices=sorted(VARIANTS))
    parser.add_argument("input")
    parser.add_argument("output")
    args = parser.parse_args()

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
