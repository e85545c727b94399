"""Conditional-text (seq2seq) metrics as DiffuSeq's `scripts/eval_seq2seq.py` defines them.

Conventions copied from DiffuSeq (and so from DLM-One, which reports with DiffuSeq's script):
  * tokens are `str.split()` on whitespace; no lower-casing, no detokenization;
  * sentence BLEU is nltk's with `SmoothingFunction().method4`, averaged over sentences;
  * DiffuSeq calls `sentence_bleu([generated.split()], reference.split())`, i.e. the *generated* text is in the
    reference slot and the reference in the hypothesis slot (this changes the brevity penalty and the clipping).
    We keep that order for single-reference data so numbers are comparable with DiffuSeq / DLM-One tables. With
    several references per source (Wiki-Auto Turk: 8) the swapped form has no meaning, so multi-reference BLEU
    uses the standard order `sentence_bleu(references, generated)` (deviation, stated).
  * dist-1: distinct / total unigrams of each sentence, averaged over sentences;
  * self-BLEU: mean pairwise BLEU over pairs i < j of the k candidates of one source, then averaged over sources;
  * div-4: distinct / total 4-grams pooled over the k candidates of one source, then averaged over sources;
  * MBR: the candidate whose summed BLEU against the other candidates is highest.
Deviation: DiffuSeq's ROUGE-L comes from torchmetrics; we use rouge-score (same LCS F-measure, no stemming,
best over references).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from core.evaluate.bootstrap import mean_interval
from core.evaluate.mauve_score import MINILM_FEATURES, minilm_path

DEBERTA_BERTSCORE = "microsoft/deberta-xlarge-mnli"   # DiffuSeq's BERTScore model


def _sentence_bleu(references: Sequence[str], hypothesis: str) -> float:
    from nltk.translate.bleu_score import SmoothingFunction, sentence_bleu
    return float(sentence_bleu([r.split() for r in references], hypothesis.split(),
                               smoothing_function=SmoothingFunction().method4))


def diffuseq_bleu(generated: str, reference: str) -> float:
    """DiffuSeq's `get_bleu(recover, reference)`: the generated text fills nltk's reference slot."""
    return _sentence_bleu([generated], reference)


def _as_ref_lists(refs_list) -> list[list[str]]:
    """Accept one reference string per source or a list of references per source."""
    out = [[r] if isinstance(r, str) else list(r) for r in refs_list]
    if any(len(r) == 0 for r in out):
        raise ValueError("seq2seq metrics: every source needs at least one reference")
    return out


def _check_lengths(hyps, refs):
    if len(hyps) != len(refs):
        raise ValueError(f"seq2seq metrics: {len(hyps)} hypotheses but {len(refs)} reference sets")
    if len(hyps) == 0:
        raise ValueError("seq2seq metrics: no hypotheses given")


def diffuseq_sentence_bleus(hyps: Sequence[str], refs_list) -> list[float]:
    """Sentence BLEU (method4) per source. One reference per source: DiffuSeq's argument order; several: multi-ref."""
    refs = _as_ref_lists(refs_list)
    _check_lengths(hyps, refs)
    return [diffuseq_bleu(h, r[0]) if len(r) == 1 else _sentence_bleu(r, h) for h, r in zip(hyps, refs)]


def diffuseq_sentence_bleu(hyps: Sequence[str], refs_list) -> float:
    """DiffuSeq's BLEU: the mean of the sentence BLEUs."""
    return float(np.mean(diffuseq_sentence_bleus(hyps, refs_list)))


def corpus_sacrebleu(hyps: Sequence[str], refs_list) -> float:
    """sacrebleu corpus BLEU (0-100, default 13a tokenization); sources with fewer references get `None` slots."""
    import sacrebleu
    refs = _as_ref_lists(refs_list)
    _check_lengths(hyps, refs)
    n_streams = max(len(r) for r in refs)
    streams = [[r[k] if k < len(r) else None for r in refs] for k in range(n_streams)]
    return float(sacrebleu.corpus_bleu(list(hyps), streams).score)


def rouge_l(hyps: Sequence[str], refs_list) -> float:
    """Mean ROUGE-L F-measure; with several references the best one counts (rouge-score's `score_multi`)."""
    from rouge_score import rouge_scorer
    refs = _as_ref_lists(refs_list)
    _check_lengths(hyps, refs)
    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=False)
    return float(np.mean([scorer.score_multi(r, h)["rougeL"].fmeasure for h, r in zip(hyps, refs)]))


def default_bertscore_model() -> tuple[str, int]:
    """(model_type, num_layers): DiffuSeq's deberta-xlarge-mnli when in the local HF cache, else bundled MiniLM.

    bert-score accepts a local folder as `model_type` (it calls AutoModel/AutoTokenizer.from_pretrained on it) but
    cannot look up its layer count, so num_layers must be given: 6 for MiniLM-L6 (its last layer).
    """
    try:
        from huggingface_hub import try_to_load_from_cache
        cached = try_to_load_from_cache(DEBERTA_BERTSCORE, "config.json")
    except ImportError:
        cached = None
    if isinstance(cached, str):
        from bert_score.utils import model2layers
        return DEBERTA_BERTSCORE, model2layers[DEBERTA_BERTSCORE]
    return str(minilm_path()), 6


def bert_score_f1(hyps: Sequence[str], refs_list, *, model_type: str | None = None, num_layers: int | None = None,
                  device: str | None = None, batch_size: int = 32) -> float:
    """Mean BERTScore F1 without baseline rescaling (DiffuSeq's setting); several references: best F1 counts."""
    from bert_score import score
    refs = _as_ref_lists(refs_list)
    _check_lengths(hyps, refs)
    if model_type is None:
        model_type, num_layers = default_bertscore_model()
    if num_layers is None:
        raise ValueError(f"bert_score_f1: give num_layers for model {model_type!r}")
    # An empty sentence scores 0, which is bert_score's own rule ("Empty candidate sentence detected; setting raw
    # BERTscores to 0"); it is applied here because bert_score's empty-sentence path calls a tokenizer method that
    # recent transformers no longer has.
    scored = [i for i, (h, r) in enumerate(zip(hyps, refs)) if h.strip() and any(x.strip() for x in r)]
    f1_all = [0.0] * len(hyps)
    if scored:
        _, _, f1 = score([hyps[i] for i in scored], [[x for x in refs[i] if x.strip()] for i in scored],
                         model_type=model_type, num_layers=num_layers, device=device, batch_size=batch_size,
                         rescale_with_baseline=False, verbose=False)
        for i, value in zip(scored, f1.tolist()):
            f1_all[i] = value
    return float(np.mean(f1_all))


def _ngrams(tokens: list[str], n: int) -> list[tuple[str, ...]]:
    return [tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1)]


def distinct_ratio(sentences: Sequence[str], n: int) -> float:
    """distinct / total n-grams of whitespace tokens pooled over `sentences` (n-grams never cross sentences); 0 when
    there is no n-gram (DiffuSeq returns 0). Also the unconditional distinct-n (core.evaluate.diversity)."""
    grams = [g for s in sentences for g in _ngrams(s.split(), n)]
    return len(set(grams)) / len(grams) if grams else 0.0


def dist1(hyps: Sequence[str]) -> float:
    """Mean over sentences of distinct unigrams / total unigrams ("a a b" -> 2/3)."""
    if len(hyps) == 0:
        raise ValueError("dist1: no hypotheses given")
    return float(np.mean([distinct_ratio([h], 1) for h in hyps]))


def _check_candidates(candidates_per_source):
    if len(candidates_per_source) == 0:
        raise ValueError("diversity metrics: no sources given")


def self_bleu(candidates_per_source: Sequence[Sequence[str]]) -> float:
    """Mean over sources of the mean DiffuSeq BLEU over candidate pairs i < j (0 for a single candidate). Also the
    unconditional self-BLEU, with a row's whole sample set as one source (core.evaluate.diversity)."""
    _check_candidates(candidates_per_source)
    per_source = []
    for cands in candidates_per_source:
        pairs = [diffuseq_bleu(cands[i], cands[j]) for i in range(len(cands)) for j in range(i + 1, len(cands))]
        per_source.append(np.mean(pairs) if pairs else 0.0)
    return float(np.mean(per_source))


def div4(candidates_per_source: Sequence[Sequence[str]]) -> float:
    """Mean over sources of distinct / total 4-grams pooled across that source's candidates."""
    _check_candidates(candidates_per_source)
    return float(np.mean([distinct_ratio(cands, 4) for cands in candidates_per_source]))


def mbr_select(candidates: Sequence[str]) -> int:
    """Index i maximising sum_{j != i} BLEU(c_i, c_j) (DiffuSeq `selectBest`; ties go to the first)."""
    if len(candidates) == 0:
        raise ValueError("mbr_select: no candidates given")
    totals = [sum(diffuseq_bleu(ci, cj) for j, cj in enumerate(candidates) if j != i)
              for i, ci in enumerate(candidates)]
    return int(np.argmax(totals))


def seq2seq_metrics(hyps: Sequence[str], refs_list, candidates_per_source=None, *, with_bertscore: bool = True,
                    bertscore_model: str | None = None, bertscore_layers: int | None = None,
                    device: str | None = None) -> dict:
    """All DiffuSeq metrics for one decoded set.

    Args:
        hyps: one output per source (e.g. the MBR pick or the first candidate).
        refs_list: per source, a reference string or a list of references.
        candidates_per_source: optional k candidates per source for self-BLEU and div-4.
    Returns: dict with bleu, bleu_ci95 (percentile bootstrap over sources), sentence_bleu (per source, so two rows
    on the same sources can be compared pairwise), sacrebleu, rouge_l, dist1, avg_len, [bertscore, bertscore_model],
    [self_bleu, div4].
    """
    refs = _as_ref_lists(refs_list)
    _check_lengths(hyps, refs)
    bleus = diffuseq_sentence_bleus(hyps, refs)
    metrics = {
        "bleu": float(np.mean(bleus)),
        "bleu_ci95": list(mean_interval(bleus)),
        "sentence_bleu": [float(b) for b in bleus],
        "sacrebleu": corpus_sacrebleu(hyps, refs),
        "rouge_l": rouge_l(hyps, refs),
        "dist1": dist1(hyps),
        "avg_len": float(np.mean([len(h.split()) for h in hyps])),
    }
    if with_bertscore:
        if bertscore_model is None:
            bertscore_model, bertscore_layers = default_bertscore_model()
        metrics["bertscore"] = bert_score_f1(hyps, refs, model_type=bertscore_model, num_layers=bertscore_layers,
                                             device=device)
        metrics["bertscore_model"] = MINILM_FEATURES if bertscore_model == str(minilm_path()) else bertscore_model
    if candidates_per_source is not None:
        if len(candidates_per_source) != len(hyps):
            raise ValueError(f"seq2seq_metrics: {len(candidates_per_source)} candidate sets for {len(hyps)} sources")
        metrics["self_bleu"] = self_bleu(candidates_per_source)
        metrics["div4"] = div4(candidates_per_source)
    return metrics
