"""Training cost in sequence passes: exact counts of one IDLM update, the budget stops the loop, the cost resumes."""
import torch

from core.cost import PassCounter, RunCost
from core.distill import DistillSettings, RoleSettings, distill
from core.networks import copy_for_training
from core.networks.dit import DiT, dit_config
from idlm.method import IDLMSettings, idlm_method
from teachers.mdlm import MaskedDiffusion

V, L, B = 5, 8, 4


def toy():
    torch.manual_seed(0)
    process = MaskedDiffusion(V)
    teacher = DiT(dit_config("tiny", V + 1)).eval().requires_grad_(False)
    return process, teacher, copy_for_training(teacher), copy_for_training(teacher)


def test_counter_counts_forward_rows_and_backward_only_through_graphs():
    _, teacher, student, _ = toy()
    x = torch.randint(V, (B, L))
    with PassCounter() as frozen:
        with torch.no_grad():
            student(x, torch.zeros(B))
        teacher(x, torch.zeros(B)).sum()          # no parameter needs a gradient: nothing to go back through
    assert (frozen.forward, frozen.backward) == (2 * B, 0)
    with PassCounter() as trained:
        student(x, torch.zeros(B)).sum().backward()
    assert (trained.forward, trained.backward) == (B, B)
    student(x, torch.zeros(B)).sum().backward()   # outside the counter: not counted
    assert trained.total == 2 * B


def run(tmp_path, **settings):
    process, teacher, generator, fake = toy()
    role = RoleSettings(lr=1e-3)
    loop = DistillSettings(generator=role, fake=role, ema_decay=0.9, eval_every=10**6, log_every=1, **settings)

    def get_batch(step, k):
        return torch.randint(V, (B, L), generator=torch.Generator().manual_seed(100 * step + k))
    cost = RunCost()
    summary = distill(generator=generator, fake=fake, method=idlm_method(process, teacher, IDLMSettings()),
                      get_batch=get_batch, run_dir=tmp_path, settings=loop, config={}, device=torch.device("cpu"),
                      cost=cost)
    return summary, cost


def test_an_idlm_mdlm_update_costs_seven_passes_per_sequence(tmp_path):
    """Fake step: the student's sample without gradient (1), the fake's loss forward and backward (2). Generator
    step: the student forward and backward (2), then the teacher's and the fake's terms, forward only (2): MDLM feeds
    them the masked ids of x_t', so the gradient reaches p through the loss's targets, not through the networks."""
    summary, cost = run(tmp_path, max_steps=2)
    assert cost.passes_per_update == 7 * B
    assert cost.summary(summary["step"])["sequence_passes"] == 2 * 7 * B


def test_budget_stops_the_loop_and_the_cost_resumes(tmp_path):
    summary, cost = run(tmp_path, max_steps=100, budget=3 * 7 * B)
    assert summary == {**summary, "step": 3, "finished": True}
    first_seconds = cost.seconds
    assert first_seconds > 0 and cost.cpu_seconds >= first_seconds
    summary, cost = run(tmp_path, max_steps=100, budget=5 * 7 * B - 1)   # a larger budget resumes the same run
    assert summary["step"] == 5 and cost.passes_per_update == 7 * B and cost.seconds > first_seconds
    assert [json_step for json_step in log_steps(tmp_path)] == [1, 2, 3, 4, 5]


def log_steps(run_dir):
    import json
    return [json.loads(line)["step"] for line in (run_dir / "log.jsonl").read_text().splitlines()
            if "sequence_passes" in line]
