"""The config tree as dotted keys, and values as the command line spells them."""
from __future__ import annotations

from pathlib import Path

from omegaconf import DictConfig

# The embedded corpora use the vocabulary a small CPU model learns fast; the real ones the papers' tokenizers
# (MDLM/SEDD/Duo: GPT-2 on OpenWebText and its zero-shot sets, bert-base-uncased on LM1B). A data.path folder of text
# is tokenized with the tokenizer of corpus=.
CORPUS_TOKENIZERS = {"shakespeare": "char", "english": "small_bpe", "openwebtext": "gpt2", "wikitext103": "gpt2",
                     "wikitext2": "gpt2", "lm1b": "bert"}


def flat_keys(cfg, prefix: str = "") -> dict[str, object]:
    """{dotted key: value} of every leaf of a config tree (or a plain nested dict)."""
    out = {}
    for key, value in cfg.items():
        name = f"{prefix}{key}"
        if isinstance(value, (DictConfig, dict)):
            out.update(flat_keys(value, name + "."))
        else:
            out[name] = value
    return out


def shown(value) -> str:
    """A value as it is typed on the command line (true, not Python's True)."""
    if value is None:
        return "null"
    return str(value).lower() if isinstance(value, bool) else str(value)


CONFIG_DIR = Path(__file__).resolve().parent / "configs"
