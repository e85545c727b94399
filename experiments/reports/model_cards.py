"""Write the model card (README.md) of exported model folders, e.g. the committed ones:

    python -m experiments.reports cards checkpoints/mdlm-shakespeare-small [more folders] [--results-dir results]

Exports write their card themselves (teachers.registry.save_teacher, core.evaluate.reference_ar.save_ar); this command
(re)writes it for folders exported before, or once result rows exist. A card is generated from the folder's
config.json (what the model is, its provenance), the result rows whose `teacher_path` is the folder, and
scripts/reproduce/<folder>.sh when there is one. Nothing in it is typed by hand.
"""
from __future__ import annotations

import math
from pathlib import Path

from safetensors import safe_open
from transformers import GPT2Config

from core.checkpoint import CARD_FILE, CONFIG_FILE, MODEL_FILE, atomic_write_text, read_json
from core.errors import DataError
from core.evaluate.reference_ar import ar_card, reference_ar_tokenizer
from core.model_card import display_path, model_card
from core.paths import REPO_ROOT
from didi.discriminator import KIND as DISCRIMINATOR_KIND
from experiments.reports.kinds import load_rows
from teachers.registry import FAMILY_DESCRIPTIONS, teacher_card, with_current_family

# buffers stored beside the weights that are not parameters
BUFFERS = ("rotary_emb.inv_freq", "position_ids")
SEQ2SEQ_METRICS = ["single.bleu", "single.bleu_ci95", "single.rouge_l", "single.bertscore", "single.dist1",
                   "single.self_bleu", "single.div4", "mbr.bleu", "mbr.rouge_l", "mbr.bertscore"]


def card_for(folder: Path, results_dir: Path) -> str:
    """The card of one exported folder: a discrete teacher, a DiffuSeq teacher or the reference AR model."""
    name, where = folder.name, display_path(folder)
    # the model that drew a row: a student row names its teacher too, but belongs on the student's card
    rows = sorted((r for r in load_rows(results_dir, other_teachers=True)
                   if (r.get("student_path") or r.get("teacher_path")) == where),
                  key=lambda r: (r["method"], r.get("candidates", 1), r.get("temperature", 1.0), r["steps"]))
    script = REPO_ROOT / "scripts" / "reproduce" / f"{name}.sh"
    reproduce = f"scripts/reproduce/{name}.sh" if script.is_file() else None
    parameters = count_parameters(folder / MODEL_FILE)
    tokenizer_name = reference_ar_tokenizer(folder)
    if tokenizer_name is not None:
        provenance_file = folder / "provenance.json"
        provenance = read_provenance(provenance_file) if provenance_file.is_file() else None
        return ar_card(folder, GPT2Config.from_pretrained(folder), parameters, tokenizer_name, provenance, rows,
                       reproduce)
    config = with_current_family(read_json(folder / CONFIG_FILE,
                                           missing="missing (an exported model folder holds config.json)"))
    if config.get("kind") == DISCRIMINATOR_KIND:
        return discriminator_card(folder, config, parameters)
    family = config.get("family")
    if family in FAMILY_DESCRIPTIONS:
        return teacher_card(folder, config, parameters, rows, reproduce)
    if family == "diffuseq":
        return diffuseq_card(where, config, parameters, rows, reproduce)
    raise DataError(f"{folder}: no model card for family {family!r}; valid: "
                    f"{sorted([*FAMILY_DESCRIPTIONS, 'diffuseq'])} or a reference AR model")


def discriminator_card(folder: Path, config: dict, parameters: int) -> str:
    """A DiDi-Instruct discriminator: it reads the sequences of the student exported beside it (its tokenizer and
    length), and has no rows of its own (the student's -rgas rows use it)."""
    student = folder.with_name(folder.name.removesuffix("-discriminator"))
    student_config = read_json(student / CONFIG_FILE, missing="missing (a discriminator is exported beside its student)")
    net = config["network"]
    description = (f"The DiDi-Instruct discriminator exported beside `{display_path(student)}`: the teacher's DiT "
                   f"({net['n_blocks']} blocks, hidden size {net['hidden_size']}) with its last "
                   f"{config['trainable_blocks']} blocks trained and a linear head on the final hidden state, scoring "
                   f"how far a partly masked sequence looks like data rather than the student's. Reward-guided "
                   f"sampling (`didi.rgas=true`) reads it. Exported by dlm-distill.")
    load = f"from didi.discriminator import load_discriminator\ndiscriminator = load_discriminator(\"{display_path(folder)}\")"
    return model_card(folder=display_path(folder), family=DISCRIMINATOR_KIND, description=description,
                      parameters=parameters, tokenizer=student_config["tokenizer"], seq_len=student_config["seq_len"],
                      load=load, provenance=config.get("provenance"))


def diffuseq_card(where: str, config: dict, parameters: int, rows: list[dict], reproduce: str | None) -> str:
    net, tokenizer = config["network"], config["tokenizer"]
    description = (f"A DiffuSeq sequence-to-sequence diffusion model (embedding space, partial noising of the target) "
                   f"for the `{config.get('task', '?')}` task: a {net['num_layers']}-layer transformer, hidden size "
                   f"{net['hidden_size']}, embedding size {net['emb_dim']}, vocabulary {net['vocab_size']}, "
                   f"exported by dlm-distill.")
    load = (f"from teachers.diffuseq_checkpoint import from_pretrained\n"
            f"model, process = from_pretrained(\"{where}\")")
    tokenizer_name = tokenizer.get("base", "?") if isinstance(tokenizer, dict) else tokenizer
    if isinstance(tokenizer, dict) and "kept_ids" in tokenizer:
        description += f" Its vocabulary is `{tokenizer_name}` restricted to the task's training ids."
    return model_card(folder=where, family="diffuseq", description=description, parameters=parameters,
                      tokenizer=tokenizer_name, seq_len=config["seq_len"], load=load,
                      provenance=config.get("provenance"), metrics=rows, metric_names=SEQ2SEQ_METRICS,
                      reproduce=reproduce)


def count_parameters(weights: Path) -> int:
    """Parameters stored in a safetensors file (tied weights are stored once), read from its header only."""
    if not weights.is_file():
        raise DataError(f"{weights}: missing (an exported model folder holds {MODEL_FILE})")
    with safe_open(str(weights), framework="pt") as f:
        total = 0
        for key in f.keys():
            if not key.endswith(BUFFERS):
                shape = f.get_slice(key).get_shape()
                total += math.prod(shape)
    return total


def read_provenance(path: Path) -> dict:
    """provenance.json of a reference AR folder; early exports wrote YAML there (JSON is a subset of YAML)."""
    import yaml
    return yaml.safe_load(path.read_text()) or {}



def write_cards(folders: list[Path], results_dir: Path) -> list[Path]:
    """The card of every folder in `folders`, listing the rows of `results_dir` that sampled it."""
    written = []
    for folder in folders:
        if not Path(folder).is_dir():
            raise DataError(f"{folder}: not a folder")
        atomic_write_text(Path(folder) / CARD_FILE, card_for(Path(folder), results_dir))
        written.append(Path(folder) / CARD_FILE)
    return written


def model_folders(root: Path) -> list[Path]:
    """The exported model folders directly under `root` (each holds its weights), e.g. checkpoints/."""
    return sorted(p.parent for p in Path(root).glob(f"*/{MODEL_FILE}"))
