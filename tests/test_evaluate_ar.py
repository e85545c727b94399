"""Reference AR evaluator: loss goes down on a repeating string, save/load round trip through load_evaluator."""
import os

import pytest
import torch

os.environ["HF_HUB_OFFLINE"] = "1"

from core.evaluate.unconditional import generative_perplexity, load_evaluator  # noqa: E402
from core.tokenizers import load_tokenizer  # noqa: E402
from core.evaluate.reference_ar import ar_config, ar_loss, build_ar_model, load_ar, save_ar  # noqa: E402

TOKENIZER = "bert"   # available offline from an installed package
TEXT = "one two three four five six seven eight"


def test_ar_config_presets_and_unknown_preset():
    small = ar_config("small", vocab_size=100, seq_len=64)
    assert (small.n_layer, small.n_embd, small.n_head, small.n_positions) == (4, 256, 4, 64)
    with pytest.raises(ValueError, match="unknown preset 'huge'"):
        ar_config("huge", vocab_size=100, seq_len=64)


def test_ar_loss_ignores_padded_targets():
    torch.manual_seed(0)
    model = build_ar_model(ar_config("tiny", vocab_size=20, seq_len=16)).eval()
    ids = torch.randint(0, 20, (2, 8))
    mask = torch.ones_like(ids)
    mask[1, 5:] = 0
    full = ar_loss(model, ids[:1, :])
    masked = ar_loss(model, ids, mask)
    # row 0 contributes 7 targets, row 1 only 4 (targets 1..4)
    row1 = ar_loss(model, ids[1:, :5])
    assert masked.item() == pytest.approx((7 * full.item() + 4 * row1.item()) / 11, rel=1e-5)


def test_tiny_ar_learns_a_string_and_round_trips_as_evaluator(tmp_path):
    torch.manual_seed(0)
    torch.set_num_threads(1)
    tokenizer = load_tokenizer(TOKENIZER)
    ids = tokenizer.encode(TEXT) + [tokenizer.eos_id]
    batch = torch.tensor([ids])
    model = build_ar_model(ar_config("tiny", vocab_size=tokenizer.vocab_size, seq_len=32))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    first = ar_loss(model, batch).item()
    for _ in range(60):
        loss = ar_loss(model, batch)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert loss.item() < 0.1 * first

    folder = save_ar(model, TOKENIZER, tmp_path / "ar")
    assert (folder / "model.safetensors").exists() and not (tmp_path / "ar.tmp").exists()
    evaluator, eval_tokenizer, name = load_evaluator("no-such-evaluator-xyz", "cpu", fallback_path=folder)
    assert name == f"reference-ar:{folder}"
    result = generative_perplexity([TEXT], evaluator, eval_tokenizer, max_length=32)
    assert result["n_tokens"] == len(ids) - 1
    assert result["gen_ppl"] < 1.5
    # the same folder given directly resolves to the same model
    assert load_evaluator(folder, "cpu")[2] == name
    reloaded, tokenizer_name = load_ar(folder)
    assert tokenizer_name == TOKENIZER
    assert torch.equal(reloaded.transformer.wte.weight, model.transformer.wte.weight)
