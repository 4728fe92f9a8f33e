#!/usr/bin/env python3
"""Makes an int8 variant of an encoder's ONNX graph: ONNX Runtime dynamic quantization.

The MiniLM package's graph stores its weights as int8 but computes in float32: each weight
is Cast to float and multiplied by its scale at run time, so every MatMul runs in fp32.
This converter folds those dequantizations into float32 weights (ONNX Runtime's basic,
hardware-independent graph optimisations: constant folding, nothing fused) and then
quantizes every MatMul with a constant weight dynamically: weights int8, symmetric, one
scale per output channel; activations quantized per pass at run time (no calibration
data). The token embedding table (Gather) is stored as int8 too: it does not speed the
forward pass, but it keeps the file at the package's size and halves the session's load
time. On 2 cores this roughly doubles the encoder's throughput (BENCHMARKS.md, "Neural
path speed").

Writes into --out:
  model_int8.onnx   the quantized graph, same inputs and outputs as the original

Needs only onnxruntime, onnx and numpy; the output is deterministic for pinned package
versions, so the installer pins its sha256.
"""

import argparse
import os
import sys
import tempfile

OUTPUT = "model_int8.onnx"


def fail(message):
    print(f"onnx_int8: {message}", file=sys.stderr)
    sys.exit(1)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--onnx", required=True, help="the encoder's ONNX graph")
    p.add_argument("--out", required=True, help="folder the int8 graph is written to")
    a = p.parse_args()
    if not os.path.isfile(a.onnx):
        fail(f"{a.onnx}: no such file")

    import onnxruntime as ort
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with tempfile.TemporaryDirectory() as tmp:
        folded = os.path.join(tmp, "folded.onnx")
        # Basic level only: its rewrites are the same on every CPU, so the output is too.
        so = ort.SessionOptions()
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
        so.optimized_model_filepath = folded
        so.log_severity_level = 3
        ort.InferenceSession(a.onnx, so, providers=["CPUExecutionProvider"])
        out = os.path.join(a.out, OUTPUT)
        quantize_dynamic(
            folded,
            out,
            weight_type=QuantType.QInt8,
            per_channel=True,
            op_types_to_quantize=["MatMul", "Gather"],
        )
    if not os.path.isfile(out):
        fail("the quantizer wrote nothing")


if __name__ == "__main__":
    main()
