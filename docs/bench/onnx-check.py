#!/usr/bin/env python3
"""Runs the ONNX checker with full type and shape inference on every graph of a Loupe model package.

Not part of the build (Python's onnx is no build or test dependency; the Java tests check the graphs through ONNX
Runtime's own load, see Fp16ComputePackageTest). Usage, with any Python that has `pip install onnx`:

    python docs/bench/onnx-check.py PACKAGE_DIR [PACKAGE_DIR ...]

Prints one line per graph: the checker's verdict, the element types at the graph boundary and, from strict shape
inference, how many tensors got an inferred type and how many of those are float16 / float32. Exit status 1 if any
graph fails.
"""
import json
import os
import sys

import onnx
from onnx import TensorProto


def check(package):
    manifest = json.load(open(os.path.join(package, "manifest.json")))
    failed = 0
    for name, file in manifest["graphs"].items():
        path = os.path.join(package, file)
        try:
            # full_check: the checker runs strict type and shape inference over the whole graph as well
            onnx.checker.check_model(path, full_check=True)
            model = onnx.shape_inference.infer_shapes(onnx.load(path), check_type=True, strict_mode=True,
                                                      data_prop=True)
        except Exception as e:  # noqa: BLE001 - reported, then the next graph
            print(f"{package} {name}: FAILED: {e}")
            failed += 1
            continue
        g = model.graph
        types = {v.name: v.type.tensor_type.elem_type for v in list(g.value_info) + list(g.output) + list(g.input)}
        produced = [o for n in g.node for o in n.output if o]
        typed = [o for o in produced if types.get(o, 0) != 0]
        half = sum(1 for o in typed if types[o] == TensorProto.FLOAT16)
        single = sum(1 for o in typed if types[o] == TensorProto.FLOAT)
        boundary = ", ".join(f"{v.name}:{TensorProto.DataType.Name(v.type.tensor_type.elem_type)}"
                             for v in list(g.input) + list(g.output))
        print(f"{package} {name}: ok (onnx {onnx.__version__}); {len(typed)}/{len(produced)} node outputs typed "
              f"by inference, {half} float16, {single} float32; boundary {boundary}")
    return failed


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    sys.exit(1 if sum(check(p) for p in sys.argv[1:]) else 0)
