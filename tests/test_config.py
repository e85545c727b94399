"""Config tree: defaults, overrides, and one clear error for every kind of bad input."""
import subprocess
import sys

import pytest

from core.errors import ConfigError
from core.paths import REPO_ROOT
from experiments.config import load_config
from experiments.naming import run_name


def test_defaults_and_overrides():
    cfg = load_config(["teacher=mdlm", "steps=16", "train.lr=0.01", "sampling.float64=false"])
    assert cfg.steps == 16 and cfg.train.lr == 0.01 and cfg.sampling.float64 is False
    assert run_name(cfg) == "mdlm-shakespeare-small"
    assert run_name(load_config(["teacher=diffuseq", "task=qg"])) == "diffuseq-qg-small"


def test_teacher_overlay_applies_and_cli_wins():
    assert load_config(["teacher=mdlm"]).train.lr == 1e-3          # from configs/teachers/mdlm.yaml
    assert load_config(["teacher=mdlm", "train.lr=2e-4"]).train.lr == 2e-4


def test_unknown_key_lists_valid_keys():
    with pytest.raises(ConfigError, match=r"unknown config key\(s\) \['train.lrr'\].*train\.lr"):
        load_config(["train.lrr=1"])


def test_wrong_type_is_refused():
    with pytest.raises(ConfigError, match="'steps' expects int"):
        load_config(["steps=abc"])
    with pytest.raises(ConfigError, match="'sampling.float64' expects bool"):
        load_config(["sampling.float64=3"])


def test_bad_choice_is_refused():
    with pytest.raises(ConfigError, match=r"'teacher' = 'gpt' is not one of"):
        load_config(["teacher=gpt"])


def test_malformed_argument():
    with pytest.raises(ConfigError, match="not of the form key=value"):
        load_config(["steps"])


def test_non_positive_steps():
    with pytest.raises(ConfigError, match="positive integer"):
        load_config(["steps=0"])


@pytest.mark.parametrize("module", ["experiments.run", "experiments.pretrain"])
def test_cli_help_and_error_exit(module):
    out = subprocess.run([sys.executable, "-m", module, "--help"], cwd=REPO_ROOT, capture_output=True, text=True)
    assert out.returncode == 0
    for word in ("mdlm", "duo", "sedd", "diffuseq", "qqp", "tiny", "small"):
        assert word in out.stdout
    bad = subprocess.run([sys.executable, "-m", module, "nope=1"], cwd=REPO_ROOT, capture_output=True, text=True)
    assert bad.returncode == 2 and "unknown config key" in bad.stderr and "Traceback" not in bad.stderr


def test_teacher_ar_is_refused_by_run_and_accepted_by_pretrain_at_its_sizes():
    with pytest.raises(ConfigError, match=r"^teacher=ar is the reference GenPPL evaluator, not a model method=sample"):
        load_config(["teacher=ar"])
    assert load_config(["teacher=ar"], command="pretrain").teacher == "ar"
    with pytest.raises(ConfigError, match=r"^preset=base has no reference AR model size; teacher=ar takes preset "
                                          r"tiny or small$"):
        load_config(["teacher=ar", "preset=base"], command="pretrain")
    with pytest.raises(ConfigError, match=r"^method=idlm distils a discrete diffusion teacher \(mdlm, sedd, duo, "
                                          r"duo_distilled\), not teacher=diffuseq$"):
        load_config(["method=idlm", "teacher=diffuseq"])
    with pytest.raises(ValueError, match="unknown command 'train'"):
        load_config([], command="train")


def test_ancestral_diffuseq_sampler_refuses_the_ddim_respacing():
    with pytest.raises(ConfigError, match=r"^diffuseq.respace=diffuseq is a DDIM behaviour; diffuseq.sampler=ancestral"
                                          r" only runs with diffuseq.respace=kept$"):
        load_config(["teacher=diffuseq", "diffuseq.sampler=ancestral", "diffuseq.respace=diffuseq"])
    assert load_config(["teacher=diffuseq", "diffuseq.sampler=ancestral"]).diffuseq.respace == "kept"
    assert load_config(["teacher=diffuseq", "diffuseq.respace=diffuseq"]).diffuseq.sampler == "ddim"


@pytest.mark.parametrize("teacher, key, value, default", [
    ("diffuseq", "sampling.predictor", "euler", "default"),
    ("diffuseq", "sampling.temperature", "0.9", "1.0"),
    ("diffuseq", "sampling.top_p", "0.9", "1.0"),
    ("diffuseq", "sampling.cache", "false", "true"),
    ("diffuseq", "eval.mauve", "true", "auto"),
    ("diffuseq", "eval.diversity", "false", "true"),
    ("ar_seq2seq", "eval.diversity_valid_words", "300", "600"),
    ("sedd", "sampling.cache", "false", "true"),
    ("duo", "sampling.cache", "false", "true"),
    ("duo_distilled", "sampling.cache", "false", "true"),
])
def test_options_the_teacher_would_ignore_are_refused_unless_default(teacher, key, value, default):
    with pytest.raises(ConfigError, match=rf"^{key}={value} has no effect with teacher={teacher}, whose sampler "
                                          rf"ignores it; leave it at its default \({default}\)$"):
        load_config([f"teacher={teacher}", f"{key}={value}"])
    assert load_config([f"teacher={teacher}", f"{key}={default}"]).teacher == teacher   # the default is accepted
    # pretraining and the methods that sample no teacher do not read these keys either: refused too
    with pytest.raises(ConfigError, match=rf"^{key}={value} has no effect here: pretraining neither samples"):
        load_config([f"teacher={teacher}", f"{key}={value}"], command="pretrain")
    with pytest.raises(ConfigError, match=r"^teacher=.* has no effect here: method=real_text scores held-out text"):
        load_config(["method=real_text", f"teacher={teacher}", f"{key}={value}"])


def test_mdlm_keeps_every_sampling_option():
    cfg = load_config(["sampling.cache=false", "sampling.temperature=0.9", "sampling.top_p=0.9", "eval.mauve=true"])
    assert (cfg.sampling.cache, cfg.sampling.temperature, cfg.sampling.top_p, cfg.eval.mauve) == (False, 0.9, 0.9, True)


def test_mauve_features_follow_the_corpus_and_a_key_without_effect_is_refused():
    from experiments.distribution import mauve_features, mauve_wanted, wanted_metrics

    # (corpus=english: the pretraining config, as `run` checks for an English evaluator this checkout lacks)
    char, bpe = load_config([]), load_config(["corpus=english"], command="pretrain")
    # auto: MAUVE on the evaluator's features for the char corpus, on by default; MiniLM for English, off by default
    assert (mauve_features(char), mauve_wanted(char), wanted_metrics(char)) == ("evaluator", True,
                                                                                ["diversity", "mauve_ar"])
    assert (mauve_features(bpe), mauve_wanted(bpe), wanted_metrics(bpe)) == ("minilm", False, ["diversity"])
    minilm = load_config(["eval.mauve=true", "eval.mauve_features=minilm"])
    assert wanted_metrics(minilm) == ["diversity", "mauve"]
    assert wanted_metrics(load_config(["eval.mauve=false", "eval.diversity=false"])) == []
    with pytest.raises(ConfigError, match=r"^eval.mauve_features=minilm has no effect here: MAUVE is off "
                                          r"\(eval.mauve=auto"):
        load_config(["eval.mauve_features=minilm"])
    with pytest.raises(ConfigError, match=r"^eval.diversity_valid_words=300 has no effect here: eval.diversity=false"):
        load_config(["eval.diversity=false", "eval.diversity_valid_words=300"])
    with pytest.raises(ConfigError, match=r"^config key 'eval.mauve' = 'maybe' is not one of"):
        load_config(["eval.mauve=maybe"])


def test_run_refuses_teacher_ar_in_one_line_without_traceback():
    out = subprocess.run([sys.executable, "-m", "experiments.run", "teacher=ar"], cwd=REPO_ROOT, capture_output=True,
                         text=True)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert out.stderr.startswith("error: teacher=ar is the reference GenPPL evaluator") and out.stderr.count("\n") == 1


def test_train_settings_defaults_are_the_yaml_defaults():
    import dataclasses

    from omegaconf import OmegaConf

    from core.training import TrainSettings
    from experiments.keys import CONFIG_DIR

    yaml_train = OmegaConf.to_container(OmegaConf.load(CONFIG_DIR / "defaults.yaml").train)
    defaults = {field.name: field.default for field in dataclasses.fields(TrainSettings)}
    # betas: the one setting the config does not expose; micro_batch and seed come from train.batch_size and seed;
    # budget is the distillation baselines' (distill.budget)
    assert set(defaults) - set(yaml_train) == {"betas", "micro_batch", "seed", "budget"}
    assert {name: defaults[name] for name in defaults if name in yaml_train} == \
        {name: yaml_train[name] for name in defaults if name in yaml_train}


def test_help_explains_every_key_from_the_defaults_and_the_data_formats():
    from experiments.config import help_text

    text = help_text()
    assert "sampling.top_p = 1.0" in text and "run_dir = null" in text
    line = next(line for line in text.splitlines() if line.startswith("  dlm_one.t_init = 1999"))
    # a comment continued on the next line of defaults.yaml is kept whole
    assert line.endswith("the generator's level. Table 5: 1490, but this teacher maps noise at 1490 to near-empty "
                         "outputs (pilot BLEU 0.003); T-1 is its own one-step map (BLEU 0.046)")
    assert "train.max_minutes = 0.0" in text and "stop cleanly after this many minutes" in text
    for phrase in ('{"text": ...} document per line', '{"src": ..., "trg": ...} pair per line',
                   "rows with the same src become one example with several references", "shakespeare -> char"):
        assert phrase in text


def test_round_methods_take_their_teacher_and_halvable_step_counts_only():
    assert load_config(["method=sdtt"]).steps == 8 and load_config(["method=sdtt", "steps=16"]).steps == 16
    assert load_config(["method=dcd", "teacher=duo"]).steps == 8
    with pytest.raises(ConfigError, match=r"^method=sdtt distils a teacher=mdlm model, not teacher=sedd$"):
        load_config(["method=sdtt", "teacher=sedd"])
    with pytest.raises(ConfigError, match=r"^method=dcd distils a teacher=duo model, not teacher=mdlm$"):
        load_config(["method=dcd"])
    with pytest.raises(ConfigError, match=r"^method=sdtt halves the step count each round from sdtt.base_steps=1024: "
                                          r"steps=12 must be sdtt.base_steps / 2\^n with n >= 1$"):
        load_config(["method=sdtt", "steps=12"])
    with pytest.raises(ConfigError, match=r"steps=64 must be dcd.base_steps / 2\^n"):
        load_config(["method=dcd", "teacher=duo", "steps=64"])
    # an existing student is evaluated at any K
    assert load_config(["method=sdtt", "steps=12", "student_path=somewhere"]).steps == 12
    with pytest.raises(ConfigError, match=r"^distill.fake_lr=0.001 has no effect here: method=sdtt trains no fake "
                                          r"model and runs its rounds' steps \(sdtt.base_steps, sdtt.\*\)$"):
        load_config(["method=sdtt", "distill.fake_lr=1e-3"])
    with pytest.raises(ConfigError, match="'sdtt.loss' = 'l1' is not one of"):
        load_config(["method=sdtt", "sdtt.loss=l1"])


def test_a_missing_overlay_is_an_error_not_a_silent_default(tmp_path, monkeypatch):
    """An install without configs/teachers/ must not train Duo at the learning rate its overlay says diverges."""
    import shutil

    import experiments.config as config
    from core.errors import ConfigError

    shutil.copytree(config.CONFIG_DIR, tmp_path / "configs")
    (tmp_path / "configs" / "teachers" / "duo.yaml").unlink()
    (tmp_path / "configs" / "corpora" / "lm1b.yaml").unlink()
    monkeypatch.setattr(config, "CONFIG_DIR", tmp_path / "configs")
    with pytest.raises(ConfigError, match=r"teachers/duo\.yaml is missing: the package was installed without"):
        config.load_config(["method=idlm", "teacher=duo"])
    with pytest.raises(ConfigError, match=r"corpora/lm1b\.yaml is missing"):
        config.load_config(["corpus=lm1b"])
    assert config.load_config(["teacher=mdlm"]).teacher == "mdlm"   # embedded corpora need no overlay
