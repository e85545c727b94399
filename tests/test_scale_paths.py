"""The real-scale paths from the command line, on small stand-ins in the published layouts: a corpus saved by
`datasets` (corpus=openwebtext data.path=DIR), published checkpoints in the Hugging Face cache
(teacher_path=kuleshov-group/mdlm-owt), gpt2-large as the GenPPL evaluator, a DiffuSeq `ema_*.pt` release."""
import json
import os
import re
import shutil
import subprocess
import sys

import pytest
import torch
from safetensors.torch import save_file

from core.networks.dit import DiT, DiTConfig
from core.paths import REPO_ROOT
from experiments.setup import PUBLISHED_DIR, TOKEN_CACHE_DIR

GPT2_NETWORK_VOCAB = 50258   # GPT-2's 50257 ids + MDLM's [MASK], as kuleshov-group/mdlm-owt
WORDS = "the river runs past old stone walls while people talk about weather and markets".split()


def documents(n: int, seed: int) -> list[str]:
    g = torch.Generator().manual_seed(seed)
    return [" ".join(WORDS[i] for i in torch.randint(len(WORDS), (int(n_words),), generator=g))
            for n_words in torch.randint(20, 60, (n,), generator=g)]


def hub_snapshot(cache, repo: str):
    """`<cache>/models--owner--name/snapshots/<hash>` with refs/main, as huggingface_hub lays out a download."""
    folder = cache / f"models--{repo.replace('/', '--')}"
    (folder / "refs").mkdir(parents=True)
    (folder / "refs" / "main").write_text("0123abcd")
    snapshot = folder / "snapshots" / "0123abcd"
    snapshot.mkdir(parents=True)
    return snapshot


@pytest.fixture(scope="module")
def stand_ins(tmp_path_factory):
    import datasets
    from transformers import GPT2Config, GPT2LMHeadModel, GPT2TokenizerFast

    from core.tokenizers import gpt2_tokenizer

    root = tmp_path_factory.mktemp("scale")
    # OpenWebText as `datasets` saves it: one "train" split with a "text" column
    datasets.DatasetDict({"train": datasets.Dataset.from_dict({"text": documents(200, 0)})}).save_to_disk(
        str(root / "openwebtext"))
    cache = root / "hub"
    # kuleshov-group/mdlm-owt: flat config + `backbone.` keys (a tiny random DiT over the GPT-2 vocabulary)
    torch.manual_seed(0)
    net = DiT(DiTConfig(vocab_size=GPT2_NETWORK_VOCAB, hidden_size=32, cond_dim=16, n_heads=2, n_blocks=1))
    for repo, time_conditioning in (("kuleshov-group/mdlm-owt", False), ("s-sahoo/duo", True)):
        snapshot = hub_snapshot(cache, repo)
        (snapshot / "config.json").write_text(json.dumps({
            "model_type": "mdlm" if "mdlm" in repo else "duo", "vocab_size": GPT2_NETWORK_VOCAB,
            "model_length": 32, "hidden_dim": 32, "cond_dim": 16, "n_blocks": 1, "n_heads": 2, "dropout": 0.1,
            "time_conditioning": time_conditioning}))
        save_file({f"backbone.{k}": v.contiguous() for k, v in net.state_dict().items()},
                  str(snapshot / "model.safetensors"))
    # gpt2-large: a tiny random GPT-2 with the GPT-2 tokenizer files
    snapshot = hub_snapshot(cache, "gpt2-large")
    GPT2LMHeadModel(GPT2Config(n_layer=1, n_embd=32, n_head=2, n_positions=64)).save_pretrained(snapshot)
    gpt2_tokenizer().backend.save(str(root / "tokenizer.json"))
    GPT2TokenizerFast(tokenizer_file=str(root / "tokenizer.json")).save_pretrained(snapshot)
    env = {"OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1",
           "TRANSFORMERS_OFFLINE": "1", "HF_HUB_CACHE": str(cache), "HF_HOME": str(root / "hf-home")}
    yield root, env
    for converted in ("kuleshov-group--mdlm-owt", "s-sahoo--duo"):
        shutil.rmtree(PUBLISHED_DIR / converted, ignore_errors=True)
    for cached in TOKEN_CACHE_DIR.glob(f"{owt_tag(root)}-*"):
        cached.unlink()


def owt_tag(root) -> str:
    """The saved OpenWebText's tag: its folder's name and its training arrow files' digest."""
    from experiments.config import load_config
    from experiments.data_identity import data_tag

    return data_tag(load_config(["corpus=openwebtext", f"data.path={root / 'openwebtext'}"], command="pretrain"))


def run(env, module, *args):
    return subprocess.run([sys.executable, "-m", module, *args], cwd=REPO_ROOT, capture_output=True, text=True,
                          env=env)


def test_pretrain_on_a_saved_openwebtext_with_gpt2_blocks(stand_ins):
    root, env = stand_ins
    out = run(env, "experiments.pretrain", "teacher=mdlm", "corpus=openwebtext", f"data.path={root / 'openwebtext'}",
              "preset=tiny", "data.seq_len=32", "train.max_steps=2", "train.batch_size=2", "train.global_batch=4",
              "train.eval_batches=1", f"run_dir={root / 'pretrain'}", "threads=1")
    assert out.returncode == 0, out.stderr[-2000:]
    config = json.loads((root / "pretrain" / "pretrained" / "config.json").read_text())
    assert config["tokenizer"] == "gpt2" and config["seq_len"] == 32
    assert config["network"]["vocab_size"] == GPT2_NETWORK_VOCAB       # 50257 + [MASK]
    # tokenized once, kept, and named by the data's content: the same data moved keeps its token blocks
    assert re.fullmatch(r"openwebtext-[0-9a-f]{6}", owt_tag(root))
    cached = sorted(TOKEN_CACHE_DIR.glob(f"{owt_tag(root)}-gpt2-32-*"))
    assert [p.name.rsplit("-", 1)[1] for p in cached] == ["train.int64", "valid.int64"]


def test_streamed_token_blocks_are_lm_blocks(stand_ins, tmp_path):
    """The `datasets` corpora are tokenized batch by batch to a file: the same blocks as lm_blocks of the whole split."""
    from core.data import lm_blocks, load_lm_text
    from core.token_cache import lm_text_batches, read_lm_blocks, write_lm_blocks
    from core.tokenizers import load_tokenizer

    root, _ = stand_ins
    tokenizer, source = load_tokenizer("gpt2"), str(root / "openwebtext")
    for split in ("train", "valid"):
        whole = lm_blocks(load_lm_text(source, split), tokenizer, 32)
        n = write_lm_blocks(lm_text_batches(source, split, batch_size=7), tokenizer, 32, tmp_path / split)
        assert n == len(whole) and torch.equal(read_lm_blocks(tmp_path / split, 32), whole)
    assert len(load_lm_text(source, "valid")) == 20                     # the last tenth of 200 documents held out


def test_hub_cached_teachers_sample_and_distil_from_the_command_line(stand_ins):
    """kuleshov-group/mdlm-owt sampled and scored by gpt2-large; s-sahoo/duo distilled by DCD (experiments.pretrain).
    (method=idlm takes the same teacher_path, but its 1024-step teacher control over 50k ids is minutes on CPU.)"""
    root, env = stand_ins
    out = run(env, "experiments.run", "teacher=mdlm", "teacher_path=kuleshov-group/mdlm-owt", "corpus=openwebtext",
              "steps=2", "sampling.num_samples=2", "sampling.batch_size=2", f"results_dir={root / 'results'}",
              "threads=1")
    assert out.returncode == 0, out.stderr[-2000:]
    converted = PUBLISHED_DIR / "kuleshov-group--mdlm-owt"
    assert json.loads((converted / "config.json").read_text())["provenance"]["source"] == "kuleshov-group/mdlm-owt"
    # the row's name says it is not the default variant: 2 samples, a teacher from the hub
    row = json.loads((root / "results" / "rows" / "mdlm-openwebtext-small-steps2-n2-from-mdlm_owt-7f56bc.json")
                     .read_text())
    assert row["evaluator"] == "gpt2-large" and row["n_samples"] == 2
    assert row["teacher_path"].endswith("kuleshov-group--mdlm-owt")
    out = run(env, "experiments.pretrain", "teacher=duo_distilled", "teacher_path=s-sahoo/duo", "corpus=openwebtext",
              f"data.path={root / 'openwebtext'}", "train.max_steps=1", "train.batch_size=2", "train.eval_batches=1",
              f"run_dir={root / 'dcd'}", "threads=1")
    assert out.returncode == 0, out.stderr[-2000:]
    config = json.loads((root / "dcd" / "pretrained" / "config.json").read_text())
    assert config["family"] == "duo_distilled" and config["tokenizer"] == "gpt2" and config["seq_len"] == 32


def test_unreachable_corpus_and_teacher_say_how_to_provide_them(stand_ins, tmp_path):
    _, env = stand_ins
    env = {**env, "HF_HUB_CACHE": str(tmp_path / "empty"), "HF_HOME": str(tmp_path / "home")}
    out = run(env, "experiments.pretrain", "teacher=mdlm", "corpus=lm1b", "preset=tiny", f"run_dir={tmp_path}")
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert ".save_to_disk(DIR)`) and pass data.path=DIR" in out.stderr
    assert not list(TOKEN_CACHE_DIR.glob("lm1b-*"))                          # no half-written token file
    out = run(env, "experiments.run", "teacher=sedd", "teacher_path=louaaron/sedd-small", f"results_dir={tmp_path}")
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert "louaaron/sedd-small: not a local path and not in the Hugging Face cache" in out.stderr
    assert "huggingface-cli download louaaron/sedd-small --local-dir DIR" in out.stderr


def test_corpus_sets_the_papers_block_length():
    from experiments.config import load_config

    # pretraining needs no GenPPL evaluator, which `run` on these corpora checks for at start-up
    assert load_config(["corpus=openwebtext"], command="pretrain").data.seq_len == 1024
    assert load_config(["corpus=lm1b"], command="pretrain").data.seq_len == 128
    assert load_config(["corpus=openwebtext", "data.seq_len=64"], command="pretrain").data.seq_len == 64
    assert os.path.basename(str(PUBLISHED_DIR)) == "published"


def test_a_diffuseq_release_is_converted_once_for_teacher_path(tmp_path, monkeypatch):
    """A DiffuSeq release (training_args.json + ema_0.9999_*.pt, vocab=bert) as teacher_path: converted into the
    project format with the full BERT vocabulary, then found again without converting."""
    from experiments.setup import find_pretrained
    from teachers import diffuseq_checkpoint
    from teachers.diffuseq_checkpoint import from_pretrained, pretrained_config
    from tests.test_diffuseq_checkpoint import ARGS, SIZES, synthetic_diffuseq_state, write_release

    monkeypatch.setitem(ARGS, "vocab_size", 30522)
    monkeypatch.setitem(diffuseq_checkpoint.KNOWN_BERT_CONFIGS, "bert-base-uncased", SIZES)   # small BERT sizes
    release = write_release(tmp_path / "diffuseq_qqp", synthetic_diffuseq_state())
    folder = find_pretrained("diffuseq-qqp-base", str(release.parent))
    try:
        assert folder.parent == PUBLISHED_DIR and pretrained_config(folder)["tokenizer"] == {"base": "bert"}
        assert pretrained_config(folder)["seq_len"] == ARGS["seq_len"]
        model, process = from_pretrained(folder)
        assert model.config.vocab_size == 30522 and process.num_steps == 2000
        stamp = (folder / "model.safetensors").stat().st_mtime_ns
        assert find_pretrained("diffuseq-qqp-base", str(release.parent)) == folder
        assert (folder / "model.safetensors").stat().st_mtime_ns == stamp        # not converted twice
    finally:
        shutil.rmtree(folder, ignore_errors=True)
