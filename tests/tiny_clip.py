"""A Hugging Face CLIP folder of the real interface (projection 768) with a few KB of weights.

Used to run GeoCLIP's and the CLIP scene back-end's real code paths without the 1.7 GB
ViT-L/14 backbone.
"""

from __future__ import annotations

from pathlib import Path


def build_tiny_clip(folder: Path, tokenizer: bool = False) -> Path:
    import torch
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    torch.manual_seed(0)
    config = CLIPConfig(
        projection_dim=768,
        text_config=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                         num_attention_heads=2, vocab_size=64, max_position_embeddings=32,
                         bos_token_id=0, eos_token_id=1, pad_token_id=1),
        vision_config=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                           num_attention_heads=2, patch_size=16, image_size=64))
    CLIPModel(config).save_pretrained(folder)
    CLIPImageProcessor(size={"shortest_edge": 64},
                       crop_size={"height": 64, "width": 64}).save_pretrained(folder)
    if tokenizer:
        from tokenizers import Tokenizer, models, pre_tokenizers
        from transformers import PreTrainedTokenizerFast
        words = ["a", "photo", "of", "the", "street", "home", "room", "city", "house", "forest"]
        vocab = {"[BOS]": 0, "[PAD]": 1, "[UNK]": 2, **{w: i + 3 for i, w in enumerate(words)}}
        tok = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
        tok.pre_tokenizer = pre_tokenizers.Whitespace()
        PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="[PAD]", unk_token="[UNK]",
                                bos_token="[BOS]").save_pretrained(folder)
    return folder
