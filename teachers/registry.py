"""Save and load discrete teachers HF-style: a folder with `config.json` + `model.safetensors`.

config.json = {"family": "mdlm"|"sedd"|"duo"|"duo_distilled", "network": DiTConfig fields, "process": the process's init
arguments, "tokenizer": a core.tokenizers name, "seq_len": int, "provenance": {...}}; README.md is the generated model
card (core.model_card). Nothing is unpickled: weights are safetensors, everything else JSON. `load_teacher` rebuilds
network + process without any training code, from a folder or a Hub repository holding one; `DiT.from_pretrained`
reads the network alone from the same folder.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from core.checkpoint import check_state_dict, load_pretrained, read_json, save_pretrained
from core.errors import ConfigError, DataError
from core.model_card import display_path, model_card
from core.networks.dit import DiT, DiTConfig

DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}
# The model family of a few-step Duo network distilled by discrete consistency distillation (Duo's authors publish
# theirs as s-sahoo/duo-distilled; a student of baselines/dcd.py is one too): a Duo process and sampler under its own
# name. The family is a kind of model folder (`teacher=duo_distilled` loads one); the DCD *method*, which makes such
# models in rounds, is `method=dcd` (baselines/dcd.py).
DUO_DISTILLED = "duo_distilled"
# Folders exported before that family had its own name say "dcd" (the committed ones included, whose files stay as
# they were made): they load under today's name, so the rest of the code knows one name.
LEGACY_FAMILIES = {"dcd": DUO_DISTILLED}


def process_families() -> dict:
    """family -> process class. An import error in a family's module is raised, not hidden: a missing family would
    otherwise surface later as an "unknown family" of a folder that is fine."""
    from teachers.duo import UniformDiffusion
    from teachers.mdlm import MaskedDiffusion
    from teachers.sedd import AbsorbingScoreProcess
    return {"mdlm": MaskedDiffusion, "sedd": AbsorbingScoreProcess, "duo": UniformDiffusion,
            DUO_DISTILLED: UniformDiffusion}


def with_current_family(config: dict) -> dict:
    """A model folder's config.json with a legacy family name (LEGACY_FAMILIES) read as today's."""
    family = config.get("family")
    return {**config, "family": LEGACY_FAMILIES[family]} if family in LEGACY_FAMILIES else config


@dataclass
class Teacher:
    family: str
    network: torch.nn.Module
    process: object
    tokenizer_name: str
    seq_len: int
    config: dict


def build_process(family: str, process_config: dict):
    families = process_families()
    if family not in families:
        raise ValueError(f"unknown teacher family {family!r}; valid: {sorted(families)}")
    return families[family](**process_config)


def save_teacher(folder: str | Path, *, family: str, network: DiT, process_config: dict, tokenizer_name: str,
                 seq_len: int, state: dict | None = None, dtype: str = "float32", provenance: dict | None = None,
                 metrics: list[dict] | None = None) -> Path:
    """`state` defaults to the network's own weights (pass EMA weights to export those); `metrics` are result rows
    (core.evaluate.results records) listed in the model card."""
    state = dict(state if state is not None else network.state_dict())
    state = {k: (v.to(DTYPES[dtype]) if v.is_floating_point() and k != "rotary_emb.inv_freq" else v) for k, v in state.items()}
    config = {"family": family, "network": network.config.to_dict(), "process": process_config,
              "tokenizer": tokenizer_name, "seq_len": seq_len, "provenance": provenance or {}}
    parameters = sum(p.numel() for p in network.parameters())
    return save_pretrained(folder, state, config, card=teacher_card(folder, config, parameters, metrics))


UNCONDITIONAL_METRICS = ["gen_ppl", "gen_ppl_ci95", "entropy", "mauve"]   # what a result row says about the samples
FAMILY_DESCRIPTIONS = {
    "mdlm": "A masked diffusion language model (MDLM: absorbing process, SUBS parameterization)",
    "sedd": "A score entropy discrete diffusion model (SEDD, absorbing graph)",
    "duo": "A uniform-state diffusion language model (Duo)",
    DUO_DISTILLED: "A few-step Duo model distilled with Duo's discrete consistency distillation (Duo-DCD)",
}


def teacher_card(folder: str | Path, config: dict, parameters: int, metrics: list[dict] | None = None,
                 reproduce: str | None = None) -> str:
    """The model card of a folder in this format, from its config.json (`config`) and its parameter count; result
    rows show GenPPL and entropy."""
    where = display_path(folder)
    family, net = config["family"], config["network"]
    what = FAMILY_DESCRIPTIONS.get(family, f"A {family} model")
    description = (f"{what} on a DiT backbone ({net['n_blocks']} blocks, hidden size {net['hidden_size']}, "
                   f"{net['n_heads']} heads, vocabulary {net['vocab_size']} including any mask token), exported "
                   f"by dlm-distill.")
    load = (f"# network + noise process, frozen; from this folder or a Hub repository holding it\n"
            f"from teachers.registry import load_teacher\n"
            f"teacher = load_teacher(\"{where}\")\n"
            f"# the network alone\n"
            f"from core.networks.dit import DiT\n"
            f"network = DiT.from_pretrained(\"{where}\")")
    return model_card(folder=where, family=family, description=description, parameters=parameters,
                      tokenizer=config["tokenizer"], seq_len=config["seq_len"], load=load,
                      provenance=config.get("provenance"), metrics=metrics, metric_names=UNCONDITIONAL_METRICS,
                      reproduce=reproduce)


def _sample_mdlm(process, network, *, predictor, temperature, top_p, cache, **common):
    from teachers.mdlm import sample
    _check_predictor(predictor, "mdlm", ["default", "ancestral"])
    return sample(process, network, temperature=temperature, top_p=top_p, cache=cache, **common)


def _sample_sedd(process, network, *, predictor, temperature, top_p, cache, **common):
    from teachers.sedd import sample
    _check_predictor(predictor, "sedd", ["default", "analytic", "euler"])
    if top_p != 1.0:
        raise ConfigError("the SEDD samplers have no top_p (as in SEDD's code); leave it at 1")
    return sample(process, network, predictor="analytic" if predictor == "default" else predictor,
                  temperature=temperature, **common)


# students' samplers (Duo's latent) whose teacher sweep at K > 1 is drawn with the teacher's own sampler (the
# entropy-matched control keeps the student's); named for K = 1, the only steps they first made (controls.py reads it)
ONE_STEP_PREDICTORS = ("latent",)


def _sample_duo(process, network, *, predictor, temperature, top_p, cache, **common):
    from teachers.duo import sample, sample_through_latent
    _check_predictor(predictor, "duo", ["default", "ancestral", "greedy_tail", "latent"])
    if predictor == "latent":   # a K-step student: noise -> forward -> tokens, re-noised through the latent K - 1 times
        return sample_through_latent(process, network, temperature=temperature, top_p=top_p, **common)
    return sample(process, network, temperature=temperature, top_p=top_p,
                  noise_removal="greedy" if predictor == "greedy_tail" else "ancestral", **common)


def _sample_ar(process, network, *, predictor, temperature, top_p, cache, batch_size, length, steps, device,
               float64):
    """The unconditional AR baseline (no process; `steps` do not apply): KV-cached decoding from [BOS]."""
    from teachers.ar import sample_unconditional
    _check_predictor(predictor, "ar_lm", ["default"])
    return sample_unconditional(network, batch_size=batch_size, length=length, bos_id=network.config.bos_token_id,
                                device=device, temperature=temperature, top_p=top_p, float64=float64, cache=cache)


def _check_predictor(predictor: str, family: str, valid: list[str]) -> None:
    if predictor not in valid:
        raise ConfigError(f"sampling.predictor={predictor} does not apply to {family}; valid: {valid}")


# family -> its sampler; `predictor` picks the variant by name. Each takes batch_size, length, steps, device, float64.
SAMPLERS = {"mdlm": _sample_mdlm, "sedd": _sample_sedd, "duo": _sample_duo, DUO_DISTILLED: _sample_duo,
            "ar_lm": _sample_ar}


def sample_model(family: str, process, network, *, predictor: str = "default", temperature: float = 1.0,
                 top_p: float = 1.0, cache: bool = True, **common) -> tuple[torch.Tensor, float]:
    """Sample a teacher or a distilled student of `family` with the family's own sampler. Returns (ids, nfe)."""
    if family not in SAMPLERS:
        raise ConfigError(f"no sampler for model family {family!r}; valid: {sorted(SAMPLERS)}")
    return SAMPLERS[family](process, network, predictor=predictor, temperature=temperature, top_p=top_p,
                            cache=cache, **common)


def load_teacher(folder: str | Path, device="cpu") -> Teacher:
    """The one loader of the model folders the commands sample, distil and benchmark: a frozen Teacher with every
    parameter on `device`. `folder` is written by `save_teacher` (DiT families, their IDLM, SDTT and DCD students
    included), by the DiffuSeq export (teachers and DLM-One students) or by `save_ar` (the AR baselines: family
    `ar_seq2seq` when its tokenizer is a task vocabulary, else `ar_lm`), or is a Hub repository ("owner/name") holding
    one. Every family is built on the CPU and moved here, in one place: a network filled from weights loaded with a
    map_location alone stays on the CPU while its inputs go to the GPU."""
    family, network, process, tokenizer, seq_len, config = _read_model(folder)
    network.to(device).eval().requires_grad_(False)   # teachers are frozen; trainable copies are made from them
    return Teacher(family, network, process, tokenizer, seq_len, config)


def _read_model(folder: str | Path):
    """(family, network on the CPU, process or None, tokenizer name or spec, seq_len, config) of a model folder."""
    from core.evaluate.reference_ar import load_ar, reference_ar_tokenizer

    local = Path(folder)
    if (local / "config.json").is_file() and dict_or_empty(read_json(local / "config.json")).get(
            "family") == "diffuseq":
        from teachers.diffuseq_checkpoint import from_pretrained
        from teachers.diffuseq_self_condition import for_sampling
        network, process = from_pretrained(local)
        config = read_json(local / "config.json")   # the tokenizer entry is a task vocabulary spec
        # a self-conditioned network is sampled feeding back its estimates (DLM-One refuses such a teacher)
        return "diffuseq", for_sampling(network), process, config["tokenizer"], config["seq_len"], config
    if local.is_dir() and reference_ar_tokenizer(local) is not None:
        network, tokenizer = load_ar(local)
        family = "ar_seq2seq" if isinstance(tokenizer, dict) else "ar_lm"
        return family, network, None, tokenizer, network.config.n_positions, network.config.to_dict()
    state, config = load_pretrained(folder)
    config = with_current_family(config)
    check_dit_teacher_config(config, Path(folder, "config.json"))
    network = DiT(DiTConfig(**config["network"]))
    state = {k: v.float() for k, v in state.items()}
    check_state_dict(network, state, source=folder)
    network.load_state_dict(state)
    process = build_process(config["family"], config["process"])
    return config["family"], network, process, config["tokenizer"], config["seq_len"], config


def dict_or_empty(value) -> dict:
    return value if isinstance(value, dict) else {}


def check_dit_teacher_config(config: dict, source: Path) -> None:
    """One DataError naming `source` when the config is not a DiT teacher's: another family's (e.g. a reference AR
    model's GPT-2 config), or fields missing or unknown to the network."""
    family = config.get("family")
    if family not in process_families():
        what = f"a {config['model_type']!r} model's" if "model_type" in config else f"family {family!r}"
        raise DataError(f"{source}: {what} config, not a DiT teacher's (family mdlm, sedd, duo or duo_distilled)")
    missing = [k for k in ("network", "process", "tokenizer", "seq_len") if k not in config]
    if missing:
        raise DataError(f"{source}: a {family} teacher config without {missing}")
    try:
        DiTConfig(**config["network"])
    except TypeError as err:
        raise DataError(f"{source}: {err}") from None
