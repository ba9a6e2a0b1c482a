"""Writes N photo-like 640x480 JPEGs for `loupe caption` benchmarks (issue 13).

Smooth colour fields, sensor-like noise and a few filled ellipses, so the files decode like camera pictures
(about 100 KB each at quality 90) rather than like flat test cards. Seeded: the same arguments give the same files.

    python docs/bench/make_jpegs.py OUT_DIR [COUNT=640] [SEED=7]
"""
import os
import sys

import numpy as np
from PIL import Image, ImageDraw


def picture(rng, width=640, height=480):
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    channels = []
    for _ in range(3):
        fx, fy = rng.uniform(0.004, 0.03, size=2)
        px, py = rng.uniform(0, 2 * np.pi, size=2)
        channels.append(128 + 60 * np.sin(fx * x + px) * np.cos(fy * y + py) + rng.uniform(-40, 40))
    field = np.stack(channels, axis=-1) + rng.normal(0, 12, size=(height, width, 3))
    image = Image.fromarray(np.clip(field, 0, 255).astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(image)
    for _ in range(8):
        x0, y0 = rng.integers(0, width - 40), rng.integers(0, height - 40)
        x1, y1 = x0 + rng.integers(20, 200), y0 + rng.integers(20, 160)
        draw.ellipse((x0, y0, x1, y1), fill=tuple(int(c) for c in rng.integers(0, 256, size=3)))
    return image


def main():
    out = sys.argv[1]
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 640
    rng = np.random.default_rng(int(sys.argv[3]) if len(sys.argv) > 3 else 7)
    os.makedirs(out, exist_ok=True)
    for i in range(count):
        picture(rng).save(os.path.join(out, f"img{i:04d}.jpg"), quality=90)


if __name__ == "__main__":
    main()
