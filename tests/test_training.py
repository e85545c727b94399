"""The generic training loop: it learns, it resumes exactly, its checkpoints are atomic folders."""
import torch

from core.checkpoint import load_pretrained, save_pretrained
from core.networks.dit import DiT, dit_config
from core.training import TrainSettings, learning_rate, train
from teachers.mdlm import MaskedDiffusion
from teachers.registry import load_teacher, save_teacher


def tiny_setup(seed=0):
    torch.manual_seed(seed)
    process = MaskedDiffusion(5)
    net = DiT(dit_config("tiny", 6))
    data = torch.arange(5).repeat(64, 4)  # rows 0 1 2 3 4 0 1 ... : perfectly predictable

    def get_batch(step):
        g = torch.Generator().manual_seed(step)
        return data[torch.randint(len(data), (8,), generator=g)]
    return process, net, get_batch


def run(tmp_path, max_steps, seed=0, stateful=None, loss_hook=None, **kw):
    process, net, get_batch = tiny_setup(seed)
    settings = TrainSettings(max_steps=max_steps, lr=3e-3, warmup_steps=2, eval_every=1000, save_every=1000,
                             log_every=1, ema_decay=0.9, precision="fp32", **kw)

    def loss_fn(model, batch):
        if loss_hook is not None:
            loss_hook()
        return process.loss(model, batch)
    summary = train(model=net, loss_fn=loss_fn, get_batch=get_batch, run_dir=tmp_path,
                    settings=settings, config={}, device=torch.device("cpu"), stateful=stateful)
    return net, summary


class StepCounter:
    """Training state outside model and optimizer (like DiffuSeq's loss-aware timestep history)."""
    def __init__(self):
        self.count = torch.zeros((), dtype=torch.long)

    def state_dict(self):
        return {"count": self.count}

    def load_state_dict(self, state):
        self.count = state["count"].clone()


def test_stateful_objects_resume_with_the_checkpoint(tmp_path):
    first = StepCounter()
    run(tmp_path / "a", 3, stateful={"counter": first}, loss_hook=lambda: first.count.add_(1))
    assert (tmp_path / "a" / "checkpoint" / "counter.state.safetensors").is_file()
    second = StepCounter()
    run(tmp_path / "a", 6, stateful={"counter": second}, loss_hook=lambda: second.count.add_(1))
    assert int(second.count) == 6            # 3 restored + 3 new, not a restart from 0
    # a state written before the object was registered has no file: the object keeps its fresh state
    run(tmp_path / "b", 2)
    third = StepCounter()
    run(tmp_path / "b", 3, stateful={"counter": third}, loss_hook=lambda: third.count.add_(1))
    assert int(third.count) == 1


def test_resume_is_exact(tmp_path):
    straight, _ = run(tmp_path / "a", 6)
    run(tmp_path / "b", 3)
    resumed, summary = run(tmp_path / "b", 6, seed=123)  # a different init: the checkpoint must overwrite it
    assert summary["step"] == 6
    for (name, p), q in zip(straight.named_parameters(), resumed.parameters()):
        torch.testing.assert_close(p, q, msg=name)


def test_loss_goes_down(tmp_path):
    _, _ = run(tmp_path, 150)
    import json
    losses = [json.loads(line)["loss"] for line in open(tmp_path / "log.jsonl") if "loss" in line]
    assert sum(losses[-10:]) / 10 < 0.6 * sum(losses[:10]) / 10


def test_max_minutes_stops_with_checkpoint(tmp_path):
    _, summary = run(tmp_path, 1000, max_minutes=1e-9)
    assert not summary["finished"] and (tmp_path / "checkpoint" / "trainer.json").is_file()


def test_warmup_and_schedules():
    s = TrainSettings(lr=1.0, warmup_steps=10, max_steps=110, lr_schedule="cosine")
    assert learning_rate(0, s) == 0.1 and learning_rate(9, s) == 1.0
    assert abs(learning_rate(110, s) - 0.1) < 1e-9
    wsd = TrainSettings(lr=1.0, warmup_steps=10, max_steps=110, lr_schedule="wsd", decay_steps=20)
    assert learning_rate(50, wsd) == 1.0 and learning_rate(90, wsd) == 1.0
    assert abs(learning_rate(100, wsd) - 0.55) < 1e-9 and abs(learning_rate(110, wsd) - 0.1) < 1e-9


def test_pretrained_round_trip_and_no_leftovers(tmp_path):
    process, net, _ = tiny_setup()
    with torch.no_grad():
        for p in net.parameters():
            p.normal_()
    folder = save_teacher(tmp_path / "t", family="mdlm", network=net, process_config=process.config(),
                          tokenizer_name="char", seq_len=16)
    save_teacher(folder, family="mdlm", network=net, process_config=process.config(), tokenizer_name="char", seq_len=16)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t"]  # overwritten in place, no temp folders left
    teacher = load_teacher(folder)
    x = torch.randint(0, 6, (2, 16))
    torch.testing.assert_close(teacher.network(x, torch.zeros(2)), net.eval()(x, torch.zeros(2)))
    assert teacher.process.config() == process.config() and not any(p.requires_grad for p in teacher.network.parameters())


def test_load_pretrained_names_missing_file(tmp_path):
    save_pretrained(tmp_path / "m", {"w": torch.ones(2)}, {"a": 1})
    (tmp_path / "m" / "model.safetensors").unlink()
    import pytest
    with pytest.raises(FileNotFoundError, match="model.safetensors"):
        load_pretrained(tmp_path / "m")


def test_ema_warmup_and_plain_decay():
    from core.ema import EMA
    net = torch.nn.Linear(1, 1, bias=False)
    with torch.no_grad():
        net.weight.fill_(0.0)
    plain, warm = EMA(net, decay=0.9, warmup=False), EMA(net, decay=0.9, warmup=True)
    with torch.no_grad():
        net.weight.fill_(1.0)
    plain.update(net)
    warm.update(net)
    assert abs(plain.shadow["weight"].item() - 0.1) < 1e-7          # 0.9 * 0 + 0.1 * 1
    assert abs(warm.shadow["weight"].item() - 0.9) < 1e-7           # decay_0 = min(0.9, 1/10) = 0.1
    assert abs(warm.current_decay() - 2 / 11) < 1e-12


def test_reset_ema_on_resume_starts_from_current_weights(tmp_path):
    from safetensors.torch import load_file
    run(tmp_path, 3)
    before = load_file(str(tmp_path / "checkpoint" / "ema.safetensors"))
    model = load_file(str(tmp_path / "checkpoint" / "model.safetensors"))
    assert any(not torch.equal(before[k], model[k]) for k in before)  # the EMA lags the weights
    run(tmp_path, 3, reset_ema=True)                                     # resume, no further step
    after = load_file(str(tmp_path / "checkpoint" / "ema.safetensors"))
    assert all(torch.equal(after[k], model[k]) for k in after)
