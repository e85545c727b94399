"""Two processes on CPU (gloo, as torchrun would start them): pretraining and distillation (IDLM, DLM-One) keep the
ranks' parameters identical, match one process with the same global batch, and resume exactly."""
import os
import socket

import pytest
import torch
import torch.multiprocessing as mp
from safetensors.torch import load_file, save_file

from core.discriminator import FakeScoreNetwork
from core.distill import DistillSettings, RoleSettings, distill
from core.networks import copy_for_training
from core.networks.diffuseq_net import DiffuSeqNet, diffuseq_config
from core.networks.dit import DiT, dit_config
from core.training import TrainSettings, train
from dlm_one.losses import StageSettings
from dlm_one.method import VOCABULARY, DLMOneSettings, dlm_one_method
from idlm.method import IDLMSettings, idlm_method
from teachers.diffuseq import DiffuSeqProcess
from teachers.mdlm import MaskedDiffusion

V, L, GLOBAL, MICRO = 5, 8, 8, 2     # 8 rows per step: 4 micro-batches, 2 per process with 2 processes
CPU = torch.device("cpu")


def pretrain(run_dir, max_steps):
    torch.manual_seed(0)
    process, net = MaskedDiffusion(V), DiT(dit_config("tiny", V + 1))
    data = torch.arange(V).repeat(64, 2)[:, :L]

    def get_batch(step):
        return data[torch.randint(len(data), (GLOBAL,), generator=torch.Generator().manual_seed(step))]
    settings = TrainSettings(max_steps=max_steps, lr=3e-3, warmup_steps=2, eval_every=10**6, save_every=2,
                             log_every=1, ema_decay=0.9, precision="fp32", micro_batch=MICRO, seed=7)
    train(model=net, loss_fn=lambda model, batch: process.loss(model, batch), get_batch=get_batch, run_dir=run_dir,
          settings=settings, config={}, device=CPU)
    return {f"model.{k}": v for k, v in net.state_dict().items()}


def settings(max_steps):
    role = RoleSettings(lr=1e-3, warmup_steps=1, grad_clip=1.0)
    return DistillSettings(max_steps=max_steps, generator=role, fake=role, ema_decay=0.9, eval_every=10**6,
                           save_every=2, log_every=1, micro_batch=MICRO, seed=7)


def roles(generator, fake):
    return {**{f"generator.{k}": v.clone() for k, v in generator.state_dict().items()},   # clone: tied weights
            **{f"fake.{k}": v.clone() for k, v in fake.state_dict().items()}}


def idlm(run_dir, max_steps):
    torch.manual_seed(0)
    teacher = DiT(dit_config("tiny", V + 1)).eval().requires_grad_(False)
    method = idlm_method(MaskedDiffusion(V), teacher, IDLMSettings())
    generator, fake = copy_for_training(teacher), copy_for_training(teacher)

    def get_batch(step, k):
        return torch.randint(V, (GLOBAL, L), generator=torch.Generator().manual_seed(100 * step + k))
    distill(generator=generator, fake=fake, method=method, get_batch=get_batch, run_dir=run_dir,
            settings=settings(max_steps), config={}, device=CPU)
    return roles(generator, fake)


def dlm_one(run_dir, max_steps):
    """DiffuSeq networks: the generator step reads ψ's hidden states and read-out (methods other than forward);
    ψ's own loss leaves its read-out head unused."""
    torch.manual_seed(0)
    teacher = DiffuSeqNet(diffuseq_config("tiny", 13)).eval().requires_grad_(False)
    generator = copy_for_training(teacher, keep_frozen=VOCABULARY)
    fake = FakeScoreNetwork(copy_for_training(teacher, keep_frozen=VOCABULARY), "linear")
    stage = StageSettings(a_sd=0.5, b_adv_generator=0.5, b_adv_fake=0.0)   # ψ's read-out unused in its own loss
    method = dlm_one_method(DiffuSeqProcess(2000), teacher, teacher.get_embeds, DLMOneSettings(t_init=1999,
                                                                                               stage=stage))

    def get_batch(step, k):
        g = torch.Generator().manual_seed(100 * step + k)
        return {"input_ids": torch.randint(13, (GLOBAL, 6), generator=g),
                "input_mask": torch.tensor([[0, 0, 1, 1, 1, 1]]).repeat(GLOBAL, 1)}
    distill(generator=generator, fake=fake, method=method, get_batch=get_batch, run_dir=run_dir,
            settings=settings(max_steps), config={}, device=CPU)
    return roles(generator, fake)


JOBS = {"pretrain": pretrain, "idlm": idlm, "dlm_one": dlm_one}


def worker(rank: int, world: int, port: int, out: str) -> None:
    """One torchrun-like process: every job unbroken (3 steps), then 2 steps and a resume to 3 in a second folder."""
    from core.distributed import init_from_env

    os.environ.update(RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE=str(world), MASTER_ADDR="127.0.0.1",
                      MASTER_PORT=str(port))
    torch.set_num_threads(1)
    init_from_env(CPU)
    for name, job in JOBS.items():
        save_file(job(f"{out}/{name}-full", 3), f"{out}/{name}-full-rank{rank}.safetensors")
        job(f"{out}/{name}-split", 2)
        save_file(job(f"{out}/{name}-split", 3), f"{out}/{name}-split-rank{rank}.safetensors")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def two_process_runs(tmp_path_factory):
    out = tmp_path_factory.mktemp("ddp")
    mp.spawn(worker, args=(2, free_port(), str(out)), nprocs=2, join=True)
    return out


@pytest.mark.parametrize("name", list(JOBS))
def test_two_processes_stay_identical_match_one_process_and_resume_exactly(two_process_runs, name, tmp_path):
    out = two_process_runs
    rank0, rank1 = (load_file(str(out / f"{name}-full-rank{r}.safetensors")) for r in (0, 1))
    single = JOBS[name](tmp_path / "single", 3)     # one process, same global batch: 4 micro-batches accumulated
    resumed = load_file(str(out / f"{name}-split-rank0.safetensors"))
    initial = JOBS[name](tmp_path / "initial", 0)
    for key, value in rank0.items():
        assert torch.equal(value, rank1[key]), key                                      # DDP keeps the ranks equal
        assert torch.equal(value, resumed[key]), key                                    # resume continues exactly
        if not key.endswith("attention.self.key.bias"):   # softmax ignores a key bias: its gradient is pure
            # rounding noise, which Adam scales up to lr-sized steps whatever the summation order
            torch.testing.assert_close(value, single[key], rtol=1e-5, atol=1e-6, msg=key)   # summation order only
    assert max((rank0[k] - initial[k]).abs().max().item() for k in rank0) > 1e-4      # and training moved them
    trainer = (out / f"{name}-full" / "checkpoint" / "trainer.json").read_text()
    assert '"rank_rng"' in trainer                                   # every rank's RNG stream is in the checkpoint
