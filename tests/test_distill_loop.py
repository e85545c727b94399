"""The alternating loop: exact resume, best-checkpoint selection, the order of its sub-steps."""
import json

import torch

from core.distill import DistillMethod, DistillSettings, RoleSettings, distill
from core.networks import copy_for_training
from core.networks.dit import DiT, dit_config
from idlm.method import IDLMSettings, idlm_method
from teachers.mdlm import MaskedDiffusion

V, L = 5, 8


def idlm_toy(run_dir, max_steps: int, validate=None):
    torch.manual_seed(0)
    process = MaskedDiffusion(V)
    teacher = DiT(dit_config("tiny", V + 1)).eval().requires_grad_(False)
    method = idlm_method(process, teacher, IDLMSettings(), validate=validate, select_key="score" if validate else None)
    role = RoleSettings(lr=1e-3, warmup_steps=2, grad_clip=1.0)
    settings = DistillSettings(max_steps=max_steps, generator=role, fake=role, ema_decay=0.9, fake_ema=True,
                               eval_every=2, save_every=3, log_every=1)
    generator, fake = copy_for_training(teacher), copy_for_training(teacher)

    def get_batch(step, k):
        return torch.randint(V, (4, L), generator=torch.Generator().manual_seed(100 * step + k))
    exports = []
    summary = distill(generator=generator, fake=fake, method=method, get_batch=get_batch, run_dir=run_dir,
                      settings=settings, config={}, device=torch.device("cpu"),
                      on_checkpoint=lambda g, ema, step, best: exports.append((step, best)))
    return generator, fake, summary, exports


def test_resumed_run_is_bit_identical_to_an_unbroken_one(tmp_path):
    calls = iter(range(10**6))

    def validate(network):  # draws random numbers: the loop must keep them out of the training stream
        torch.rand(100)
        return {"score": float(-next(calls))}
    g_full, f_full, _, _ = idlm_toy(tmp_path / "full", 7, validate)
    idlm_toy(tmp_path / "split", 4, validate)
    g_split, f_split, summary, _ = idlm_toy(tmp_path / "split", 7, validate)
    assert summary["step"] == 7 and summary["finished"]
    for a, b in zip(list(g_full.parameters()) + list(f_full.parameters()),
                    list(g_split.parameters()) + list(f_split.parameters())):
        assert torch.equal(a, b)
    steps = [json.loads(line)["step"] for line in (tmp_path / "split" / "log.jsonl").read_text().splitlines()
             if "generator_loss" in line]
    assert steps == list(range(1, 8))  # the resumed log continues; no step is written twice


def test_best_checkpoint_follows_the_selection_metric(tmp_path):
    scores = iter([5.0, 3.0, 4.0, float("inf")])
    _, _, summary, exports = idlm_toy(tmp_path, 8, lambda network: {"score": next(scores)})
    assert summary["best"] == {"step": 4, "value": 3.0}
    assert [step for step, best in exports if best] == [2, 4]
    assert [step for step, best in exports if not best] == [3, 6, 8]


def test_fake_steps_come_before_the_generator_step_and_see_detached_samples(tmp_path):
    order = []
    net = torch.nn.Linear(1, 1)

    def generate(generator, batch):
        order.append(("generate", torch.is_grad_enabled(), generator.training))
        return generator(batch)

    def fake_loss(fake, sample, batch):
        order.append(("fake", sample.requires_grad))
        return (fake(sample) ** 2).mean(), {}

    def generator_loss(fake, sample, batch):
        order.append(("generator", fake.weight.requires_grad))
        return (fake(sample) ** 2).mean(), {}
    method = DistillMethod(generate=generate, fake_loss=fake_loss, generator_loss=generator_loss)
    distill(generator=net, fake=torch.nn.Linear(1, 1), method=method, get_batch=lambda step, k: torch.ones(2, 1),
            run_dir=tmp_path, settings=DistillSettings(max_steps=1, fake_steps=2), config={},
            device=torch.device("cpu"))
    assert order == [("generate", False, False), ("fake", False), ("generate", False, False), ("fake", False),
                     ("generate", True, True), ("generator", False)]


def test_copy_for_training_replaces_every_dropout_rate_and_keeps_the_named_parts_frozen():
    from core.networks.diffuseq_net import DiffuSeqNet, diffuseq_config
    from dlm_one.method import VOCABULARY

    torch.manual_seed(0)
    teacher = DiffuSeqNet(diffuseq_config("tiny", 11)).eval().requires_grad_(False)
    student = copy_for_training(teacher, dropout=0.3, keep_frozen=VOCABULARY)
    assert (student.config.dropout, student.config.attention_dropout) == (0.3, 0.3)
    assert (teacher.config.dropout, teacher.config.attention_dropout) == (0.0, 0.0)
    assert all(torch.equal(a, b) for a, b in zip(student.state_dict().values(), teacher.state_dict().values()))
    frozen = {name for name, p in student.named_parameters() if not p.requires_grad}
    assert frozen == {"word_embedding.weight", "lm_head.bias"} and student.training
    dit = DiT(dit_config("tiny", 5)).eval()
    assert copy_for_training(dit, dropout=0.2).config.dropout == 0.2
    target = copy_for_training(dit, frozen=True)
    assert not target.training and not any(p.requires_grad for p in target.parameters())
    assert target.blocks[0].attn_qkv.weight is not dit.blocks[0].attn_qkv.weight   # a copy, not the same module
