"""Load the published discrete-diffusion checkpoints (MDLM, SEDD, Duo, Duo distilled) as project `Teacher`s.

Accepted sources (`name_or_path`):
  * a hub name — `kuleshov-group/mdlm-owt`, `louaaron/sedd-small`, `s-sahoo/duo`, `s-sahoo/duo-distilled` (any other
    `owner/name` works with `family=`). The Hugging Face cache is tried first (`local_files_only=True`), then the hub;
    without either, the error names the repo and says how to pass a local folder instead.
  * a local folder holding `config.json` + `model.safetensors` (or `pytorch_model.bin`) — a downloaded hub snapshot.
  * a checkpoint file (`.ckpt`, `.pth`, `.pt`): a Lightning checkpoint of the MDLM / Duo code (`state_dict` with keys
    under `backbone.`, plus `ema` = {"shadow_params": [...]}) — e.g. Duo's Google-Drive `mdlm.ckpt`, `sedd.ckpt`,
    `duo.ckpt`, `duo-distilled.ckpt` — or SEDD's `checkpoint.pth` (`model` with DDP keys under `module.`, plus `ema`).

Published layouts (what the readers below expect):
    kuleshov-group/mdlm-owt   config.json {vocab_size: 50258, model_length: 1024, hidden_dim: 768, cond_dim: 128,
                              n_blocks: 12, n_heads: 12, dropout: 0.1, time_conditioning: false, ...};
                              model.safetensors with keys `backbone.<DiT key>`.
    louaaron/sedd-small       config.json = the run's hydra config {tokens: 50257, graph: {type: absorb}, noise: {...},
                              model: {hidden_size, cond_dim, n_blocks, n_heads, dropout, length, scale_by_sigma}};
                              weights (PyTorchModelHubMixin) with bare DiT keys.
    s-sahoo/duo(-distilled)   the MDLM-style HF export (flat config, `backbone.` keys), time-conditioned.
The DiT keys are `vocab_embed.embedding`, `sigma_map.mlp.{0,2}.*`, `rotary_emb.inv_freq`, `blocks.N.{norm1, attn_qkv,
attn_out, norm2, mlp.0, mlp.2, adaLN_modulation}.*`, `output_layer.{norm_final, linear, adaLN_modulation}.*` — exactly
`core.networks.dit.DiT`'s, so nothing is renamed. `rotary_emb.inv_freq` is a buffer some exports omit; a missing one is
recomputed (it is a deterministic function of the head size).

Vocabularies (GPT-2 tokenizer, 50257 ids; the MDLM/Duo data loaders add a `[PAD]` token, so len(tokenizer) = 50258):
    MDLM   network 50258 = 50257 + [MASK] (mask id 50257)      → MaskedDiffusion(vocab_size = network − 1)
    SEDD   network 50258 = 50257 + absorbing state             → AbsorbingScoreProcess(vocab_size = network − 1)
    Duo    network 50258 = len(tokenizer), no mask; the uniform process runs over all network outputs
           (Duo `TrainerBase`: vocab_size = len(tokenizer))  → UniformDiffusion(vocab_size = network)
All four use the log-linear schedule with eps = 1e-3 and t ~ U[1e-3, 1] (their `sampling_eps`), the process defaults.

Security: nothing is unpickled beyond `torch.load(weights_only=True)`. A real Lightning checkpoint also stores
`hyper_parameters` (OmegaConf objects, the tokenizer), which weights-only loading refuses; the error then prints the
one-off conversion to run in a trusted environment (`LIGHTNING_WORKAROUND`).
"""
from __future__ import annotations

import re
from pathlib import Path

import torch
from safetensors.torch import load_file

from core.checkpoint import HUB_ID, check_state_dict, fetch_from_hub, first_line, read_json
from core.errors import ConfigError, DataError
from core.networks.dit import DiT, DiTConfig
from teachers.registry import DUO_DISTILLED, Teacher, build_process, save_teacher

FAMILIES = ("mdlm", "sedd", "duo", DUO_DISTILLED)
HUB_FAMILIES = {  # duo-distilled: a Duo network after DCD, sampled in few steps (registry.DUO_DISTILLED)
    "kuleshov-group/mdlm-owt": "mdlm",
    "louaaron/sedd-small": "sedd",
    "louaaron/sedd-medium": "sedd",
    "s-sahoo/duo": "duo",
    "s-sahoo/duo-distilled": DUO_DISTILLED,
}
CKPT_FAMILIES = {"mdlm": "mdlm", "sedd": "sedd", "duo": "duo", "duo-distilled": DUO_DISTILLED}  # Duo's Drive file names
WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")
CHECKPOINT_SUFFIXES = (".ckpt", ".pth", ".pt")
HUB_PATTERNS = ["config.json", *WEIGHT_FILES]
KEY_PREFIXES = ("backbone.", "module.")  # Lightning / HF wrapper; DDP (SEDD's own checkpoints)
INV_FREQ = "rotary_emb.inv_freq"
TOKENIZER = "gpt2"
DEFAULT_SEQ_LEN = 1024  # every published OWT checkpoint was trained on 1024-token sequences
DEFAULT_DROPOUT = 0.1   # the papers' value; used only when no config is given (irrelevant at evaluation)
SCHEDULE_EPS = 1e-3
T_MIN = 1e-3
LIGHTNING_WORKAROUND = (
    "In an environment where you trust the file, strip it to plain tensors once:\n"
    "    ckpt = torch.load(PATH, map_location='cpu', weights_only=False)\n"
    "    torch.save({'state_dict': ckpt['state_dict'], 'ema': {'shadow_params': ckpt['ema']['shadow_params']}}, OUT)\n"
    "then load OUT (put a config.json beside it if the DiT size cannot be read from the weights).")


# --- public API -------------------------------------------------------------------------------------------------------
def load_published(name_or_path: str, *, family: str | None = None, device="cpu", use_ema: bool = True) -> Teacher:
    """Build a frozen `Teacher` (network in eval mode on `device`) from a published checkpoint.

    family: "mdlm" | "sedd" | "duo" | "duo_distilled"; inferred from a known hub name, a Duo-style .ckpt file name or
    the config when omitted. use_ema: use the checkpoint's EMA weights when it carries them (Lightning `ema`); hub
    exports hold one set of weights and ignore it.
    """
    source = resolve_source(name_or_path)
    state, ema, config, info = read_source(source)
    family = family or infer_family(name_or_path, source, config)
    if family not in FAMILIES:
        raise ConfigError(f"unknown teacher family {family!r}; valid: {list(FAMILIES)}")
    state, ignored = strip_prefix(state)
    network_config, seq_len = network_config_from(config, state, source)
    network = DiT(network_config)
    if INV_FREQ not in state:
        state[INV_FREQ] = network.rotary_emb.inv_freq.clone()  # non-persistent in some exports; deterministic
    check_keys(network, state, source)
    if use_ema and ema is not None:
        state = apply_ema(network, state, ema, source)
    network.load_state_dict({k: v.float() for k, v in state.items()})
    network.to(device).eval()
    for p in network.parameters():
        p.requires_grad_(False)  # teachers are frozen
    process_config = process_config_for(family, config, network_config.vocab_size, source)
    provenance = {"source": str(name_or_path), "resolved": str(source), "ema_used": bool(use_ema and ema is not None),
                  "ignored_keys": ignored[:20], **info}
    teacher_config = {"family": family, "network": network_config.to_dict(), "process": process_config,
                      "tokenizer": TOKENIZER, "seq_len": seq_len, "provenance": provenance}
    return Teacher(family, network, build_process(family, process_config), TOKENIZER, seq_len, teacher_config)


def convert_published(name_or_path: str, out_folder: str | Path, family: str | None = None,
                      use_ema: bool = True) -> Path:
    """Load a published checkpoint and write it in the project's format (`teachers.registry.save_teacher`)."""
    teacher = load_published(name_or_path, family=family, use_ema=use_ema)
    return save_teacher(out_folder, family=teacher.family, network=teacher.network,
                        process_config=teacher.config["process"], tokenizer_name=teacher.tokenizer_name,
                        seq_len=teacher.seq_len, provenance=teacher.config["provenance"])


# --- where the files are ----------------------------------------------------------------------------------------------
def resolve_source(name_or_path: str) -> Path:
    """A local folder/file as is; otherwise a hub name, fetched from the HF cache first, then from the hub."""
    path = Path(name_or_path).expanduser()
    if path.exists():
        return path
    if not HUB_ID.match(str(name_or_path)):
        raise DataError(f"{name_or_path}: no such file or folder (expected a published checkpoint folder, a "
                        f".ckpt/.pth file, or a hub name like 'kuleshov-group/mdlm-owt')")
    how_to = (f"On a machine with network run `huggingface-cli download {name_or_path} --local-dir DIR`, copy DIR "
              f"here and pass it: load_published('DIR', family=...).")
    return fetch_from_hub(str(name_or_path), HUB_PATTERNS, how_to=how_to)


def read_source(source: Path) -> tuple[dict, object, dict | None, dict]:
    """(raw state dict, EMA entry or None, config dict or None, provenance info) from a folder or a checkpoint file."""
    if source.is_dir():
        weights = next((source / name for name in WEIGHT_FILES if (source / name).is_file()), None)
        if weights is None:
            raise DataError(f"{source}: no weights file; expected one of {list(WEIGHT_FILES)} (a downloaded hub "
                            f"snapshot) — for a Lightning checkpoint pass the .ckpt file itself")
        state = load_file(str(weights)) if weights.suffix == ".safetensors" else torch_load(weights)
        if not isinstance(state, dict) or not all(torch.is_tensor(v) for v in state.values()):
            raise DataError(f"{weights}: expected a flat state dict of tensors")
        return dict(state), None, read_config(source / "config.json", required=True), {"weights_file": weights.name}
    if source.suffix not in CHECKPOINT_SUFFIXES:
        raise DataError(f"{source}: unsupported file type; expected a folder or one of {list(CHECKPOINT_SUFFIXES)}")
    ckpt = torch_load(source)
    if not isinstance(ckpt, dict):
        raise DataError(f"{source}: expected a checkpoint dict, got {type(ckpt).__name__}")
    state_key = next((k for k in ("state_dict", "model") if isinstance(ckpt.get(k), dict)), None)
    if state_key is None:
        raise DataError(f"{source}: no 'state_dict' (Lightning) or 'model' (SEDD) entry; top-level keys: "
                        f"{sorted(map(str, ckpt))}")
    config = read_config(source.parent / "config.json", required=False)
    return dict(ckpt[state_key]), ckpt.get("ema"), config, {"checkpoint_entry": state_key}


def torch_load(path: Path):
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:
        raise DataError(f"{path}: cannot be read with torch.load(weights_only=True) ({first_line(err)}). Lightning "
                        f"checkpoints also pickle their hyper-parameters (OmegaConf, tokenizer), which this loader "
                        f"refuses to unpickle.\n{LIGHTNING_WORKAROUND}") from err


def read_config(path: Path, *, required: bool) -> dict | None:
    if not path.is_file() and not required:
        return None
    return read_json(path, missing="missing (a published folder holds config.json beside its weights)")


def infer_family(name_or_path: str, source: Path, config: dict | None) -> str:
    for name in (str(name_or_path), source.name):
        if name in HUB_FAMILIES:
            return HUB_FAMILIES[name]
    if source.is_file() and source.stem in CKPT_FAMILIES:
        return CKPT_FAMILIES[source.stem]
    hub_cache = re.search(r"models--([^/]+)--([^/]+)", str(source))  # an HF cache snapshot path
    if hub_cache and f"{hub_cache[1]}/{hub_cache[2]}" in HUB_FAMILIES:
        return HUB_FAMILIES[f"{hub_cache[1]}/{hub_cache[2]}"]
    if config is not None and "graph" in config:  # SEDD's hydra config
        return "sedd"
    if config is not None and config.get("model_type") in ("mdlm", "duo"):
        return config["model_type"]
    raise ConfigError(f"{name_or_path}: cannot infer the teacher family; pass family= one of {list(FAMILIES)}")


# --- weights ----------------------------------------------------------------------------------------------------------
def strip_prefix(state: dict) -> tuple[dict, list[str]]:
    """Drop the wrapper prefix (`backbone.` or `module.`). Keys outside it belong to other modules of the training
    wrapper (e.g. a Lightning module's `teacher.` copy) and are returned as ignored."""
    for prefix in KEY_PREFIXES:
        if any(k.startswith(prefix) for k in state):
            kept = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
            return kept, sorted(k for k in state if not k.startswith(prefix))
    return dict(state), []


def check_keys(network: DiT, state: dict, source: Path) -> None:
    """One error listing every missing, unexpected and mis-shaped key (after prefix stripping)."""
    check_state_dict(network, state, source=source)


def apply_ema(network: DiT, state: dict, ema, source: Path) -> dict:
    """Replace parameters by the EMA's `shadow_params` (a list in `parameters()` order; buffers are not averaged).

    MDLM/Duo average `chain(backbone.parameters(), noise.parameters())` (the log-linear noise has no parameters);
    SEDD averages `score_model.parameters()`. Our DiT registers its modules in the same order as their DIT
    (vocab_embed, sigma_map, rotary_emb, blocks[norm1, attn_qkv, attn_out, norm2, mlp, adaLN_modulation],
    output_layer), so `named_parameters()` gives the names of the list entries.
    """
    shadow = ema.get("shadow_params") if isinstance(ema, dict) else None
    if not isinstance(shadow, (list, tuple)) or not all(torch.is_tensor(p) for p in shadow):
        raise DataError(f"{source}: 'ema' entry has no list of tensors 'shadow_params' "
                        f"(keys: {sorted(ema) if isinstance(ema, dict) else type(ema).__name__})")
    names = [name for name, _ in network.named_parameters()]
    if len(shadow) != len(names):
        raise DataError(f"{source}: EMA has {len(shadow)} shadow params, the DiT has {len(names)} parameters")
    bad = [f"#{i} {n}: {tuple(p.shape)} vs {tuple(state[n].shape)}"
           for i, (n, p) in enumerate(zip(names, shadow)) if p.shape != state[n].shape]
    if bad:
        raise DataError(f"{source}: EMA shadow params do not line up with the DiT parameters: {bad[:5]}")
    return {**state, **dict(zip(names, shadow))}


# --- configs ----------------------------------------------------------------------------------------------------------
def network_config_from(config: dict | None, state: dict, source: Path) -> tuple[DiTConfig, int]:
    """DiTConfig + sequence length from the published config; sizes it omits are read off the weight shapes."""
    shapes = sizes_from_state(state, source)
    if config is None:
        published = {}
    elif isinstance(config.get("model"), dict):  # SEDD / hydra: {tokens, model: {hidden_size, ...}}
        m = config["model"]
        published = {"hidden_size": m.get("hidden_size"), "cond_dim": m.get("cond_dim"), "n_heads": m.get("n_heads"),
                     "n_blocks": m.get("n_blocks"), "dropout": m.get("dropout"), "seq_len": m.get("length")}
    else:  # MDLM / Duo HF export: flat keys
        published = {"hidden_size": config.get("hidden_dim"), "cond_dim": config.get("cond_dim"),
                     "n_heads": config.get("n_heads"), "n_blocks": config.get("n_blocks"),
                     "dropout": config.get("dropout"), "seq_len": config.get("model_length"),
                     "vocab_size": config.get("vocab_size")}
    sizes = {**shapes, **{k: v for k, v in published.items() if v is not None}}
    if sizes.get("n_heads") is None:
        raise DataError(f"{source}: the number of attention heads is neither in a config.json nor readable from "
                        f"the weights (no {INV_FREQ}); put a config.json with n_heads beside the checkpoint")
    seq_len = int(sizes.pop("seq_len", DEFAULT_SEQ_LEN))
    sizes.setdefault("dropout", DEFAULT_DROPOUT)
    return DiTConfig(**{k: (float(v) if k == "dropout" else int(v)) for k, v in sizes.items()}), seq_len


def sizes_from_state(state: dict, source: Path) -> dict:
    """vocab/hidden/cond/blocks/mlp ratio from weight shapes; n_heads from the rotary inv_freq (head_dim / 2)."""
    needed = ("vocab_embed.embedding", "sigma_map.mlp.0.weight", "blocks.0.mlp.0.weight")
    absent = [k for k in needed if k not in state]
    if absent:
        raise DataError(f"{source}: not a DiT state dict: missing keys {absent} (after stripping "
                        f"{list(KEY_PREFIXES)}); first keys found: {sorted(state)[:8]}")
    vocab, hidden = state["vocab_embed.embedding"].shape
    blocks = {int(m[1]) for k in state if (m := re.match(r"blocks\.(\d+)\.", k))}
    sizes = {"vocab_size": vocab, "hidden_size": hidden, "cond_dim": state["sigma_map.mlp.0.weight"].shape[0],
             "n_blocks": max(blocks) + 1, "mlp_ratio": state["blocks.0.mlp.0.weight"].shape[0] // hidden}
    if INV_FREQ in state:
        sizes["n_heads"] = hidden // (2 * state[INV_FREQ].numel())
    return sizes


def process_config_for(family: str, config: dict | None, network_vocab: int, source: Path) -> dict:
    """The process's init arguments (JSON) for a published network with `network_vocab` outputs."""
    if family == "mdlm":
        config = config or {}  # flat HF export, or a hydra config with `algo.time_conditioning`
        hydra_flag = (config.get("algo") or {}).get("time_conditioning", False)
        time_conditioning = bool(config.get("time_conditioning", hydra_flag))  # MDLM-OWT: False
        return {"vocab_size": network_vocab - 1, "eps": SCHEDULE_EPS, "time_conditioning": time_conditioning,
                "t_min": T_MIN}
    if family == "sedd":
        graph = ((config or {}).get("graph") or {}).get("type", "absorb")
        if graph != "absorb":
            raise ConfigError(f"{source}: SEDD graph {graph!r} is not supported (only the absorbing graph)")
        return {"vocab_size": network_vocab - 1, "t_min": T_MIN}
    return {"vocab_size": network_vocab, "t_min": T_MIN}  # duo / duo_distilled: uniform over every network output
