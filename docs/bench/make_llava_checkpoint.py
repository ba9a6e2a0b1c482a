#!/usr/bin/env python3
"""A random-weight LLaVA-1.5-shaped checkpoint for `loupe bench` on CPU (the device-bound image side, issue #17).

Larger than the test fixture (fixtures/hf-reference/llava: 48 px, 16 image tokens, hidden 64) so the image side's
output is a real part of the work: CLIP ViT 224 px, patch 14 (256 image tokens, as LLaVA-1.5's 336 px / 576 at a
smaller scale), vision hidden 256 x 4 layers, projector 256 -> 512 -> 512, LLaMA hidden 512 x 4 layers (8 heads),
the fixture's tokenizer (vocab 386). Weights from a seeded generator; nothing is downloaded.

    /tmp/hfenv/bin/python docs/bench/make_llava_checkpoint.py fixtures/hf-reference/llava/checkpoint /tmp/s6bm/ckpt
"""
import json

import torch
from transformers import LlavaConfig, LlavaForConditionalGeneration

import fixture_checkpoint


def main():
    src, out, seed, cfg = fixture_checkpoint.arguments(
        "the llava test fixture's checkpoint dir (tokenizer and processor files)")
    image, patch = 224, 14
    cfg["image_seq_length"] = (image // patch) ** 2
    cfg["vision_config"].update(hidden_size=256, intermediate_size=1024, num_attention_heads=4, num_hidden_layers=4,
                                image_size=image, patch_size=patch, projection_dim=256)
    cfg["text_config"].update(hidden_size=512, intermediate_size=1376, num_attention_heads=8, num_key_value_heads=8,
                              head_dim=64, num_hidden_layers=4, max_position_embeddings=1024)
    torch.manual_seed(seed)
    model = LlavaForConditionalGeneration(LlavaConfig.from_dict(cfg)).eval()
    model.save_pretrained(out, safe_serialization=True)
    fixture_checkpoint.copy_files(src, out)
    pre = json.loads((src / "preprocessor_config.json").read_text())
    pre["crop_size"] = {"height": image, "width": image}
    pre["size"] = {"shortest_edge": image}
    (out / "preprocessor_config.json").write_text(json.dumps(pre, indent=2))
    proc = out / "processor_config.json"
    if proc.exists():
        p = json.loads(proc.read_text())
        if "patch_size" in p:
            p["patch_size"] = patch
        proc.write_text(json.dumps(p, indent=2))
    print(sum(t.numel() for t in model.parameters()), "parameters ->", out)


if __name__ == "__main__":
    main()
