"""Hugging Face API of the models: DiT.from_pretrained reads every committed teacher folder exactly as load_teacher
does, save_pretrained round-trips, Hub names resolve through the HF cache, and every export writes its model card."""
import json
import shutil

import pytest
import torch

from core.checkpoint import CONFIG_FILE
from core.errors import DataError
from core.evaluate.reference_ar import (TOKENIZER_KEY, TOKENIZER_SIDECAR, ar_config, build_ar_model, load_ar,
                                        reference_ar_tokenizer, save_ar)
from core.model_card import model_card
from core.networks.dit import DiT, DiTConfig, dit_config
from core.paths import CHECKPOINTS_DIR, RESULTS_DIR, rows_dir
from teachers.mdlm import MaskedDiffusion
from teachers.registry import load_teacher, save_teacher

DIT_FOLDERS = ["mdlm-shakespeare-small", "sedd-shakespeare-small", "duo-shakespeare-small",
               "duo_distilled-shakespeare-small"]


@pytest.mark.parametrize("name", DIT_FOLDERS)
def test_committed_teacher_folders_load_through_from_pretrained_as_through_load_teacher(name):
    folder = CHECKPOINTS_DIR / name
    network = DiT.from_pretrained(folder)
    teacher = load_teacher(folder)
    assert network.config == DiTConfig(**json.loads((folder / CONFIG_FILE).read_text())["network"])
    assert not network.training
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, network.config.vocab_size, (2, teacher.seq_len), generator=g)
    sigma = torch.rand(2, generator=g)
    with torch.no_grad():
        assert torch.equal(network(x, sigma), teacher.network(x, sigma))


def test_save_pretrained_round_trip_writes_config_weights_and_card(tmp_path):
    torch.manual_seed(0)
    network = DiT(dit_config("tiny", 7))
    with torch.no_grad():
        for p in network.parameters():
            p.normal_()   # adaLN-zero starts at zero: random weights make the comparison mean something
    network.save_pretrained(tmp_path / "dit")
    assert sorted(p.name for p in (tmp_path / "dit").iterdir()) == ["README.md", "config.json", "model.safetensors"]
    assert json.loads((tmp_path / "dit" / "config.json").read_text()) == network.config.to_dict()
    assert "library_name: dlm-distill" in (tmp_path / "dit" / "README.md").read_text()
    loaded = DiT.from_pretrained(tmp_path / "dit")
    x, sigma = torch.randint(0, 7, (3, 5)), torch.rand(3)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x, sigma), network.eval()(x, sigma), rtol=0, atol=0)


def test_from_pretrained_refuses_a_folder_that_holds_no_dit(tmp_path):
    with pytest.raises(DataError, match=r"not a DiT config: unknown keys \['activation_function'"):
        DiT.from_pretrained(CHECKPOINTS_DIR / "ar-shakespeare-small")
    network = DiT(dit_config("tiny", 7))
    network.save_pretrained(tmp_path / "dit")
    config = {**network.config.to_dict(), "n_blocks": 2}   # the weights hold one block
    (tmp_path / "dit" / "config.json").write_text(json.dumps(config))
    with pytest.raises(DataError, match=r"missing keys \['blocks\.1\.adaLN_modulation\.bias'"):
        DiT.from_pretrained(tmp_path / "dit")


def test_hub_names_resolve_through_the_hf_cache_and_fail_in_one_line_offline(tmp_path, monkeypatch):
    import huggingface_hub
    from huggingface_hub import constants

    calls = []

    def fake_snapshot_download(repo_id, *, allow_patterns, local_files_only=False, **options):
        calls.append((repo_id, allow_patterns, local_files_only))
        if repo_id != "someone/mdlm-shakespeare":
            raise FileNotFoundError("not cached")
        copy = tmp_path / "cache" / "snapshot"
        shutil.copytree(CHECKPOINTS_DIR / "mdlm-shakespeare-small", copy, dirs_exist_ok=True)
        return str(copy)
    monkeypatch.setattr(huggingface_hub, "snapshot_download", fake_snapshot_download)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    teacher = load_teacher("someone/mdlm-shakespeare")
    assert teacher.family == "mdlm" and teacher.seq_len == 128
    assert DiT.from_pretrained("someone/mdlm-shakespeare").config == teacher.network.config
    assert calls[0] == ("someone/mdlm-shakespeare", ["*.json", "model.safetensors", "README.md"], True)
    with pytest.raises(DataError, match="someone/absent: not a local path and not in the Hugging Face cache .*"
                                        "HF_HUB_OFFLINE is set"):
        load_teacher("someone/absent")


def test_save_teacher_writes_a_model_card_with_provenance_and_result_rows(tmp_path):
    torch.manual_seed(0)
    process = MaskedDiffusion(5)
    network = DiT(dit_config("tiny", process.network_vocab_size))
    row = json.loads((rows_dir(RESULTS_DIR) / "mdlm-shakespeare-small-steps64.json").read_text())
    provenance = {"command": "python -m experiments.pretrain teacher=mdlm preset=tiny", "commit": "abc123+dirty",
                  "train_step": 40}
    folder = save_teacher(tmp_path / "mdlm-tiny", family="mdlm", network=network, process_config=process.config(),
                          tokenizer_name="char", seq_len=16, provenance=provenance, metrics=[row])
    card = (folder / "README.md").read_text().splitlines()
    n_params = sum(p.numel() for p in network.parameters())
    assert card[:7] == ["---", "library_name: dlm-distill", "tags:", "- diffusion-language-model", "- mdlm", "---", ""]
    assert "# mdlm-tiny" in card
    assert "| family | `mdlm` |" in card
    assert f"| parameters | {n_params:,} ({n_params / 1e6:.2f}M) |" in card
    assert "| tokenizer | `char` (a `core.tokenizers` name) |" in card and "| sequence length | 16 |" in card
    assert provenance["command"] in card
    assert "* commit: `abc123+dirty`" in card and any("uncommitted changes" in line for line in card)
    assert "* train_step: `40`" in card
    header = next(line for line in card if line.startswith("| method |"))
    assert header == "| method | steps | nfe | samples | gen_ppl | gen_ppl_ci95 | entropy | commit |"
    assert "| teacher | 64 | 55.91 | 64 | 11.32 | [10.71, 11.97] | 3.109 | `e5359add7ed6+dirty` |" in card
    # without provenance the card says so rather than inventing a command
    bare = model_card(folder="x", family="mdlm", description="d", parameters=1, tokenizer="char", seq_len=4, load="")
    assert "No provenance was recorded for this export." in bare and "## Results" not in bare


def test_reference_ar_reads_the_committed_sidecar_folder_and_writes_the_tokenizer_into_config(tmp_path):
    committed = CHECKPOINTS_DIR / "ar-shakespeare-small"
    model, tokenizer_name = load_ar(committed)
    assert tokenizer_name == "char" and reference_ar_tokenizer(committed) == "char"
    torch.manual_seed(0)
    tiny = build_ar_model(ar_config("tiny", vocab_size=20, seq_len=16))
    folder = save_ar(tiny, "char", tmp_path / "ar-tiny", provenance={"command": "c", "commit": "deadbeef"})
    assert not (folder / TOKENIZER_SIDECAR).exists()
    assert json.loads((folder / "config.json").read_text())[TOKENIZER_KEY] == "char"
    card = (folder / "README.md").read_text()
    assert "- ar\n" in card and "| sequence length | 16 |" in card and "* commit: `deadbeef`" in card
    reloaded, name = load_ar(folder)
    ids = torch.randint(0, 20, (1, 8))
    assert name == "char"
    assert torch.equal(reloaded(input_ids=ids).logits, tiny.eval()(input_ids=ids).logits)
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="holds no reference AR model"):
        load_ar(tmp_path / "empty")


def test_model_card_command_lists_the_rows_that_sampled_the_folder(tmp_path):
    from experiments.reports.__main__ import main

    folder = tmp_path / "runs" / "mdlm-copy" / "pretrained"
    shutil.copytree(CHECKPOINTS_DIR / "mdlm-shakespeare-small", folder)
    results = tmp_path / "results"
    results.mkdir()
    row = json.loads((rows_dir(RESULTS_DIR) / "mdlm-shakespeare-small-steps64.json").read_text())
    for name, temperature in (("a", 1.0), ("b", 0.9)):
        (results / f"{name}.json").write_text(json.dumps({**row, "teacher_path": str(folder),
                                                          "temperature": temperature}))
    (results / "other.json").write_text(json.dumps(row))   # a row of the committed folder, not of this one
    assert main(["cards", str(folder), "--results-dir", str(results)]) == 0
    card = (folder / "README.md").read_text().splitlines()
    assert "# mdlm-copy" in card   # the run's name, not the fixed export name "pretrained"
    assert f'teacher = load_teacher("{folder}")' in card
    table = [line for line in card if line.startswith("| sample |") or line.startswith("| method |")]
    commit, nfe = row["commit"][:12] + ("+dirty" if row["commit"].endswith("+dirty") else ""), f"{row['nfe']:.4g}"
    assert table == ["| method | steps | temperature | nfe | samples | gen_ppl | gen_ppl_ci95 | entropy | commit |",
                     f"| sample | 64 | 0.9 | {nfe} | 64 | 11.32 | [10.71, 11.97] | 3.109 | `{commit}` |",
                     f"| sample | 64 | 1 | {nfe} | 64 | 11.32 | [10.71, 11.97] | 3.109 | `{commit}` |"]
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match=r"empty/model\.safetensors: missing"):
        main(["cards", str(tmp_path / "empty")])


def test_a_folder_saved_as_family_dcd_loads_checks_and_gets_its_card_as_duo_distilled(tmp_path):
    """Folders exported before the Duo model after DCD was named duo_distilled say "family": "dcd" (the committed ones
    too): the loader, the start-up checks and the model card read them under today's name, rewriting nothing."""
    from experiments.config import load_config
    from experiments.reports.model_cards import card_for
    from teachers.duo import UniformDiffusion

    torch.manual_seed(0)
    process = UniformDiffusion(66)   # the char tokenizer's vocabulary
    network = DiT(dit_config("tiny", process.network_vocab_size)).eval()
    folder = save_teacher(tmp_path / "old-export", family="duo_distilled", network=network,
                          process_config=process.config(), tokenizer_name="char", seq_len=16)
    saved = json.loads((folder / CONFIG_FILE).read_text())
    (folder / CONFIG_FILE).write_text(json.dumps({**saved, "family": "dcd"}))
    teacher = load_teacher(folder)
    assert teacher.family == teacher.config["family"] == "duo_distilled"
    assert isinstance(teacher.process, UniformDiffusion) and teacher.process.config() == process.config()
    x, sigma = torch.randint(0, 66, (2, 16)), torch.rand(2)
    with torch.no_grad():
        assert torch.equal(teacher.network(x, sigma), network(x, sigma))
    cfg = load_config(["teacher=duo_distilled", f"teacher_path={folder}", f"results_dir={tmp_path / 'rows'}"])
    assert cfg.teacher_path == str(folder)
    assert "| family | `duo_distilled` |" in card_for(folder, RESULTS_DIR).splitlines()
    assert json.loads((folder / CONFIG_FILE).read_text())["family"] == "dcd"


@pytest.mark.parametrize("name", ["diffuseq-qqp-small", "dlm_one-qqp-small-stage2"])
def test_committed_diffuseq_folders_load_through_from_pretrained_as_through_the_project_loader(name):
    from core.networks.diffuseq_net import DiffuSeqNet, DiffuSeqNetConfig
    from teachers.diffuseq_checkpoint import from_pretrained
    folder = CHECKPOINTS_DIR / name
    network = DiffuSeqNet.from_pretrained(folder)
    reference, _ = from_pretrained(folder)
    assert network.config == DiffuSeqNetConfig(**json.loads((folder / CONFIG_FILE).read_text())["network"])
    assert not network.training and network.lm_head.weight.data_ptr() == network.word_embedding.weight.data_ptr()
    g = torch.Generator().manual_seed(0)
    x, t = torch.randn(2, 8, network.config.emb_dim, generator=g), torch.rand(2, generator=g) * 1000
    with torch.no_grad():
        assert torch.equal(network(x, t), reference(x, t))
        assert torch.equal(network.get_logits(x), reference.get_logits(x))


def test_diffuseq_save_pretrained_round_trip_keeps_the_tied_head(tmp_path):
    from core.networks.diffuseq_net import DiffuSeqNet, diffuseq_config
    torch.manual_seed(0)
    network = DiffuSeqNet(diffuseq_config("tiny", 11)).eval()
    network.save_pretrained(tmp_path / "net")
    assert sorted(p.name for p in (tmp_path / "net").iterdir()) == ["README.md", "config.json", "model.safetensors"]
    loaded = DiffuSeqNet.from_pretrained(tmp_path / "net")
    x, t = torch.randn(3, 5, 16), torch.rand(3)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x, t), network(x, t), rtol=0, atol=0)
    assert loaded.lm_head.weight.data_ptr() == loaded.word_embedding.weight.data_ptr()
    with pytest.raises(DataError, match="not a DiffuSeq network config: unknown keys"):
        DiffuSeqNet.from_pretrained(CHECKPOINTS_DIR / "mdlm-shakespeare-small")
