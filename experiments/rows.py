"""A result row's common part, for every recipe: sample a model and score it (unconditional text: GenPPL, entropy
and the distribution metrics; seq2seq: DiffuSeq's metric set), and what a row records of its identity."""
from __future__ import annotations

from typing import TYPE_CHECKING

from experiments.naming import repo_relative, row_suffix

if TYPE_CHECKING:
    import torch

# torch, transformers and the evaluation code are imported where they are used: the config loader reads this module's
# neighbours, and a config error is refused in well under the seconds those imports take


def sample_teacher(teacher, *, batch_size: int, steps: int, sampling, device, temperature: float | None = None):
    """The family's own sampler with the configured options. Returns (ids [B, L], nfe per sample)."""
    from teachers.registry import sample_model

    return sample_model(teacher.family, teacher.process, teacher.network, predictor=sampling.predictor,
                        temperature=sampling.temperature if temperature is None else temperature,
                        top_p=sampling.top_p, cache=sampling.cache, batch_size=batch_size, length=teacher.seq_len,
                        steps=steps, device=device, float64=sampling.float64)


def draw_samples(teacher, cfg, device, temperature: float | None = None, sampler=None
                 ) -> tuple[torch.Tensor, float, dict]:
    """Draw cfg.sampling.num_samples sequences batch by batch and time the batches (the first is the warm-up).
    `sampler` (same arguments as sample_teacher) replaces the family's own, e.g. DiDi-Instruct's reward-guided one.
    Returns (ids [N, L], nfe per sample, speed record)."""
    import torch

    from core.evaluate.speed import benchmark

    batch_size = cfg.sampling.batch_size
    n_batches = -(-cfg.sampling.num_samples // batch_size)
    outputs = []

    def one_batch():
        draw = sampler or sample_teacher
        outputs.append(draw(teacher, batch_size=batch_size, steps=cfg.steps, sampling=cfg.sampling, device=device,
                            temperature=temperature))
    speed = benchmark(one_batch, batch_size=batch_size, n_warmup=1 if n_batches > 1 else 0,
                      n_repeat=max(1, n_batches - 1), tokens_per_sample=teacher.seq_len, nfe=0, device=device,
                      progress=f"sampling {cfg.sampling.num_samples} at {cfg.steps} steps")
    ids = torch.cat([o[0].cpu() for o in outputs])[: cfg.sampling.num_samples]
    nfe = sum(o[1] for o in outputs) / len(outputs)
    speed["nfe"] = nfe
    return ids, nfe, speed


def evaluate_texts(texts: list[str], ids: torch.Tensor, cfg, device, tokenizer, evaluator=None, *,
                   reference_split: str = "test") -> dict:
    """The metric part of an unconditional row: GenPPL, entropy and the distribution metrics (experiments.
    distribution; MAUVE against held-out text of `reference_split`). Every text goes with it: write_result keeps
    them beside the row, so its distribution metrics can be recomputed (experiments.rescore) without sampling."""
    from core.evaluate.results import SAMPLE_TEXTS
    from core.evaluate.unconditional import generative_perplexity, genppl_interval, unigram_entropy
    from experiments.distribution import distribution_metrics
    from experiments.loading import evaluator_from

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
    """What a row records of its identity beyond its columns: `variant`, its name's suffix (naming.row_suffix; empty
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


def score_model(model, cfg, device, *, temperature: float | None = None, sampler=None) -> dict:
    """Sample a teacher or a distilled student (a registry.Teacher) at cfg.steps and score it: a row's common part."""
    import torch

    from core.tokenizers import load_tokenizer

    tokenizer = load_tokenizer(model.tokenizer_name)
    torch.manual_seed(cfg.seed)
    ids, nfe, speed = draw_samples(model, cfg, device, temperature=temperature, sampler=sampler)
    texts = tokenizer.batch_decode(ids.tolist())
    return {"steps": cfg.steps, "nfe": nfe,
            "temperature": cfg.sampling.temperature if temperature is None else temperature,
            "n_samples": len(texts), "seconds_per_sample": speed["seconds_per_sample"], "speed": speed,
            "seed": cfg.seed, "float64_sampling": cfg.sampling.float64, "samples": texts[: cfg.eval.num_show],
            **evaluate_texts(texts, ids, cfg, device, tokenizer)}


def teacher_row(cfg, teacher_folder, scored: dict) -> dict:
    """The row of method=sample for a discrete teacher: its identity, then `scored` (score_model's part)."""
    return {"method": "sample", "teacher": cfg.teacher, "corpus": cfg.corpus, "preset": cfg.preset,
            "teacher_path": repo_relative(teacher_folder), "predictor": cfg.sampling.predictor, **scored}


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


def seq2seq_test_examples(cfg):
    from core.data import load_seq2seq
    from experiments.seq2seq import task_source

    return load_seq2seq(task_source(cfg), "test")[: cfg.sampling.num_samples]


def seq2seq_evaluation(candidates: list[list[str]], examples, tokenizer, cfg, device) -> dict:
    """The metric part of a seq2seq result row; every candidate text is kept so the row can be re-scored."""
    from experiments.seq2seq import evaluate_candidates, viewed_references, viewed_sources

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
