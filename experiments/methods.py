"""Every method of `python -m experiments.run`, one MethodSpec each: what runs it, what it reads, where it trains, what
it checks at start-up and which source files its rows depend on. The config loader, the start-up checks, the row
names, the dispatcher and the stale-row check of the tables all read this table; adding a method is one package and
one entry here (docs/adding-a-method.md).

The table sits below the recipes: it names each recipe by "module:function", which only the dispatcher
(experiments/run.py) imports, so the config is checked without torch and the recipes read the table freely.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from omegaconf import DictConfig

from core.errors import ConfigError

SEQ2SEQ_TEACHERS = ("diffuseq", "ar_seq2seq")   # trained and scored on a seq2seq `task`, not a `corpus`
AR_BASELINES = ("ar_lm", "ar_seq2seq")          # transformers GPT-2 folders of the reference AR recipe, not DiTs
DISCRETE_TEACHERS = ("mdlm", "sedd", "duo", "duo_distilled")   # duo_distilled: the Duo model after DCD

# source paths: "{model}" is the row's teacher family, in teachers/ or baselines/ (MODEL_SOURCES: a family made by a
# method, under the method's name); paths that do not exist are harmless to `git log`. Every method's own recipe
# module is added (MethodSpec.source_paths).
MODEL = ("teachers/{model}.py", "baselines/{model}.py")
MODEL_SOURCES = {"duo_distilled": "dcd"}   # the Duo model after DCD: made by the DCD method, baselines/dcd.py
# a student's row beside its controls, and the validation that picks the checkpoint it reports
STUDENT_ROWS = ("experiments/controls.py", "experiments/match_temperature.py", "experiments/students.py")
ALTERNATING_LOOP = ("core/distill.py", "core/cost.py")
ONE_MODEL_LOOP = ("core/training.py", "core/cost.py", "experiments/recipe.py", "experiments/rounds.py", "baselines/rounds.py")
SAMPLING = ("sampling.",)
# the keys every distilled discrete student reads besides its own block
DISCRETE_STUDENT = ("teacher", "steps", "teacher_path", "student_path", "run_dir", *SAMPLING)


@dataclass(frozen=True)
class MethodSpec:
    recipe: str                     # "module:function"; function(cfg, device) -> its last row's path (None: rank > 0)
    summary: str                    # one line of --help
    # the method-scoped keys it reads ("block." = every key of the block); any other method-scoped key given on the
    # command line is refused (experiments.checks.method_key_refusal)
    reads: tuple[str, ...]
    # why a key (or "block.") it does not read is refused, naming the key to use; "{readers}" is filled in
    refusals: dict[str, str] = field(default_factory=dict)
    overlay: dict = field(default_factory=dict)   # config values it sets unless given on the command line
    teachers: tuple[str, ...] = ()  # the teachers it accepts (empty: any), and how the refusal names them
    teachers_text: str = ""
    checks: tuple = ()              # check(cfg) -> None, raising ConfigError, after keys, types and ranges
    # check(folder, config) -> None on the teacher folder's config.json, before any model loads (folder_checks.py)
    teacher_checks: tuple = ()
    run_folder: str | None = None   # its training run under runs/: {method}, {run} (naming.run_folder_name), {steps}
    # fields(cfg) -> more {names} for run_folder: settings that change what the run trains beyond the run's identity
    run_folder_fields: object = None
    samples: bool = False           # samples a discrete model with the sampling.* options (the teacher or a student)
    student_rows: bool = False      # writes a distilled discrete student's row beside its controls (controls.py)
    reads_task: bool = False        # reads `task` (a seq2seq run) whatever `teacher` says
    student_alone: bool = False     # a student_path= is evaluated without loading the teacher
    student_family: str | None = None   # the family its students are saved as, when not the teacher's
    # keys bounded by the diffusion steps T of the DiffuSeq model it loads: key -> how far below T its largest value is
    diffusion_step_keys: dict[str, int] = field(default_factory=dict)
    sources: tuple[str, ...] = ()   # files and packages whose change makes its rows stale (besides its recipe)

    @property
    def source_paths(self) -> tuple[str, ...]:
        return (self.recipe.split(":")[0].replace(".", "/") + ".py", *self.sources)

    def reads_key(self, key: str) -> bool:
        """It reads `key`: listed in `reads` (itself or its block), and not refused by name (a block read but for a few
        keys: SDTT's distill.* without the fake model's)."""
        if key in self.refusals:
            return False
        return any(key == k or (k.endswith(".") and key.startswith(k)) for k in self.reads)


def check_halvings(cfg: DictConfig) -> None:
    """SDTT and Duo-DCD halve the step count each round from `<method>.base_steps` down to K = steps."""
    key = f"{cfg.method}.base_steps"
    base = cfg[cfg.method].base_steps
    ratio = base // cfg.steps
    if cfg.student_path is None and (ratio < 2 or ratio * cfg.steps != base or ratio & (ratio - 1)):
        raise ConfigError(f"method={cfg.method} halves the step count each round from {key}={base}: "
                          f"steps={cfg.steps} must be {key} / 2^n with n >= 1")


def idlm_folder_fields(cfg: DictConfig) -> dict:
    """The losses, the student's times and the steps the best checkpoint is selected at are part of IDLM's training,
    so an adversarial run (runs/idlm-adversarial-...), one selected at other steps (-val<K>) or one trained on a
    sampler's grid (-grid<K>: a K = 1 or 2 student) never resumes the default run, nor the reverse; the default run
    keeps its committed name."""
    from omegaconf import OmegaConf

    from experiments.keys import CONFIG_DIR
    default_val_steps = OmegaConf.load(CONFIG_DIR / "defaults.yaml").idlm.val_steps
    return {"adversarial": "-adversarial" if cfg.idlm.adversarial else "",
            "selected_at": f"-val{cfg.idlm.val_steps}" if cfg.idlm.val_steps != default_val_steps else "",
            "grid": f"-grid{cfg.idlm.grid_steps}" if cfg.idlm.grid_steps else ""}


def refuse_self_conditioned_teacher(folder, config: dict) -> None:
    """DLM-One calls its teacher at unrelated times, so a self-conditioned teacher, which teachers.registry loads
    feeding each call the last call's estimate, would condition on the wrong one."""
    network = config.get("network")
    if isinstance(network, dict) and network.get("self_condition"):
        raise ConfigError(f"teacher_path={folder} is a self-conditioned DiffuSeq teacher (diffuseq.self_condition): "
                          "method=dlm_one reads its teacher as a plain denoiser and does not support it")


# DiDi-Instruct's reward-guided sampler: its own options, and the teacher sampler's options it has no use for
RGAS_KEYS = ("didi.guidance_start", "didi.guidance_end", "didi.rerank_fraction", "didi.candidates")
IGNORED_BY_RGAS = ("sampling.predictor", "sampling.temperature", "sampling.top_p", "sampling.float64")


def check_didi(cfg: DictConfig) -> None:
    """DiDi-Instruct's reward groups are whole within a micro-batch (core.distill refuses a split one); the RGAS keys
    need didi.rgas=true, and RGAS ignores the tempering keys."""
    from omegaconf import OmegaConf

    from experiments.keys import CONFIG_DIR, flat_keys, shown

    if cfg.distill.batch_size % cfg.didi.group_size:
        raise ConfigError(f"distill.batch_size={cfg.distill.batch_size} must be a multiple of didi.group_size="
                          f"{cfg.didi.group_size}: a reward group is normalised within one micro-batch")
    values, defaults = flat_keys(cfg), flat_keys(OmegaConf.load(CONFIG_DIR / "defaults.yaml"))
    for key in IGNORED_BY_RGAS if cfg.didi.rgas else RGAS_KEYS:
        if values[key] != defaults[key]:
            why = "the reward-guided sampler does not read it" if cfg.didi.rgas else "it is an option of didi.rgas=true"
            raise ConfigError(f"{key}={shown(values[key])} has no effect here: {why}; leave it at its default "
                              f"({shown(defaults[key])})")


def round_method(name: str, teacher: str, summary: str, sources: tuple[str, ...], **fields) -> MethodSpec:
    """SDTT and Duo-DCD: one student against its own frozen copy, round by round, on the one-model loop. Their
    student is for K = `steps`, 8 unless given (the public codes' last round); the alternating loop's fake model and
    length keys have no use there."""
    why = "method={method} trains no fake model and runs its rounds' steps ({method}.base_steps, {method}.*)"
    return MethodSpec(
        recipe=f"experiments.{name}:run_{name}", summary=summary,
        reads=(*DISCRETE_STUDENT, "distill.", f"{name}."),
        refusals={k: why.format(method=name) for k in ("distill.max_steps", "distill.fake_lr", "distill.fake_steps")},
        overlay={"steps": 8}, teachers=(teacher,), teachers_text=f"a teacher={teacher} model", checks=(check_halvings,),
        run_folder="{method}-{run}-steps{steps}", samples=True, student_rows=True,
        sources=(*sources, *ONE_MODEL_LOOP, *STUDENT_ROWS, *MODEL), **fields)


# the distill.* keys DLM-One reads (experiments/dlm_one.py); its other settings are per stage, in the dlm_one block
DLM_ONE_READS = ("distill.batch_size", "distill.global_batch", "distill.fake_steps", "distill.ema_warmup",
                 "distill.save_every", "distill.log_every", "distill.max_minutes")
PER_STAGE = "method=dlm_one sets it per stage (Table 5 and the dlm_one block)"
NO_MODEL = "method={method} scores {what}, no model"

METHODS: dict[str, MethodSpec] = {
    "sample": MethodSpec(
        recipe="experiments.sample:run_teacher", summary="sample a pretrained teacher at `steps` and evaluate it",
        reads=("teacher", "steps", "teacher_path", *SAMPLING),
        refusals={"student_path": "method=sample samples the teacher; a student is evaluated with method={readers}"},
        samples=True, diffusion_step_keys={"steps": 0}, sources=MODEL),
    "real_text": MethodSpec(
        recipe="experiments.yardsticks:run_real_text", summary="the metrics of held-out real text: the yardstick",
        reads=("sampling.num_samples", "sampling.batch_size"),
        refusals={k: NO_MODEL.format(method="real_text", what="held-out text")
                  for k in ("teacher", "teacher_path", "student_path", "steps")},
        sources=("core/evaluate/unconditional.py",)),
    "copy_source": MethodSpec(
        recipe="experiments.yardsticks:run_copy_source", summary="seq2seq yardstick: the source as the output",
        reads=("sampling.num_samples",),
        refusals={k: NO_MODEL.format(method="copy_source", what="the source")
                  for k in ("teacher", "teacher_path", "student_path", "steps")},
        reads_task=True, sources=("core/evaluate/seq2seq.py",)),
    "idlm": MethodSpec(
        recipe="experiments.idlm:run_idlm", summary="distil the teacher with IDLM, rows beside its controls",
        reads=(*DISCRETE_STUDENT, "distill.", "idlm."),
        teachers=DISCRETE_TEACHERS, teachers_text=f"a discrete diffusion teacher ({', '.join(DISCRETE_TEACHERS)})",
        run_folder="{method}{adversarial}-{run}{selected_at}{grid}", run_folder_fields=idlm_folder_fields,
        samples=True, student_rows=True,
        sources=("idlm", *ALTERNATING_LOOP, *STUDENT_ROWS, *MODEL)),
    # DiDi-Instruct: the student against a discriminator (the loop's second role), one rollout for both updates;
    # its per-role optimizer settings live in the didi block (the code sets them per role)
    "didi": MethodSpec(
        recipe="experiments.didi:run_didi", summary="distil the MDLM teacher with DiDi-Instruct, rows beside its controls",
        reads=(*DISCRETE_STUDENT, "distill.", "didi."),
        refusals={f"distill.{k}": f"method=didi sets it per role: use {own}" for k, own in (
            ("lr", "didi.lr"), ("fake_lr", "didi.discriminator_lr"), ("warmup_steps", "didi.warmup_steps"),
            ("grad_clip", "didi.grad_clip / didi.discriminator_grad_clip"), ("ema_warmup", "didi.ema_warmup"))},
        teachers=("mdlm",), teachers_text="the MDLM teacher (teacher=mdlm)", checks=(check_didi,),
        run_folder="{method}-{run}", samples=True, student_rows=True,
        sources=("didi", *ALTERNATING_LOOP, *STUDENT_ROWS, *MODEL)),
    "sdtt": round_method("sdtt", "mdlm", "SDTT of the MDLM teacher down to `steps`",
                         ("sdtt", "baselines/sdtt.py", "baselines/sdtt")),
    # the Duo-DCD student is a Duo model saved as family "duo_distilled" (teachers.registry.DUO_DISTILLED)
    "dcd": round_method("dcd", "duo", "Duo-DCD of the Duo teacher down to `steps`", ("baselines/dcd.py",),
                        student_family="duo_distilled"),
    "dlm_one": MethodSpec(
        recipe="experiments.dlm_one:run_dlm_one", summary="distil the DiffuSeq teacher into a one-step student",
        reads=("teacher", "teacher_path", "student_path", "run_dir", "sampling.num_samples", "sampling.batch_size",
               *DLM_ONE_READS, "dlm_one."),
        refusals={"steps": "method=dlm_one samples its student at dlm_one.steps (1 = one step)",
                  "distill.": PER_STAGE + ", with no key for it",
                  **{f"distill.{k}": f"{PER_STAGE}: use dlm_one.{k}" for k in
                     ("lr", "fake_lr", "betas", "grad_clip", "ema_decay", "precision", "eval_every", "dropout")},
                  "distill.max_steps": f"{PER_STAGE}: use dlm_one.stage1_steps / dlm_one.stage2_steps"},
        overlay={"teacher": "diffuseq"}, teachers=("diffuseq",), teachers_text="a DiffuSeq teacher",
        teacher_checks=(refuse_self_conditioned_teacher,),
        run_folder="{method}-{run}", reads_task=True, student_alone=True,
        diffusion_step_keys={"dlm_one.t_init": 1, "dlm_one.t_max": 0},
        sources=("dlm_one", *ALTERNATING_LOOP, "teachers/diffuseq.py", "teachers/diffuseq_decode.py")),
}


def method_spec(name: str) -> MethodSpec:
    """The spec of method `name`; ConfigError with the list for another name."""
    if name not in METHODS:
        raise ConfigError(f"config key 'method' = {name!r} is not one of {list(METHODS)}")
    return METHODS[name]


def readers(key: str) -> list[str]:
    """The methods that read a method-scoped key."""
    return [name for name, spec in METHODS.items() if spec.reads_key(key)]


def is_seq2seq(cfg: DictConfig) -> bool:
    """A run on a seq2seq task (task=, DiffuSeq's data and metrics) rather than a corpus."""
    return cfg.teacher in SEQ2SEQ_TEACHERS or (cfg.method in METHODS and METHODS[cfg.method].reads_task)
