#!/usr/bin/env python3
"""Pillow's side of `loupe bench preprocess`: ms/image for decode + RGB + resize + rescale + normalise to a
BLIP 224x224 and a CLIP 336x336 tensor on one thread, on the images `loupe bench preprocess --save-images DIR` wrote.

The steps are transformers' slow BlipImageProcessor / CLIPImageProcessor with Pillow (resize with BICUBIC,
float64 rescale cast to float32, float32 normalise, channels first); with --transformers the real processors are
timed too (needs transformers installed). Also prints Pillow's `Image.draft` (reduced-scale JPEG) variant.

    loupe bench preprocess --save-images /tmp/imgs
    python3 docs/bench/pillow_preprocess.py /tmp/imgs [--iterations 20] [--transformers]
"""
import argparse
import io
import os
import time

import numpy as np
from PIL import Image

MEAN = np.array([0.48145466, 0.4578275, 0.40821073], dtype=np.float32)
STD = np.array([0.26862954, 0.26130258, 0.27577711], dtype=np.float32)


def normalise(im):
    x = (np.asarray(im) * (1 / 255)).astype(np.float32)
    return ((x - MEAN) / STD).transpose(2, 0, 1)


def blip(data, draft=False):
    im = Image.open(io.BytesIO(data))
    if draft:
        im.draft("RGB", (224, 224))
    im = im.convert("RGB").resize((224, 224), Image.BICUBIC)
    return normalise(im)


def clip(data, draft=False):
    im = Image.open(io.BytesIO(data))
    if draft:
        im.draft("RGB", (336, 336))  # keeps both sides >= 336, so the shortest edge too
    im = im.convert("RGB")
    w, h = im.size
    short, long = min(w, h), max(w, h)
    new_long = int(336 * long / short)
    im = im.resize((336, new_long) if w <= h else (new_long, 336), Image.BICUBIC)
    w, h = im.size
    top, left = (h - 336) // 2, (w - 336) // 2
    return normalise(im.crop((left, top, left + 336, top + 336)))


def timed(fn, data, warmup, iterations):
    for _ in range(warmup):
        fn(data)
    times = []
    cpu0 = time.thread_time()
    for _ in range(iterations):
        t0 = time.perf_counter()
        fn(data)
        times.append(time.perf_counter() - t0)
    cpu = time.thread_time() - cpu0
    return 1000 * sum(times) / len(times), 1000 * min(times), 1000 * cpu / iterations


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--iterations", type=int, default=20)
    ap.add_argument("--transformers", action="store_true")
    a = ap.parse_args()
    import PIL
    print(f"Pillow {PIL.__version__}, numpy {np.__version__}, load average {os.getloadavg()}")
    if a.transformers:
        from transformers import BlipImageProcessor, CLIPImageProcessor
        bp = BlipImageProcessor(size={"height": 224, "width": 224})
        cp = CLIPImageProcessor(size={"shortest_edge": 336}, crop_size={"height": 336, "width": 336})
    print("| image | tensor | path | ms/image | min ms | CPU ms/image |")
    print("| --- | --- | --- | ---: | ---: | ---: |")
    for name in sorted(os.listdir(a.dir)):
        data = open(os.path.join(a.dir, name), "rb").read()
        cases = [("blip-224", "exact", blip), ("clip-336", "exact", clip)]
        if name.endswith(".jpg"):
            cases += [("blip-224", "draft", lambda d: blip(d, True)), ("clip-336", "draft", lambda d: clip(d, True))]
        if a.transformers:
            cases += [("blip-224", "transformers", lambda d: bp(Image.open(io.BytesIO(d)), return_tensors="np")),
                      ("clip-336", "transformers", lambda d: cp(Image.open(io.BytesIO(d)), return_tensors="np"))]
        big = len(data) > 2_000_000
        for tensor, path, fn in cases:
            mean, best, cpu = timed(fn, data, max(1, a.warmup // (3 if big else 1)), max(3, a.iterations // (4 if big else 1)))
            print(f"| {name} | {tensor} | {path} | {mean:.2f} | {best:.2f} | {cpu:.2f} |", flush=True)

if __name__ == "__main__":
    main()
