"""The seq2seq glue: task-restricted BERT vocabulary, target decoding, and DiffuSeq pretrain → run end to end."""
import json

import pytest
import torch

from core.tokenizers import RestrictedTokenizer, load_tokenizer
from teachers.diffuseq_decode import decode_targets, tokenizer_from_spec
from tests.test_experiments import run


def test_restricted_tokenizer_round_trip_and_unknowns():
    bert = load_tokenizer("bert")
    tok = RestrictedTokenizer.from_corpus(bert, ["how do i learn python ?", "what is python"])
    assert tok.vocab_size == len(set(bert.encode("how do i learn python ? what is python"))) + 5  # + PAD CLS SEP MASK UNK
    assert tok.decode(tok.encode("how do i learn python ?")) == "how do i learn python?"
    assert tok.encode("zebra") == [tok.unk_id]                       # unseen WordPieces map to [UNK]
    assert tok.to_base([tok.cls_id, tok.sep_id, tok.pad_id]) == [bert.cls_id, bert.sep_id, bert.pad_id]
    rebuilt = tokenizer_from_spec({"base": "bert", "kept_ids": tok.kept_ids})
    assert rebuilt.encode("what is python") == tok.encode("what is python")


def test_decode_targets_stops_at_sep_and_drops_specials():
    bert = load_tokenizer("bert")
    hello, world = bert.encode("hello world")
    ids = torch.tensor([[bert.cls_id, 7, bert.sep_id, hello, world, bert.sep_id, hello, bert.pad_id]])
    mask = torch.tensor([[0, 0, 0, 1, 1, 1, 1, 1]])
    assert decode_targets(ids, mask, bert) == ["hello world"]


def test_diffuseq_pretrain_then_run_writes_seq2seq_row(tmp_path):
    common = ["teacher=diffuseq", "task=qqp", "preset=tiny", "threads=1"]
    out = run("experiments.pretrain", *common, f"run_dir={tmp_path / 'dq'}", "train.max_steps=2", "train.save_every=2",
              "train.eval_every=2", "train.eval_batches=1", "train.batch_size=4", "diffuseq.val_sources=2",
              "diffuseq.val_steps=2", "data.seq_len=32", "diffuseq.timestep_sampler=lossaware")
    assert out.returncode == 0, out.stderr[-2000:]
    assert (tmp_path / "dq" / "checkpoint" / "timestep_sampler.state.safetensors").is_file()   # resumable history
    config = json.loads((tmp_path / "dq" / "pretrained" / "config.json").read_text())
    assert config["family"] == "diffuseq" and config["seq_len"] == 32 and config["tokenizer"]["base"] == "bert"
    val = [r for r in map(json.loads, (tmp_path / "dq" / "log.jsonl").read_text().splitlines()) if "val/loss" in r]
    recovery = [val[-1][f"val/recovery_t{t}"] for t in (999, 1499, 1999)]
    assert all(0.0 <= r <= 1.0 for r in recovery) and "val/bleu_2steps" in val[-1]
    out = run("experiments.run", *common, f"teacher_path={tmp_path / 'dq' / 'pretrained'}", "steps=3",
              "sampling.num_samples=4", "sampling.batch_size=2", "diffuseq.candidates=2", "diffuseq.bertscore=false",
              f"results_dir={tmp_path / 'res'}")
    assert out.returncode == 0, out.stderr[-2000:]
    [path] = (tmp_path / "res" / "rows").glob("diffuseq-qqp-tiny-steps3-k2-n4-from-pretrained-??????.json")
    row = json.loads(path.read_text())
    assert row["task"] == "qqp" and row["n_samples"] == 4 and row["candidates"] == 2
    assert {"bleu", "sacrebleu", "rouge_l", "dist1", "self_bleu", "div4"} <= set(row["metrics"]["single"])
    assert {"bleu", "rouge_l"} <= set(row["metrics"]["mbr"])
    assert {"source", "reference", "output"} == set(row["samples"][0])


def test_references_are_scored_in_the_tokenizers_view():
    from core.data import Seq2SeqExample
    from experiments.seq2seq import evaluate_candidates, tokenizer_view, viewed_references, viewed_sources

    bert = load_tokenizer("bert")
    restricted = RestrictedTokenizer.from_corpus(bert, ["why is tokyo so big ?"])
    assert tokenizer_view("Why is Tokyo so BIG ?", restricted) == "why is tokyo so big?"
    assert tokenizer_view("Zebras, Tokyo!", restricted) == "zebras, tokyo!"     # the full vocabulary, not [UNK]
    example = Seq2SeqExample(src="Why is Tokyo so big?", refs=["Why is Tokyo so big?"])
    metrics = evaluate_candidates([["why is tokyo so big?"]], viewed_references([example], restricted),
                                  viewed_sources([example], restricted), bertscore=False, device="cpu")
    assert abs(metrics["single"]["bleu"] - 1.0) < 1e-9                 # case and spacing are not errors
    # the source equals the reference here: copying it scores 1, and so does the output against its source
    assert metrics["single"]["copy_source_bleu"] == pytest.approx(1.0)
    assert metrics["single"]["output_source_bleu"] == pytest.approx(1.0)


def test_every_row_scores_what_copying_explains():
    """Beside BLEU: copying the source on the same sources, and the outputs scored against their sources."""
    from core.data import Seq2SeqExample
    from core.evaluate.seq2seq import diffuseq_sentence_bleu
    from experiments.seq2seq import evaluate_candidates

    examples = [Seq2SeqExample(src="how do i learn python fast", refs=["what is the fastest way to learn python"]),
                Seq2SeqExample(src="why is the sky blue", refs=["what makes the sky blue"])]
    refs, sources = [e.refs for e in examples], [e.src for e in examples]
    outputs = [["how do i learn python fast"], ["what makes the sky blue"]]    # one copy, one perfect paraphrase
    single = evaluate_candidates(outputs, refs, sources, bertscore=False, device="cpu")["single"]
    assert single["copy_source_bleu"] == pytest.approx(diffuseq_sentence_bleu(sources, refs))
    assert single["output_source_bleu"] == pytest.approx(
        (1.0 + diffuseq_sentence_bleu(["what makes the sky blue"], [["why is the sky blue"]])) / 2)
    assert single["bleu"] == pytest.approx((single["copy_source_bleu"] * 2 - diffuseq_sentence_bleu(
        [sources[1]], [refs[1]]) + 1.0) / 2)
    assert single["avg_len"] == pytest.approx((6 + 5) / 2)


def test_copy_source_yardstick(tmp_path):
    # a custom task whose targets equal their sources: copying scores BLEU 1; a changed target lowers it
    folder = tmp_path / "task"
    folder.mkdir()
    rows = [{"src": f"What is item number {i}?", "trg": f"What is item number {i}?"} for i in range(6)]
    rows[0]["trg"] = "Tell me something else entirely"
    for split in ("train", "valid", "test"):
        (folder / f"{split}.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    out = run("experiments.run", "method=copy_source", "task=qqp", f"data.path={folder}", "threads=1",
              "sampling.num_samples=6", "diffuseq.bertscore=false", f"results_dir={tmp_path / 'res'}")
    assert out.returncode == 0, out.stderr[-2000:]
    [path] = (tmp_path / "res" / "rows").glob("copy-source-task-test-n6-data-??????.json")   # own data, 6 of 64
    row = json.loads(path.read_text())
    assert row["method"] == "copy_source" and row["n_samples"] == 6 and row["nfe"] == 0
    assert 0.8 < row["metrics"]["single"]["bleu"] < 0.84                 # five of six sentences exact: 5/6 + a tiny bit
    assert row["outputs"][1] == ["what is item number 1?"]


def test_generate_texts_draws_disjoint_candidates_per_seed(monkeypatch):
    """The CLI seed reaches the sampler: candidate i of seed s uses sampler seed s·k + i."""
    import teachers.diffuseq
    from core.data import Seq2SeqExample
    from teachers.diffuseq_decode import generate_texts

    used = []

    def fake_generate(process, model, batch, *, steps, k_candidates, seeds, **kwargs):
        used.append(list(seeds))
        return batch["input_ids"][:, None].expand(-1, k_candidates, -1)

    monkeypatch.setattr(teachers.diffuseq, "sample_seq2seq", fake_generate)
    bert = load_tokenizer("bert")
    examples = [Seq2SeqExample(src="what is it?", refs=["what is this?"])]
    for seed in (0, 3):
        out = generate_texts(None, None, examples, bert, seq_len=16, steps=1, candidates=2, sampler="ddim",
                             respace="kept", clamp=True, batch_size=4, device="cpu", seed=seed)
        assert len(out) == 1 and len(out[0]) == 2
    assert used == [[0, 1], [6, 7]]
