"""Model placement: one loader (`teachers.registry.load_teacher`) puts every parameter on the device it is given, and
every seq2seq path (teacher sampling with MBR, DLM-One training and evaluation, the AR seq2seq baseline, the speed
benchmark) builds its models through it, with the command's device.

There is no GPU here. The loader is checked on the meta device, and the paths are run with device cpu:0, which
computes on the CPU but differs from the loader's default "cpu", so a path that forgets its device is caught."""
import json

import pytest
import torch

from core.evaluate.reference_ar import ar_config, build_ar_model, save_ar
from core.networks.diffuseq_net import DiffuSeqNet, diffuseq_config
from core.paths import CHECKPOINTS_DIR
from core.tokenizers import RestrictedTokenizer, load_tokenizer
from teachers import registry
from teachers.diffuseq import DiffuSeqProcess
from teachers.diffuseq_checkpoint import save_pretrained

SENTINEL = torch.device("cpu", 0)   # a device the loader's default ("cpu") is not equal to
PAIRS = [{"src": f"what is item number {i}?", "trg": f"which item is number {i}?"} for i in range(6)]


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    """A 6-pair task, a tiny DiffuSeq teacher and a tiny AR seq2seq baseline on the task's vocabulary."""
    root = tmp_path_factory.mktemp("placement")
    task = root / "task"
    task.mkdir()
    for split in ("train", "valid", "test"):
        (task / f"{split}.jsonl").write_text("\n".join(json.dumps(r) for r in PAIRS) + "\n")
    tokenizer = RestrictedTokenizer.from_corpus(load_tokenizer("bert"), [t for r in PAIRS for t in r.values()])
    spec = {"base": "bert", "kept_ids": tokenizer.kept_ids}
    torch.manual_seed(0)
    save_pretrained(DiffuSeqNet(diffuseq_config("tiny", tokenizer.vocab_size)), DiffuSeqProcess(2000),
                    root / "diffuseq", extra={"tokenizer": spec, "seq_len": 32, "task": "qqp"})
    ar = build_ar_model(ar_config("tiny", tokenizer.vocab_size, 32, eos_id=tokenizer.sep_id))
    save_ar(ar, spec, root / "ar_seq2seq", provenance={"task": "qqp"})
    return root


@pytest.mark.parametrize("name", ["diffuseq", "ar_seq2seq", "mdlm"])
def test_the_loader_puts_every_parameter_and_buffer_on_the_device_it_is_given(folders, name):
    folder = CHECKPOINTS_DIR / "mdlm-shakespeare-small" if name == "mdlm" else folders / name
    on_cpu = registry.load_teacher(folder, torch.device("cpu"))
    assert on_cpu.family == name and not on_cpu.network.training
    assert not any(p.requires_grad for p in on_cpu.network.parameters())
    on_meta = registry.load_teacher(folder, "meta")
    tensors = [*on_meta.network.parameters(), *on_meta.network.buffers()]
    assert tensors and all(t.device.type == "meta" for t in tensors)
    if name == "diffuseq":   # where CUDA failed: ids on the command's device meet the embedding table
        ids = torch.zeros(1, 4, dtype=torch.long, device="meta")
        assert on_meta.network.get_embeds(ids).device.type == "meta"


@pytest.fixture
def loads(monkeypatch):
    """Every model the code under test builds: (folder name, device) per load_teacher call; building a DiffuSeq or AR
    network outside load_teacher fails the test."""
    from core.evaluate import reference_ar
    from teachers import diffuseq_checkpoint

    seen, inside = [], []
    original = registry.load_teacher

    def spy(folder, device="cpu"):
        seen.append((str(folder), torch.device(device)))
        inside.append(True)
        try:
            return original(folder, "cpu")   # computes on the CPU whatever the device, which the spy has recorded
        finally:
            inside.pop()

    def only_inside(build):
        def guarded(*args, **kwargs):
            assert inside, f"{build.__name__} called outside the one loader"
            return build(*args, **kwargs)
        return guarded
    monkeypatch.setattr(registry, "load_teacher", spy)
    monkeypatch.setattr(diffuseq_checkpoint, "from_pretrained", only_inside(diffuseq_checkpoint.from_pretrained))
    monkeypatch.setattr(reference_ar, "load_ar", only_inside(reference_ar.load_ar))
    return seen


def test_every_seq2seq_path_loads_through_the_one_loader_with_its_device(folders, loads, tmp_path):
    from experiments import ar_baseline, dlm_one, sample
    from experiments.benchmark_speed import seq2seq_samplers
    from experiments.config import load_config

    # the tiny task is not the data the committed-style folders were trained on: what is tested here is placement
    common = ["task=qqp", f"data.path={folders / 'task'}", "data.allow_mismatch=true", "preset=tiny",
              "sampling.num_samples=2",
              "sampling.batch_size=2", "diffuseq.bertscore=false", f"results_dir={tmp_path / 'res'}"]
    paths = {
        "teacher sampling with MBR": (sample.run_seq2seq, ["teacher=diffuseq", f"teacher_path={folders / 'diffuseq'}",
                                                        "steps=2", "diffuseq.candidates=2"]),
        "DLM-One train and evaluate": (dlm_one.run_dlm_one, [
            "method=dlm_one", f"teacher_path={folders / 'diffuseq'}", f"run_dir={tmp_path / 'dlm'}",
            "dlm_one.stage1_steps=1", "dlm_one.stage2_steps=1", "dlm_one.eval_every=1", "dlm_one.val_sources=2",
            "distill.batch_size=2"]),
        "AR seq2seq baseline": (ar_baseline.run_seq2seq, ["teacher=ar_seq2seq",
                                                          f"teacher_path={folders / 'ar_seq2seq'}"]),
    }
    expected = {"teacher sampling with MBR": ["diffuseq"],
                # teacher; θ of stage 1 from the teacher, of stage 2 from stage 1's student; both students evaluated
                "DLM-One train and evaluate": ["diffuseq", "diffuseq", "student", "student", "student"],
                "AR seq2seq baseline": ["ar_seq2seq"]}
    for name, (path, args) in paths.items():
        loads.clear()
        assert path(load_config(common + args), SENTINEL) is not None, name
        assert [folder.rsplit("/", 1)[-1] for folder, _ in loads] == expected[name], name
        assert all(device == SENTINEL for _, device in loads), (name, loads)
    loads.clear()
    seq2seq_samplers("qqp", [1], SENTINEL)   # the speed benchmark's seq2seq models
    assert [f.rsplit("/", 1)[-1] for f, _ in loads] == ["dlm_one-qqp-small-stage2", "diffuseq-qqp-small",
                                                        "ar_seq2seq-qqp-small"]
    assert all(device == SENTINEL for _, device in loads)
