#!/usr/bin/env python3
"""transformers' own generate() on the same checkpoint `loupe bench` measures, for the side-by-side table in
docs/benchmarks.md. Reference figures only: not a build or test dependency of Loupe.

    python3 docs/bench/transformers_generate.py CHECKPOINT_DIR [--batch-sizes 1,16] [--max-new-tokens 20]
            [--threads 2] [--dtypes fp32,bf16] [--runs 3]

As `loupe bench` does: every image generates exactly --max-new-tokens tokens (min = max), greedy, one warm-up and
--runs measured runs per batch size, images preprocessed once outside the timed runs (random images through the
checkpoint's own processor), the prompt "a photo of". Prints one JSON object per (dtype, batch size) line.
"""
import argparse
import json
import os
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("checkpoint")
    ap.add_argument("--batch-sizes", default="1,16")
    ap.add_argument("--max-new-tokens", type=int, default=20)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--dtypes", default="fp32,bf16")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--prompt", default="a photo of")
    a = ap.parse_args()

    os.environ.setdefault("OMP_NUM_THREADS", str(a.threads))
    import numpy as np
    import torch
    from PIL import Image
    from transformers import AutoProcessor, InstructBlipForConditionalGeneration

    torch.set_num_threads(a.threads)
    processor = AutoProcessor.from_pretrained(a.checkpoint)
    rng = np.random.default_rng(7)
    sizes = [int(s) for s in a.batch_sizes.split(",")]
    images = [Image.fromarray(rng.integers(0, 256, size=(224, 224, 3), dtype=np.uint8)) for _ in range(max(sizes))]

    for dtype_name in a.dtypes.split(","):
        dtype = {"fp32": torch.float32, "bf16": torch.bfloat16}[dtype_name]
        model = InstructBlipForConditionalGeneration.from_pretrained(a.checkpoint, dtype=dtype).eval()
        for batch in sizes:
            inputs = processor(images=images[:batch], text=[a.prompt] * batch, return_tensors="pt", padding=True)
            inputs["pixel_values"] = inputs["pixel_values"].to(dtype)
            gen = dict(max_new_tokens=a.max_new_tokens, min_new_tokens=a.max_new_tokens, do_sample=False, num_beams=1)
            with torch.inference_mode():
                model.generate(**inputs, **gen)  # warm-up
                times = []
                for _ in range(a.runs):
                    start = time.perf_counter()
                    out = model.generate(**inputs, **gen)
                    times.append(time.perf_counter() - start)
            mean = sum(times) / len(times)
            print(json.dumps({"runtime": f"transformers {__import__('transformers').__version__}", "dtype": dtype_name,
                              "batch_size": batch, "threads": a.threads, "images_per_second": batch / mean,
                              "seconds_per_batch": mean, "generated_shape": list(out.shape)}), flush=True)
        del model


if __name__ == "__main__":
    main()
