"""Self-conditioning of the DiffuSeq network: the extra input starts switched off, the training wrapper feeds a
gradient-free estimate half the time, the sampling wrapper feeds back the previous step's estimate within one
trajectory only, and a plain folder starts self-conditioned training as the same function."""
import json

import pytest
import torch

from core.networks.diffuseq_net import DiffuSeqNet, diffuseq_config
from teachers.diffuseq import DiffuSeqProcess, sample_seq2seq
from teachers.diffuseq_checkpoint import from_pretrained, save_pretrained
from teachers.diffuseq_self_condition import SelfConditionedSampling, SelfConditionedTraining, for_sampling
from tests.test_experiments import run


def tiny(self_condition: bool, seed: int = 0) -> DiffuSeqNet:
    torch.manual_seed(seed)
    return DiffuSeqNet(diffuseq_config("tiny", 40, self_condition=self_condition)).eval()


def inputs(seed: int = 1):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(3, 7, 16, generator=g), torch.tensor([10.0, 500.0, 999.0])


def test_the_new_input_starts_at_zero_and_is_refused_by_a_plain_network():
    plain, conditioned = tiny(False), tiny(True)
    x, t = inputs()
    estimate = torch.randn_like(x)
    # same seed, the projection built last: every other weight is the plain network's
    assert torch.equal(conditioned(x, t), plain(x, t))
    assert torch.equal(conditioned(x, t, estimate), plain(x, t))         # zero projection: the estimate adds nothing
    with torch.no_grad():
        conditioned.self_condition_proj.weight.fill_(0.1)
    assert not torch.allclose(conditioned(x, t, estimate), plain(x, t))
    assert torch.equal(conditioned(x, t), plain(x, t))                   # no estimate: still the plain network
    with pytest.raises(ValueError, match="without self_condition"):
        plain(x, t, estimate)
    with pytest.raises(ValueError, match="shape of x"):
        conditioned(x, t, estimate[:, :3])


def test_a_plain_folder_loads_into_a_self_conditioned_network_as_the_same_function(tmp_path):
    plain = tiny(False)
    save_pretrained(plain, DiffuSeqProcess(), tmp_path / "plain", extra={"tokenizer": {"base": "bert"}, "seq_len": 7})
    from core.networks.hub import load_folder_weights

    conditioned = tiny(True, seed=5)
    load_folder_weights(conditioned, tmp_path / "plain")
    x, t = inputs()
    assert torch.count_nonzero(conditioned.self_condition_proj.weight) == 0
    assert torch.allclose(conditioned(x, t, torch.randn_like(x)), plain(x, t), atol=1e-3)   # the folder is float16
    # a self-conditioned folder keeps its projection and its flag
    with torch.no_grad():
        conditioned.self_condition_proj.weight.fill_(0.25)
    save_pretrained(conditioned, DiffuSeqProcess(), tmp_path / "sc", extra={"tokenizer": {"base": "bert"},
                                                                              "seq_len": 7})
    loaded, _ = from_pretrained(tmp_path / "sc")
    assert json.loads((tmp_path / "sc" / "config.json").read_text())["network"]["self_condition"] is True
    assert torch.allclose(loaded.self_condition_proj.weight, torch.full_like(loaded.self_condition_proj.weight, 0.25))


class Recorder(torch.nn.Module):
    """A network that returns x + t and records the estimate each call received."""

    def __init__(self):
        super().__init__()
        self.config = type("C", (), {"self_condition": True})()
        self.received = []

    def forward(self, x, t, x0_hat=None):
        self.received.append(None if x0_hat is None else x0_hat.clone())
        return x + t.view(-1, 1, 1)


@pytest.mark.parametrize("probability", [0.0, 1.0])
def test_training_feeds_a_gradient_free_estimate_with_its_probability(probability):
    net = tiny(True)
    with torch.no_grad():
        net.self_condition_proj.weight.normal_(0, 0.5)
    x, t = inputs()
    x.requires_grad_(True)
    out = SelfConditionedTraining(net, probability)(x, t)
    estimate = net(x, t).detach()
    expected = net(x, t, estimate) if probability else net(x, t)
    assert torch.allclose(out, expected, atol=1e-6)
    # the estimate carries no gradient: x's gradient is the last call's alone, the estimate held fixed
    grad, = torch.autograd.grad(out.sum(), x)
    expected_grad, = torch.autograd.grad(expected.sum(), x)
    assert torch.allclose(grad, expected_grad, atol=1e-5)


def test_training_wrapper_flips_one_coin_per_example_at_the_given_rate():
    net = Recorder()
    wrapper = SelfConditionedTraining(net, 0.5, rng=torch.Generator().manual_seed(0))
    x = torch.zeros(4000, 1, 1)
    wrapper(x, torch.full((4000,), 3.0))
    assert [r is None for r in net.received] == [True, False]           # an estimate pass, then the trained call
    fed = net.received[1].flatten()
    assert set(fed.unique().tolist()) == {0.0, 3.0}                     # zeroed or the estimate, per example
    assert 1880 <= int((fed == 3.0).sum()) <= 2120                     # 2000 expected, 6 sd is about 190


def test_sampling_feeds_back_within_a_trajectory_and_restarts_on_a_new_one():
    net = Recorder()
    wrapper = SelfConditionedSampling(net)
    x, _ = inputs()
    for step in (900.0, 500.0, 100.0, 950.0, 10.0):                    # 950 ≥ 100: a new trajectory starts
        wrapper(x, torch.full((3,), step))
    fed = [None if r is None else r[0, 0, 0].item() - x[0, 0, 0].item() for r in net.received]
    assert fed == [None, pytest.approx(900.0), pytest.approx(500.0), None, pytest.approx(950.0)]
    wrapper(x[:2], torch.full((2,), 5.0))                               # another batch size: no estimate to feed
    assert net.received[-1] is None
    assert for_sampling(tiny(False)).__class__ is DiffuSeqNet and isinstance(for_sampling(net), SelfConditionedSampling)


def test_the_registry_samples_a_self_conditioned_folder_through_the_wrapper_and_dlm_one_refuses_it(tmp_path):
    from teachers.registry import load_teacher

    conditioned = tiny(True)
    save_pretrained(conditioned, DiffuSeqProcess(), tmp_path / "sc", extra={"tokenizer": {"base": "bert"},
                                                                              "seq_len": 7, "task": "qqp"})
    loaded = load_teacher(tmp_path / "sc", "cpu").network
    assert isinstance(loaded, SelfConditionedSampling) and not loaded.training
    assert loaded.word_embedding is loaded.network.word_embedding
    assert all(not p.requires_grad for p in loaded.parameters())
    out = run("experiments.run", "method=dlm_one", "task=qqp", f"teacher_path={tmp_path / 'sc'}", "threads=1",
              f"run_dir={tmp_path / 'run'}")
    assert out.returncode != 0
    assert "is a self-conditioned DiffuSeq teacher" in out.stderr and "method=dlm_one" in out.stderr
    assert not (tmp_path / "run").exists()


def test_sampler_runs_through_the_wrapper_and_uses_the_estimate():
    conditioned = tiny(True)
    with torch.no_grad():
        conditioned.self_condition_proj.weight.normal_(0, 0.5)
    ids = torch.randint(5, 40, (2, 7))
    batch = {"input_ids": ids, "input_mask": torch.tensor([[0, 0, 0, 1, 1, 1, 1]] * 2)}
    process = DiffuSeqProcess(num_steps=50)
    fed = sample_seq2seq(process, for_sampling(conditioned), batch, steps=5, k_candidates=2, clamp=False)
    plain = sample_seq2seq(process, conditioned, batch, steps=5, k_candidates=2, clamp=False)
    assert fed.shape == plain.shape == (2, 2, 7)
    assert torch.equal(fed[..., :3], ids[:, None, :3].expand(-1, 2, -1))   # the source is kept
    # one step has no estimate to feed: the same tokens as the plain network
    assert torch.equal(sample_seq2seq(process, for_sampling(conditioned), batch, steps=1, clamp=False),
                       sample_seq2seq(process, conditioned, batch, steps=1, clamp=False))


@pytest.mark.e2e
def test_self_conditioned_pretraining_from_a_plain_folder_then_sampling(tmp_path):
    common = ["teacher=diffuseq", "task=qqp", "preset=tiny", "threads=1"]
    short = ["train.max_steps=2", "train.save_every=2", "train.eval_every=2", "train.eval_batches=1",
             "train.batch_size=4", "diffuseq.val_sources=2", "diffuseq.val_steps=2", "data.seq_len=32"]
    out = run("experiments.pretrain", *common, *short, f"run_dir={tmp_path / 'plain'}")
    assert out.returncode == 0, out.stderr[-2000:]
    out = run("experiments.pretrain", *common, *short, f"run_dir={tmp_path / 'sc'}", "diffuseq.self_condition=true",
              f"train.init_from={tmp_path / 'plain' / 'pretrained'}")
    assert out.returncode == 0, out.stderr[-2000:]
    folder = tmp_path / "sc" / "pretrained"
    assert json.loads((folder / "config.json").read_text())["network"]["self_condition"] is True
    out = run("experiments.run", *common, f"teacher_path={folder}", "steps=3", "sampling.num_samples=2",
              "sampling.batch_size=2", "diffuseq.bertscore=false", f"results_dir={tmp_path / 'res'}")
    assert out.returncode == 0, out.stderr[-2000:]
    assert len(list((tmp_path / "res" / "rows").glob("diffuseq-qqp-tiny-steps3-*.json"))) == 1
