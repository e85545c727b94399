"""A distilled student's row and its controls, for every discrete method (IDLM, SDTT, Duo-DCD).

The controls a distillation claim needs, all from the same teacher, seed, sample count and evaluator:
1. the teacher's temperature sweeps at the student's K and at 1024 steps (`eval.frontier_temperatures`; T = 1 is the
   plain control at each): the GenPPL-entropy frontier the student is read against;
2. the student at K, with "GenPPL ÷ the frontier at the student's entropy" against each sweep (interpolated in log
   GenPPL between the two temperatures that bracket it; None when no two do, never extrapolated);
3. the teacher at K at the temperature whose samples have the student's entropy (matched_teacher_row, matched on
   the reported samples; also `python -m experiments.match_temperature <row>` for any unconditional row).
Teacher rows are reused when a row with the same settings and at least as many samples exists in results_dir, or in
results/rows/ (whence it is copied).
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

from omegaconf import OmegaConf

from core.checkpoint import atomic_write_text
from core.errors import DataError
from core.evaluate.results import load_result, samples_path, write_result
from core.evaluate.temperature_match import frontier_ratio, genppl_at_entropy, match_temperature
from core.paths import RESULTS_DIR, rows_dir
from experiments.distribution import wanted_metrics
from experiments.naming import repo_relative, results_dir, sample_row_name
from experiments.rows import draw_samples, evaluate_texts, score_model, teacher_row

TEACHER_REFERENCE_STEPS = 1024  # the teacher's many-step quality, the target a few-step student is held to
MATCH_TOLERANCE = 0.01   # nats of unigram entropy; about the spread of a 256-sample row's entropy over seeds


def reusable_row(path: Path, wanted: dict) -> bool:
    """An existing teacher row stands in for a new one when it was made from the same teacher weights, sampler
    settings and evaluator with at least as many samples (so a committed larger row is never replaced by a smaller),
    and holds every metric in wanted["metrics"] (a row from before a metric existed is sampled again)."""
    if not path.is_file():
        return False
    row = json.loads(path.read_text())
    same = all(row.get(k) == wanted[k] for k in ("teacher_path", "float64_sampling", "temperature", "evaluator"))
    return (same and row.get("n_samples", 0) >= wanted["n_samples"]
            and all(k in row.get("metrics", {}) for k in wanted.get("metrics", ())))


def reuse_row(path: Path, wanted: dict) -> bool:
    """True when `path` holds a reusable_row, or the committed row of the same name does (then copied to `path` with
    its samples file, so a run writing elsewhere than results/ does not sample the teacher again)."""
    committed = rows_dir(RESULTS_DIR) / path.name
    for source in (path, committed):
        if reusable_row(source, wanted):
            if source != path:
                path.parent.mkdir(parents=True, exist_ok=True)   # a results_dir= that no row was written to yet
                if samples_path(source).is_file():
                    shutil.copyfile(samples_path(source), samples_path(path))
                atomic_write_text(path, source.read_text())
            print(f"teacher row reused: {source}" + (f" (copied to {path})" if source != path else ""))
            return True
    return False


def teacher_sweep(cfg, device, teacher, teacher_folder: Path, evaluator, steps: int) -> list[dict]:
    """The teacher's rows at `steps` for every temperature of `eval.frontier_temperatures` and T = 1, made or
    reused; rows of method=sample, named without the student."""
    from teachers.registry import ONE_STEP_PREDICTORS

    # a one-step sampler (Duo's latent) controls the student at K = 1; the many-step reference is the teacher's own
    predictor = "default" if steps > 1 and cfg.sampling.predictor in ONE_STEP_PREDICTORS else cfg.sampling.predictor
    rows = []
    for temperature in sorted({1.0, *cfg.eval.frontier_temperatures}):
        step_cfg = OmegaConf.merge(cfg, {"method": "sample", "steps": steps,
                                         "sampling": {"temperature": temperature, "predictor": predictor}})
        path = rows_dir(results_dir(cfg)) / f"{sample_row_name(step_cfg)}.json"
        like = {"n_samples": cfg.sampling.num_samples, "teacher_path": repo_relative(teacher_folder),
                "float64_sampling": cfg.sampling.float64, "temperature": temperature,
                "evaluator": repo_relative(evaluator[2]), "metrics": wanted_metrics(cfg)}
        if not reuse_row(path, like):
            write_result(teacher_row(step_cfg, teacher_folder, score_model(teacher, step_cfg, device)),
                         results_dir(cfg), sample_row_name(step_cfg))
        rows.append(json.loads(path.read_text()))
    return rows


def write_student_rows(cfg, device, teacher, teacher_folder: Path, student_folder: Path, evaluator, *,
                       fields=lambda provenance: {}, sampler=None) -> Path:
    """The rows of a distilled student (any method, `cfg.method`) and its controls (module docstring), written to
    results_dir; the student's as `<method>-<teacher>-<corpus>-<preset>-steps<K>`. `fields(provenance)` adds
    method-specific entries from the student's provenance to its row; `sampler` replaces the teacher's own sampler
    for the student alone (rows.draw_samples; the controls keep the teacher's). Returns the student row's path."""
    from teachers.registry import load_teacher, process_families

    student = load_teacher(student_folder, device=device)
    # a Duo-DCD student is saved as family "duo_distilled": the same process and sampler as its Duo teacher
    families = process_families()
    same_process = families.get(student.family) is families.get(teacher.family)
    if not same_process or student.tokenizer_name != teacher.tokenizer_name:
        raise ValueError(f"{student_folder} holds a {student.family!r} model on {student.tokenizer_name!r}, "
                         f"not a student of the {teacher.family!r} teacher on {teacher.tokenizer_name!r}")
    # 1. the teacher's sweeps at K and at 1024 steps
    sweeps = {"teacher_at_K": teacher_sweep(cfg, device, teacher, teacher_folder, evaluator, cfg.steps),
              "teacher_1024": teacher_sweep(cfg, device, teacher, teacher_folder, evaluator, TEACHER_REFERENCE_STEPS)}
    # 2. the student at K, with the teacher's own sampler (or `sampler`), read against both frontiers
    provenance = student.config.get("provenance", {})
    record = {"method": cfg.method, "teacher": cfg.teacher, "corpus": cfg.corpus, "preset": cfg.preset,
              "predictor": cfg.sampling.predictor, "student_path": repo_relative(student_folder),
              "teacher_path": repo_relative(teacher_folder),
              "distill_step": provenance.get("distill_step", provenance.get("train_step")),
              "training_cost": provenance.get("cost"), **fields(provenance),
              **score_model(student, cfg, device, sampler=sampler)}
    metrics = record["metrics"]
    record["frontier"] = {name: frontier_ratio(metrics["gen_ppl"], metrics["entropy"], sweep)
                          for name, sweep in sweeps.items()}
    path = write_result(record, results_dir(cfg), f"{cfg.method}-{sample_row_name(cfg)}")
    # 3. the entropy-matched teacher at K (its own row, named after the student's), sampled as the sweeps are. When no
    #    temperature in the search range reaches the student's entropy there is no such control: said plainly, and
    #    the table shows "–".
    match_cfg = OmegaConf.merge(cfg, {"method": "sample"})
    try:
        matched = matched_teacher_row(match_cfg, device, teacher, teacher_folder, path, evaluator)
        atomic_write_text(matched.with_suffix(".config.yaml"), OmegaConf.to_yaml(match_cfg))
    except ValueError as error:
        print(f"no entropy-matched teacher row for {path.name}: {error}")
    return path


def matched_teacher_row(cfg, device, teacher, teacher_folder: Path, row_path: Path, evaluator=None) -> Path:
    """The entropy-matched control of the unconditional row at `row_path`: `teacher` sampled at cfg.steps with the
    softmax temperature whose samples have the row's entropy, scored like any row and written as
    `<row>-matched-T<T*>`. Lower entropy buys lower GenPPL for free (a cooler teacher looks "better"), so a distilled
    student is compared with its teacher at matched entropy. Every probe of the bisection over T
    (core.evaluate.temperature_match) draws the full sample set from cfg.seed, so the entropy the search reached is
    that of the row written; it stops at |ΔH| <= MATCH_TOLERANCE nats and the row records the residual.
    ValueError when no temperature in [0.5, 1.5] reaches the entropy."""
    import torch

    from core.evaluate.unconditional import unigram_entropy
    from core.tokenizers import load_tokenizer

    row = load_result(row_path)
    if "teacher" not in row:
        raise DataError(f"{row_path}: result row has no 'teacher'")
    if "entropy" not in row["metrics"]:
        raise DataError(f"{row_path}: result row has no metrics.entropy (only unconditional rows can be matched)")
    target = row["metrics"]["entropy"]
    draws = {}   # temperature -> (ids, nfe, speed): the chosen probe's draw is the row's

    def entropy_at(temperature: float) -> float:
        torch.manual_seed(cfg.seed)   # as score_model: the row's samples come from the row's seed alone
        draws[temperature] = draw_samples(teacher, cfg, device, temperature=temperature)
        return unigram_entropy(draws[temperature][0])

    temperature, matched_entropy = match_temperature(entropy_at, target, lo=0.5, hi=1.5, tol=MATCH_TOLERANCE)
    ids, nfe, speed = draws[temperature]
    tokenizer = load_tokenizer(teacher.tokenizer_name)
    texts = tokenizer.batch_decode(ids.tolist())
    evaluation = evaluate_texts(texts, ids, cfg, device, tokenizer, evaluator)
    residual = matched_entropy - target
    record = {"method": "sample (entropy-matched)", "teacher": cfg.teacher, "corpus": cfg.corpus, "preset": cfg.preset,
              "steps": cfg.steps, "nfe": nfe, "temperature": temperature, "matched_to": row_path.name,
              "target_entropy": target, "entropy_residual": residual, "match_tolerance": MATCH_TOLERANCE,
              "matched_within_tolerance": abs(residual) <= MATCH_TOLERANCE, "n_samples": len(texts),
              "seconds_per_sample": speed["seconds_per_sample"], "speed": speed, "seed": cfg.seed,
              "teacher_path": repo_relative(teacher_folder), "samples": texts[: cfg.eval.num_show], **evaluation}
    path = write_result(record, results_dir(cfg), f"{row_path.stem}-matched-T{temperature:.3f}")
    print(f"T*={temperature:.4f}: entropy {matched_entropy:.4f}, target {target:.4f} (residual {residual:+.4f}) "
          f"-> {path}")
    return path
