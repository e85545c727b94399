"""DiDi-Instruct against hand-computed values and ground truth: the reward, advantage and loss maths, the
discriminator on a separable toy, the rollout's bookkeeping, and on a toy pmf with an exact teacher a student whose
2-step samples are closer to the data than the teacher's."""
import math

import pytest
import torch

from core.discrete_toy import _flat_index, all_sequences, exact_denoiser, sample_pmf, total_variation, toy_pmf
from core.distill import DistillSettings, RoleSettings, distill
from core.networks import copy_for_training
from core.networks.dit import DiT, dit_config
from didi.discriminator import Discriminator, discriminator_folder, load_discriminator, save_discriminator
from didi.losses import (discriminator_loss, group_advantages, kl_and_entropy, sequence_rewards, student_loss,
                         time_weight)
from didi.method import DiDiSettings, didi_method, policy_terms, two_step_rollout
from didi.sampler import rgas_sample
from teachers.mdlm import MaskedDiffusion
from teachers.mdlm import sample as mdlm_sample
from tests.test_idlm import Table


def test_rewards_average_clipped_logits_over_masked_positions():
    logits = torch.tensor([[1.0, 20.0, -3.0], [0.5, 0.5, 0.5]])
    masked = torch.tensor([[True, True, False], [False, False, False]])
    assert sequence_rewards(logits, masked, clip=8.0).tolist() == [4.5, 0.0]   # (1 + 8) / 2; nothing masked: 0


def test_group_advantages_hand_computed():
    rewards = torch.tensor([1.0, 2.0, 3.0, 4.0, 5.0, 5.0, 5.0, 5.0])
    std = math.sqrt(5 / 3)   # unbiased std of 1..4
    expected = [-1.5 / std, -0.5 / std, 0.5 / std, 1.5 / std, 0.0, 0.0, 0.0, 0.0]
    assert group_advantages(rewards, 4, clip=3.0).tolist() == pytest.approx(expected, abs=1e-6)
    assert group_advantages(torch.tensor([0.0, 0.0, 0.0, 100.0]), 4, clip=1.0).tolist() == [-0.5, -0.5, -0.5, 1.0]
    with pytest.raises(ValueError, match="groups of 4"):
        group_advantages(rewards[:6], 4, clip=3.0)


def test_time_weight_is_one_over_tau_clamped():
    tau = torch.tensor([0.05, 0.25, 0.5, 0.98])
    assert time_weight(MaskedDiffusion(3), tau, low=0.1, high=10.0).tolist() == pytest.approx([10.0, 4.0, 2.0,
                                                                                                1 / 0.98], rel=1e-6)


def test_discriminator_loss_hand_computed():
    zero = torch.zeros(1, 2)
    masked = torch.tensor([[True, False]])
    loss, metrics = discriminator_loss(zero, masked, zero, masked, label_smoothing=0.1)
    assert float(loss) == pytest.approx(math.log(2))   # BCE at logit 0 is log 2 whatever the target
    big = torch.tensor([[2.0, -50.0]])
    loss, metrics = discriminator_loss(big, masked, -big, masked, label_smoothing=0.1)
    expected = -(0.9 * math.log(torch.sigmoid(torch.tensor(2.0))) + 0.1 * math.log(torch.sigmoid(torch.tensor(-2.0))))
    assert float(loss) == pytest.approx(expected, rel=1e-6)   # the unmasked position (-50) is left out
    assert float(metrics["real_accuracy"]) == 1.0 and float(metrics["fake_accuracy"]) == 1.0


def test_student_loss_hand_computed():
    weight, advantage, log_pi = torch.tensor([2.0, 1.0]), torch.tensor([1.0, -1.0]), torch.tensor([-3.0, -5.0])
    loss = student_loss(weight, advantage, log_pi, torch.tensor(4.0), torch.tensor(2.0), kl_beta=1.0,
                        entropy_beta=0.02)
    assert float(loss) == pytest.approx(-(2 * 1 * -3 + 1 * -1 * -5) / 2 + 0.01 * 4 - 0.02 * 2)
    log_t = torch.tensor([[[0.5, 0.5]]]).log()
    log_s = torch.tensor([[[0.25, 0.75]]]).log()
    kl, entropy = kl_and_entropy(log_t, log_s, torch.tensor([[True]]))
    assert float(kl) == pytest.approx(0.5 * math.log(2) + 0.5 * math.log(2 / 3))
    assert float(entropy) == pytest.approx(-(0.25 * math.log(0.25) + 0.75 * math.log(0.75)))


def test_rollout_unmasks_in_two_steps_and_log_pi_counts_each_new_token_once():
    torch.manual_seed(0)
    vocab, length, batch = 3, 3, 64
    process = MaskedDiffusion(vocab)
    pmf = toy_pmf(vocab, length, seed=0)
    teacher = exact_denoiser(pmf, vocab)
    x0 = sample_pmf(pmf, batch)
    r = two_step_rollout(process, teacher, x0, DiDiSettings(t_end=1e-9))
    x_1, x_tau = r["states"]
    assert (x_1 == vocab).all() and (r["tokens"] != vocab).all()        # all-[MASK] → every token (t_end ≈ 0)
    assert ((x_tau == vocab) | (x_tau == r["tokens"])).all()              # step 2 keeps what step 1 unmasked
    assert ((r["z_fake"] == vocab) | (r["z_fake"] == r["tokens"])).all()  # coupled corruptions of x̂_0 and x0
    assert ((r["z_real"] == vocab) | (r["z_real"] == x0)).all()
    log_p = process.denoiser_log_probs(teacher, r["states"].flatten(0, 1), r["times"].flatten())
    log_pi, masked_before = policy_terms(process, log_p[..., :vocab].unflatten(0, (2, batch)).float(), r)
    # by hand: step 1's log-prob of the tokens x_τ shows, plus step 2's of the rest
    p1 = log_p[:batch].gather(-1, r["tokens"][..., None]).squeeze(-1)
    p2 = log_p[batch:].gather(-1, r["tokens"][..., None]).squeeze(-1)
    expected = (p1 * (x_tau != vocab)).sum(-1) + (p2 * (x_tau == vocab)).sum(-1)
    assert torch.allclose(log_pi, expected.float(), atol=1e-5)
    assert masked_before[0].all() and torch.equal(masked_before[1], x_tau == vocab)


class TableDiscriminator(torch.nn.Module):
    """A logit per (input state, position): a discriminator that can represent any per-state classifier."""

    def __init__(self, vocab_size: int, length: int):
        super().__init__()
        self.table = torch.nn.Parameter(torch.zeros((vocab_size + 1) ** length, length))
        self.vocab_size = vocab_size

    def forward(self, z, sigma):
        return self.table[_flat_index(z, self.vocab_size + 1)]


def tiny_discriminator(vocab: int = 6, trainable_blocks: int = 1) -> tuple[DiT, Discriminator]:
    torch.manual_seed(0)
    teacher = DiT(dit_config("tiny", vocab, n_blocks=2)).eval().requires_grad_(False)
    return teacher, Discriminator.from_teacher(teacher, trainable_blocks=trainable_blocks)


def test_discriminator_is_the_teacher_below_its_trainable_blocks():
    teacher, discriminator = tiny_discriminator()
    trainable = {n for n, p in discriminator.named_parameters() if p.requires_grad}
    assert trainable and all(n.startswith(("backbone.blocks.1.", "head.")) for n in trainable)
    assert torch.equal(discriminator.backbone.blocks[0].attn_qkv.weight, teacher.blocks[0].attn_qkv.weight)
    assert not any(k.startswith("backbone.output_layer") for k in discriminator.state_dict())
    x = torch.randint(0, 6, (3, 5))
    assert discriminator(x, torch.zeros(3)).shape == (3, 5)


def test_discriminator_separates_a_separable_toy():
    """Real rows use tokens {0, 1}, fake rows tokens {2, 3}, half their positions masked: after 150 steps of the
    discriminator's own loss, each side's masked positions are classified right."""
    _, discriminator = tiny_discriminator()
    process = MaskedDiffusion(5)
    optimizer = torch.optim.AdamW([p for p in discriminator.parameters() if p.requires_grad], lr=3e-3)
    g = torch.Generator().manual_seed(0)
    tau = torch.full((32,), 0.5)
    sigma = process.schedule.sigma(tau)
    for _ in range(150):
        real = process.forward_sample(torch.randint(0, 2, (32, 8), generator=g), tau, rng=g)
        fake = process.forward_sample(torch.randint(2, 4, (32, 8), generator=g), tau, rng=g)
        loss, metrics = discriminator_loss(discriminator(real, sigma), real == 5, discriminator(fake, sigma),
                                           fake == 5, label_smoothing=0.1)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert float(metrics["real_accuracy"]) == 1.0 and float(metrics["fake_accuracy"]) == 1.0
    assert loss.item() < 0.4   # the label-smoothed optimum is 0.325


def test_discriminator_export_round_trip(tmp_path):
    _, discriminator = tiny_discriminator()
    folder = discriminator_folder(tmp_path / "student")
    assert folder == tmp_path / "student-discriminator"
    save_discriminator(folder, discriminator, provenance={"distill_step": 3})
    loaded = load_discriminator(folder)
    x = torch.randint(0, 6, (2, 5))
    discriminator.eval()
    assert torch.equal(loaded(x, torch.ones(2)), discriminator(x, torch.ones(2)))
    assert not any(p.requires_grad for p in loaded.parameters())


def test_rgas_draws_complete_samples_and_greedy_guidance_follows_the_discriminator():
    """With a discriminator that rewards token 0 everywhere, RGAS at a large guidance scale writes mostly 0s where
    plain ancestral sampling of the same uniform student writes each token a third of the time."""
    vocab, length = 3, 3
    process = MaskedDiffusion(vocab)
    uniform = lambda x, sigma: torch.zeros(*x.shape[:2], vocab + 1)

    def likes_zero(z, sigma):
        probs = z if z.is_floating_point() else torch.nn.functional.one_hot(z, vocab + 1).float()
        return 5.0 * probs[..., 0]
    torch.manual_seed(0)
    x, calls = rgas_sample(process, uniform, likes_zero, batch_size=2000, length=length, steps=4, guidance=(5.0, 5.0))
    assert (x != vocab).all() and calls in (4.0, 5.0)
    assert (x == 0).float().mean() > 0.8
    torch.manual_seed(0)
    plain, _ = mdlm_sample(process, uniform, batch_size=2000, length=length, steps=4, cache=False)
    assert abs(float((plain == 0).float().mean()) - 1 / 3) < 0.03


def test_didi_student_beats_the_exact_teacher_at_two_steps(tmp_path):
    """Toy pmf over 3 symbols × 3 positions with correlated positions (the IDLM toy). The teacher is the exact MDLM
    denoiser, so its 2-step error is factorisation error alone. DiDi-Instruct on the real loop (one rollout for both
    updates, groups of 4) trains a table student against a table discriminator; the student's samples at K = 2 are
    closer to the data in total variation than the teacher's: measured 0.217 → 0.119 (0.118-0.149 over three seeds
    without the KL and entropy terms); Monte-Carlo error of each TV ≈ 0.003."""
    vocab, length = 3, 3
    pmf = toy_pmf(vocab, length, seed=0, spread=1.5)
    process = MaskedDiffusion(vocab)
    table = exact_denoiser(pmf, vocab)(all_sequences(vocab + 1, length), None)
    teacher = Table(table, vocab).requires_grad_(False)

    def tv(network):
        torch.manual_seed(11)
        x, _ = mdlm_sample(process, network, batch_size=100_000, length=length, steps=2, cache=False)
        return total_variation(x, pmf)

    torch.manual_seed(0)
    method = didi_method(process, teacher, DiDiSettings())   # the code's defaults: KL anchor and entropy bonus on
    settings = DistillSettings(max_steps=300, generator=RoleSettings(lr=3e-2), fake=RoleSettings(lr=1e-1),
                               ema_decay=0.0, eval_every=10**6, save_every=10**6, log_every=10**6)
    student = copy_for_training(teacher)
    distill(generator=student, fake=TableDiscriminator(vocab, length), method=method,
            get_batch=lambda step, k: sample_pmf(pmf, 1024, rng=torch.Generator().manual_seed(step)),
            run_dir=tmp_path, settings=settings, config={}, device=torch.device("cpu"))
    teacher_tv, student_tv = tv(teacher), tv(student)
    assert student_tv < teacher_tv - 0.05, (teacher_tv, student_tv)


def test_the_loop_rolls_out_each_micro_batch_once_for_both_updates(tmp_path):
    """method.rollout: one batch per iteration (get_batch(step, 0)); each micro-batch is rolled out once, the fake
    step sees that rollout and the generator step recomputes from the same one; a micro-batch that would split a
    reward group is refused."""
    from core.distill import DistillMethod

    generator, fake = torch.nn.Linear(1, 1), torch.nn.Linear(1, 1)
    rollouts, seen, batches = [], [], []

    def rollout(model, batch):
        rollouts.append(batch[:, 0].tolist())
        return {"id": len(rollouts)}

    def fake_loss(model, r, batch):
        seen.append(("fake", r["id"]))
        return model(batch.float()).pow(2).mean(), {}

    def generate(model, r):
        return r["id"], model.weight.sum()

    def generator_loss(model, sample, batch):
        seen.append(("generator", sample[0]))
        return sample[1].pow(2), {}

    def get_batch(step, k):
        batches.append((step, k))
        return torch.arange(8.0)[:, None] + 10 * step

    method = DistillMethod(generate=generate, fake_loss=fake_loss, generator_loss=generator_loss, rollout=rollout,
                           group_size=2)
    settings = DistillSettings(max_steps=2, micro_batch=4, eval_every=10**6, save_every=10**6, log_every=10**6)
    distill(generator=generator, fake=fake, method=method, get_batch=get_batch, run_dir=tmp_path / "a",
            settings=settings, config={}, device=torch.device("cpu"))
    assert batches == [(0, 0), (1, 0)]
    assert rollouts == [[0, 1, 2, 3], [4, 5, 6, 7], [10, 11, 12, 13], [14, 15, 16, 17]]
    assert seen == [("fake", 1), ("fake", 2), ("generator", 1), ("generator", 2),
                    ("fake", 3), ("fake", 4), ("generator", 3), ("generator", 4)]
    method.group_size = 3
    with pytest.raises(ValueError, match="splits the groups of 3 rows"):
        distill(generator=generator, fake=fake, method=method, get_batch=get_batch, run_dir=tmp_path / "b",
                settings=settings, config={}, device=torch.device("cpu"))


def didi_toy(run_dir, max_steps: int):
    """DiDi-Instruct on a tiny DiT teacher, two micro-batches of one group each (the split path of the loop)."""
    torch.manual_seed(0)
    vocab, length = 5, 8
    process = MaskedDiffusion(vocab)
    teacher = DiT(dit_config("tiny", vocab + 1)).eval().requires_grad_(False)
    discriminator = Discriminator.from_teacher(teacher, trainable_blocks=1)
    student = copy_for_training(teacher)
    role = RoleSettings(lr=1e-3, warmup_steps=2, grad_clip=0.5)
    settings = DistillSettings(max_steps=max_steps, generator=role, fake=role, ema_decay=0.9, micro_batch=4,
                               eval_every=10**6, save_every=3, log_every=1)
    distill(generator=student, fake=discriminator, method=didi_method(process, teacher, DiDiSettings()),
            get_batch=lambda step, k: torch.randint(vocab, (8, length), generator=torch.Generator().manual_seed(step)),
            run_dir=run_dir, settings=settings, config={}, device=torch.device("cpu"))
    return student, discriminator, teacher


def test_a_resumed_didi_run_is_bit_identical_to_an_unbroken_one(tmp_path):
    """The rollouts, the discriminator's spectral-norm state and both optimizers resume exactly."""
    student_full, discriminator_full, teacher = didi_toy(tmp_path / "full", 5)
    didi_toy(tmp_path / "split", 3)
    student_split, discriminator_split, _ = didi_toy(tmp_path / "split", 5)
    full = {**student_full.state_dict(), **{f"d.{k}": v for k, v in discriminator_full.state_dict().items()}}
    split = {**student_split.state_dict(), **{f"d.{k}": v for k, v in discriminator_split.state_dict().items()}}
    assert full.keys() == split.keys()
    assert all(torch.equal(full[k], split[k]) for k in full)
    # both roles trained: the student left the teacher; the discriminator's frozen embedding is still the teacher's
    assert not torch.equal(student_full.output_layer.linear.weight, teacher.output_layer.linear.weight)
    assert torch.equal(discriminator_full.backbone.vocab_embed.embedding, teacher.vocab_embed.embedding)
