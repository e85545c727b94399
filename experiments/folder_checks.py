"""Start-up checks of the folders a command reads and writes (experiments.checks holds those of the values): output
folders that cannot be written, model folders (teacher, student, evaluator) that do not fit, and saved training states
of another run. All run before any model loads; each refusal is one line.
"""
from __future__ import annotations

import os
from pathlib import Path

from omegaconf import DictConfig

from core.errors import ConfigError
from experiments.keys import flat_keys
from experiments.methods import AR_BASELINES, SEQ2SEQ_TEACHERS, is_seq2seq, method_spec
from experiments.naming import method_run_dir, results_dir, run_folder_name, run_name


def check_output_folder(key: str, folder) -> None:
    """A folder the command will write into: a folder already, or creatable and writable."""
    path = Path(folder).expanduser()
    if path.exists() and not path.is_dir():
        raise ConfigError(f"{key}={folder} is a file, not a folder")
    existing = next(p for p in [path, *path.parents] if p.exists())
    if not existing.is_dir():
        raise ConfigError(f"{key}={folder} cannot be created: {existing} is a file")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ConfigError(f"{key}={folder} is not writable ({existing} does not allow writing)")


def check_evaluator(name: str) -> None:
    """eval.evaluator: "auto", a model folder (config.json), or a model name in the local Hugging Face cache."""
    if name == "auto":
        return
    path = Path(name).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise ConfigError(f"eval.evaluator={name}: the folder has no config.json (expected a reference AR model "
                              f"from `python -m experiments.pretrain teacher=ar` or a Hugging Face causal LM folder)")
        from core.checkpoint import read_json
        config = read_json(path / "config.json")
        if isinstance(config, dict) and config.get("family"):   # the project's own models; transformers has no family
            raise ConfigError(f"eval.evaluator={name} holds a {config['family']} diffusion model (its config.json), "
                              f"not an AR evaluator; pass a causal LM folder (e.g. checkpoints/ar-shakespeare-small) "
                              f"or leave it at auto")
        return
    if path.exists():
        raise ConfigError(f"eval.evaluator={name} is a file, not a model folder")
    from huggingface_hub import try_to_load_from_cache
    try:
        cached = try_to_load_from_cache(name, "config.json")
    except Exception:  # not a valid repository id either
        cached = None
    if not isinstance(cached, str):
        raise ConfigError(f"eval.evaluator={name} is neither a model folder nor a model in the local Hugging Face "
                          f"cache; pass a folder (e.g. checkpoints/ar-shakespeare-small) or leave it at auto")


def check_tokenizer_fits(config: dict, source: Path) -> None:
    """The tokenizer a DiT teacher's config names exists and has as many tokens as the model's vocabulary."""
    from core.tokenizers import load_tokenizer

    try:
        tokenizer = load_tokenizer(config["tokenizer"])
    except ConfigError as err:
        raise ConfigError(f"{source}: {err}") from None
    vocab = config["process"].get("vocab_size")
    if vocab is not None and tokenizer.vocab_size != vocab:
        raise ConfigError(f"{source}: the tokenizer {config['tokenizer']!r} has {tokenizer.vocab_size} tokens, but "
                          f"the model's vocabulary has {vocab}: they do not fit")


def check_auto_evaluator(cfg: DictConfig) -> None:
    """eval.evaluator=auto needs gpt2-large in the local Hugging Face cache or the corpus's reference AR model."""
    if cfg.eval.evaluator != "auto":
        return
    from huggingface_hub import try_to_load_from_cache

    from core.evaluate.unconditional import GPT2_LARGE
    from experiments.loading import evaluator_command, reference_evaluator, reference_evaluator_name

    if isinstance(try_to_load_from_cache(GPT2_LARGE, "config.json"), str) or reference_evaluator(cfg) is not None:
        return
    what = (f"no reference AR model was trained on data.path={cfg.data.path} (none at runs/"
            f"{reference_evaluator_name(cfg)}/pretrained)" if cfg.data.path else
            f"corpus={cfg.corpus} has no reference AR model (checkpoints/{reference_evaluator_name(cfg)})")
    raise ConfigError(f"GenPPL needs an evaluator: {GPT2_LARGE} is not in the local Hugging Face cache and {what}; "
                      f"train it with `{evaluator_command(cfg)}`, or pass eval.evaluator=<a model folder>")


def check_teacher_folder(cfg: DictConfig, folder: Path, command: str, key: str = "teacher_path") -> None:
    """The config.json of the teacher (or of a distilled student, key="student_path"), read without the weights, fits
    the command: family, tokenizer and vocabulary, task or corpus, the method that made a student, and the keys
    bounded by a DiffuSeq model's diffusion steps."""
    from core.checkpoint import read_json
    from experiments.data_identity import check_data_matches
    from experiments.setup import corpus_tokenizer_name

    if cfg.teacher in AR_BASELINES:
        check_data_matches(cfg, folder, key)
        return   # transformers GPT-2 folders, not project teachers: their loader checks them (experiments/ar_baseline.py)
    from teachers.registry import DUO_DISTILLED, check_dit_teacher_config, with_current_family
    config = read_json(folder / "config.json", missing="no config.json (expected a pretrained model folder)")
    if not isinstance(config, dict):
        raise ConfigError(f"{folder / 'config.json'}: expected a JSON object, got {type(config).__name__}")
    config = with_current_family(config)   # a folder saved as family "dcd" is a duo_distilled one
    family = config.get("family")
    # the Duo model after DCD is a Duo model (same process and sampler) saved as family "duo_distilled": the
    # teacher=duo_distilled checkpoint (pretrain starts it from a Duo), and the student of method=dcd teacher=duo
    # (MethodSpec.student_family)
    student_family = method_spec(cfg.method).student_family if key == "student_path" and command == "run" else None
    wanted = ("duo", DUO_DISTILLED) if cfg.teacher == DUO_DISTILLED else \
        (cfg.teacher, *([student_family] if student_family else []))
    if family not in wanted:
        raise ConfigError(f"{key}={folder} holds a {family or config.get('model_type') or 'non-project'!r} model "
                          f"(its config.json), not a teacher={cfg.teacher} model")
    provenance = config.get("provenance") if isinstance(config.get("provenance"), dict) else {}
    if key == "student_path":
        check_student_provenance(cfg, folder, provenance)
    if family != "diffuseq":
        check_dit_teacher_config(config, folder / "config.json")
        check_tokenizer_fits(config, folder / "config.json")
    elif command == "run":
        check_teacher_steps(cfg, folder, config.get("process", {}).get("num_steps"))
    if command == "run" and key == "teacher_path":
        for check in method_spec(cfg.method).teacher_checks:
            check(folder, config)
    if cfg.data.path:
        pass   # the embedded task/corpus says nothing of data.path's data: they are compared by content below
    elif family == "diffuseq":
        if config.get("task") not in (None, cfg.task):
            raise ConfigError(f"{key}={folder} was trained on task {config['task']}, not task={cfg.task} "
                              f"(pass task={config['task']})")
    elif config.get("tokenizer") not in (None, corpus_tokenizer_name(cfg.corpus)):
        raise ConfigError(f"{key}={folder} holds a model on the {config['tokenizer']!r} tokenizer, but "
                          f"corpus={cfg.corpus} uses {corpus_tokenizer_name(cfg.corpus)!r}")
    elif provenance.get("corpus") not in (None, cfg.corpus):
        raise ConfigError(f"{key}={folder} was trained on corpus {provenance['corpus']}, not corpus={cfg.corpus} "
                          f"(pass corpus={provenance['corpus']})")
    check_data_matches(cfg, folder, key)


def check_student_provenance(cfg: DictConfig, folder: Path, provenance: dict) -> None:
    """A distilled student records the method that made it (its config.json's provenance); another method would
    evaluate it under its own name. A folder without one (a teacher as its own one-step map) is taken as is."""
    made_by = provenance.get("method")
    if made_by not in (None, cfg.method):
        raise ConfigError(f"student_path={folder} holds a student made by method={made_by} (its config.json), not "
                          f"by method={cfg.method}; evaluate it with method={made_by}")


def check_teacher_steps(cfg: DictConfig, folder: Path, num_steps: int | None) -> None:
    """The keys that index the DiffuSeq model's diffusion steps stay within its T (MethodSpec.diffusion_step_keys)."""
    values = flat_keys(cfg)
    for key, below in method_spec(cfg.method).diffusion_step_keys.items():
        if num_steps and values[key] > num_steps - below:
            raise ConfigError(f"{key}={values[key]} is more than the {num_steps} diffusion steps of {folder} allow: "
                              f"it must be at most {num_steps - below}")


def model_folders(cfg: DictConfig, command: str) -> list[tuple[str, Path]]:
    """(key, folder) of the teacher and the student the command loads; a missing folder is reported when it is
    loaded (find_pretrained), still before any model loads."""
    from core.paths import CHECKPOINTS_DIR, RUNS_DIR

    folders = []
    spec = method_spec(cfg.method) if command == "run" else None
    loads_teacher = (command == "run" and spec.reads_key("teacher_path") and not (spec.student_alone and
                                                                                   cfg.student_path)) \
        or (command == "pretrain" and cfg.teacher == "duo_distilled")
    if loads_teacher and command == "run" and cfg.data.path and not cfg.teacher_path:
        trained_here = RUNS_DIR / run_folder_name(cfg) / "pretrained"   # what `pretrain data.path=<same>` wrote
        if not (trained_here / "config.json").is_file():
            raise ConfigError(f"data.path={cfg.data.path} needs the teacher trained on it: pass teacher_path=<its "
                              f"pretrained folder> (none at {trained_here}; the committed teacher was trained on the "
                              f"embedded {'task' if is_seq2seq(cfg) else 'corpus'})")
        folders.append(("teacher_path", trained_here))
    elif loads_teacher:
        # the default: the committed teacher (pretrain teacher=duo_distilled starts from the committed Duo)
        default = f"duo-{cfg.corpus}-{cfg.preset}" if command == "pretrain" else run_name(cfg)
        folders.append(("teacher_path", Path(cfg.teacher_path).expanduser() if cfg.teacher_path
                        else CHECKPOINTS_DIR / default))
    if command == "run" and spec.reads_key("student_path") and cfg.student_path:
        folders.append(("student_path", Path(cfg.student_path)))
    return [(key, folder) for key, folder in folders if folder.is_dir()]


def trained_on_other_data(cfg: DictConfig) -> bool:
    """A run's teacher or student was trained on other data than the run's (run with data.allow_mismatch=true)."""
    from experiments.data_identity import data_mismatch

    return any(data_mismatch(cfg, folder) for _, folder in model_folders(cfg, "run"))


def check_models(cfg: DictConfig, given: dict, command: str) -> None:
    """The model folders a run will load, and its output folders."""
    for key, folder in model_folders(cfg, command):
        check_teacher_folder(cfg, folder, command, key)
    for state_dir in saved_states(cfg, command):
        check_resume(state_dir, cfg)
    if command == "run":
        check_evaluator(cfg.eval.evaluator)
        if not is_seq2seq(cfg):   # every unconditional row is scored by the GenPPL evaluator
            check_auto_evaluator(cfg)
        check_output_folder("results_dir", results_dir(cfg))
    if cfg.run_dir:
        check_output_folder("run_dir", cfg.run_dir)


# What makes a saved training state the same run: the model family and size, its vocabulary and positions, the data,
# the teacher it starts from. Anything else (lr, schedule, max_steps, ...) may change between the phases of a run.
RUN_IDENTITY = ("method", "teacher", "preset", "corpus", "task", "data.path", "data.seq_len", "diffuseq.vocab",
                "teacher_path")
# a method whose run folder is named by K (SDTT, DCD: their student is for K = steps) never resumes a run of another K
ROUND_IDENTITY = ("steps",)


def saved_states(cfg: DictConfig, command: str) -> list[Path]:
    """The training-state folders the command would resume (pretrain: <run_dir>/checkpoint; a method that trains:
    its run folder's (MethodSpec.run_folder), and its stages' (<run folder>/stage<s>/checkpoint, DLM-One))."""
    from core.paths import RUNS_DIR

    if command == "pretrain":
        return [Path(cfg.run_dir or RUNS_DIR / run_folder_name(cfg)) / "checkpoint"]
    if cfg.student_path or method_spec(cfg.method).run_folder is None:
        return []
    run_dir = method_run_dir(cfg)
    return [run_dir / "checkpoint", *sorted(run_dir.glob("*/checkpoint"))]


def check_resume(state_dir: Path, cfg: DictConfig) -> None:
    """Refuse, before anything in the run folder changes, to resume a saved state of another run (RUN_IDENTITY).
    Reads the state's trainer.json, or that of `.checkpoint.old` left by a kill inside a checkpoint swap."""
    from core.checkpoint import TRAINER_FILE, read_json

    trainer = next((folder / TRAINER_FILE for folder in (state_dir, state_dir.with_name(f".{state_dir.name}.old"))
                    if (folder / TRAINER_FILE).is_file()), None)
    if trainer is None:
        return
    state = read_json(trainer)
    saved = state.get("config", {}).get("run") if isinstance(state, dict) else None
    if not isinstance(saved, dict):
        return   # states written before the run config was saved with them: nothing to compare
    saved, now = flat_keys(saved), flat_keys(cfg)
    seq2seq = now["teacher"] in SEQ2SEQ_TEACHERS
    if saved.get("data.digest") and cfg.data.path:   # data compared by content: moved data resumes its run
        from core.data_digest import short
        from experiments.data_identity import data_identity
        digest = data_identity(cfg)["digest"]
        if saved["data.digest"] != digest:
            raise ConfigError(f"{state_dir.parent} holds a run on data.path={saved['data.path']} (sha256 "
                              f"{short(saved['data.digest'])}), not on data.path={cfg.data.path} (sha256 "
                              f"{short(digest)}): it cannot be resumed as this run; pass another run_dir= (the "
                              f"default folder is named after the run)")
        saved["data.path"] = now["data.path"]
    for key in RUN_IDENTITY + (ROUND_IDENTITY if "{steps}" in (method_spec(cfg.method).run_folder or "") else ()):
        if key not in saved or (key == "corpus" and seq2seq) or (key == "task" and not seq2seq):
            continue
        if _identity_value(key, saved[key], cfg) != _identity_value(key, now[key], cfg):
            raise ConfigError(f"{state_dir.parent} holds a run with {key}={saved[key]}, not {key}={now[key]}: it "
                              f"cannot be resumed as this run; pass another run_dir= (the default folder is named "
                              f"after the run)")


def _identity_value(key: str, value, cfg: DictConfig):
    """Paths compared as resolved folders; teacher_path naming the committed teacher counts as the default (None)."""
    if key not in ("data.path", "teacher_path") or not value:
        return value
    from core.paths import CHECKPOINTS_DIR

    resolved = Path(value).expanduser().resolve()
    if key == "teacher_path" and resolved == (CHECKPOINTS_DIR / run_name(cfg)).resolve():
        return None
    return str(resolved)
