"""The fused rounding and read-out (`teachers.diffuseq_rounding`) give the tokens of the implementation they replaced,
kept here as the reference: nearest embedding by ‖e‖² − 2 x·e over the whole table, and the argmax of the tied LM
head over every position. Checked on tiny networks with random weights (random rows far from the table, and rows
near it, which the certified shortcut answers), with a cold and a warm cache, after the weights change, through both
samplers end to end, and on the committed DLM-One qqp student."""
import pytest
import torch

from core.networks.diffuseq_net import DiffuSeqNet, diffuseq_config
from core.paths import CHECKPOINTS_DIR
from dlm_one import generator as dlm_one_generator
from dlm_one.generator import student_generate
from teachers import diffuseq, diffuseq_rounding
from teachers.diffuseq import DiffuSeqProcess, sample_seq2seq
from teachers.diffuseq_rounding import nearest_token, tied_vocabulary


# --- the reference: the implementation before the fusion ---------------------------------------------------------------
def reference_nearest(x, weight):
    dist = (weight ** 2).sum(-1) - 2.0 * x @ weight.t()
    return dist.argmin(dim=-1)


def reference_round(x, weight):
    return weight[reference_nearest(x, weight)].to(x.dtype)


def reference_decode(model, x):
    return model.get_logits(x).argmax(dim=-1)


def reference_sampling(monkeypatch):
    """Both samplers with the reference rounding (every position, then the source put back) and decoding."""
    def round_targets(model, x, mask):
        return torch.where(mask[..., None] == 0, x, reference_round(x, model.word_embedding.weight)), None

    def decode_ids(model, x, source_ids, mask, rounded=None):
        return torch.where(mask == 0, source_ids, reference_decode(model, x))
    for module in (diffuseq, dlm_one_generator):
        monkeypatch.setattr(module, "round_targets", round_targets)
        monkeypatch.setattr(module, "decode_ids", decode_ids)


# --- tiny networks ----------------------------------------------------------------------------------------------------
HEAD_BIAS_STD = 8.0   # large enough that the head's argmax at e_v is often not v: decoding is more than rounding
def tiny(vocab: int, seed: int) -> DiffuSeqNet:
    torch.manual_seed(seed)
    model = DiffuSeqNet(diffuseq_config("tiny", vocab)).eval().requires_grad_(False)
    torch.nn.init.normal_(model.lm_head.bias, std=HEAD_BIAS_STD)
    return model


def rows(model, n: int, near: bool, seed: int) -> torch.Tensor:
    """n random vectors: spread around the table, or within 2% of its scale from random embeddings."""
    g = torch.Generator().manual_seed(seed)
    table = model.word_embedding.weight
    if not near:
        return 2.0 * torch.randn(n, table.shape[1], generator=g)
    picked = table[torch.randint(table.shape[0], (n,), generator=g)]
    return picked + 0.02 * torch.randn(picked.shape, generator=g)


def tie_free(x, weight, margin=1e-3):
    """Rows whose nearest embedding beats the runner-up by `margin` in squared distance (no float near-tie)."""
    d = torch.cdist(x.double(), weight.double()) ** 2
    two = d.topk(2, largest=False).values
    return (two[:, 1] - two[:, 0]) > margin


@pytest.mark.parametrize("vocab, seed", [(13, 0), (97, 1), (1000, 2)])
def test_nearest_and_readout_give_the_reference_tokens(vocab, seed, monkeypatch):
    monkeypatch.setattr(diffuseq_rounding, "BLOCK_SCORES", 4 * vocab)   # 4 rows per block: block edges are crossed
    model = tiny(vocab, seed)
    table = model.word_embedding.weight
    vocab_index = tied_vocabulary(model)
    for call, near in enumerate([False, True, True, False, True]):     # cold cache first, then warm
        x = rows(model, 301, near, seed * 10 + call)
        keep = tie_free(x, table)
        assert keep.float().mean() > 0.9                                # random cases are essentially tie-free
        ids = vocab_index.nearest(x)
        assert torch.equal(ids[keep], reference_nearest(x, table)[keep])
        assert torch.equal(nearest_token(x, table)[keep], reference_nearest(x, table)[keep])
        assert torch.equal(vocab_index.readout(x), reference_decode(model, x))
        decoded = vocab_index.readout_tokens(ids)
        assert torch.equal(decoded, reference_decode(model, table[ids])) and (decoded != ids).any()
    # rows near the embedding of a candidate (a token met before, up to the cap) skip the full scan; rows far from
    # the table do not
    x = rows(model, 301, True, seed)
    vocab_index.nearest(x)
    candidate = torch.isin(reference_nearest(x, table), vocab_index.candidates)
    assert candidate.sum() >= 10 and (vocab_index._certified(x)[candidate] >= 0).all()
    assert (vocab_index._certified(rows(model, 301, False, seed)) >= 0).float().mean() < 0.5


def test_the_counters_say_how_many_rows_the_full_scan_answered():
    model = tiny(97, 5)
    vocab_index = tied_vocabulary(model)
    near = rows(model, 40, True, 0)
    vocab_index.nearest(near)                                # cold cache: every row is scanned
    assert (vocab_index.rows_rounded, vocab_index.rows_scanned) == (40, 40)
    vocab_index.nearest(near)                                # every token met: none is
    assert (vocab_index.rows_rounded, vocab_index.rows_scanned) == (80, 40)
    far = rows(model, 30, False, 1)
    uncertified = int((vocab_index._certified(far) < 0).sum())
    vocab_index.nearest(far)
    assert (vocab_index.rows_rounded, vocab_index.rows_scanned) == (110, 40 + uncertified) and uncertified > 0


def test_isolation_radius_is_half_the_distance_to_the_nearest_other_embedding():
    model = tiny(50, 3)
    table = model.word_embedding.weight.double()
    vocab_index = tied_vocabulary(model)
    vocab_index.readout_tokens(torch.arange(50))
    distances = torch.cdist(table, table) + torch.diag(torch.full((50,), torch.inf, dtype=torch.float64))
    assert torch.allclose(vocab_index.radius.double(), distances.min(-1).values / 2, rtol=1e-5)


def test_the_cache_follows_the_weights():
    model = tiny(40, 4)
    first = tied_vocabulary(model)
    assert tied_vocabulary(model) is first                              # unchanged weights: the same tables
    x = rows(model, 64, True, 0)
    first.nearest(x)
    with torch.no_grad():
        model.word_embedding.weight.copy_(model.word_embedding.weight.flip(0))   # in place: version bump
        model.lm_head.bias.add_(1.0)
    after = tied_vocabulary(model)
    assert after is not first
    table = model.word_embedding.weight
    keep = tie_free(x, table)
    assert torch.equal(after.nearest(x)[keep], reference_nearest(x, table)[keep])
    assert torch.equal(after.readout(x), reference_decode(model, x))
    model.word_embedding.weight = torch.nn.Parameter(torch.randn_like(table))    # replaced: new storage
    model.lm_head.weight = model.word_embedding.weight
    assert tied_vocabulary(model) is not after
    assert torch.equal(tied_vocabulary(model).readout(x), reference_decode(model, x))


class NearTable(DiffuSeqNet):
    """A random network whose x̂0 lands within 5% of an embedding, as a trained one's does: the certified path."""

    def forward(self, x, t):
        out = super().forward(x, t)
        table = self.word_embedding.weight
        return table[reference_nearest(out, table)] + 0.05 * out / out.norm(dim=-1, keepdim=True)


def tiny_sampler_model(near: bool) -> DiffuSeqNet:
    torch.manual_seed(5)
    model = (NearTable if near else DiffuSeqNet)(diffuseq_config("tiny", 60)).eval().requires_grad_(False)
    torch.nn.init.normal_(model.lm_head.bias, std=HEAD_BIAS_STD)
    return model


SAMPLERS = [("teacher ddim 1", lambda p, m, b, c: sample_seq2seq(p, m, b, steps=1, k_candidates=2, clamp=c)),
            ("teacher ddim 4", lambda p, m, b, c: sample_seq2seq(p, m, b, steps=4, k_candidates=2, clamp=c)),
            ("teacher ancestral 3", lambda p, m, b, c: sample_seq2seq(p, m, b, steps=3, sampler="ancestral", clamp=c)),
            ("student 1 step", lambda p, m, b, c: student_generate(p, m, b, t_init=1999, k_candidates=2, clamp=c)),
            ("student 3 steps", lambda p, m, b, c: student_generate(p, m, b, t_init=1500, steps=3, clamp=c))]


@pytest.mark.parametrize("near", [False, True])
@pytest.mark.parametrize("clamp", [True, False])
@pytest.mark.parametrize("name, draw", SAMPLERS, ids=[s[0] for s in SAMPLERS])
def test_samplers_decode_the_reference_tokens(name, draw, clamp, near, monkeypatch):
    model, process = tiny_sampler_model(near), DiffuSeqProcess(2000)
    g = torch.Generator().manual_seed(6)
    batch = {"input_ids": torch.randint(60, (8, 12), generator=g),
             "input_mask": (torch.arange(12) >= torch.randint(2, 6, (8, 1), generator=g)).long()}
    ours = [draw(process, model, batch, clamp) for _ in range(2)]      # the second with a warm cache
    reference_sampling(monkeypatch)
    theirs = draw(process, model, batch, clamp)
    assert torch.equal(ours[0], theirs) and torch.equal(ours[1], theirs)


def test_committed_student_decodes_the_reference_tokens(monkeypatch):
    from core.data import load_seq2seq
    from experiments.seq2seq import encode_pairs
    from teachers.diffuseq_decode import tokenizer_from_spec
    from teachers.registry import load_teacher

    loaded = load_teacher(CHECKPOINTS_DIR / "dlm_one-qqp-small-stage2", "cpu")
    tokenizer = tokenizer_from_spec(loaded.tokenizer_name)
    batch = encode_pairs([(e.src, "") for e in load_seq2seq("qqp", "test")[:16]], tokenizer, loaded.seq_len)
    t_init = loaded.config["student"]["t_init"]
    ours = [student_generate(loaded.process, loaded.network, batch, t_init=t_init, seeds=[s]) for s in (0, 1)]
    reference_sampling(monkeypatch)
    for seed, out in zip((0, 1), ours):
        assert torch.equal(out, student_generate(loaded.process, loaded.network, batch, t_init=t_init, seeds=[seed]))
