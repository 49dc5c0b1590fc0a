#!/usr/bin/env python3
"""Build an ONNX graph of an EfficientNet-Lite or ResNet weight file, for checking and benchmarking against
onnxruntime.

Independent of the Swift engine: BatchNorm stays a BatchNormalization node (epsilon from the file); EfficientNet's
padding is TensorFlow "SAME" written out as explicit pads, ResNet's PyTorch's symmetric pads. Outputs: "feature"
(N×1280 or N×2048 pooled, before L2 normalisation) and "logits" (N×classes).

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


class Graph:
    """Nodes and initialisers of one ONNX graph."""

    def __init__(self, tensors, epsilon):
        self.tensors, self.epsilon = tensors, epsilon
        self.nodes, self.inits, self.counter = [], [], 0

    def init(self, name):
        self.inits.append(numpy_helper.from_array(np.ascontiguousarray(self.tensors[name]), name))
        return name

    def fresh(self, prefix):
        self.counter += 1
        return f"{prefix}_{self.counter}"

    def node(self, kind, inputs, prefix, **attributes):
        y = self.fresh(prefix)
        self.nodes.append(helper.make_node(kind, inputs, [y], **attributes))
        return y

    def conv_bn(self, x, conv, norm, stride, padding, relu):
        kernel = self.tensors[conv + ".weight"].shape[-1]
        y = self.node("Conv", [x, self.init(conv + ".weight")], "conv", strides=[stride, stride],
                      kernel_shape=[kernel, kernel], pads=[padding] * 4)
        y = self.node("BatchNormalization", [y] + [self.init(f"{norm}.{p}") for p in
                                                  ("weight", "bias", "running_mean", "running_var")],
                      "bn", epsilon=self.epsilon)
        return self.node("Relu", [y], "relu") if relu else y


def build_resnet(metadata, tensors):
    graph = Graph(tensors, float(metadata["batchnorm_epsilon"]))
    x = graph.conv_bn("input", "conv1", "bn1", 2, 3, True)
    x = graph.node("MaxPool", [x], "pool", kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])
    for stage, depth in enumerate(map(int, metadata["stage_depths"].split(",")), start=1):
        for index in range(depth):
            p = f"layer{stage}.{index}."
            stride = 2 if stage > 1 and index == 0 else 1
            y = graph.conv_bn(x, p + "conv1", p + "bn1", 1, 0, True)
            y = graph.conv_bn(y, p + "conv2", p + "bn2", stride, 1, True)
            y = graph.conv_bn(y, p + "conv3", p + "bn3", 1, 0, False)
            shortcut = x
            if p + "downsample.0.weight" in tensors:
                shortcut = graph.conv_bn(x, p + "downsample.0", p + "downsample.1", stride, 0, False)
            x = graph.node("Relu", [graph.node("Add", [y, shortcut], "add")], "relu")
    pooled = graph.node("GlobalAveragePool", [x], "pool")
    graph.nodes.append(helper.make_node("Flatten", [pooled], ["feature"], axis=1))
    graph.nodes.append(helper.make_node("Gemm", ["feature", graph.init("fc.weight"), graph.init("fc.bias")], ["logits"], transB=1))
    size = int(metadata["input_size"])
    return graph, size, tensors["fc.weight"].shape[1], tensors["fc.weight"].shape[0]


def save(graph, name, size, features, classes, path):
    onnx_graph = helper.make_graph(
        graph.nodes, name,
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 3, size, size])],
        [helper.make_tensor_value_info("feature", TensorProto.FLOAT, ["N", features]),
         helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", classes])],
        graph.inits)
    model = helper.make_model(onnx_graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, path)
    print(f"build_onnx: wrote {path} ({len(graph.nodes)} nodes)")


def main():
    metadata, tensors = load(sys.argv[1])
    if metadata["architecture"] == "resnet":
        graph, size, features, classes = build_resnet(metadata, tensors)
        save(graph, metadata["name"], size, features, classes, sys.argv[2])
        return
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
