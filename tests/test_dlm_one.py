"""DLM-One: the SiD loss against hand-computed values, its zero (and zero gradient) at ψ = teacher, the discriminator
alone on a separable toy, the one-step generator on a conditional Gaussian mixture with an exact teacher, the
generator's source handling and inference variants, Table 5, and the command end to end (two stages, resume)."""
import json
import math

import pytest
import torch

from core.discriminator import FakeScoreNetwork
from core.distill import DistillSettings, RoleSettings, distill
from core.networks import copy_for_training
from core.networks.diffuseq_net import DiffuSeqNet, diffuseq_config
from dlm_one.generator import insert_pads, one_step, renoise_levels, repack_targets, student_generate
from dlm_one.losses import StageSettings, adversarial_generator_loss, fake_loss, sid_loss, sid_normaliser
from dlm_one.method import VOCABULARY, DLMOneSettings, dlm_one_method
from dlm_one.stages import paper_stage, paper_stage_count
from experiments.naming import path_digest
from teachers.diffuseq import DiffuSeqProcess
from tests.dlm_one_toy import COVS, LABEL_EMB, MEANS, WEIGHTS, MixtureDenoiser, ToyGenerator, toy_batch, toy_embed, \
    toy_statistics

SID_ONLY = StageSettings(alpha=1.2, a_dsm=1.0, b_adv_fake=0.0, a_sd=1.0, b_adv_generator=0.0)


def test_sid_loss_closed_form_on_a_hand_computed_case():
    # one sequence, a source position (ignored) and one 2-d target position
    x_g = torch.tensor([[[9.0, 9.0], [1.0, 2.0]]])
    f_teacher = torch.tensor([[[5.0, 5.0], [2.0, 0.0]]])
    f_fake = torch.tensor([[[0.0, 0.0], [1.0, 1.0]]])
    mask = torch.tensor([[0, 1]])
    omega = sid_normaliser(x_g, f_teacher, mask)
    assert omega.tolist() == [1.5]                                         # mean(|1 − 2|, |2 − 0|)
    # gap = (1, −1); f_φ − x_g = (1, −2); bracket = (1 − 1.2, −2 + 1.2) = (−0.2, −0.8); Σ gap·bracket = 0.6
    assert sid_loss(x_g, f_teacher, f_fake, mask, alpha=1.2, omega=omega).item() == pytest.approx(0.6 / 1.5)
    assert sid_loss(x_g, f_teacher, f_fake, mask, alpha=0.5, omega=omega).item() == pytest.approx(
        (1 * (1 - 0.5) + -1 * (-2 + 0.5)) / 1.5)
    l_fake = torch.tensor([[3.0, 0.0]])                                    # source logit ignored
    assert adversarial_generator_loss(l_fake, mask, omega).item() == pytest.approx(math.log(2) / 1.5)
    assert sid_normaliser(x_g, x_g, mask).item() == pytest.approx(1e-5)    # clipped below as in SiD


def tiny_diffuseq(vocab=13, seed=0):
    torch.manual_seed(seed)
    return DiffuSeqNet(diffuseq_config("tiny", vocab)).eval().requires_grad_(False)


@pytest.mark.parametrize("readout", [None, "linear"])
def test_sid_loss_and_its_gradient_vanish_when_fake_is_teacher(readout):
    """ψ = φ: the SiD term and every generator gradient are exactly 0. With the adversarial term on and the linear
    read-out (zero head) the loss is the constant mean_i ½ log 2 / ω_i, and the gradient is still exactly 0."""
    teacher = tiny_diffuseq()
    process = DiffuSeqProcess(2000)
    generator = copy_for_training(teacher, keep_frozen=VOCABULARY)
    fake = copy_for_training(teacher, keep_frozen=VOCABULARY)
    fake = fake if readout is None else FakeScoreNetwork(fake, readout)
    fake.eval().requires_grad_(False)
    stage = SID_ONLY if readout is None else StageSettings(a_sd=0.5, b_adv_generator=0.5)
    method = dlm_one_method(process, teacher, teacher.get_embeds, DLMOneSettings(t_init=1999, stage=stage))
    batch = {"input_ids": torch.randint(13, (3, 6)), "input_mask": torch.tensor([[0, 0, 1, 1, 1, 1]]).repeat(3, 1)}
    loss, metrics = method.generator_loss(fake, method.generate(generator, batch), batch)
    loss.backward()
    assert metrics["sid"].item() == 0.0 and metrics["omega"].min() > 0
    if readout is None:
        assert loss.item() == 0.0
    else:   # mean_i ½ log 2 / ω_i, which Jensen bounds below by ½ log 2 / mean ω
        assert loss.item() == pytest.approx(0.5 * metrics["adv"].item(), rel=1e-6)
        assert metrics["adv"].item() >= math.log(2) / metrics["omega"].item() * (1 - 1e-6)
    grads = [p.grad for p in generator.parameters() if p.requires_grad]
    assert any(g is not None for g in grads)                                # the path to θ exists, and carries 0
    assert all(g is None or g.abs().max().item() == 0.0 for g in grads)


def train_discriminator_alone(readout: str) -> dict:
    """ψ trained with L_ψ = L_D only (a_dsm = 0) for 40 Adam steps: real targets (+1 everywhere) vs generated (−1),
    noised at t < 200 of 2000 under one condition; returns the metrics on held-out draws."""
    process = DiffuSeqProcess(2000)
    fake = FakeScoreNetwork(copy_for_training(tiny_diffuseq(), keep_frozen=VOCABULARY), readout=readout)
    stage = StageSettings(a_dsm=0.0, b_adv_fake=1.0)
    mask = torch.tensor([[0, 1, 1, 1]]).repeat(16, 1)
    x_real, x_g = torch.ones(16, 4, 16), -torch.ones(16, 4, 16)
    x_g[:, 0] = x_real[:, 0]                                                # same condition
    optimizer = torch.optim.Adam([p for p in fake.parameters() if p.requires_grad], lr=3e-3)
    torch.manual_seed(0)
    for _ in range(40):
        loss, _ = fake_loss(process, fake, x_g, x_real, mask, stage, torch.randint(0, 200, (16,)),
                            torch.randn(16, 4, 16))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    _, metrics = fake_loss(process, fake.eval(), x_g, x_real, mask, stage, torch.randint(0, 200, (16,)),
                           torch.randn(16, 4, 16))
    return {k: float(v) for k, v in metrics.items()}


def test_discriminator_term_alone_separates_real_from_generated():
    linear = train_discriminator_alone("linear")
    assert linear["real_logit"] > 2.0 and linear["fake_logit"] < -2.0
    assert linear["disc"] < 0.1                                             # log 2 = 0.69 at chance
    # SiDA's channel mean after BERT's final LayerNorm moves only with the LayerNorm gains: barely, in 40 steps
    mean = train_discriminator_alone("mean")
    assert abs(mean["real_logit"] - mean["fake_logit"]) < 0.5 and mean["disc"] > 0.5


def test_one_step_generator_moves_to_the_conditional_mixture(tmp_path):
    """Exact teacher denoiser of a label-conditioned 2-component mixture; ψ of the same family, initialised at the
    teacher; a small MLP generator at t_init = T − 1, trained through core.distill with the real DLM-One losses
    (SiD only, α = 1). Before: one component holds all samples, the means are > 1 off, > 90% of samples lie off
    every component. After (measured at 700 steps: 0.03, 0.14, 0.04, 0.05, 0.07; at 1000: 0.02, 0.10, 0.04, 0.04,
    0.06): per label and
    component, weight within 0.05, mean (all samples) within 0.25; on the 99.9% core of each component the mean is
    within 0.08 and every covariance entry within 0.08; fewer than 10% of samples lie off every component."""
    process = DiffuSeqProcess(100)
    teacher = MixtureDenoiser(process, WEIGHTS, MEANS, COVS).requires_grad_(False).eval()
    torch.manual_seed(0)
    generator, fake = ToyGenerator(), copy_for_training(teacher)
    settings = DLMOneSettings(t_init=99, t_min=0, t_max=100, stage=replace_alpha(SID_ONLY, 1.0))
    method = dlm_one_method(process, teacher, toy_embed, settings)
    before = toy_statistics(method, generator)                             # the MLP's outputs sit off every component
    assert before["weight_error"] > 0.5 and before["mean_error"] > 1.0 and before["off_fraction"] > 0.9
    loop = DistillSettings(max_steps=700, fake_steps=4, ema_decay=0.99, eval_every=10**9, save_every=10**9,
                           log_every=10**9, generator=RoleSettings(lr=2e-3, betas=(0.0, 0.999), grad_clip=1.0),
                           fake=RoleSettings(lr=1e-2, betas=(0.0, 0.999), grad_clip=1.0))
    ema = {}
    distill(generator=generator, fake=fake, method=method, get_batch=lambda step, k: toy_batch(256, step * 10 + k),
            run_dir=tmp_path, settings=loop, config={}, device=torch.device("cpu"),
            on_checkpoint=lambda g, e, step, best: ema.update(state=e.full_state_dict(g)))
    generator.load_state_dict(ema["state"])
    after = toy_statistics(method, generator)
    assert after["weight_error"] < 0.05 and after["mean_error"] < 0.25
    assert after["core_mean_error"] < 0.08 and after["core_cov_error"] < 0.08
    assert after["off_fraction"] < 0.10


def replace_alpha(stage: StageSettings, alpha: float) -> StageSettings:
    return StageSettings(alpha=alpha, a_dsm=stage.a_dsm, b_adv_fake=stage.b_adv_fake, a_sd=stage.a_sd,
                         b_adv_generator=stage.b_adv_generator)


def test_generator_sees_noise_at_t_init_and_the_clean_source():
    process = DiffuSeqProcess(2000)
    seen = {}

    class Recorder(torch.nn.Module):
        def forward(self, x, t_model):
            seen.update(x=x.clone(), t=t_model.clone())
            return torch.zeros_like(x) + 7.0

    x_src, z = torch.randn(2, 4, 3), torch.randn(2, 4, 3)
    mask = torch.tensor([[0, 1, 1, 1], [0, 0, 1, 1]])
    x_g = one_step(process, Recorder(), x_src, mask, t_init=1490, z=z)
    sigma = (1 - process.alpha_bars[1490]).sqrt().float()
    on_source = mask == 0
    assert torch.equal(seen["x"][on_source], x_src[on_source]) and torch.equal(x_g[on_source], x_src[on_source])
    assert torch.allclose(seen["x"][~on_source], sigma * z[~on_source])
    assert (x_g[~on_source] == 7.0).all() and seen["t"].tolist() == [745.0, 745.0]
    assert abs(sigma.item() - 0.928) < 1e-3                                 # DLM-One: 0.928 z at 1490


def test_inference_variants_keep_the_layout():
    assert renoise_levels(1999, 1) == [1999] and renoise_levels(1999, 4) == [1999, 1499, 1000, 500]
    ids = torch.tensor([[1, 5, 6, 2, 0, 0, 0, 0]])                         # [CLS] 5 6 [SEP] then 4 target slots
    mask = torch.tensor([[0, 0, 0, 0, 1, 1, 1, 1]])
    assert insert_pads(ids, mask, 0.0, 0)[0] is ids
    padded, padded_mask = insert_pads(ids, mask, 1.0, 0)                    # a [PAD] before every source token
    assert padded.tolist() == [[1, 0, 5, 0, 6, 2, 0, 0]] and padded_mask.tolist() == [[0, 0, 0, 0, 0, 0, 1, 1]]
    decoded = torch.tensor([[1, 0, 5, 0, 6, 2, 8, 9]])
    assert repack_targets(decoded, padded_mask, ids, mask).tolist() == [[1, 5, 6, 2, 8, 9, 0, 0]]
    student = tiny_diffuseq()
    out = student_generate(DiffuSeqProcess(2000), student, {"input_ids": ids.repeat(2, 1), "input_mask": mask.repeat(2, 1)},
                   t_init=1999, steps=2, k_candidates=3, pad_prob=0.5, pad_id=0)
    assert out.shape == (2, 3, 8) and (out[:, :, :4] == ids[:, None, :4]).all()


def test_undistilled_student_at_t_init_T_minus_1_is_the_teachers_one_step_sampler():
    """θ = φ, t_init = T − 1, DiffuSeq's decoding and the teacher sampler's noise stream: the same token ids as
    teachers.diffuseq.sample_seq2seq at 1 step (so the student's rows and the teacher's compare on common noise)."""
    from teachers.diffuseq import sample_seq2seq

    teacher, process = tiny_diffuseq(vocab=30), DiffuSeqProcess(2000)
    batch = {"input_ids": torch.randint(30, (4, 9)), "input_mask": torch.tensor([[0, 0, 0, 1, 1, 1, 1, 1, 1]] * 4)}
    ours = student_generate(process, teacher, batch, t_init=1999, k_candidates=2, seeds=[3, 4])
    theirs = sample_seq2seq(process, teacher, batch, steps=1, k_candidates=2, seeds=[3, 4])
    assert torch.equal(ours, theirs)


def test_table5_settings():
    assert paper_stage_count("qqp") == 2 and paper_stage_count("qg") == 2 and paper_stage_count("ts") == 1
    s1, s2 = paper_stage("qqp", 1), paper_stage("qqp", 2)
    assert (s1.losses.alpha, s1.fake_lr, s1.lr) == (1.2, 3e-5, 1e-5)
    assert (s2.losses.alpha, s2.losses.a_sd, s2.losses.b_adv_generator, s2.fake_lr) == (0.5, 0.9, 0.1, 1e-5)
    assert paper_stage("ts", 2) == paper_stage("ts", 1) and paper_stage("ts", 1).losses.alpha == 1.0
    with pytest.raises(ValueError, match="no DLM-One settings"):
        paper_stage("wmt", 1)


def test_command_distils_two_stages_exports_and_resumes(tmp_path):
    from teachers.diffuseq_checkpoint import from_pretrained, pretrained_config, save_pretrained
    from tests.test_experiments import run

    task = tmp_path / "task"                                                # a 6-pair task: no corpus encoding time
    task.mkdir()
    rows = [{"src": f"what is item number {i}?", "trg": f"which item is number {i}?"} for i in range(6)]
    for split in ("train", "valid", "test"):
        (task / f"{split}.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    teacher_dir = tmp_path / "teacher"
    net = DiffuSeqNet(diffuseq_config("tiny", 30522))
    save_pretrained(net, DiffuSeqProcess(2000), teacher_dir, extra={"tokenizer": {"base": "bert"}, "seq_len": 32})
    args = ["method=dlm_one", "task=qqp", f"data.path={task}", "preset=tiny", "threads=1",
            f"teacher_path={teacher_dir}", f"run_dir={tmp_path / 'run'}", f"results_dir={tmp_path / 'res'}", "dlm_one.stage1_steps=2",
            "dlm_one.stage2_steps=2", "dlm_one.eval_every=1", "dlm_one.val_sources=2", "distill.batch_size=2",
            "sampling.num_samples=2", "sampling.batch_size=2", "diffuseq.bertscore=false"]
    out = run("experiments.run", *args)
    assert out.returncode == 0, out.stderr[-2000:]
    for stage in (1, 2):
        folder = tmp_path / "run" / f"stage{stage}" / "student"
        from_pretrained(folder)                                             # loadable without training code
        config = pretrained_config(folder)
        assert config["student"] == {"method": "dlm_one", "stage": stage, "t_init": 1999}
        # a fresh run's stage is no committed folder: its rows name it (-student-<hash of the stage's folder>)
        tag = path_digest(folder).rsplit("-", 1)[1]
        [path] = (tmp_path / "res" / "rows").glob(f"dlm_one-diffuseq-task-tiny-stage{stage}-steps1-k1-student-{tag}"
                                                   f"-n2-data-*-teacher-??????.json")
        row = json.loads(path.read_text())
        assert row["nfe"] == 1 and row["stage"] == stage and row["n_samples"] == 2
    assert pretrained_config(tmp_path / "run" / "stage2" / "student")["provenance"]["initialised_from"] == str(
        tmp_path / "run" / "stage1" / "student")
    again = run("experiments.run", *args)                                   # finished stages are not retrained
    assert again.returncode == 0 and "stage 1: finished earlier" in again.stdout
    assert "stage 2: finished earlier" in again.stdout


def test_report_lines_read_the_rows():
    from experiments.reports.dlm_one import comparison_lines

    single = {"bleu": 0.1, "bleu_ci95": [0.08, 0.12], "rouge_l": 0.3, "bertscore": 0.5, "dist1": 0.9}
    student = {"method": "dlm_one", "task": "qqp", "stage": 2, "steps": 1, "nfe": 1, "candidates": 1,
               "pad_prob": 0.1, "seconds_per_sample": 0.01, "metrics": {"single": single},
               "paired_gaps": {"teacher_steps2000": {"bleu_gap": 0.02, "bleu_gap_ci95": [0.01, 0.03],
                                                     "speedup": 1500.0}}}
    teacher = {"method": "sample", "task": "qqp", "steps": 2000, "nfe": 2000, "candidates": 1,
               "seconds_per_sample": 15.0, "metrics": {"single": single}}
    before = {**student, "stage": 0, "pad_prob": 0.0, "t_init": 1490}
    assert "+0.0200 [+0.0100, +0.0300] |" in "\n".join(comparison_lines([student, teacher, before]))  # no benchmark
    benchmark = {"task": "qqp", "command": "bench", "commit": "abcdef0", "rows": [
        {"name": "diffuseq-qqp-teacher-10steps", "batch_size": 32, "steps": 10, "seconds_per_sample": 0.1},
        {"name": "dlm_one-qqp-student-1step", "batch_size": 32, "steps": 1, "seconds_per_sample": 0.004}]}
    text = "\n".join(comparison_lines([student, teacher, before], {"qqp": benchmark}))
    assert "| teacher as G (no distillation), t_init 1490 | 0.1000" in text
    assert "| DLM-One stage 2, 1 step, [PAD] p=0.1 | 0.1000 [0.0800, 0.1200] | 0.3000 |" in text
    assert "| DiffuSeq, 2000 steps |" in text
    # the speed-up comes from the benchmark (20 s at 2000 steps ÷ 0.004 s), not from the 1500× the row stored
    assert "| DLM-One stage 2, 1 step, [PAD] p=0.1 | – | – | +0.0200 [+0.0100, +0.0300], 5000× |" in text


def test_a_student_outside_checkpoints_is_labelled_with_its_run_folder():
    from experiments.reports.seq2seq import row_label

    row = {"method": "dlm_one", "stage": 1, "steps": 1, "candidates": 1, "pad_prob": 0.0}
    assert row_label({**row, "student_path": "checkpoints/dlm_one-qg-small-stage1"}) == "DLM-One stage 1, 1 step"
    assert row_label({**row, "student_path": "runs/dlm_one-qg-fakelr/stage1/student"}) == \
        "DLM-One stage 1, 1 step (dlm_one-qg-fakelr)"
    assert row_label({**row, "student_path": "/tmp/x/best"}) == "DLM-One stage 1, 1 step (best)"


def test_settings_lines_pick_each_variants_best_validation(tmp_path):
    from experiments.reports.dlm_one import settings_lines

    assert settings_lines(tmp_path) == []
    (tmp_path / "dlm_one-qqp-settings-mean.log.jsonl").write_text(
        '{"step": 25, "val/bleu": 0.03}\n{"step": 50, "val/bleu": 0.05}\n{"step": 75, "val/bleu": 0.04}\n')
    (tmp_path / "dlm_one-qqp-settings-default.log.jsonl").write_text('{"step": 25, "val/bleu": 0.06}\n')
    lines = settings_lines(tmp_path)
    assert lines[-3:] == ["| qqp | default | 0.0600 | 25 | 0.0600 (update 25) | 0.0600 (update 25) |",
                          "| qqp | mean | 0.0500 | 50 | 0.0300 (update 25) | 0.0400 (update 75) |", ""]


def test_the_heldout_gap_skips_the_sources_that_chose_the_settings():
    from experiments.reports.dlm_one import SETTINGS_SOURCES, heldout_gap

    def row(tail):   # the first SETTINGS_SOURCES sources: the student far ahead, which the held-out gap ignores
        return {"metrics": {"single": {"sentence_bleu": [1.0 if tail[0] > 0.2 else 0.0] * SETTINGS_SOURCES + tail}}}
    student, teacher = row([0.3, 0.1, 0.5, 0.3]), row([0.1, 0.1, 0.1, 0.1])
    text = heldout_gap(student, teacher)
    assert text.startswith("+0.2000 [") and text.endswith("] (4 sources)")
    low, high = (float(x) for x in text.split("[")[1].split("]")[0].split(", "))
    assert 0.0 <= low <= 0.2 <= high <= 0.4
    assert heldout_gap(row([0.3]), None) == "–"
    assert heldout_gap({"metrics": {"single": {"sentence_bleu": [0.5] * SETTINGS_SOURCES}}}, teacher) == "–"


def test_a_candidate_teacher_is_compared_with_the_committed_one_and_kept_out_of_the_other_tables(monkeypatch):
    from experiments.reports import kinds
    from experiments.reports.dlm_one import teacher_lines
    from experiments.reports.kinds import from_other_seq2seq_teacher

    def row(folder, steps, bleus):
        single = {"bleu": sum(bleus) / len(bleus), "bleu_ci95": [0.0, 1.0], "copy_source_bleu": 0.2,
                  "avg_len": 9.0, "sentence_bleu": bleus}
        return {"method": "sample", "teacher": "diffuseq", "task": "qqp", "preset": "small", "steps": steps,
                "candidates": 1, "n_samples": len(bleus), "teacher_path": f"checkpoints/{folder}",
                "metrics": {"single": single}, "_file": f"{folder}-{steps}.json"}

    # the first committed teacher is the reported one (whatever REPORTED_TEACHERS names for qqp today)
    monkeypatch.delitem(kinds.REPORTED_TEACHERS, "diffuseq-qqp-small", raising=False)
    committed, candidate = row("diffuseq-qqp-small", 10, [0.1, 0.2, 0.3]), row("diffuseq-qqp-more", 10, [0.3, 0.2])
    candidate["variant"] = "-from-diffuseq_qqp_more-36e684"            # the name suffix of its teacher only
    assert not from_other_seq2seq_teacher(committed) and from_other_seq2seq_teacher(candidate)
    assert not from_other_seq2seq_teacher({**candidate, "teacher": "ar_seq2seq"})       # AR rows name their own
    # a teacher trained on a user's data is that data's only teacher
    assert not from_other_seq2seq_teacher({**candidate, "data": {"name": "e2e", "digest": "36e684aa"}})
    assert teacher_lines([committed]) == []
    assert teacher_lines([committed, {**candidate, "variant": "-ancestral-from-diffuseq_qqp_more-36e684"}]) == []
    lines = teacher_lines([candidate, committed, row("diffuseq-qqp-more", 2000, [0.4])])
    assert lines[-4:] == [
        "| qqp | diffuseq-qqp-small | 10 | 3 | 0.2000 [0.0000, 1.0000] | 0.2000 | 9.0 | – | – |",
        # the gap is paired over the 2 sources both rows decoded: (0.3 − 0.1 + 0.2 − 0.2) / 2; no ratio of rows
        # over different sources
        "| qqp | diffuseq-qqp-more | 10 | 2 | 0.2500 [0.0000, 1.0000] | 0.2000 | 9.0 | +0.1000 [+0.0000, +0.2000] "
        "(2 sources) | – |",
        "| qqp | diffuseq-qqp-more | 2000 | 1 | 0.4000 [0.0000, 1.0000] | 0.2000 | 9.0 | – | – |", ""]
    # the same sources: the ratio of the two rows' BLEU, 0.3 / 0.2
    same = {**row("diffuseq-qqp-more", 10, [0.4, 0.3, 0.2]), "variant": candidate["variant"]}
    assert teacher_lines([committed, same])[-2].endswith("| 1.50× |")
    # reporting the folder trained further: gaps against it, the ratio still against the first committed teacher
    monkeypatch.setitem(kinds.REPORTED_TEACHERS, "diffuseq-qqp-small", "diffuseq-qqp-more")
    lines = teacher_lines([committed, same])
    assert lines[-3].startswith("| qqp | diffuseq-qqp-more | 10 | 3 |") and lines[-3].endswith("| – | 1.50× |")
    # (0.1 − 0.4 + 0.2 − 0.3 + 0.3 − 0.2) / 3
    assert lines[-2].startswith("| qqp | diffuseq-qqp-small | 10 | 3 |") and "| -0.1000 [" in lines[-2]
    assert lines[-2].endswith("(3 sources) | – |")


def test_students_are_tabled_with_their_own_teacher_and_the_reported_teacher_first(monkeypatch):
    from experiments.reports import dlm_one, kinds

    # qqp's reported teacher becomes a folder trained further; the first one's rows turn into a candidate's
    monkeypatch.setitem(kinds.REPORTED_TEACHERS, "diffuseq-qqp-small", "diffuseq-qqp-more")
    single = {"bleu": 0.1, "bleu_ci95": [0.08, 0.12], "rouge_l": 0.3, "bertscore": 0.5, "dist1": 0.9}

    def row(method, folder, bleu, **fields):
        return {"method": method, "teacher": "diffuseq", "task": "qqp", "preset": "small", "steps": 1, "nfe": 1,
                "candidates": 1, "stage": 1, "seconds_per_sample": 0.01, "teacher_path": f"checkpoints/{folder}",
                "metrics": {"single": {**single, "bleu": bleu}}, **fields}

    first, more = row("sample", "diffuseq-qqp-small", 0.01), row("sample", "diffuseq-qqp-more", 0.02)
    ar = row("sample", "ar_seq2seq-qqp-small", 0.05, teacher="ar_seq2seq")
    students = [row("dlm_one", "diffuseq-qqp-small", 0.03), row("dlm_one", "diffuseq-qqp-more", 0.04),
                # stage 0 samples the teacher folder itself: no teacher_path, its folder is the student_path
                row("dlm_one", "", 0.06, stage=0, t_init=1999, student_path="checkpoints/diffuseq-qqp-more")]
    assert kinds.from_other_seq2seq_teacher(first) and not kinds.from_other_seq2seq_teacher(more)
    text = "\n".join(dlm_one.comparison_lines([first, *students, more, ar]))
    reported, candidate = text.split("## qqp, students of the candidate teacher diffuseq-qqp-small")
    assert reported.startswith("## qqp\n") and candidate.count("## ") == 0    # two tables, the reported one first
    for table, own in ((reported, ["0.0400", "0.0200"]), (candidate, ["0.0300", "0.0100"])):
        rows = table.split("Paired")[0].splitlines()        # the metrics table, before the table of gaps
        bleus = [line.split(" | ")[1].split()[0] for line in rows if line.startswith(("| DLM", "| Diff", "| AR"))]
        assert [b for b in bleus if b != "0.0600"] == [*own, "0.0500"]   # its students, teacher and the AR baseline
    assert "| teacher as G (no distillation), t_init 1999 | 0.0600" in reported
