"""Load the published DiffuSeq checkpoints, and save/load a DiffuSeq teacher in the project's own format.

Published layout (Shark-NLP/DiffuSeq releases): a folder holding `ema_0.9999_<step>.pt` (a plain state dict of
`TransformerNetModel`, BERT encoder) and `training_args.json` (the run's arguments: hidden_dim, hidden_t_dim, seq_len,
vocab_size, config_name, dropout, diffusion_steps, noise_schedule, rescale_timesteps, predict_xstart, learn_sigma …).
The BERT sizes come from `config_name`'s Hugging Face config; we hard-code the public bert-base values instead of
downloading them (`KNOWN_BERT_CONFIGS`), or take `bert_sizes=` for any other encoder.

Project format (save_pretrained-style): `<dir>/config.json` {"network": DiffuSeqNetConfig, "process": {...}} and
`<dir>/model.safetensors` (the tied `lm_head.weight` is stored once, as `word_embedding.weight`). Every file is
written to a temporary name and moved into place with os.replace, so a crash never leaves a half-written file.
"""
from __future__ import annotations

from pathlib import Path

import torch

from core.checkpoint import check_state_dict, read_json, save_pretrained as core_save_pretrained
from core.errors import ConfigError, DataError
from core.networks.hub import load_folder_weights
from core.networks.diffuseq_net import DiffuSeqNet, DiffuSeqNetConfig
from teachers.diffuseq import DiffuSeqProcess

# BertConfig values of the public bert-base checkpoints (their config.json on the Hugging Face hub).
_BERT_BASE = dict(hidden_size=768, num_layers=12, num_heads=12, intermediate_size=3072, max_position_embeddings=512,
                  attention_dropout=0.1, layer_norm_eps=1e-12, hidden_act="gelu")
KNOWN_BERT_CONFIGS = {"bert-base-uncased": _BERT_BASE, "bert-base-cased": _BERT_BASE}
TIED_KEY, TIED_SOURCE = DiffuSeqNet.TIED_KEY, DiffuSeqNet.TIED_SOURCE   # one tensor, two names
POSITION_IDS_KEY = "position_ids"    # DiffuSeq's persistent buffer; we rebuild positions in forward()
TRAINING_ARGS_MISSING = "not found (DiffuSeq saves training_args.json beside its checkpoints)"


def configs_from_training_args(args: dict, *, source: str = "training_args.json",
                               bert_sizes: dict | None = None) -> tuple[DiffuSeqNetConfig, dict]:
    """(network config, DiffuSeqProcess kwargs) for a DiffuSeq run; rejects settings this port does not implement."""
    for key in ("hidden_dim", "vocab_size", "config_name"):
        if key not in args:
            raise ConfigError(f"{source}: missing key {key!r}")
    unsupported = {"noise_schedule": "sqrt", "predict_xstart": True, "learn_sigma": False}
    for key, wanted in unsupported.items():
        if key in args and args[key] != wanted:
            raise ConfigError(f"{source}: {key}={args[key]!r} is not supported (only {wanted!r})")
    if bert_sizes is None:
        if args["config_name"] not in KNOWN_BERT_CONFIGS:
            raise ConfigError(f"{source}: config_name {args['config_name']!r} unknown without a download; "
                              f"known: {sorted(KNOWN_BERT_CONFIGS)} (or pass bert_sizes=)")
        bert_sizes = KNOWN_BERT_CONFIGS[args["config_name"]]
    net = DiffuSeqNetConfig(vocab_size=int(args["vocab_size"]), emb_dim=int(args["hidden_dim"]),
                            hidden_t_dim=int(args.get("hidden_t_dim", 128)),
                            dropout=float(args.get("dropout", 0.1)), **bert_sizes)
    process = {"num_steps": int(args.get("diffusion_steps", 2000)),
               "rescale_timesteps": bool(args.get("rescale_timesteps", True))}
    return net, process


def load_published_checkpoint(checkpoint: str | Path, *, bert_sizes: dict | None = None):
    """Build the teacher from a released `ema_0.9999_*.pt` and the `training_args.json` beside it.

    Returns (model in eval mode on the CPU, DiffuSeqProcess, info). info["tied_weights_differed"] says whether the file's
    `lm_head.weight` and `word_embedding.weight` differ: DiffuSeq's EMA saver replaces only named_parameters (which
    lists the tied weight once, as word_embedding), so `lm_head.weight` holds the raw, non-EMA table; loading that
    file into the tied model (as DiffuSeq's sampler does) lets `lm_head.weight` win. We reproduce that on purpose.
    """
    checkpoint = Path(checkpoint)
    if not checkpoint.is_file():
        raise DataError(f"{checkpoint}: checkpoint file not found")
    args_path = checkpoint.parent / "training_args.json"
    net_config, process_kwargs = configs_from_training_args(read_json(args_path, missing=TRAINING_ARGS_MISSING), source=str(args_path),
                                                            bert_sizes=bert_sizes)
    try:
        state = torch.load(checkpoint, map_location="cpu", weights_only=True)
    except Exception as err:  # pickle errors, truncated files, non-tensor objects
        raise DataError(f"{checkpoint}: cannot read as a weights-only torch state dict ({err})") from err
    if not isinstance(state, dict):
        raise DataError(f"{checkpoint}: expected a state dict, got {type(state).__name__}")
    state = dict(state)
    _check_position_ids(state, net_config, checkpoint)
    info = {"tied_weights_differed": False}
    if TIED_KEY in state and TIED_SOURCE in state:
        info["tied_weights_differed"] = not torch.equal(state[TIED_KEY], state[TIED_SOURCE])
        state[TIED_SOURCE] = state[TIED_KEY]
    model = DiffuSeqNet(net_config)
    load_checked(model, state, source=str(checkpoint))
    return model.eval(), DiffuSeqProcess(**process_kwargs), info


BERT_VOCAB_SIZE = 30522


def convert_published_checkpoint(source: str | Path, out_folder: str | Path) -> Path:
    """A released DiffuSeq run (an `ema_*.pt` file, or its folder: the highest step is taken) written in the project
    format, with the full bert-base-uncased vocabulary as its tokenizer (DiffuSeq's `vocab: bert`)."""
    source = Path(source)
    if source.is_dir():
        found = sorted(source.glob("ema_*.pt"), key=lambda p: int(p.stem.rsplit("_", 1)[-1]) if p.stem.rsplit(
            "_", 1)[-1].isdigit() else -1)
        if not found:
            raise DataError(f"{source}: no ema_*.pt checkpoint in this DiffuSeq folder")
        source = found[-1]
    model, process, info = load_published_checkpoint(source)
    args = read_json(source.parent / "training_args.json", missing=TRAINING_ARGS_MISSING)
    if model.config.vocab_size != BERT_VOCAB_SIZE:
        raise ConfigError(f"{source}: vocab_size {model.config.vocab_size} is not bert-base-uncased's "
                          f"{BERT_VOCAB_SIZE}; only DiffuSeq runs with vocab=bert can be converted")
    save_pretrained(model, process, out_folder,
                    extra={"tokenizer": {"base": "bert"}, "seq_len": int(args.get("seq_len", 128)),
                           "provenance": {"source": str(source), **info}})
    return Path(out_folder)


def _check_position_ids(state: dict, config: DiffuSeqNetConfig, source: Path) -> None:
    ids = state.pop(POSITION_IDS_KEY, None)
    if ids is not None and not torch.equal(ids.reshape(-1).long(), torch.arange(config.max_position_embeddings)):
        raise DataError(f"{source}: {POSITION_IDS_KEY!r} is not arange({config.max_position_embeddings})")


def load_checked(model: torch.nn.Module, state: dict, *, source: str) -> None:
    """load_state_dict that reports every missing, unexpected or mis-shaped key in one error."""
    check_state_dict(model, state, source=source)
    model.load_state_dict(state)


# --- project format ---------------------------------------------------------------------------------------------------
def save_pretrained(model: DiffuSeqNet, process: DiffuSeqProcess, directory: str | Path, *,
                    state: dict | None = None, extra: dict | None = None) -> None:
    """config.json + model.safetensors, written as one atomic folder swap. `state` overrides the weights (EMA export);
    `extra` adds JSON fields (tokenizer, seq_len, provenance) that sampling needs to rebuild the pipeline."""
    config = {"family": "diffuseq", "network": model.config.to_dict(),
              "process": process.config(),
              **(extra or {})}
    state = model.state_dict() if state is None else state
    core_save_pretrained(directory, {k: v for k, v in state.items() if k != TIED_KEY}, config)


def pretrained_config(directory: str | Path) -> dict:
    return read_json(Path(directory) / "config.json")


def from_pretrained(directory: str | Path):
    """Inverse of save_pretrained: returns (model in eval mode on the CPU, DiffuSeqProcess). Commands load through
    `teachers.registry.load_teacher(folder, device)`, which places the model on their device."""
    directory = Path(directory)
    config_path, weights_path = directory / "config.json", directory / "model.safetensors"
    for path in (config_path, weights_path):
        if not path.is_file():
            raise DataError(f"{path}: not found (expected save_pretrained output)")
    config = read_json(config_path)
    try:
        model = DiffuSeqNet(DiffuSeqNetConfig(**config["network"]))
        process = DiffuSeqProcess(**config["process"])
    except (KeyError, TypeError) as err:
        raise ConfigError(f"{config_path}: invalid DiffuSeq config ({err})") from err
    load_folder_weights(model, directory, source=str(weights_path))
    return model.eval(), process
