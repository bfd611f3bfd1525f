"""A tiny Llama-style causal LM and a byte-level BPE tokenizer built locally from text.

Used by the fine-tune and evaluation tests and by the bench (test code, so not shipped in the
package): no hub download, a few hundred KB on disk, trains on CPU in seconds.
``bench/finetune.py`` passes larger dimensions for its CPU against GPU comparison.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from shifty_ent.model.finetune import quiet_libraries, require_training_extra

SPECIALS = ["<|endoftext|>", "<pad>"]


def build_tiny_llama(
    out_dir: Path,
    texts: Sequence[str],
    *,
    vocab_size: int = 300,
    hidden: int = 64,
    layers: int = 2,
    heads: int = 4,
    kv_heads: int = 2,
    positions: int = 128,
    seed: int = 0,
) -> Path:
    """Train a BPE tokenizer on ``texts``, initialise a LlamaConfig model, save both."""
    require_training_extra()
    quiet_libraries()
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIALS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(list(texts), trainer=trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token=SPECIALS[0], eos_token=SPECIALS[0], pad_token=SPECIALS[1]
    )
    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=tok.get_vocab_size(),
        hidden_size=hidden,
        intermediate_size=hidden * 2,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        num_key_value_heads=kv_heads,
        max_position_embeddings=positions,
        bos_token_id=fast.bos_token_id,
        eos_token_id=fast.eos_token_id,
        pad_token_id=fast.pad_token_id,
        tie_word_embeddings=False,
    )
    model = LlamaForCausalLM(config)
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(out_dir))
    fast.save_pretrained(str(out_dir))
    return out_dir


def sample_texts(n: int = 200) -> list[str]:
    """Deterministic synthetic lines (test-run triage notes) to train a tokenizer and a model."""
    verbs = ["passed", "failed", "timed out", "flaked", "was skipped"]
    areas = ["login", "checkout", "search", "profile", "billing", "upload"]
    causes = ["selector changed", "network error", "slow backend", "assertion", "bad fixture"]
    out = []
    for i in range(n):
        out.append(
            f"test {areas[i % len(areas)]} {verbs[(i // 3) % len(verbs)]} "
            f"because {causes[(i // 7) % len(causes)]} in run {i % 17}"
        )
    return out
