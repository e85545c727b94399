"""Train the small byte-level BPE (8,192 ids) on the `english` train split and save it as
data/tokenizers/small_bpe_8k/tokenizer.json.

    python -m experiments.build_tokenizer [--vocab-size 8192] [--out PATH]

Deterministic: same corpus and settings give a byte-identical file (checked by sha256 after a second run).
Only the train split is seen, so valid/test perplexities of models using it are not flattered.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import tokenizers as hf_tokenizers
from tokenizers import decoders, models, pre_tokenizers, trainers

from core.checkpoint import atomic_write_text
from core.data import load_lm_text
from core.tokenizers import ENDOFTEXT, SMALL_BPE_PATH


def train_small_bpe(documents: list[str], vocab_size: int = 8192) -> hf_tokenizers.Tokenizer:
    """Byte-level BPE as GPT-2's (same pre-tokenisation regex, no prefix space); <|endoftext|> gets id 0."""
    tok = hf_tokenizers.Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=2,
        special_tokens=[ENDOFTEXT],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),  # all 256 bytes: any text stays encodable
        show_progress=False,
    )
    tok.train_from_iterator(documents, trainer=trainer, length=len(documents))
    return tok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--vocab-size", type=int, default=8192)
    parser.add_argument("--out", type=Path, default=SMALL_BPE_PATH)
    args = parser.parse_args()
    tok = train_small_bpe(load_lm_text("english", "train"), args.vocab_size)
    atomic_write_text(args.out, tok.to_str(pretty=True))
    print(f"saved {args.out} ({tok.get_vocab_size()} ids)")


if __name__ == "__main__":
    main()
