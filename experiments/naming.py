"""Names and places of runs and rows: a run's folder under runs/, a result row's name and folder, and paths as rows
record them. A name carries everything that changes what it holds, and is empty of it for the defaults, so the
committed names stay valid."""
from __future__ import annotations

import hashlib
import re
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from core.paths import CHECKPOINTS_DIR, REPO_ROOT, RUNS_DIR, SCRATCH_RESULTS_DIR
from experiments.keys import CONFIG_DIR, CORPUS_TOKENIZERS
from experiments.methods import METHODS, SEQ2SEQ_TEACHERS, is_seq2seq


def run_name(cfg: DictConfig, teacher: str | None = None) -> str:
    """<teacher>-<data>-<preset>: the data is the data.path set's name, else the embedded corpus or task.
    `teacher` names another model of the same data and size (the evaluator, DCD's Duo teacher)."""
    teacher = teacher or cfg.teacher
    return f"{teacher}-{data_label(cfg, seq2seq=teacher in SEQ2SEQ_TEACHERS)}-{cfg.preset}"


def data_label(cfg: DictConfig, seq2seq: bool | None = None) -> str:
    """What names and rows call a run's data: the name of its data.path set (data.name=, else the folder's name),
    else the embedded task (a seq2seq run) or corpus."""
    from experiments.data_identity import data_name, safe_name

    if cfg.data.path:
        return safe_name(data_name(cfg))
    return cfg.task if (is_seq2seq(cfg) if seq2seq is None else seq2seq) else cfg.corpus


def run_folder_name(cfg: DictConfig) -> str:
    """The identity of a training run, its default folder name under runs/: <teacher>-<corpus|task>-<preset>, plus
    the data folder and the starting teacher when they are not the defaults (data_suffix), so runs on other data
    never share (and resume) a folder."""
    return run_name(cfg) + data_suffix(cfg)


def method_run_dir(cfg: DictConfig) -> Path:
    """The run folder a distillation method trains in: run_dir=, else runs/<its MethodSpec.run_folder>."""
    if cfg.run_dir:
        return Path(cfg.run_dir)
    spec = METHODS[cfg.method]
    if spec.run_folder is None:
        raise ValueError(f"method={cfg.method} trains nothing: it has no run folder")
    fields = spec.run_folder_fields(cfg) if spec.run_folder_fields else {}
    return RUNS_DIR / spec.run_folder.format(method=cfg.method, run=run_folder_name(cfg), steps=cfg.steps, **fields)


def path_digest(path) -> str:
    """A short tag of a model folder (teacher_path, a student): its name and 6 hex digits of its path (relative to the
    repository when inside it), so two folders of the same name get different tags and the same folder always the
    same one. Data folders are tagged by their content instead (experiments.data_identity.data_tag)."""
    from experiments.data_identity import safe_name

    resolved = Path(path).expanduser().resolve()
    key = str(resolved.relative_to(REPO_ROOT)) if resolved.is_relative_to(REPO_ROOT) else str(resolved)
    return f"{safe_name(resolved.name)}-{hashlib.sha1(key.encode()).hexdigest()[:6]}"


def is_committed_teacher(cfg: DictConfig) -> bool:
    """True when the teacher is the default one: no teacher_path, or teacher_path naming checkpoints/<run name>."""
    if not cfg.teacher_path:
        return True
    return Path(cfg.teacher_path).expanduser().resolve() == (CHECKPOINTS_DIR / run_name(cfg)).resolve()


def data_suffix(cfg: DictConfig) -> str:
    """What a run's or row's name adds for the data and teacher it used when they are not the defaults: empty for
    the embedded corpus/task and the committed teacher, so the default names stay what they have always been."""
    parts = [data_part(cfg)]
    if not is_committed_teacher(cfg):
        parts.append(f"-from-{path_digest(cfg.teacher_path)}")
    return "".join(parts)


def data_part(cfg: DictConfig) -> str:
    """`-data-<content hash>` for data.path= (its name is the name's data part, run_name), and the tokenizer of
    corpus= when a text folder is read with another than the default corpus's; empty for the embedded data. The same
    data in another folder keeps its run folders and rows, and a changed file gets new ones."""
    from experiments.data_identity import TAG_DIGITS, data_identity

    if not cfg.data.path:
        return ""
    seq2seq = is_seq2seq(cfg)
    default_corpus = OmegaConf.load(CONFIG_DIR / "defaults.yaml").corpus
    tokenizer = CORPUS_TOKENIZERS[cfg.corpus]
    read_as = f"-{tokenizer}" if not seq2seq and tokenizer != CORPUS_TOKENIZERS[default_corpus] else ""
    return f"-data-{data_identity(cfg)['digest'][:TAG_DIGITS]}{read_as}"


def student_suffix(cfg: DictConfig) -> str:
    """`-student-<hash>` for a distilled student (MethodSpec.student_rows) other than the committed
    checkpoints/<method>-<run name>: the student_path= folder, else the run folder's student (what a fresh
    distillation evaluates)."""
    student = Path(cfg.student_path) if cfg.student_path else method_run_dir(cfg) / "student"
    if student.expanduser().resolve() == (CHECKPOINTS_DIR / f"{cfg.method}-{run_name(cfg)}").resolve():
        return ""
    return student_tag(student)


def student_tag(folder) -> str:
    """`-student-<6 hex>` of a student folder: the hash part of its path_digest only, since the folder is mostly
    named "student"."""
    return f"-student-{path_digest(folder).rsplit('-', 1)[1]}"


def committed_student_suffix(folder) -> str:
    """`-student-<hash>` for a student folder outside checkpoints/ (a fresh run's stage, student_path= elsewhere),
    empty for a committed one: the name of a row that names its stage but not its student (DLM-One), so runs with
    other settings or teachers never share a row name with each other or with the committed students."""
    resolved = Path(folder).expanduser().resolve()
    if resolved.is_relative_to(CHECKPOINTS_DIR.resolve()):
        return ""
    return student_tag(resolved)


def row_suffix(cfg: DictConfig) -> str:
    """Everything beyond <method/teacher>-<corpus|task>-<preset>-steps<K> that changes a result row's numbers, as a
    name suffix built the same way by every recipe: sampler options that differ from the defaults, a distilled
    student other than the committed one, fewer samples than the default, a seed other than the default, and the
    data folder and teacher (data_suffix). Empty for the default settings, so the committed row names stay valid.
    A larger sample than the default keeps the name: it measures the same quantity more precisely (the committed
    real-text and 1024-step MDLM rows use 256 samples), and the row records its sample count."""
    base, parts = OmegaConf.load(CONFIG_DIR / "defaults.yaml"), []
    spec = METHODS[cfg.method]
    s, d = cfg.sampling, cfg.diffuseq
    if spec.samples and cfg.teacher != "diffuseq":     # the discrete samplers' options
        parts += [f"-{s.predictor}"] if s.predictor != base.sampling.predictor else []
        parts += [f"-T{s.temperature:g}"] if s.temperature != base.sampling.temperature else []
        parts += [f"-p{s.top_p:g}"] if s.top_p != base.sampling.top_p else []
        parts += ["-fp32"] if s.float64 != base.sampling.float64 else []
        parts += ["-nocache"] if s.cache != base.sampling.cache else []
        parts += ["-rgas"] if cfg.method == "didi" and cfg.didi.rgas else []   # DiDi's reward-guided sampler
    if cfg.method == "sample" and cfg.teacher == "diffuseq":       # the DiffuSeq sampler's options
        parts += [f"-{d.sampler}"] if d.sampler != base.diffuseq.sampler else []
        parts += [f"-respace_{d.respace}"] if d.respace != base.diffuseq.respace else []
        parts += ["-noclamp"] if d.clamp != base.diffuseq.clamp else []
    if spec.student_rows:   # the student: the committed one unless student_path= or a fresh run
        parts += [student_suffix(cfg)]
    parts += [f"-n{s.num_samples}"] if s.num_samples < base.sampling.num_samples else []
    parts += [f"-seed{cfg.seed}"] if cfg.seed != base.seed else []
    return "".join(parts) + data_suffix(cfg)


def sample_row_name(cfg: DictConfig) -> str:
    """<teacher>-<corpus>-<preset>-steps<K>, then whatever else changes the row's numbers (row_suffix)."""
    return f"{run_name(cfg)}-steps{cfg.steps}{row_suffix(cfg)}"


def results_dir(cfg: DictConfig) -> Path:
    """Where rows and their table go: `results_dir=` when given, else the scratch folder runs/results. The committed
    set results/ changes only when asked for by name (results_dir=results, as the Makefile's result targets do)."""
    return Path(cfg.results_dir) if cfg.results_dir else SCRATCH_RESULTS_DIR


OUTSIDE_PATH = re.compile(r"(?<![\w.~])/[^\s:]+")   # an absolute path, alone or after "name:"


def repo_relative(text: str) -> str:
    """Paths inside the repository are recorded relative to it, so result rows do not depend on the machine. An
    absolute path elsewhere is this machine's layout: it keeps its last two parts only (".../parent/name"); the data
    and models it names are identified by their digests and row names."""
    return OUTSIDE_PATH.sub(lambda m: "/".join(["...", *m.group().strip("/").split("/")[-2:]]),
                            str(text).replace(str(REPO_ROOT) + "/", ""))
