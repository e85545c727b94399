"""The comparison tables as Markdown and CSV, from the rows alone: every row names its file (which holds the exact
command), its commit and whether that commit is current for the method; mismatched rows carry a footnote marker.
`write_comparison_tables` writes them into <results>/tables/ with an index (tables/README.md); results/README.md
embeds the same section (reports.readme)."""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

from core.checkpoint import atomic_write_text
from core.evaluate.results import git_commit
from core.paths import FIGURES, REPO_ROOT, ROWS, TABLES
from experiments.reports import seq2seq, unconditional
from experiments.reports.kinds import predictor, variant
from experiments.reports.markdown import cell, markdown_table
from experiments.reports.provenance import GitHistory, Mismatches, row_status
from experiments.reports.students import STUDENT_METHODS, frontier_ratios

PROVENANCE_COLUMNS = ["n_samples", "seed", "evaluator", "device", "mismatch", "status", "method_last_change",
                      "commit", "command", "file"]
UNCONDITIONAL_COLUMNS = ["corpus", "group", "method", "model", "sampler", "student", "steps", "nfe", "temperature",
                         "gen_ppl", "gen_ppl_ci95_low", "gen_ppl_ci95_high", "entropy", "mauve",
                         *unconditional.DISTRIBUTION_COLUMNS, "seconds_per_sample", "matched_entropy",
                         "gen_ppl_at_matched_entropy", "sweep_temperatures", "ratio_to_frontier_1024",
                         "ratio_to_frontier_at_steps", "training_updates", "training_sequence_passes",
                         "training_cpu_minutes", "training_hardware", *PROVENANCE_COLUMNS]
SEQ2SEQ_COLUMNS = ["task", "row", "method", "stage", "steps", "candidates", "bleu", "bleu_ci95_low",
                   "bleu_ci95_high", *seq2seq.COPY, *seq2seq.SCORES, "nfe",
                   "seconds_per_sample", "speedup_vs_diffuseq_2000", *PROVENANCE_COLUMNS]
STATUS_NOTE = ("*status*: `current` when its method's source files (experiments/reports/provenance.py) are the same "
               "at the row's commit as now, comments and docstrings aside, `stale` when their code has changed since "
               "the row was made, `dirty` when it was made from uncommitted code. *row*: the JSON with the row's "
               "command.")


@dataclass
class Table:
    name: str                       # file stem under results/tables/
    title: str
    intro: list[str]
    headers: list[str]
    md_rows: list[list[str]] = field(default_factory=list)
    csv_columns: list[str] = field(default_factory=list)
    csv_rows: list[dict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def markdown(self, heading: str = "###") -> list[str]:
        return [f"{heading} {self.title}", "", *self.intro, "", *markdown_table(self.headers, self.md_rows), "",
                *self.notes]

    def csv_text(self) -> str:
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=self.csv_columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows({k: "" if v is None else v for k, v in row.items()} for row in self.csv_rows)
        return out.getvalue()


def _provenance(record: dict, mismatches: Mismatches, history: GitHistory, *also: dict) -> dict:
    status, change = row_status(record, history)
    return {"n_samples": record["n_samples"], "seed": record["seed"], "evaluator": record["evaluator"],
            "device": record.get("device"), "mismatch": mismatches.describe(record, *also), "status": status,
            "method_last_change": change, "commit": record["commit"], "command": record["command"],
            "file": record["_file"]}


def _provenance_cells(values: dict, link_prefix: str) -> list[str]:
    status = values["status"] if values["status"] == "current" else f"**{values['status']}**"
    commit = str(values["commit"])
    short = commit[:10] + ("+dirty" if commit.endswith("+dirty") else "")
    return [status, f"`{short}`", f"[{values['file']}]({link_prefix}{values['file']})"]


def unconditional_table(corpus: str, rows: list[dict], history: GitHistory, link_prefix: str) -> Table:
    target, source = unconditional.matched_entropy(rows)
    entries = unconditional.table_rows(rows, target)
    mismatches = Mismatches([e["record"] for e in entries])
    students = {}
    for e in entries:
        students.setdefault((e["group"], e["record"].get("teacher")), set()).add(variant(e["record"]))
    at_h = f"GenPPL at H* = {cell(target)} ↓" if target is not None else "GenPPL at H* ↓"
    table = Table(
        name=f"idlm_table1_{corpus}", title=f"Unconditional generation, {corpus} (IDLM's Table 1 layout)",
        intro=[f"GenPPL under the row's evaluator with its 95% interval, unigram entropy (nats), MAUVE on MiniLM "
               f"features where scored, seconds per sample. *GenPPL at H\\**: the row's temperature sweep "
               f"(*sweep T*) read off at H* = {cell(target)}, {source}, by linear interpolation of log GenPPL in "
               f"entropy between the two neighbouring temperatures whose entropies bracket H*; \"–\" where the sweep "
               f"does not bracket it. Rows at T = 1; other temperatures enter through their sweep. *÷ frontier*: a "
               f"distilled student's GenPPL ÷ its teacher's temperature sweep at 1024 steps (and at the student's "
               f"K) read off at the student's own entropy (experiments/controls.py; below 1 beats the teacher at "
               f"every temperature), from every teacher row of the same weights, sampler, seed and evaluator with "
               f"at least the student's samples (experiments/reports/students.py); \"–\" where they do not "
               f"bracket it. *budget*: the student's training "
               f"cost in millions of sequence passes (core/cost.py) and CPU-minutes. {STATUS_NOTE}",
               "", "Distribution of the sample set (experiments/distribution.py; blank for rows made before it): "
               "*MAUVE (AR)*, MAUVE against as many held-out texts on the evaluator's features (its last hidden "
               "state averaged over each text's tokens; the held-out row against the valid split); *types / 600*, "
               "distinct words among the set's first 600 words that occur in the training split; *top-50 share*, "
               "the share of those words among the 50 most frequent training words (the held-out row's is the "
               "yardstick; a sampler collapsing to frequent words rises); *self-BLEU*, mean BLEU-4 over sample "
               "pairs."],
        headers=["group", "model", "sampler", "steps", "T", "GenPPL ↓ [95% CI]", "entropy", "MAUVE (MiniLM) ↑",
                 "MAUVE (AR) ↑", "types / 600 ↑", "top-50 share", "self-BLEU ↓", "s / sample", at_h, "sweep T",
                 "÷ frontier 1024 ↓", "÷ frontier K ↓", "budget (M passes / CPU-min)", "status", "commit", "row"],
        csv_columns=UNCONDITIONAL_COLUMNS)
    for e in entries:
        r, m = e["record"], e["record"]["metrics"]
        ci = m.get("gen_ppl_ci95") or [None, None]
        temps = sorted({s.get("temperature", 1.0) for s in e["sweep"]})
        # the interpolated number is made from two rows of the sweep (peers): their differences mark it too
        at_target, peers = (e["at_target"][0], e["at_target"][1:]) if e["at_target"] else (None, ())
        values = {"corpus": corpus, "group": e["group"], "method": r["method"], "model": r.get("teacher"),
                  "sampler": predictor(r), "student": variant(r), "steps": r["steps"], "nfe": r["nfe"],
                  "temperature": r.get("temperature"), "gen_ppl": m.get("gen_ppl"), "gen_ppl_ci95_low": ci[0],
                  "gen_ppl_ci95_high": ci[1], "entropy": m.get("entropy"), "mauve": m.get("mauve"),
                  **unconditional.distribution_values(r), "seconds_per_sample": r["seconds_per_sample"],
                  "matched_entropy": target,
                  "gen_ppl_at_matched_entropy": at_target, "sweep_temperatures": " ".join(f"{t:g}" for t in temps),
                  **_frontier_and_cost(r, rows), **_provenance(r, mismatches, history, *peers)}
        table.csv_rows.append(values)
        model = str(values["model"])
        if len(students[(e["group"], r.get("teacher"))]) > 1 and values["student"]:
            model += f" ({values['student']})"
        interval = f" {cell(m['gen_ppl_ci95'])}" if m.get("gen_ppl_ci95") else ""
        table.md_rows.append([
            e["group"] + mismatches.marker(r), model, values["sampler"], cell(r["steps"]), cell(r.get("temperature")),
            cell(m.get("gen_ppl")) + interval, cell(m.get("entropy")), cell(m.get("mauve")),
            *(cell(values[c]) for c in unconditional.DISTRIBUTION_COLUMNS), cell(r["seconds_per_sample"]),
            cell(at_target) + (mismatches.marker(*peers) if peers else ""), values["sweep_temperatures"],
            cell(values["ratio_to_frontier_1024"]), cell(values["ratio_to_frontier_at_steps"]), _budget_cell(values),
            *_provenance_cells(values, link_prefix)])
    table.notes = mismatches.notes()
    return table


def _frontier_and_cost(record: dict, rows: list[dict]) -> dict:
    """The distilled-student columns: ratios to the teacher's frontiers (read off the committed teacher rows) and the
    training cost (None elsewhere)."""
    frontier = frontier_ratios(record, rows) if record["method"] in STUDENT_METHODS else {}
    cost = record.get("training_cost") or {}
    return {"ratio_to_frontier_1024": (frontier.get("teacher_1024") or {}).get("ratio"),
            "ratio_to_frontier_at_steps": (frontier.get("teacher_at_K") or {}).get("ratio"),
            "training_updates": cost.get("updates"), "training_sequence_passes": cost.get("sequence_passes"),
            "training_cpu_minutes": cost.get("cpu_minutes"), "training_hardware": cost.get("hardware")}


def _budget_cell(values: dict) -> str:
    if values["training_sequence_passes"] is None:
        return "–"
    return f"{values['training_sequence_passes'] / 1e6:.3g} / {values['training_cpu_minutes']:.0f}"


def seq2seq_table(task: str, rows: list[dict], history: GitHistory, link_prefix: str,
                  benchmarks: dict | None = None) -> Table:
    times = seq2seq.sampler_times(benchmarks, task)
    entries = seq2seq.table_rows(rows, times)
    mismatches = Mismatches([e["record"] for e in entries])
    speed_source = (f"(`{times['command']}` at `{times['commit'][:7]}`, batch {times['batch_size']}, each sampler's "
                    "time per sample × its candidates; DiffuSeq at n steps: n × its time per step)") if times \
        else f"(none: no speed benchmark of {task} with DiffuSeq in benchmarks/)"
    table = Table(
        name=f"dlm_one_table1_{task}", title=f"Conditional generation, {task} (DLM-One's Table 1 layout)",
        intro=["BLEU (DiffuSeq's sentence BLEU) with its 95% interval; beside it, *copy BLEU*: copying the source "
               "on the same sources, *out↔src*: BLEU of the outputs against their sources (how much the row copies), "
               "*length*: mean output length in words; then ROUGE-L, BERTScore, dist-1 of the selected "
               "output (MBR-k rows: the MBR choice), self-BLEU and div-4 across the candidates. *s / sample*: the "
               "row's own run, at whatever load it had. *speed-up*: DiffuSeq's seconds per sample at 2000 steps ÷ "
               f"the row's sampler's, both from one speed benchmark {speed_source}. {STATUS_NOTE}"],
        headers=["row", "BLEU ↑ [95% CI]", "copy BLEU", "out↔src", "length", "ROUGE-L ↑", "BERTScore ↑", "dist-1 ↑", "self-BLEU ↓", "div-4 ↑", "NFE",
                 "s / sample", "speed-up vs DiffuSeq 2000", "status", "commit", "file"],
        csv_columns=SEQ2SEQ_COLUMNS)
    for e in entries:
        r, m = e["record"], seq2seq.selection_metrics(e["record"])
        ci = m["bleu_ci95"] or [None, None]
        values = {"task": task, "row": seq2seq.row_label(r), "method": r["method"], "stage": r.get("stage"),
                  "steps": r["steps"], "candidates": r.get("candidates", 1), "bleu": m["bleu"],
                  "bleu_ci95_low": ci[0], "bleu_ci95_high": ci[1],
                  **{k: m[k] for k in (*seq2seq.COPY, *seq2seq.SCORES)},
                  "nfe": r["nfe"], "seconds_per_sample": r["seconds_per_sample"],
                  "speedup_vs_diffuseq_2000": e["speedup"], **_provenance(r, mismatches, history)}
        table.csv_rows.append(values)
        interval = f" {cell(m['bleu_ci95'])}" if m["bleu_ci95"] else ""
        speedup = "–" if e["speedup"] is None else _times(e["speedup"])
        table.md_rows.append([
            values["row"] + mismatches.marker(r), cell(m["bleu"]) + interval,
            *(cell(m[k]) for k in (*seq2seq.COPY, *seq2seq.SCORES)), cell(r["nfe"]),
            cell(r["seconds_per_sample"]), speedup, *_provenance_cells(values, link_prefix)])
    table.notes = mismatches.notes()
    return table


def _times(ratio: float) -> str:
    return f"{ratio:.0f}×" if ratio >= 100 else f"{ratio:.3g}×"


def comparison_tables(records: list[dict], repo: Path = REPO_ROOT, link_prefix: str = f"{ROWS}/",
                      benchmarks: dict | None = None) -> list[Table]:
    """Every comparison table the rows support: one per corpus, then one per task. `link_prefix` leads from the
    Markdown file to the rows ("rows/" from results/README.md, "../rows/" from results/tables/); `benchmarks`: the
    speed benchmark records by task (seq2seq.load_benchmarks) the seq2seq speed-ups come from."""
    history = GitHistory(repo)
    tables = [unconditional_table(corpus, rows, history, link_prefix)
              for corpus, rows in unconditional.unconditional_records(records).items()]
    tables += [seq2seq_table(task, rows, history, link_prefix, benchmarks)
               for task, rows in seq2seq.seq2seq_records(records).items()]
    return tables


def comparison_markdown(tables: list[Table], figures: list[str], figure_prefix: str = "", heading: str = "##",
                        repo: Path = REPO_ROOT) -> list[str]:
    """The section results/README.md embeds and results/tables/README.md holds: tables, then the figures. The
    statuses hold for the code at `repo`'s HEAD, which the section names."""
    lines = [f"{heading} Method comparison", "",
             "Generated by `python -m experiments.reports all` (`make compare`) from the rows; tables as CSV and Markdown in "
             f"`results/{TABLES}/`, figures in `results/{FIGURES}/`. Row statuses as of commit `{git_commit(repo)}`.",
             ""]
    for table in tables:
        lines += table.markdown(heading + "#")
    lines += [f"![{name}]({figure_prefix}{name})" for name in figures]
    return lines + ([""] if figures else [])


def figure_names(results_dir: Path) -> list[str]:
    """The figures drawn into <results_dir>/figures/, for the Markdown that shows them."""
    return sorted(p.name for p in (Path(results_dir) / FIGURES).glob("*.png"))


def write_comparison_tables(records: list[dict], results_dir: Path, repo: Path = REPO_ROOT) -> list[Path]:
    """Every table as <results_dir>/tables/<name>.md and .csv, and the index tables/README.md showing them with the
    figures already drawn."""
    out_dir = Path(results_dir) / TABLES
    out_dir.mkdir(parents=True, exist_ok=True)
    tables = comparison_tables(records, repo, link_prefix=f"../{ROWS}/",
                               benchmarks=seq2seq.load_benchmarks(results_dir))
    written = []
    for table in tables:
        atomic_write_text(out_dir / f"{table.name}.md", "\n".join(table.markdown("#")) + "\n")
        atomic_write_text(out_dir / f"{table.name}.csv", table.csv_text())
        written += [out_dir / f"{table.name}.md", out_dir / f"{table.name}.csv"]
    index = comparison_markdown(tables, figure_names(results_dir), figure_prefix=f"../{FIGURES}/", heading="#",
                                repo=repo)
    atomic_write_text(out_dir / "README.md", "\n".join(index) + "\n")
    return written + [out_dir / "README.md"]
