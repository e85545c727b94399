"""The Hugging Face API every network of the project shares (huggingface_hub's PyTorchModelHubMixin, as SEDD's
public model): `Net.save_pretrained(folder)` / `Net.push_to_hub("owner/name")` write config.json (the network's
config dataclass) + model.safetensors + a model card; `Net.from_pretrained(folder_or_hub_name)` reads those and
also the project's own model folders, whose config.json nests the same fields under "network".

A network class mixes in `HubNetwork` and names its config dataclass in `config_class`; `complete_state` lets it
restore weights a folder stores once (tied embeddings)."""
from __future__ import annotations

from huggingface_hub import PyTorchModelHubMixin

from core.checkpoint import check_state_dict, load_pretrained, pretrained_folder
from core.errors import DataError


def config_from_dict(config_class, config: dict, kind: str):
    """A config dataclass from config.json: flat (save_pretrained) or a project folder's, whose "network" holds the
    fields. DataError naming the unknown keys when the file describes another kind of network."""
    fields = config.get("network", config)
    unknown = sorted(set(fields) - set(config_class.__dataclass_fields__))
    if unknown or "vocab_size" not in fields:
        raise DataError(f"not a {kind} config: unknown keys {unknown}, vocab_size "
                        f"{'present' if 'vocab_size' in fields else 'missing'}; valid keys "
                        f"{sorted(config_class.__dataclass_fields__)}")
    return config_class(**fields)


class HubNetwork(PyTorchModelHubMixin):
    config_class: type   # set by each network: its config dataclass, with a `from_dict`

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path, *, map_location: str = "cpu", **hub_options):
        """A folder, or a Hub repository ("owner/name") fetched through the HF cache first
        (`core.checkpoint.pretrained_folder`: one clear error when it is neither); `hub_options` (revision, token,
        cache_dir, force_download, local_files_only) go to snapshot_download. The network is in eval mode."""
        folder = pretrained_folder(pretrained_model_name_or_path, **hub_options)
        return super().from_pretrained(folder, map_location=map_location)

    @classmethod
    def _from_pretrained(cls, *, model_id: str, config, map_location: str = "cpu", **_local):
        """The mixin's loading step, on a local folder (`from_pretrained` fetched it; `_local` are the mixin's hub
        arguments, unused here). `config` is config.json as a dict: the mixin does not turn it into the dataclass
        because, under postponed annotations, it sees the type name as a string. Weights are cast to float32
        (teacher folders store float16) and checked key by key, so a wrong folder fails with one message instead
        of loading partially (the mixin's default is strict=False)."""
        network = cls(config if isinstance(config, cls.config_class) else cls.config_class.from_dict(config))
        load_folder_weights(network, model_id, device=map_location)
        return network.to(map_location).eval()

    def complete_state(self, state: dict) -> dict:
        return state


def load_folder_weights(network, folder, *, source: str | None = None, device="cpu") -> None:
    """Load a pretrained folder's weights into `network`, cast to float32 (teacher folders store float16), with the
    weights the folder stores once restored (`complete_state`, where the network has it) and every key and shape
    checked: a wrong folder fails with one message naming `source` (default: the folder) instead of loading
    partially."""
    state, _ = load_pretrained(folder, device=device)
    state = {k: v.float() for k, v in state.items()}
    if hasattr(network, "complete_state"):
        state = network.complete_state(state)
    check_state_dict(network, state, source=source or folder)
    network.load_state_dict(state)
