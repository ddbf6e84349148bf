#!/usr/bin/python3
"""Converts one method of a float32 latentkit model file (.lkm) to ONNX, for timing ONNX Runtime
on the same weights (tools/bench/compare.sh).

    lkm_to_onnx.py MODEL.lkm OUT.onnx [--method decode] [--schema schema/latentkit.fbs]

The file is read through `flatc --json --raw-binary --strict-json --defaults-json` and the
project's schema, so the converter follows the schema with no generated code of its own.

Layout: latentkit's activations are HWC per example, ONNX's convolutions want NCHW. Every
rank-3 activation is kept NCHW in the ONNX graph (weights OHWI become OIHW, or IOHW for a
transposed convolution). A reshape from a vector to H x W x C whose vector comes from a fully
connected layer (through element-wise ops only) is made free by permuting that layer's output
rows into C x H x W order, as a model exported from PyTorch would be; elsewhere a Transpose is
inserted. The method's outputs and inputs keep latentkit's layout (NHWC with the batch first, a
dynamic dimension named N), so that both runtimes read and write the same bytes.

Supported: fully_connected, reshape, conv2d, transpose_conv2d, relu, sigmoid, tanh,
max_pool2d (without indices), upsample_nearest2d, on float32 tensors. Anything else (an int8 or
fp16 file, max_unpool2d) is refused by name: those files are compared on latentkit alone.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

ELEMENTWISE = {"Relu": "Relu", "Sigmoid": "Sigmoid", "Tanh": "Tanh"}


class Refused(Exception):
    pass


def read_lkm(path, schema):
    with tempfile.TemporaryDirectory() as out:
        cmd = ["flatc", "--json", "--raw-binary", "--strict-json", "--defaults-json", "-o", out, schema, "--", path]
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode != 0:
            raise Refused("flatc could not read %s: %s" % (path, (done.stderr or done.stdout).strip()))
        name = os.path.splitext(os.path.basename(path))[0] + ".json"
        with open(os.path.join(out, name)) as f:
            return json.load(f)


def method_graph(model, method):
    """(tensors, operators, input tensor indices, output tensor indices) of the method."""
    if model.get("methods"):
        for m in model["methods"]:
            if m["name"] == method:
                return (model["tensors"], m["operators"], [v["tensor"] for v in m["inputs"]],
                        [v["tensor"] for v in m["outputs"]])
        raise Refused("the file has no method '%s' (it has %s)" % (method, ", ".join(m["name"] for m in model["methods"])))
    if method != "decode" or "decoder" not in model:
        raise Refused("a version-1 file has only the method 'decode'")
    g = model["decoder"]
    return g["tensors"], g["operators"], g["inputs"], g["outputs"]


def constant(model, tensor):
    if tensor.get("dtype", "FLOAT32") != "FLOAT32":
        raise Refused("tensor '%s' is %s: only float32 files convert (export with --quant fp32)" % (tensor["name"], tensor["dtype"]))
    data = bytes(model["buffers"][tensor["buffer"]]["data"])
    return np.frombuffer(data, dtype="<f4").reshape(tensor["shape"]).astype(np.float32)


def convert(model, method):
    tensors, ops, inputs, outputs = method_graph(model, method)
    # INT32 activations are max pooling's indices, which the op below refuses by name.
    for t in tensors:
        if t.get("buffer", 0) == 0 and t.get("dtype", "FLOAT32") not in ("FLOAT32", "INT32"):
            raise Refused("activation '%s' is %s: only float32 files convert" % (t["name"], t["dtype"]))
    producer, readers = {}, {}
    for i, op in enumerate(ops):
        for y in op["outputs"]:
            producer[y] = i
        for x in op["inputs"]:
            if x >= 0:
                readers[x] = readers.get(x, 0) + 1

    def is_constant(t):
        return tensors[t].get("buffer", 0) != 0

    # Fully connected layers whose output rows are permuted to C x H x W (see the docstring).
    permuted = {}  # op index -> (H, W, C)
    for op in ops:
        if op["options_type"] != "Reshape" or len(tensors[op["outputs"][0]]["shape"]) != 3:
            continue
        t = op["inputs"][0]
        chain_ok = True
        while True:
            if t in outputs or readers.get(t, 0) != 1 or t not in producer:
                chain_ok = False
                break
            p = ops[producer[t]]
            if p["options_type"] in ELEMENTWISE:
                t = p["inputs"][0]
                continue
            chain_ok = p["options_type"] == "FullyConnected"
            break
        if chain_ok:
            permuted[producer[t]] = tuple(tensors[op["outputs"][0]]["shape"])

    nodes, initializers = [], []
    name = {}  # latentkit tensor index -> ONNX value name
    nchw = set()  # tensors held NCHW in the ONNX graph
    chw_vectors = set()  # rank-1 tensors whose entries are in C x H x W order

    def value(t):
        return name[t]

    def new_name(base):
        base = base.replace(" ", "_")
        n, k = base, 1
        used = {i.name for i in initializers} | set(name.values()) | {o for node in nodes for o in node.output}
        while n in used:
            n, k = "%s_%d" % (base, k), k + 1
        return n

    def init(array, base):
        n = new_name(base)
        initializers.append(numpy_helper.from_array(np.ascontiguousarray(array, dtype=np.float32), n))
        return n

    def init_i64(values, base):
        n = new_name(base)
        initializers.append(numpy_helper.from_array(np.array(values, dtype=np.int64), n))
        return n

    graph_inputs = []
    for t in inputs:
        shape = tensors[t]["shape"]
        n = new_name(tensors[t]["name"])
        graph_inputs.append(helper.make_tensor_value_info(n, TensorProto.FLOAT, ["N"] + list(shape)))
        if len(shape) == 3:  # an image input: NHWC outside, NCHW inside
            inner = new_name(tensors[t]["name"] + "_nchw")
            nodes.append(helper.make_node("Transpose", [n], [inner], perm=[0, 3, 1, 2]))
            name[t] = inner
            nchw.add(t)
        else:
            name[t] = n

    for i, op in enumerate(ops):
        kind = op["options_type"]
        o = op.get("options") or {}
        x = op["inputs"][0]
        y = op["outputs"][0]
        out = new_name(tensors[y]["name"])
        if kind == "FullyConnected":
            w = constant(model, tensors[op["inputs"][1]])
            b = constant(model, tensors[op["inputs"][2]]) if len(op["inputs"]) > 2 and op["inputs"][2] >= 0 else np.zeros(w.shape[0], np.float32)
            if x in nchw:
                raise Refused("operator %d: a fully connected layer reading an image-shaped tensor (insert a reshape)" % i)
            if i in permuted:
                h, wd, c = permuted[i]
                order = np.arange(h * wd * c).reshape(h, wd, c).transpose(2, 0, 1).reshape(-1)
                w, b = w[order], b[order]
                chw_vectors.add(y)
            nodes.append(helper.make_node("Gemm", [value(x), init(w, tensors[op["inputs"][1]]["name"]),
                                                   init(b, tensors[op["inputs"][1]]["name"] + "_bias")], [out], transB=1))
        elif kind in ELEMENTWISE:
            nodes.append(helper.make_node(ELEMENTWISE[kind], [value(x)], [out]))
            if x in nchw:
                nchw.add(y)
            if x in chw_vectors:
                chw_vectors.add(y)
        elif kind == "Reshape":
            to = tensors[y]["shape"]
            src = value(x)
            if x in nchw:  # back to HWC order before flattening
                flat = new_name(tensors[x]["name"] + "_nhwc")
                nodes.append(helper.make_node("Transpose", [src], [flat], perm=[0, 2, 3, 1]))
                src = flat
            if len(to) == 3 and x in chw_vectors:
                h, wd, c = to
                nodes.append(helper.make_node("Reshape", [src, init_i64([-1, c, h, wd], "shape")], [out]))
                nchw.add(y)
            elif len(to) == 3:
                h, wd, c = to
                hwc = new_name(tensors[y]["name"] + "_nhwc")
                nodes.append(helper.make_node("Reshape", [src, init_i64([-1, h, wd, c], "shape")], [hwc]))
                nodes.append(helper.make_node("Transpose", [hwc], [out], perm=[0, 3, 1, 2]))
                nchw.add(y)
            else:
                nodes.append(helper.make_node("Reshape", [src, init_i64([-1] + list(to), "shape")], [out]))
        elif kind in ("Conv2D", "TransposeConv2D"):
            if x not in nchw:
                raise Refused("operator %d: a convolution of a tensor that is not H x W x C" % i)
            wt = tensors[op["inputs"][1]]
            w = constant(model, wt)  # OHWI
            args = [value(x)]
            pads = [o["pad_top"], o["pad_left"], o["pad_bottom"], o["pad_right"]]
            strides = [o["stride_h"], o["stride_w"]]
            if kind == "Conv2D":
                args.append(init(w.transpose(0, 3, 1, 2), wt["name"]))  # OIHW
            else:
                args.append(init(w.transpose(3, 0, 1, 2), wt["name"]))  # IOHW
            if len(op["inputs"]) > 2 and op["inputs"][2] >= 0:
                args.append(init(constant(model, tensors[op["inputs"][2]]), wt["name"] + "_bias"))
            if kind == "Conv2D":
                nodes.append(helper.make_node("Conv", args, [out], pads=pads, strides=strides,
                                              dilations=[o["dilation_h"], o["dilation_w"]],
                                              kernel_shape=list(w.shape[1:3])))
            else:
                nodes.append(helper.make_node("ConvTranspose", args, [out], pads=pads, strides=strides,
                                              output_padding=[o["adjustment_h"], o["adjustment_w"]],
                                              kernel_shape=list(w.shape[1:3])))
            nchw.add(y)
        elif kind == "MaxPool2D":
            if len(op["outputs"]) > 1:
                raise Refused("operator %d: max_pool2d with indices (max_unpool2d) is not converted" % i)
            nodes.append(helper.make_node("MaxPool", [value(x)], [out], kernel_shape=[o["kernel_h"], o["kernel_w"]],
                                          strides=[o["stride_h"], o["stride_w"]],
                                          pads=[o["pad_top"], o["pad_left"], o["pad_bottom"], o["pad_right"]]))
            nchw.add(y)
        elif kind == "UpsampleNearest2D":
            scales = init(np.array([1, 1, o["scale_h"], o["scale_w"]], np.float32), "scales")
            nodes.append(helper.make_node("Resize", [value(x), "", scales], [out], mode="nearest",
                                          nearest_mode="floor", coordinate_transformation_mode="asymmetric"))
            nchw.add(y)
        else:
            raise Refused("operator %d: %s is not converted to ONNX" % (i, kind))
        name[y] = out

    graph_outputs = []
    for t in outputs:
        shape = tensors[t]["shape"]
        n = new_name(tensors[t]["name"] + "_out")
        if t in nchw:  # back to latentkit's NHWC; for one channel a reshape moves no data
            if shape[2] == 1:
                nodes.append(helper.make_node("Reshape", [value(t), init_i64([-1] + list(shape), "shape")], [n]))
            else:
                nodes.append(helper.make_node("Transpose", [value(t)], [n], perm=[0, 2, 3, 1]))
        elif t in chw_vectors:
            raise Refused("output '%s' is a permuted vector" % tensors[t]["name"])
        else:
            nodes.append(helper.make_node("Identity", [value(t)], [n]))
        graph_outputs.append(helper.make_tensor_value_info(n, TensorProto.FLOAT, ["N"] + list(shape)))

    graph = helper.make_graph(nodes, "latentkit_" + method, graph_inputs, graph_outputs, initializers)
    # Opset 13: every op above in its current form; onnx 1.12 (Debian bookworm) knows up to 17.
    onnx_model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="latentkit lkm_to_onnx.py")
    onnx_model.ir_version = 8
    onnx.checker.check_model(onnx_model)
    return onnx_model


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model")
    parser.add_argument("output")
    parser.add_argument("--method", default="decode")
    parser.add_argument("--schema", default=os.path.join(here, "..", "..", "schema", "latentkit.fbs"))
    a = parser.parse_args()
    try:
        if not os.path.isfile(a.model):
            raise Refused("no model file %s" % a.model)
        model = convert(read_lkm(a.model, a.schema), a.method)
    except Refused as e:
        print("lkm_to_onnx.py: %s" % e, file=sys.stderr)
        return 1
    onnx.save(model, a.output)
    print("wrote %s: method %s, %d nodes" % (a.output, a.method, len(model.graph.node)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
