"""Main entry point: `python -m experiments.run key=value ...` (see --help).

methods
    sample      sample a pretrained discrete teacher at `steps` and evaluate it: GenPPL under the evaluator
                (gpt2-large if cached locally, else the embedded reference AR model), unigram entropy, the
                distribution metrics (diversity of the sample set; MAUVE against held-out text, experiments.
                distribution), seconds per sample. Writes <results_dir>/rows/<name>.json and rebuilds
                <results_dir>/README.md (results_dir: runs/results unless given; results/ is the committed set).
    real_text   the same metrics for held-out real text (the test split cut to the teachers' length): the yardstick.
    copy_source seq2seq yardstick: the source sentence as the output, scored with the DiffuSeq metric set (`task=`).
    idlm, dlm_one, sdtt, dcd   distil the teacher with that method, then evaluate the student (see each recipe).
teacher=ar_lm / ar_seq2seq with method=sample: the autoregressive baselines (experiments/ar_baseline.py).
The embedded default (`make demo`) samples the committed MDLM teacher on tinyshakespeare.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from core.paths import REPO_ROOT, SCRATCH_RESULTS_DIR
from experiments.cli import parse_args, run_cli
from experiments.config import row_suffix, run_name

if TYPE_CHECKING:
    import torch

# torch, transformers and the evaluation code are imported where they are used, after the arguments are read: a
# config error is refused in well under the seconds those imports take (tests/test_bad_input_catalogue.py)

EVALUATOR_PRESET = "small"  # the embedded reference AR evaluator is trained once per corpus, at this size


def sample_teacher(teacher, *, batch_size: int, steps: int, sampling, device, temperature: float | None = None):
    """The family's own sampler with the configured options. Returns (ids [B, L], nfe per sample)."""
    from teachers.registry import sample_model

    return sample_model(teacher.family, teacher.process, teacher.network, predictor=sampling.predictor,
                        temperature=sampling.temperature if temperature is None else temperature,
                        top_p=sampling.top_p, cache=sampling.cache, batch_size=batch_size, length=teacher.seq_len,
                        steps=steps, device=device, float64=sampling.float64)


def draw_samples(teacher, cfg, device, temperature: float | None = None) -> tuple[torch.Tensor, float, dict]:
    """Draw cfg.sampling.num_samples sequences batch by batch and time the batches (the first is the warm-up).
    Returns (ids [N, L], nfe per sample, speed record)."""
    import torch

    from core.evaluate.speed import benchmark

    batch_size = cfg.sampling.batch_size
    n_batches = -(-cfg.sampling.num_samples // batch_size)
    outputs = []

    def one_batch():
        outputs.append(sample_teacher(teacher, batch_size=batch_size, steps=cfg.steps, sampling=cfg.sampling,
                                      device=device, temperature=temperature))
    speed = benchmark(one_batch, batch_size=batch_size, n_warmup=1 if n_batches > 1 else 0,
                      n_repeat=max(1, n_batches - 1), tokens_per_sample=teacher.seq_len, nfe=0, device=device,
                      progress=f"sampling {cfg.sampling.num_samples} at {cfg.steps} steps")
    ids = torch.cat([o[0].cpu() for o in outputs])[: cfg.sampling.num_samples]
    nfe = sum(o[1] for o in outputs) / len(outputs)
    speed["nfe"] = nfe
    return ids, nfe, speed


def evaluator_from(cfg, device):
    """(model, tokenizer, name) of the GenPPL evaluator: `eval.evaluator`, or for "auto" gpt2-large when it is in the
    local HF cache, else the reference AR model trained on the run's data (reference_evaluator) when there is one."""
    from core.evaluate.unconditional import load_evaluator

    if cfg.eval.evaluator != "auto":
        return load_evaluator(cfg.eval.evaluator, device)
    return load_evaluator("gpt2-large", device, fallback_path=reference_evaluator(cfg))


def reference_evaluator(cfg) -> Path | None:
    """The reference AR model of the run's data (committed, else this machine's run of `evaluator_command`, at its
    default size first), None when there is none. For data.path= it is the one trained on that data: its run folder
    is named by the data's content, like the teacher's."""
    from core.evaluate.reference_ar import AR_PRESETS
    from experiments.setup import find_pretrained

    for preset in sorted(AR_PRESETS, key=lambda p: p != EVALUATOR_PRESET):
        try:
            return find_pretrained(reference_evaluator_name(cfg, preset), None)
        except FileNotFoundError:
            continue
    return None  # load_evaluator then says what it tried


def reference_evaluator_name(cfg, preset: str = EVALUATOR_PRESET) -> str:
    """The run folder name of `evaluator_command(cfg)` (experiments.config.run_folder_name of teacher=ar)."""
    from experiments.config import data_part

    return f"ar-{cfg.corpus}-{preset}{data_part(cfg)}"


def evaluator_command(cfg) -> str:
    """The command that trains the reference AR model `reference_evaluator` finds for this run's data."""
    import shlex

    data = [f"data.path={cfg.data.path}", *([f"data.name={cfg.data.name}"] if cfg.data.name else [])] \
        if cfg.data.path else []
    return shlex.join(["python", "-m", "experiments.pretrain", "teacher=ar", f"corpus={cfg.corpus}", *data])


def evaluate_texts(texts: list[str], ids: torch.Tensor, cfg, device, tokenizer, evaluator=None, *,
                   reference_split: str = "test") -> dict:
    """The metric part of an unconditional row: GenPPL, entropy and the distribution metrics (experiments.
    distribution; MAUVE against held-out text of `reference_split`). Every text goes with it: write_result keeps
    them beside the row, so its distribution metrics can be recomputed (experiments.rescore) without sampling."""
    from core.evaluate.results import SAMPLE_TEXTS
    from core.evaluate.unconditional import (
        generative_perplexity,
        genppl_interval,
        unigram_entropy,
    )
    from experiments.distribution import distribution_metrics

    evaluator = evaluator or evaluator_from(cfg, device)
    model, eval_tokenizer, evaluator_name = evaluator
    ppl = generative_perplexity(texts, model, eval_tokenizer, batch_size=cfg.sampling.batch_size,
                                max_length=model.config.n_positions, device=device, float64=cfg.eval.float64)
    metrics = {"gen_ppl": ppl["gen_ppl"], "gen_ppl_ci95": list(genppl_interval(ppl["text_nll"], ppl["text_tokens"])),
               "gen_nll": ppl["nll"], "scored_tokens": ppl["n_tokens"], "entropy": unigram_entropy(ids),
               **distribution_metrics(texts, cfg, device, evaluator, tokenizer, seq_len=ids.shape[1],
                                      reference_split=reference_split)}
    return {"metrics": metrics, "evaluator": repo_relative(evaluator_name), "sample_length": ids.shape[1],
            SAMPLE_TEXTS: list(texts), **identity_fields(cfg)}


def identity_fields(cfg) -> dict:
    """What a row records of its identity beyond its columns: `variant`, its name's suffix (config.row_suffix; empty
    for the default settings, and the tables compare rows only within one variant); for data.path= the folder and
    the data's name and content digest; `data_mismatch` when data.allow_mismatch=true let a model trained on other
    data run."""
    from experiments.data_identity import data_identity
    from experiments.folder_checks import trained_on_other_data

    fields = {"variant": row_suffix(cfg)}
    if cfg.data.path:
        fields.update(data_path=repo_relative(cfg.data.path), data=data_identity(cfg))
    if cfg.data.allow_mismatch and trained_on_other_data(cfg):
        fields["data_mismatch"] = True
    return fields


OUTSIDE_PATH = re.compile(r"(?<![\w.~])/[^\s:]+")   # an absolute path, alone or after "name:"


def repo_relative(text: str) -> str:
    """Paths inside the repository are recorded relative to it, so result rows do not depend on the machine. An
    absolute path elsewhere is this machine's layout: it keeps its last two parts only (".../parent/name"); the data
    and models it names are identified by their digests and row names."""
    return OUTSIDE_PATH.sub(lambda m: "/".join(["...", *m.group().strip("/").split("/")[-2:]]),
                            str(text).replace(str(REPO_ROOT) + "/", ""))


def held_out_texts(cfg, tokenizer, n: int, *, seq_len: int, split: str = "test") -> tuple[list[str], torch.Tensor]:
    """n blocks of `seq_len` tokens of `split`, drawn without replacement with the row's seed: (texts, ids [n, L])."""
    import torch

    from core.errors import DataError
    from experiments.setup import split_blocks

    blocks = split_blocks(cfg, split, tokenizer, seq_len)
    if len(blocks) < n:
        raise DataError(f"the {split} split has {len(blocks)} blocks of {seq_len} tokens, fewer than the {n} requested")
    g = torch.Generator().manual_seed(cfg.seed)
    rows = blocks[torch.randperm(len(blocks), generator=g)[:n]]
    return tokenizer.batch_decode(rows.tolist()), rows


def load_checked_teacher(cfg, device):
    """The teacher `cfg` names (teacher_path, else the committed one), refused if its family is another."""
    from core.errors import ConfigError
    from experiments.data_lengths import warn_truncation
    from experiments.setup import teacher_folder
    from teachers.registry import load_teacher

    folder = teacher_folder(cfg)
    teacher = load_teacher(folder, device=device)
    if teacher.family != cfg.teacher and not (cfg.teacher == "dcd" and teacher.family == "duo"):
        raise ConfigError(f"{folder} holds a {teacher.family!r} teacher but teacher={cfg.teacher}")
    warn_truncation(cfg, "test", teacher.seq_len, teacher=True)
    return teacher, folder


def score_model(model, cfg, device, *, temperature: float | None = None) -> dict:
    """Sample a teacher or a distilled student (a registry.Teacher) at cfg.steps and score it: a row's common part."""
    import torch

    from core.tokenizers import load_tokenizer

    tokenizer = load_tokenizer(model.tokenizer_name)
    torch.manual_seed(cfg.seed)
    ids, nfe, speed = draw_samples(model, cfg, device, temperature=temperature)
    texts = tokenizer.batch_decode(ids.tolist())
    return {"steps": cfg.steps, "nfe": nfe,
            "temperature": cfg.sampling.temperature if temperature is None else temperature,
            "n_samples": len(texts), "seconds_per_sample": speed["seconds_per_sample"], "speed": speed,
            "seed": cfg.seed, "float64_sampling": cfg.sampling.float64, "samples": texts[: cfg.eval.num_show],
            **evaluate_texts(texts, ids, cfg, device, tokenizer)}


def run_sample(cfg, device) -> Path:
    from core.evaluate.results import write_result

    teacher, folder = load_checked_teacher(cfg, device)
    record = {"method": "sample", "teacher": cfg.teacher, "corpus": cfg.corpus, "preset": cfg.preset,
              "teacher_path": repo_relative(folder), "predictor": cfg.sampling.predictor,
              **score_model(teacher, cfg, device)}
    return write_result(record, results_dir(cfg), sample_row_name(cfg))


def sample_row_name(cfg) -> str:
    """<teacher>-<corpus>-<preset>-steps<K>, then whatever else changes the row's numbers (config.row_suffix)."""
    return f"{run_name(cfg)}-steps{cfg.steps}{row_suffix(cfg)}"


def run_seq2seq(cfg, device) -> Path:
    """Sample the DiffuSeq teacher on the task's test sources at `steps` and compute DiffuSeq's metric set."""
    from core.evaluate.results import write_result
    from experiments.data_lengths import warn_truncation
    from experiments.seq2seq import generate_texts, tokenizer_from_spec
    from experiments.setup import teacher_folder
    from teachers.registry import load_teacher

    name = run_name(cfg)
    folder = teacher_folder(cfg)
    teacher = load_teacher(folder, device)
    model, process = teacher.network, teacher.process
    tokenizer, seq_len = tokenizer_from_spec(teacher.tokenizer_name), teacher.seq_len
    examples = seq2seq_test_examples(cfg)
    warn_truncation(cfg, "test", seq_len, teacher=True)

    def texts_of(chunk):
        return generate_texts(process, model, chunk, tokenizer, seq_len=seq_len, steps=cfg.steps,
                              candidates=cfg.diffuseq.candidates, sampler=cfg.diffuseq.sampler,
                              respace=cfg.diffuseq.respace, clamp=cfg.diffuseq.clamp,
                              batch_size=cfg.sampling.batch_size, device=device, seed=cfg.seed)
    candidates, speed = timed_seq2seq(texts_of, examples, cfg, device, seq_len=seq_len, nfe=cfg.steps)
    record = {"method": "sample", "teacher": "diffuseq", "task": cfg.task, "preset": cfg.preset, "steps": cfg.steps,
              "nfe": cfg.steps, "candidates": cfg.diffuseq.candidates, "sampler": cfg.diffuseq.sampler,
              "respace": cfg.diffuseq.respace, "clamp": cfg.diffuseq.clamp,
              "seconds_per_sample": speed["seconds_per_sample"], "speed": speed,
              "teacher_path": repo_relative(folder),
              **seq2seq_evaluation(candidates, examples, tokenizer, cfg, device)}
    return write_result(record, results_dir(cfg), f"{name}-steps{cfg.steps}-k{cfg.diffuseq.candidates}{row_suffix(cfg)}")


def timed_seq2seq(texts_of, examples, cfg, device, *, seq_len: int, nfe: int) -> tuple[list[list[str]], dict]:
    """Decode `examples` in batches of sampling.batch_size with texts_of(chunk) -> candidate texts per source, timing
    each batch (the first is the warm-up). Returns (candidates per source, speed record)."""
    from core.evaluate.speed import benchmark

    batches = [examples[i:i + cfg.sampling.batch_size] for i in range(0, len(examples), cfg.sampling.batch_size)]
    candidates, cursor = [], iter(batches)

    def one_batch():
        candidates.extend(texts_of(next(cursor)))
    speed = benchmark(one_batch, batch_size=cfg.sampling.batch_size * cfg.diffuseq.candidates,
                      n_warmup=1 if len(batches) > 1 else 0, n_repeat=max(1, len(batches) - 1),
                      tokens_per_sample=seq_len, nfe=nfe, device=device,
                      progress=f"decoding {len(examples)} sources at {nfe} steps")
    return candidates, speed


def run_copy_source(cfg, device) -> Path:
    """The seq2seq yardstick: output the source itself (in the BERT tokenizer's view), scored like a model."""
    from core.evaluate.results import write_result
    from core.tokenizers import load_tokenizer
    from experiments.seq2seq import tokenizer_view

    tokenizer = load_tokenizer("bert")
    examples = seq2seq_test_examples(cfg)
    candidates = [[tokenizer_view(e.src, tokenizer)] for e in examples]
    record = {"method": "copy_source", "teacher": "none", "task": cfg.task, "preset": "-", "steps": 0, "nfe": 0,
              "candidates": 1, "seconds_per_sample": 0.0,
              **seq2seq_evaluation(candidates, examples, tokenizer, cfg, device)}
    return write_result(record, results_dir(cfg), f"copy-source-{cfg.task}-test{row_suffix(cfg)}")


def seq2seq_test_examples(cfg):
    from core.data import load_seq2seq
    from experiments.seq2seq import task_source

    return load_seq2seq(task_source(cfg), "test")[: cfg.sampling.num_samples]


def seq2seq_evaluation(candidates: list[list[str]], examples, tokenizer, cfg, device) -> dict:
    """The metric part of a seq2seq result row; every candidate text is kept so the row can be re-scored."""
    from experiments.seq2seq import (
        evaluate_candidates,
        viewed_references,
        viewed_sources,
    )

    refs = viewed_references(examples, tokenizer)
    metrics = evaluate_candidates(candidates, refs, viewed_sources(examples, tokenizer),
                                  bertscore=cfg.diffuseq.bertscore, device=device)
    bert_model = metrics["single"].get("bertscore_model", "none")
    return {"metrics": metrics, "n_samples": len(examples), "seed": cfg.seed, **identity_fields(cfg),
            "evaluator": f"DiffuSeq BLEU (nltk sentence, smoothing 4) + sacrebleu + rouge-score + BERTScore({bert_model});"
                         " references in the tokenizer's view",
            "samples": [{"source": e.src, "reference": r[0], "output": c[0]}
                        for e, r, c in zip(examples[: cfg.eval.num_show], refs, candidates)],
            "outputs": candidates}


def results_dir(cfg) -> Path:
    """Where rows and their table go: `results_dir=` when given, else the scratch folder runs/results. The committed
    set results/ changes only when asked for by name (results_dir=results, as the Makefile's result targets do)."""
    return Path(cfg.results_dir) if cfg.results_dir else SCRATCH_RESULTS_DIR


def run_real_text(cfg, device) -> Path:
    from core.evaluate.results import write_result
    from core.tokenizers import load_tokenizer
    from experiments.setup import corpus_tokenizer_name

    tokenizer = load_tokenizer(corpus_tokenizer_name(cfg.corpus))
    texts, rows = held_out_texts(cfg, tokenizer, cfg.sampling.num_samples, seq_len=cfg.data.seq_len)
    # the row is the test set MAUVE compares every model with: it is compared with the valid split instead
    evaluation = evaluate_texts(texts, rows, cfg, device, tokenizer, reference_split="valid")
    record = {"method": "real_text", "teacher": "none", "corpus": cfg.corpus, "preset": "-", "steps": 0, "nfe": 0,
              "n_samples": len(texts), "seconds_per_sample": 0.0, "seed": cfg.seed,
              "samples": texts[: cfg.eval.num_show], **evaluation}
    return write_result(record, results_dir(cfg), f"real-text-{cfg.corpus}-test{row_suffix(cfg)}")


def run_teacher(cfg, device) -> Path:
    """method=sample: the DiffuSeq teacher is scored on its seq2seq task, every other on unconditional text; the AR
    baselines by their own recipes (experiments.ar_baseline)."""
    from experiments import ar_baseline
    runner = {"diffuseq": run_seq2seq, "ar_lm": ar_baseline.run_lm, "ar_seq2seq": ar_baseline.run_seq2seq}
    return runner.get(cfg.teacher, run_sample)(cfg, device)


def run_idlm(cfg, device) -> Path:
    from experiments.idlm import run_idlm as recipe
    return recipe(cfg, device)


def run_dlm_one(cfg, device) -> Path:
    from experiments.dlm_one import run_dlm_one as recipe
    return recipe(cfg, device)


def run_sdtt(cfg, device) -> Path:
    from experiments.sdtt import run_sdtt as recipe
    return recipe(cfg, device)


def run_dcd(cfg, device) -> Path:
    from experiments.dcd import run_dcd as recipe
    return recipe(cfg, device)


METHODS = {"sample": run_teacher, "real_text": run_real_text, "copy_source": run_copy_source, "idlm": run_idlm,
           "dlm_one": run_dlm_one, "sdtt": run_sdtt, "dcd": run_dcd}


def main(argv: list[str]) -> int:
    cfg = parse_args(argv)
    if cfg is None:
        return 0
    from omegaconf import OmegaConf

    from core.checkpoint import atomic_write_text
    from experiments.setup import resolve_device
    from reports.readme import write_readme

    device = resolve_device(cfg.device)
    path = METHODS[cfg.method](cfg, device)
    if path is None:   # a process of rank > 0 under torchrun: it trained, rank 0 writes the rows
        return 0
    atomic_write_text(Path(path).with_suffix(".config.yaml"), OmegaConf.to_yaml(cfg))
    write_readme(results_dir(cfg))
    print(f"wrote {path}")
    print(head_lines(Path(path).read_text(), 1500))
    return 0


def head_lines(text: str, limit: int) -> str:
    """The whole lines of `text` that fit in `limit` characters, and how many are left out."""
    if len(text) <= limit:
        return text.rstrip("\n")
    kept = text[:limit].rsplit("\n", 1)[0]
    return f"{kept}\n... ({text.count(chr(10)) - kept.count(chr(10)) - 1} more lines in the file)"


if __name__ == "__main__":
    run_cli(main)
