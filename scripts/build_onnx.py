#!/usr/bin/env python3
"""Build an ONNX graph of an EfficientNet-Lite weight file, for checking and benchmarking against onnxruntime.

Independent of the Swift engine: BatchNorm stays a BatchNormalization node (epsilon from the file), padding is
TensorFlow "SAME" written out as explicit pads. Outputs: "feature" (N×1280 pooled, before L2 normalisation)
and "logits" (N×1000).

Usage: build_onnx.py WEIGHTS.safetensors OUTPUT.onnx   (needs numpy and onnx)
"""
import json
import struct
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def load(path):
    with open(path, "rb") as f:
        size = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(size))
        data = f.read()
    metadata = header.pop("__metadata__")
    tensors = {}
    for name, info in header.items():
        start, end = info["data_offsets"]
        tensors[name] = np.frombuffer(data[start:end], dtype="<f4").reshape(info["shape"])
    return metadata, tensors


def same_pads(size, kernel, stride):
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2, out


def main():
    metadata, tensors = load(sys.argv[1])
    epsilon = float(metadata["batchnorm_epsilon"])
    size = int(metadata["input_size"])
    strides = [int(s) for s in metadata["block_strides"].split(",")]
    nodes, inits = [], []
    counter = [0]

    def init(name):
        inits.append(numpy_helper.from_array(np.ascontiguousarray(tensors[name]), name))
        return name

    def fresh(prefix):
        counter[0] += 1
        return f"{prefix}_{counter[0]}"

    def conv(x, weight, stride, spatial, groups=1):
        kernel = tensors[weight].shape[-1]
        top, bottom, out = same_pads(spatial, kernel, stride)
        y = fresh("conv")
        nodes.append(helper.make_node("Conv", [x, init(weight)], [y], strides=[stride, stride], group=groups,
                                      kernel_shape=[kernel, kernel], pads=[top, top, bottom, bottom]))
        return y, out

    def bn(x, prefix, relu6):
        y = fresh("bn")
        nodes.append(helper.make_node(
            "BatchNormalization",
            [x, init(prefix + ".weight"), init(prefix + ".bias"), init(prefix + ".running_mean"),
             init(prefix + ".running_var")], [y], epsilon=epsilon))
        if not relu6:
            return y
        z = fresh("relu6")
        lo, hi = fresh("lo"), fresh("hi")
        inits.append(numpy_helper.from_array(np.array(0, np.float32), lo))
        inits.append(numpy_helper.from_array(np.array(6, np.float32), hi))
        nodes.append(helper.make_node("Clip", [y, lo, hi], [z]))
        return z

    x, spatial = conv("input", "_conv_stem.weight", 2, size)
    x = bn(x, "_bn0", True)
    for index, stride in enumerate(strides):
        p = f"_blocks.{index}."
        block_input = x
        if p + "_expand_conv.weight" in tensors:
            x, _ = conv(x, p + "_expand_conv.weight", 1, spatial)
            x = bn(x, p + "_bn0", True)
        channels = tensors[p + "_depthwise_conv.weight"].shape[0]
        x, new_spatial = conv(x, p + "_depthwise_conv.weight", stride, spatial, groups=channels)
        x = bn(x, p + "_bn1", True)
        x, _ = conv(x, p + "_project_conv.weight", 1, new_spatial)
        x = bn(x, p + "_bn2", False)
        in_channels = tensors[p + ("_expand_conv.weight" if p + "_expand_conv.weight" in tensors
                                   else "_depthwise_conv.weight")].shape[1 if p + "_expand_conv.weight" in tensors else 0]
        if stride == 1 and in_channels == tensors[p + "_project_conv.weight"].shape[0]:
            y = fresh("add")
            nodes.append(helper.make_node("Add", [x, block_input], [y]))
            x = y
        spatial = new_spatial
    x, _ = conv(x, "_conv_head.weight", 1, spatial)
    x = bn(x, "_bn1", True)
    pooled = fresh("pool")
    nodes.append(helper.make_node("GlobalAveragePool", [x], [pooled]))
    nodes.append(helper.make_node("Flatten", [pooled], ["feature"], axis=1))
    nodes.append(helper.make_node("Gemm", ["feature", init("_fc.weight"), init("_fc.bias")], ["logits"], transB=1))
    graph = helper.make_graph(
        nodes, metadata["name"],
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 3, size, size])],
        [helper.make_tensor_value_info("feature", TensorProto.FLOAT, ["N", 1280]),
         helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 1000])],
        inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, sys.argv[2])
    print(f"build_onnx: wrote {sys.argv[2]} ({len(nodes)} nodes)")


if __name__ == "__main__":
    main()
