#!/usr/bin/env python3
"""A random-weight InstructBLIP-Flan-T5-shaped checkpoint for `loupe bench` on CPU (continuous batching of T5, issue #14).

Larger than the test fixture (fixtures/hf-reference/instructblip-flant5: 48 px, 6 queries, T5 64 wide x 2 layers) so
the decoder step is a real part of the work, with the image side of the Vicuna benchmark model (docs/benchmarks.md):
ViT 224 px / patch 14 / 384 wide x 6 layers; Q-Former 384 x 4 layers, 32 queries; Flan-T5 (gated GELU) 512 wide,
6 encoder and 6 decoder layers, 8 heads of 64, MLP 1408; the fixture's tokenizers (T5 vocab 256, so the LM head is
small next to the benchmark model's 32000). Weights from a seeded generator; nothing is downloaded.

    /tmp/tfenv/bin/python docs/bench/make_flant5_checkpoint.py fixtures/hf-reference/instructblip-flant5/checkpoint \
        /tmp/t5bm/ckpt
"""
import json
import shutil

import torch
from transformers import InstructBlipConfig, InstructBlipForConditionalGeneration

import fixture_checkpoint


def main():
    src, out, seed, cfg = fixture_checkpoint.arguments(
        "the instructblip-flant5 test fixture's checkpoint dir (tokenizers, processor)")
    image, patch, queries = 224, 14, 32
    cfg["num_query_tokens"] = queries
    cfg["vision_config"].update(hidden_size=384, intermediate_size=1536, num_attention_heads=6, num_hidden_layers=6,
                                image_size=image, patch_size=patch, initializer_range=0.02)
    cfg["qformer_config"].update(hidden_size=384, intermediate_size=1536, num_attention_heads=6, num_hidden_layers=4,
                                 encoder_hidden_size=384, max_position_embeddings=512)
    cfg["text_config"].update(d_model=512, d_kv=64, num_heads=8, num_layers=6, num_decoder_layers=6, d_ff=1408)
    torch.manual_seed(seed)
    model = InstructBlipForConditionalGeneration(InstructBlipConfig.from_dict(cfg)).eval()
    model.save_pretrained(out, safe_serialization=True)
    fixture_checkpoint.copy_files(src, out)
    shutil.copytree(src / "qformer_tokenizer", out / "qformer_tokenizer", copy_function=shutil.copyfile)
    pre = json.loads((src / "preprocessor_config.json").read_text())
    pre["size"] = {"height": image, "width": image}
    (out / "preprocessor_config.json").write_text(json.dumps(pre, indent=2))
    proc = json.loads((src / "processor_config.json").read_text())
    proc["num_query_tokens"] = queries
    (out / "processor_config.json").write_text(json.dumps(proc, indent=2))
    print(sum(t.numel() for t in model.parameters()), "parameters ->", out)


if __name__ == "__main__":
    main()
