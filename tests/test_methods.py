"""The method table (experiments/methods.py): every per-method decision reads its entry, so its entries must name
real recipes and real keys, and a key the chosen method does not read is refused with the key to use."""
import inspect

import pytest
from omegaconf import OmegaConf

from core.errors import ConfigError
from core.paths import RUNS_DIR
from experiments.reports.provenance import METHOD_SOURCES
from experiments.config import CHOICES, load_config
from experiments.keys import CONFIG_DIR, flat_keys
from experiments.methods import METHODS
from experiments.naming import method_run_dir


def test_every_recipe_is_a_function_of_cfg_and_device():
    from experiments.run import recipe_of

    for name, spec in METHODS.items():
        assert list(inspect.signature(recipe_of(spec)).parameters)[:2] == ["cfg", "device"], name


def test_every_key_a_method_names_is_a_config_key():
    valid = flat_keys(OmegaConf.load(CONFIG_DIR / "defaults.yaml"))
    for name, spec in METHODS.items():
        for key in (*spec.reads, *spec.refusals, *spec.overlay, *spec.diffusion_step_keys):
            assert key in valid or (key.endswith(".") and any(k.startswith(key) for k in valid)), (name, key)


def test_the_choices_and_the_stale_row_sources_come_from_the_table():
    assert CHOICES["method"] == list(METHODS)
    # the shared loops are sources of the methods that train on them: a fix to them marks those rows stale
    assert {"idlm", "core/distill.py", "core/cost.py", "experiments/idlm.py"} <= set(METHOD_SOURCES["idlm"])
    assert {"dlm_one", "core/distill.py", "experiments/dlm_one.py"} <= set(METHOD_SOURCES["dlm_one"])
    for method in ("sdtt", "dcd"):
        assert {"core/training.py", "core/cost.py", "experiments/rounds.py", f"experiments/{method}.py",
                f"baselines/{method}.py"} <= set(METHOD_SOURCES[method])


def test_run_folders_keep_their_names():
    assert method_run_dir(load_config(["method=idlm"])) == RUNS_DIR / "idlm-mdlm-shakespeare-small"
    assert method_run_dir(load_config(["method=sdtt"])) == RUNS_DIR / "sdtt-mdlm-shakespeare-small-steps8"
    assert method_run_dir(load_config(["method=dcd", "teacher=duo", "steps=16"])) == \
        RUNS_DIR / "dcd-duo-shakespeare-small-steps16"
    # the DCD method names its runs; the model it makes is the teacher duo_distilled
    assert method_run_dir(load_config(["method=idlm", "teacher=duo_distilled"])) == \
        RUNS_DIR / "idlm-duo_distilled-shakespeare-small"
    assert method_run_dir(load_config(["method=dlm_one", "task=qg"])) == RUNS_DIR / "dlm_one-diffuseq-qg-small"
    # a student trained on a sampler's grid and selected at its K never resumes the default run
    assert method_run_dir(load_config(["method=idlm", "teacher=duo", "steps=1", "idlm.val_steps=1",
                                       "idlm.grid_steps=1", "sampling.predictor=latent"])) == \
        RUNS_DIR / "idlm-duo-shakespeare-small-val1-grid1"


@pytest.mark.parametrize("args, message", [
    (["method=real_text", "sampling.temperature=0.5"],
     r"^sampling.temperature=0.5 has no effect here: method=real_text reads only sampling.num_samples, "
     r"sampling.batch_size of the sampling.\* keys; sampling.temperature applies to method=sample\|idlm\|didi\|sdtt\|dcd$"),
    (["method=dlm_one", "sampling.top_p=0.9"], r"^sampling.top_p=0.9 has no effect here: method=dlm_one reads only"),
    (["method=copy_source", "sampling.batch_size=4"], r"method=copy_source reads only sampling.num_samples of"),
    (["method=sample", "run_dir=elsewhere"],
     r"^run_dir=elsewhere has no effect here: method=sample does not read it; it applies to "
     r"method=idlm\|didi\|sdtt\|dcd\|dlm_one$"),
    (["method=sample", "distill.max_steps=3"], r"^distill.max_steps=3 has no effect here: method=sample distils "
                                               r"nothing"),
    (["method=dlm_one", "distill.fake_lr=1e-3"], r"per stage \(Table 5 and the dlm_one block\): use dlm_one.fake_lr$"),
    (["method=sdtt", "distill.fake_steps=2"], r"^distill.fake_steps=2 has no effect here: method=sdtt trains no fake "
                                              r"model"),
])
def test_a_key_the_method_does_not_read_is_refused_with_what_to_use(args, message):
    with pytest.raises(ConfigError, match=message):
        load_config(args)


def test_the_keys_a_method_reads_are_accepted():
    cfg = load_config(["method=sdtt", "distill.lr=3e-4", "sdtt.steps_per_round=60", "sampling.top_p=0.9"])
    assert (cfg.distill.lr, cfg.sdtt.steps_per_round, cfg.sampling.top_p) == (3e-4, 60, 0.9)
    cfg = load_config(["method=dlm_one", "distill.max_minutes=6", "sampling.batch_size=8", "run_dir=elsewhere"])
    assert (cfg.teacher, cfg.distill.max_minutes, cfg.sampling.batch_size) == ("diffuseq", 6, 8)
