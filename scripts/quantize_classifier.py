#!/usr/bin/env python3
"""Int8 token classifier for `pith compress --model`: ONNX Runtime dynamic quantization.

    pip install onnx onnxruntime==1.31.1
    python3 scripts/quantize_classifier.py SRC_DIR DST_DIR
        [--per-tensor] [--ops matmul|all] [--fuse [--num-heads 12 --hidden-size 768]]

SRC_DIR is a token-classifier folder (model.onnx + tokenizer.json [+ config.json]); DST_DIR
gets the quantized model.onnx and copies of the other files, so it loads like the original.

Weights become int8 (QInt8, symmetric, one scale per output channel unless --per-tensor);
activations are quantized per batch at run time (dynamic quantization: no calibration
data). The defaults are the variant measured best in BENCHMARKS.md ("Token pruning speed",
mBERT-size classifier, 2 threads): MatMul nodes only, per channel, the graph as exported
(ONNX Runtime's own fusions still run when pith loads it): 2.4-2.6x faster than fp32 and
98.7-99.0% of words with the fp32 decision. `--fuse --ops all --per-tensor` (the BERT fuser
first, then QAttention) was as fast but agreed less (97.7% on the 1k input);
MatMul-only per tensor was ~15% slower. The fuser needs the head count and hidden size:
from config.json, or the flags.

Quantization changes the keep probabilities a little; check what it does to the
decisions before using a model: `PITH_LINGUA_MODEL=SRC_DIR PITH_LINGUA_MODEL_INT8=DST_DIR
PITH_LINGUA_INPUTS=... cargo bench --bench lingua` reports the share of words with the
same keep/drop decision as the fp32 model.
"""
import argparse
import os
import shutil
import sys
import tempfile


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("src", help="token-classifier folder with model.onnx and tokenizer.json")
    p.add_argument("dst", help="output folder (created; model.onnx is overwritten)")
    p.add_argument("--per-tensor", dest="per_channel", action="store_false",
                   help="one scale per weight tensor instead of per output channel")
    p.add_argument("--ops", choices=["matmul", "all"], default="matmul",
                   help="matmul: quantize MatMul nodes only; all: every op type quantize_dynamic supports")
    p.add_argument("--fuse", action=argparse.BooleanOptionalAction, default=False,
                   help="fuse the BERT graph (onnxruntime.transformers optimizer) before quantizing")
    p.add_argument("--num-heads", type=int, default=0, help="for --fuse; 0 reads config.json")
    p.add_argument("--hidden-size", type=int, default=0, help="for --fuse; 0 reads config.json")
    a = p.parse_args()

    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    src_model = os.path.join(a.src, "model.onnx")
    for f in (src_model, os.path.join(a.src, "tokenizer.json")):
        if not os.path.isfile(f):
            sys.exit(f"{f}: no such file (a token-classifier folder holds model.onnx and tokenizer.json)")
    if os.path.abspath(a.src) == os.path.abspath(a.dst):
        sys.exit("DST_DIR must differ from SRC_DIR")

    with tempfile.TemporaryDirectory() as tmp:
        model_in = src_model
        if a.fuse:
            import json

            from onnxruntime.transformers.optimizer import optimize_model

            cfg_path = os.path.join(a.src, "config.json")
            cfg = json.load(open(cfg_path)) if os.path.exists(cfg_path) else {}
            heads = a.num_heads or cfg.get("num_attention_heads")
            hidden = a.hidden_size or cfg.get("hidden_size")
            if not heads or not hidden:
                sys.exit("fusing needs the head count and hidden size: no config.json in SRC_DIR, so pass "
                         "--num-heads and --hidden-size (12 and 768 for BERT-base), or leave out --fuse")
            opt = optimize_model(src_model, model_type="bert", num_heads=heads, hidden_size=hidden)
            model_in = os.path.join(tmp, "fused.onnx")
            opt.save_model_to_file(model_in)
            fused = {k: v for k, v in opt.get_fused_operator_statistics().items() if v}
            print(f"fused: {fused}", file=sys.stderr)
        os.makedirs(a.dst, exist_ok=True)
        quantize_dynamic(
            model_in,
            os.path.join(a.dst, "model.onnx"),
            op_types_to_quantize=["MatMul"] if a.ops == "matmul" else None,
            per_channel=a.per_channel,
            weight_type=QuantType.QInt8,
            # The fused graph's contrib ops defeat shape inference: say their outputs are float.
            extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT} if a.fuse else None,
        )

    for f in ("tokenizer.json", "config.json", "tokenizer_config.json", "special_tokens_map.json"):
        if os.path.exists(os.path.join(a.src, f)):
            shutil.copy2(os.path.join(a.src, f), os.path.join(a.dst, f))
    mb = lambda f: os.path.getsize(f) / 1e6  # noqa: E731
    print(f"{src_model} ({mb(src_model):.0f} MB) -> {os.path.join(a.dst, 'model.onnx')} "
          f"({mb(os.path.join(a.dst, 'model.onnx')):.0f} MB): int8 weights, "
          f"{'per channel' if a.per_channel else 'per tensor'}, ops {a.ops}{', fused first' if a.fuse else ''}",
          file=sys.stderr)


if __name__ == "__main__":
    main()
