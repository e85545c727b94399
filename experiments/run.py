"""Main entry point: `python -m experiments.run key=value ...` (see --help).

methods
    sample      sample a pretrained discrete teacher at `steps` and evaluate it: GenPPL under the evaluator
                (gpt2-large if cached locally, else the embedded reference AR model), unigram entropy, optional MAUVE
                against held-out text, seconds per sample. Writes results/<name>.json and rebuilds results/README.md.
    real_text   the same metrics for held-out real text (the test split cut to the teachers' length): the yardstick.
The embedded default (`make demo`) samples the committed MDLM teacher on tinyshakespeare.
"""
from __future__ import annotations

import sys
from pathlib import Path

import torch
from omegaconf import OmegaConf

from core.checkpoint import atomic_write_text
from core.data import lm_blocks, load_lm_text
from core.errors import ConfigError, DataError
from core.evaluate.mauve_score import mauve_score
from core.evaluate.results import write_result
from core.evaluate.speed import benchmark
from core.evaluate.unconditional import generative_perplexity, load_evaluator, unigram_entropy
from core.paths import REPO_ROOT, RESULTS_DIR, RUNS_DIR
from core.tokenizers import load_tokenizer
from experiments.config import help_text, load_config, run_name
from experiments.setup import corpus_tokenizer_name, resolve_device
from experiments.tables import main as build_tables

CHECKPOINTS_DIR = REPO_ROOT / "checkpoints"  # committed embedded teachers (see checkpoints/README.md)


def find_pretrained(name: str, explicit: str | None) -> Path:
    """The teacher folder: explicit path, else the committed checkpoint, else this machine's last pretraining run."""
    candidates = [Path(explicit)] if explicit else [CHECKPOINTS_DIR / name, RUNS_DIR / name / "pretrained"]
    for path in candidates:
        if (path / "config.json").is_file():
            return path
    raise FileNotFoundError(f"no pretrained model found at {', '.join(map(str, candidates))}; train one with "
                            f"`python -m experiments.pretrain ...` or pass teacher_path=")


def sample_teacher(teacher, *, batch_size: int, steps: int, sampling, device, temperature: float | None = None):
    """Dispatch to the family's sampler. Returns (ids [B, L], nfe)."""
    common = dict(batch_size=batch_size, length=teacher.seq_len, steps=steps, device=device,
                  temperature=sampling.temperature if temperature is None else temperature, float64=sampling.float64)
    if teacher.family == "mdlm":
        from teachers.mdlm import sample
        return sample(teacher.process, teacher.network, top_p=sampling.top_p, cache=sampling.cache, **common)
    if teacher.family == "sedd":
        from teachers.sedd import sample
        return sample(teacher.process, teacher.network, predictor=sampling.predictor, **common)
    if teacher.family in ("duo", "dcd"):
        from teachers.duo import sample
        return sample(teacher.process, teacher.network, top_p=sampling.top_p, greedy_tail=sampling.predictor == "greedy_tail",
                      **common)
    raise ConfigError(f"no sampler for teacher family {teacher.family!r}")


def generate(teacher, cfg, device, temperature: float | None = None) -> tuple[torch.Tensor, int]:
    chunks, nfe = [], 0
    remaining = cfg.sampling.num_samples
    while remaining > 0:
        ids, nfe = sample_teacher(teacher, batch_size=min(cfg.sampling.batch_size, remaining), steps=cfg.steps,
                                  sampling=cfg.sampling, device=device, temperature=temperature)
        chunks.append(ids.cpu())
        remaining -= len(ids)
    return torch.cat(chunks), nfe


def evaluate_texts(texts: list[str], ids: torch.Tensor, cfg, device, tokenizer) -> dict:
    fallback = find_pretrained(f"ar-{cfg.corpus}-small", None) if cfg.eval.evaluator == "auto" else None
    model, eval_tokenizer, evaluator_name = load_evaluator("gpt2-large" if cfg.eval.evaluator == "auto" else cfg.eval.evaluator,
                                                           device, fallback_path=fallback)
    ppl = generative_perplexity(texts, model, eval_tokenizer, batch_size=cfg.sampling.batch_size,
                                max_length=model.config.n_positions, device=device, float64=cfg.eval.float64)
    metrics = {"gen_ppl": ppl["gen_ppl"], "gen_nll": ppl["nll"], "scored_tokens": ppl["n_tokens"],
               "entropy": unigram_entropy(ids)}
    if cfg.eval.mauve:
        reference, _ = held_out_texts(cfg, tokenizer, len(texts), seq_len=ids.shape[1])
        metrics["mauve"] = mauve_score(texts, reference, device=device)
    return {"metrics": metrics, "evaluator": evaluator_name}


def held_out_texts(cfg, tokenizer, n: int, *, seq_len: int) -> tuple[list[str], torch.Tensor]:
    blocks = lm_blocks(load_lm_text(cfg.data.path or cfg.corpus, "test"), tokenizer, seq_len)
    if len(blocks) < n:
        raise DataError(f"the test split has {len(blocks)} blocks of {seq_len} tokens, fewer than the {n} requested")
    g = torch.Generator().manual_seed(cfg.seed)
    rows = blocks[torch.randperm(len(blocks), generator=g)[:n]]
    return tokenizer.batch_decode(rows.tolist()), rows


def run_sample(cfg, device) -> dict:
    from teachers.registry import load_teacher

    name = run_name(cfg)
    folder = find_pretrained(name, cfg.teacher_path)
    teacher = load_teacher(folder, device=device)
    if teacher.family != cfg.teacher and not (cfg.teacher == "dcd" and teacher.family == "duo"):
        raise ConfigError(f"{folder} holds a {teacher.family!r} teacher but teacher={cfg.teacher}")
    tokenizer = load_tokenizer(teacher.tokenizer_name)
    torch.manual_seed(cfg.seed)
    ids, nfe = generate(teacher, cfg, device)
    texts = tokenizer.batch_decode(ids.tolist())
    evaluation = evaluate_texts(texts, ids, cfg, device, tokenizer)
    speed = benchmark(lambda: sample_teacher(teacher, batch_size=cfg.sampling.batch_size, steps=cfg.steps,
                                             sampling=cfg.sampling, device=device),
                      batch_size=cfg.sampling.batch_size, n_warmup=1, n_repeat=3, tokens_per_sample=teacher.seq_len,
                      nfe=nfe, device=device)
    suffix = "" if cfg.sampling.temperature == 1.0 else f"-T{cfg.sampling.temperature:g}"
    record = {"method": "teacher", "teacher": cfg.teacher, "corpus": cfg.corpus, "preset": cfg.preset,
              "steps": cfg.steps, "nfe": nfe, "temperature": cfg.sampling.temperature,
              "n_samples": len(texts), "seconds_per_sample": speed["seconds_per_sample"], "speed": speed,
              "seed": cfg.seed, "teacher_path": str(folder), "float64_sampling": cfg.sampling.float64,
              "samples": texts[: cfg.eval.num_show], **evaluation}
    return write_result(record, RESULTS_DIR, f"{name}-steps{cfg.steps}{suffix}")


def run_real_text(cfg, device) -> Path:
    tokenizer = load_tokenizer(corpus_tokenizer_name(cfg.corpus))
    texts, rows = held_out_texts(cfg, tokenizer, cfg.sampling.num_samples, seq_len=cfg.data.seq_len)
    evaluation = evaluate_texts(texts, rows, cfg, device, tokenizer)
    record = {"method": "real_text", "teacher": "none", "corpus": cfg.corpus, "preset": "-", "steps": 0, "nfe": 0,
              "n_samples": len(texts), "seconds_per_sample": 0.0, "seed": cfg.seed,
              "samples": texts[: cfg.eval.num_show], **evaluation}
    return write_result(record, RESULTS_DIR, f"real-text-{cfg.corpus}-test")


def main(argv: list[str]) -> int:
    if any(a in ("-h", "--help") for a in argv):
        print(help_text())
        return 0
    cfg = load_config(argv)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    device = resolve_device(cfg.device)
    path = run_sample(cfg, device) if cfg.method == "sample" else run_real_text(cfg, device)
    atomic_write_text(Path(path).with_suffix(".config.yaml"), OmegaConf.to_yaml(cfg))
    build_tables([])
    print(f"wrote {path}")
    print(Path(path).read_text()[:1500])
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except (ConfigError, DataError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
