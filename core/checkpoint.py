"""Checkpoints: safetensors for weights, JSON for configs, `weights_only` torch loads for optimizer state.

Two formats:
  * pretrained folder (HF-style, what evaluation and distillation load): `config.json` + `model.safetensors`.
    The config holds the component's init arguments so it can be rebuilt without training code.
  * training state folder (resume): per trained role its weights, EMA and optimizer (`role_files`; the one-model
    loop's role keeps `model.safetensors`, `ema.safetensors`, `optimizer.pt`), `trainer.json` (step, RNG, run
    config), and `<name>.state.safetensors` for each extra stateful object a recipe registers
    (e.g. DiffuSeq's loss-aware timestep history, DCD's frozen teacher). One plain set of constant keys.
Every write goes to a temporary sibling first and is renamed into place, so a crash never leaves half a checkpoint.
"""
from __future__ import annotations

import gzip
import json
import os
import re
import shutil
import tempfile
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from core.distributed import own_rng_state
from core.errors import DataError

CONFIG_FILE = "config.json"
MODEL_FILE = "model.safetensors"
EMA_FILE = "ema.safetensors"
OPTIMIZER_FILE = "optimizer.pt"
TRAINER_FILE = "trainer.json"
CARD_FILE = "README.md"   # the model card, as the Hugging Face Hub names it
STATE_SUFFIX = ".state.safetensors"
HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")   # "owner/name", as the Hugging Face Hub spells a repository


def atomic_write_text(path: str | Path, text: str) -> None:
    """Write UTF-8 `text` through a temporary sibling renamed into place, so no reader ever sees half a file;
    gzip-compressed when the name ends in .gz, with mtime 0 so that rebuilding a data file gives the same bytes."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")   # one per process: concurrent writers never share it
    try:
        if path.suffix == ".gz":
            # the header names the file as the committed data files were written, so a rebuild is byte-identical
            with open(tmp, "wb") as raw, gzip.GzipFile(f"{path.name}.tmp", "wb", fileobj=raw, mtime=0) as gz:
                gz.write(text.encode("utf-8"))
        else:
            tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def read_json(path: str | Path, *, missing: str = "not found"):
    """The JSON value in `path`; DataError naming the file when it is missing (`missing` says what was expected
    there) or not valid JSON (with the line)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: {missing}")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise DataError(f"{path}:{error.lineno}: invalid JSON ({error.msg})") from None


def atomic_write_json(path: str | Path, obj) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n")


def contiguous_state(module_or_state) -> dict[str, torch.Tensor]:
    state = module_or_state.state_dict() if hasattr(module_or_state, "state_dict") else module_or_state
    # safetensors refuses shared storage (tied weights): clone each tensor into its own buffer.
    return {k: v.detach().cpu().contiguous().clone() for k, v in state.items()}


def atomic_save_folder(folder: str | Path, write_fn) -> Path:
    """Build a folder in a temporary sibling `.<name>.tmp*` with `write_fn(tmp_path)`, then swap it into place:
    `<name>` → `.<name>.old`, tmp → `<name>`, delete `.<name>.old`. A kill at any instant leaves either `<name>` or
    `.<name>.old` complete; `recover_folder` (run first here, and by the loops before they look for a state) puts the
    complete one back and deletes the leftovers."""
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    recover_folder(folder)
    tmp = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}.tmp"))
    try:
        write_fn(tmp)
        # mkdtemp makes a private (0700) folder and safetensors writes 0600 files: the result gets ordinary permissions
        os.chmod(tmp, 0o777 & ~_umask())
        for file in tmp.rglob("*"):
            os.chmod(file, (0o777 if file.is_dir() else 0o666) & ~_umask())
        _crash_point(folder, "written")
        old = folder.with_name(f".{folder.name}.old")
        if folder.exists():
            os.replace(folder, old)
        _crash_point(folder, "moved_aside")
        os.replace(tmp, folder)
        _crash_point(folder, "swapped")
        if old.exists():
            shutil.rmtree(old)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
    return folder


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def recover_folder(folder: str | Path) -> bool:
    """Undo what a kill inside `atomic_save_folder` left: when `<name>` is missing but `.<name>.old` (the previous,
    complete folder) exists, move it back; then delete `.<name>.old` and every `.<name>.tmp*` (writes that never
    finished). Returns True when the folder was restored. One writer per folder is assumed (a run folder's loop)."""
    folder = Path(folder)
    old = folder.with_name(f".{folder.name}.old")
    restored = False
    if not folder.exists() and old.is_dir():
        os.replace(old, folder)
        restored = True
        print(f"{folder}: restored the previous checkpoint left by an interrupted write")
    if old.exists():
        shutil.rmtree(old)
    for leftover in folder.parent.glob(f".{folder.name}.tmp*") if folder.parent.is_dir() else ():
        shutil.rmtree(leftover, ignore_errors=True)
    return restored


# Kill tests (tests/test_interrupt.py): DLM_TEST_KILL_AT=<folder name>:<point>:<n> kills this process with SIGKILL
# at `point` of the n-th swap of a folder of that name, so a test can stop a real run inside a swap deterministically.
_KILL_AT = os.environ.get("DLM_TEST_KILL_AT", "")
_swaps: dict[str, int] = {}


def _crash_point(folder: Path, point: str) -> None:
    if not _KILL_AT:
        return
    name, where, count = _KILL_AT.split(":")
    if folder.name != name or where != point:
        return
    _swaps[name] = _swaps.get(name, 0) + 1
    if _swaps[name] == int(count):
        import signal
        os.kill(os.getpid(), signal.SIGKILL)


def has_training_state(folder: str | Path) -> bool:
    """Whether `folder` holds a resumable state, after recovering it from an interrupted swap (recover_folder)."""
    recover_folder(folder)
    return (Path(folder) / TRAINER_FILE).is_file()


def save_pretrained(folder: str | Path, state: dict[str, torch.Tensor], config: dict, *, card: str | None = None) -> Path:
    """Weights, config and (when given) the model card's text as README.md, swapped into place as one folder."""
    def write(tmp: Path):
        save_file(contiguous_state(state), str(tmp / MODEL_FILE))
        (tmp / CONFIG_FILE).write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
        if card is not None:
            (tmp / CARD_FILE).write_text(card)
    return atomic_save_folder(folder, write)


def load_pretrained(folder: str | Path, device="cpu", **hub_options) -> tuple[dict[str, torch.Tensor], dict]:
    """(weights, config) of a pretrained folder, or of a Hub repository in the same layout (`pretrained_folder`)."""
    folder = pretrained_folder(folder, **hub_options)
    for name in (CONFIG_FILE, MODEL_FILE):
        if not (folder / name).is_file():
            raise FileNotFoundError(f"{folder / name}: missing (expected a pretrained folder with {CONFIG_FILE} and {MODEL_FILE})")
    config = read_json(folder / CONFIG_FILE)
    if not isinstance(config, dict):
        raise DataError(f"{folder / CONFIG_FILE}: expected a JSON object, got {type(config).__name__}")
    return load_weights(folder / MODEL_FILE, device), config


def load_weights(path: str | Path, device="cpu") -> dict[str, torch.Tensor]:
    """The tensors of a .safetensors file; DataError naming the file when it is missing, truncated or not one."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: not found")
    try:
        return load_file(str(path), device=str(device))
    except Exception as err:   # safetensors raises its own SafetensorError (and OSError) for a damaged file
        raise DataError(f"{path}: not a readable safetensors file, truncated or corrupt ({first_line(err)})") from None


def pretrained_folder(name_or_path: str | Path, **hub_options) -> Path:
    """A local folder as is; a name that is no local path but looks like a Hub repository ("owner/name") is fetched
    (its JSON files, weights and model card) through the local HF cache. `hub_options` go to `snapshot_download`
    (revision, token, cache_dir, force_download, local_files_only)."""
    path = Path(name_or_path).expanduser()
    if path.exists() or not HUB_ID.match(str(name_or_path)):
        return path   # a missing local folder is reported by the caller, which knows which file it needs
    return fetch_from_hub(str(name_or_path), ["*.json", MODEL_FILE, CARD_FILE], **hub_options)


def fetch_from_hub(repo_id: str, patterns: list[str], *, how_to: str = "", **hub_options) -> Path:
    """The files of a Hub repository matching `patterns`, from the local HF cache first, then from the Hub unless
    it is switched off (HF_HUB_OFFLINE or local_files_only). DataError with one line saying where it looked."""
    from huggingface_hub import constants, snapshot_download
    offline = constants.HF_HUB_OFFLINE or hub_options.pop("local_files_only", False)
    if not hub_options.get("force_download"):
        try:
            return Path(snapshot_download(repo_id, allow_patterns=patterns, local_files_only=True, **hub_options))
        except Exception:  # not cached: try the network unless it is switched off
            pass
    where = f"{repo_id}: not a local path and not in the Hugging Face cache ({constants.HF_HUB_CACHE})"
    how_to = how_to or (f"On a machine with network run `huggingface-cli download {repo_id} --local-dir DIR` and "
                        f"pass DIR instead.")
    if offline:
        raise DataError(f"{where}, and HF_HUB_OFFLINE is set. {how_to}")
    try:
        return Path(snapshot_download(repo_id, allow_patterns=patterns, **hub_options))
    except Exception as err:
        raise DataError(f"{where}, and the hub cannot be reached ({first_line(err)}). {how_to}") from err


def first_line(err: Exception) -> str:
    """`Type: message` cut to one line; for torch's weights-only refusal, the line naming the refused object."""
    lines = [line for line in str(err).splitlines() if line.strip()]
    named = [line.strip() for line in lines if "Unsupported global" in line]
    return f"{type(err).__name__}: {(named or lines or [''])[0]}"


def rng_state() -> dict:
    state = {"torch": torch.get_rng_state().tolist()}
    if torch.cuda.is_available():
        state["cuda"] = [s.tolist() for s in torch.cuda.get_rng_state_all()]
    return state


def set_rng_state(state: dict) -> None:
    torch.set_rng_state(torch.tensor(state["torch"], dtype=torch.uint8))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([torch.tensor(s, dtype=torch.uint8) for s in state["cuda"]])


def role_files(role: str) -> tuple[str, str, str]:
    """(weights, EMA, optimizer) file names of one trained role. The one-model loop's role "model" keeps the names it
    has always had, so its older run folders still resume."""
    if role == "model":
        return MODEL_FILE, EMA_FILE, OPTIMIZER_FILE
    return f"{role}.safetensors", f"{role}.ema.safetensors", f"{role}.optimizer.pt"


def save_training_state(folder: str | Path, *, models: dict, optimizers: dict, step: int, config: dict,
                        emas: dict | None = None, stateful: dict | None = None, rank_rng: list | None = None) -> Path:
    """One resumable state for any number of trained roles (pretraining: {"model"}; distillation: {"generator",
    "fake"}): weights, optimizer and EMA per role, the step and the RNG streams, written atomically.
    stateful: name -> object whose state_dict() is a flat dict of tensors (saved as <name>.state.safetensors).
    rank_rng: every rank's RNG state under torchrun (core.distributed.rank_rng_states), restored rank by rank."""
    emas = emas or {}

    def write(tmp: Path):
        for name, obj in (stateful or {}).items():
            save_file(contiguous_state(obj.state_dict()), str(tmp / f"{name}{STATE_SUFFIX}"))
        for role, model in models.items():
            weights, ema_file, optimizer_file = role_files(role)
            save_file(contiguous_state(model), str(tmp / weights))
            torch.save(optimizers[role].state_dict(), tmp / optimizer_file)
            if role in emas:
                save_file(contiguous_state(emas[role].state_dict()), str(tmp / ema_file))
        trainer = {"step": step, "rng": rng_state(), "config": config,
                   "ema_updates": {role: ema.num_updates for role, ema in emas.items()},
                   **({"rank_rng": rank_rng} if rank_rng else {})}
        (tmp / TRAINER_FILE).write_text(json.dumps(trainer) + "\n")
    return atomic_save_folder(folder, write)


def load_training_state(folder: str | Path, *, models: dict, optimizers: dict, emas: dict | None = None,
                        device="cpu", stateful: dict | None = None) -> dict:
    """Restore every role's weights / EMA / optimizer, the RNG (and each `stateful` object whose file exists; states
    written before it was registered have none, and the object keeps its fresh state) in place; returns the trainer
    dict."""
    folder = Path(folder)
    trainer = read_json(folder / TRAINER_FILE)
    for name, obj in (stateful or {}).items():
        if (folder / f"{name}{STATE_SUFFIX}").is_file():
            obj.load_state_dict(load_weights(folder / f"{name}{STATE_SUFFIX}", device))
    counters = trainer.get("ema_updates")
    for role, model in models.items():
        weights, ema_file, optimizer_file = role_files(role)
        model.load_state_dict(load_weights(folder / weights, device))
        optimizers[role].load_state_dict(torch.load(folder / optimizer_file, map_location=device, weights_only=True))
        ema = (emas or {}).get(role)
        if ema is not None and (folder / ema_file).is_file():
            # older states stored one counter (or none): the EMA then resumes past its warm-up
            count = counters.get(role) if isinstance(counters, dict) else counters
            ema.load_state_dict(load_weights(folder / ema_file, device),
                                num_updates=count if count is not None else trainer["step"])
    set_rng_state(own_rng_state(trainer))
    return trainer


def check_state_dict(model: torch.nn.Module, state: dict, *, source) -> None:
    """Raise one error listing every missing, unexpected and mis-shaped key of `state` against `model`."""
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    shapes = [f"{k}: file {tuple(state[k].shape)} vs model {tuple(expected[k].shape)}"
              for k in sorted(set(state) & set(expected)) if state[k].shape != expected[k].shape]
    if missing or unexpected or shapes:
        raise DataError(f"{source}: weights do not match {type(model).__name__}({getattr(model, 'config', '')}): "
                        f"missing keys {missing}, unexpected keys {unexpected}, shape mismatches {shapes}")
