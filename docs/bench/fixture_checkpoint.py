"""What the random-checkpoint scripts share: the command line (a test fixture's checkpoint dir, an output dir, a
seed), the fixture's config to scale up, and its tokenizer and processor files to copy beside the new weights."""
import argparse
import json
import shutil
from pathlib import Path


def arguments(fixture_help):
    """(fixture dir, new output dir, seed, the fixture's config.json as a dict) from the command line."""
    ap = argparse.ArgumentParser()
    ap.add_argument("fixture", help=fixture_help)
    ap.add_argument("out")
    ap.add_argument("--seed", type=int, default=17)
    a = ap.parse_args()
    src, out = Path(a.fixture), Path(a.out)
    out.mkdir(parents=True, exist_ok=False)
    return src, out, a.seed, json.loads((src / "config.json").read_text())


def copy_files(src, out):
    """The fixture's files other than its config and weights (tokenizer, processor), writable copies."""
    for f in src.iterdir():
        if f.name not in ("config.json", "model.safetensors", "generation_config.json") and f.is_file():
            shutil.copyfile(f, out / f.name)
