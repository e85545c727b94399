"""Pieces of experiments.pretrain: the batch stream is a pure function of (seed, step) independent of the
model-init stream; validation is reproducible and reports bits per token only for per-token NLLs."""
import math

import pytest
import torch

from experiments.recipe import PAST_ANY_CURRICULUM, batch_sampler, held_out_eval

BLOCKS = torch.arange(1000).reshape(100, 10)


def test_batches_are_a_function_of_seed_and_step_only():
    first, again = batch_sampler(BLOCKS, 8, seed=0, device="cpu"), batch_sampler(BLOCKS, 8, seed=0, device="cpu")
    rows, step = first(5)
    assert step == 5 and rows.shape == (8, 10)
    torch.manual_seed(123)   # the global stream does not matter
    assert torch.equal(again(5)[0], rows)
    assert not torch.equal(first(6)[0], rows)
    assert not torch.equal(batch_sampler(BLOCKS, 8, seed=1, device="cpu")(5)[0], rows)
    # step 0 of seed 0 is not drawn from the stream that torch.manual_seed(0) gives the model's initialisation
    init_stream = torch.randint(100, (8,), generator=torch.Generator().manual_seed(0))
    assert not torch.equal(first(0)[0], BLOCKS[init_stream])


@pytest.mark.parametrize("key, bits", [("nelbo", True), ("nll", True), ("loss", False), ("dcd_kl", False)])
def test_validation_is_reproducible_and_bits_only_for_per_token_nll(key, bits):
    seen_steps = []

    def loss_fn(model, batch):
        rows, step = batch
        seen_steps.append(step)
        return torch.rand(()) + rows.float().mean() * 0, {}
    eval_fn = held_out_eval(loss_fn, BLOCKS[:20], 8, "cpu", key)
    first, second = eval_fn(None), eval_fn(None)
    assert first == second and set(seen_steps) == {PAST_ANY_CURRICULUM} and len(seen_steps) == 6   # 3 batches x 2
    assert sorted(first) == sorted([key, "bits_per_token"] if bits else [key])
    if bits:
        assert first["bits_per_token"] == pytest.approx(first[key] / math.log(2), rel=1e-12)
