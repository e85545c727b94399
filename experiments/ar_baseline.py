"""The autoregressive baselines the papers compare against, trained and sampled like the teachers.

    python -m experiments.pretrain teacher=ar_lm corpus=shakespeare seed=1        # IDLM's "Transformer AR"
    python -m experiments.pretrain teacher=ar_seq2seq task=qqp                     # DLM-One's "GPT-2 FT"
    python -m experiments.run teacher=ar_lm sampling.top_p=0.9                     # unconditional row (GenPPL, entropy)
    python -m experiments.run teacher=ar_seq2seq task=qqp                          # seq2seq row (DiffuSeq metric set)

Both are the reference AR evaluator's network (GPT-2 architecture, `core.evaluate.reference_ar`) at the teachers'
width and depth (4 layers, 256 hidden, 4 heads), decoded with a KV cache (`teachers.ar`). The unconditional
baseline is a separate run from the evaluator (another seed): an evaluator scoring its own samples would flatter
them, so sampling refuses a folder that is the evaluator in use.
"""
from __future__ import annotations

import torch

from core.errors import ConfigError
from experiments.naming import data_label, repo_relative, results_dir, row_suffix, run_name
from experiments.recipe import Recipe

LM_DESCRIPTION = ("An autoregressive baseline (the IDLM paper's \"Transformer AR\" row): a GPT-2-architecture causal "
                  "LM of the teachers' width and depth, trained on the same corpus split with another seed than the "
                  "reference GenPPL evaluator (a separate run, so the evaluator does not score its own samples); "
                  "sampled with a KV cache from [BOS].")
SEQ2SEQ_DESCRIPTION = ("An autoregressive seq2seq baseline (DLM-One's fine-tuned GPT-2 rows, at the DiffuSeq teacher's "
                       "size and trained from scratch): a decoder-only GPT-2-architecture LM reading `[CLS] source "
                       "[SEP]` as its prefix and trained to continue it with `target [SEP]` (loss on the target only), "
                       "in the DiffuSeq teacher's task vocabulary; decoded greedily with a KV cache.")


def lm_recipe(cfg, device, provenance, export_dir):
    """teacher=ar_lm: the evaluator's recipe (experiments.pretrain_recipes.ar_recipe) with the baseline's card."""
    from experiments.pretrain_recipes import ar_recipe
    return ar_recipe(cfg, device, provenance, export_dir, description=LM_DESCRIPTION)


def seq2seq_recipe(cfg, device, provenance, export_dir):
    """teacher=ar_seq2seq: rows in DiffuSeq's layout `[CLS] src [SEP] trg [SEP] [PAD]...` (the same tokenizer, length
    and truncation as the DiffuSeq teacher), attention on non-pad tokens, next-token loss on `trg [SEP]` only."""
    from core.data import seq2seq_pairs
    from core.evaluate.reference_ar import ar_config, ar_loss, build_ar_model, save_ar
    from experiments.seq2seq import build_tokenizer, encode_pairs, train_pairs_and_examples

    train_pairs, valid_examples = train_pairs_and_examples(cfg)
    tokenizer, tokenizer_spec = build_tokenizer(cfg, train_pairs)

    def rows_of(pairs):
        rows = encode_pairs(pairs, tokenizer, cfg.data.seq_len)
        return torch.stack([rows["input_ids"], rows["input_mask"]], dim=1)   # [N, 2, L]: ids, target mask
    model = build_ar_model(ar_config(cfg.preset, tokenizer.vocab_size, cfg.data.seq_len, eos_id=tokenizer.sep_id))

    def loss_fn(model, batch):
        rows, _ = batch
        ids, target = rows[:, 0], rows[:, 1]
        attend = (ids != tokenizer.pad_id).long()
        loss = ar_loss(model, ids, attention_mask=attend, loss_mask=target * attend)
        return loss, {"nll": loss.detach()}

    def export(model, ema, step):
        with ema.swapped_in(model):
            save_ar(model, tokenizer_spec, export_dir, provenance={**provenance, "train_step": step, "task": cfg.task},
                    description=SEQ2SEQ_DESCRIPTION)

    return Recipe(model, loss_fn, rows_of(train_pairs), rows_of(seq2seq_pairs(valid_examples)), export, "nll")


def load_baseline(cfg, device):
    """(the AR baseline `cfg` names as a frozen registry.Teacher on `device`, its folder)."""
    from experiments.setup import find_pretrained
    from teachers.registry import load_teacher

    folder = find_pretrained(run_name(cfg), cfg.teacher_path, convert_published=False)
    return load_teacher(folder, device), folder


def refuse_evaluator(folder, evaluator_name: str) -> None:
    """ConfigError when `folder` holds the evaluator `evaluator_name` (a row's `evaluator` field): the same folder,
    or a copy of its weights."""
    import filecmp
    from pathlib import Path

    evaluator = Path(evaluator_name.removeprefix("reference-ar:"))
    weights = [Path(f, "model.safetensors") for f in (folder, evaluator)]
    if evaluator.resolve() == Path(folder).resolve() or (
            all(w.is_file() for w in weights) and filecmp.cmp(*weights, shallow=False)):
        raise ConfigError(f"{folder} is the GenPPL evaluator itself: its own samples would be scored by it; sample "
                          f"a separately trained AR model (teacher_path=) or choose another eval.evaluator=")


def run_lm(cfg, device):
    """method=sample teacher=ar_lm: the unconditional baseline's row, scored like every teacher row."""
    from core.evaluate.results import write_result
    from experiments.loading import evaluator_from
    from experiments.rows import score_model
    baseline, folder = load_baseline(cfg, device)
    refuse_evaluator(folder, evaluator_from(cfg, device)[2])
    record = {"method": "sample", "teacher": "ar_lm", "corpus": cfg.corpus, "preset": cfg.preset,
              "teacher_path": repo_relative(folder), "predictor": "kv_cache" if cfg.sampling.cache else "recompute",
              "top_p": cfg.sampling.top_p, **score_model(baseline, cfg, device)}
    record["steps"] = record["nfe"]   # one network call per generated token: steps are not a knob of AR decoding
    return write_result(record, results_dir(cfg), f"{run_name(cfg)}{row_suffix(cfg)}")


def run_seq2seq(cfg, device):
    """method=sample teacher=ar_seq2seq task=...: greedy decoding of the task's test sources, DiffuSeq's metrics."""
    from core.evaluate.results import write_result
    from experiments.rows import seq2seq_evaluation, seq2seq_test_examples, timed_seq2seq
    from teachers.ar import seq2seq_decode
    from teachers.diffuseq_decode import decode_candidates, tokenizer_from_spec

    baseline, folder = load_baseline(cfg, device)
    model, tokenizer, seq_len = baseline.network, tokenizer_from_spec(baseline.tokenizer_name), baseline.seq_len
    examples = seq2seq_test_examples(cfg)
    calls = []

    def sample_ids(batch, seeds):
        ids, n = seq2seq_decode(model, batch, pad_id=tokenizer.pad_id, sep_id=tokenizer.sep_id, seq_len=seq_len)
        calls.append(n)
        return ids

    def texts_of(chunk):
        return decode_candidates(sample_ids, chunk, tokenizer, seq_len=seq_len, candidates=1,
                                 batch_size=cfg.sampling.batch_size, device=device, seed=cfg.seed)
    candidates, speed = timed_seq2seq(texts_of, examples, cfg, device, seq_len=seq_len, nfe=0)
    nfe = sum(calls) / len(calls)   # network calls per batch: the longest output of the batch, plus one
    speed["nfe"] = nfe
    record = {"method": "sample", "teacher": "ar_seq2seq", "task": data_label(cfg), "preset": cfg.preset, "steps": nfe,
              "nfe": nfe, "candidates": 1, "sampler": "greedy_kv_cache",
              "seconds_per_sample": speed["seconds_per_sample"], "speed": speed, "teacher_path": repo_relative(folder),
              **seq2seq_evaluation(candidates, examples, tokenizer, cfg, device)}
    return write_result(record, results_dir(cfg), f"{run_name(cfg)}-greedy{row_suffix(cfg)}")
