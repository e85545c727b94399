"""What the methods require of the teachers, written down as `typing.Protocol`s and checked (tests/test_contracts.py).

Three contracts:
  * the discrete process (MDLM, SEDD, Duo, and duo_distilled models, which are Duo processes): `DiscreteProcess` is
    what IDLM, the teacher registry and pretraining use of every family; `X0Denoiser` adds the x0-denoiser SDTT and
    DCD call (MDLM and Duo); `MaskedX0Process` the rest of what SDTT uses (MDLM).
  * DiffuSeq as DLM-One uses it: `DiffuSeqProcessContract` (the process), `DiffuSeqNetworkContract` (the network G_θ,
    ψ and the teacher share) and `DiffuSeqFunctions` (the module-level pieces of teachers/diffuseq.py and
    teachers/diffuseq_rounding.py that dlm_one/ imports).
  * the samplers: `FamilySampler` (teachers.{mdlm,sedd,duo}.sample), `RegistrySampler` (the entries of
    teachers.registry.SAMPLERS, one per family) and `CandidateSampler` (seq2seq: DiffuSeq's teacher and DLM-One's
    student produce candidates in one layout, which teachers.diffuseq_decode decodes).

`isinstance(x, Protocol)` only checks that the members exist; `contract_violations` also checks each method's
signature: the protocol's parameters must be accepted under the same names, in the same positions and of the same
kinds; an implementation may add parameters, with defaults.
"""
from __future__ import annotations

import inspect
from typing import Protocol, runtime_checkable

import torch

Tensor = torch.Tensor


# --- discrete processes ---------------------------------------------------------------------------------------------
@runtime_checkable
class DiscreteProcess(Protocol):
    """Every discrete family. z_t ids [B, L]; x0 ids [B, L] or, for IDLM, probabilities [B, L, V]; t [B] in (0, 1]."""
    vocab_size: int                                           # data vocabulary V (a mask token, if any, comes after)

    @property
    def network_vocab_size(self) -> int: ...                  # what the network predicts over

    def config(self) -> dict: ...                              # init arguments (JSON): rebuilds the process

    def student_config(self) -> dict: ...                      # the process a distilled student is saved with

    def forward_sample(self, x0: Tensor, t: Tensor, rng: torch.Generator | None = None) -> Tensor: ...

    def prior_sample(self, batch_size: int, length: int, device=None) -> Tensor: ...

    def forward_relaxed(self, x0: Tensor, t: Tensor, rng: torch.Generator | None = None
                        ) -> tuple[Tensor, Tensor]: ...        # (network input, z_t); differentiable in a soft x0

    def x0_log_probs(self, network, net_in: Tensor, zt: Tensor, t: Tensor) -> Tensor: ...   # log x_θ [B, L, V]

    def token_loss(self, network, x0: Tensor, net_in: Tensor, zt: Tensor, t: Tensor) -> Tensor: ...   # [B, L]

    def loss(self, network, x0: Tensor, *, attention_mask: Tensor | None = None) -> tuple[Tensor, dict]: ...


@runtime_checkable
class X0Denoiser(Protocol):
    """The network's x0-prediction at signal level α_t ∈ (0, 1] (not at a time t: the network is conditioned on
    σ = −log α, and DCD reaches α through the Gaussian duality, not through a time on the schedule)."""
    vocab_size: int

    def denoiser_log_probs(self, network, x_in: Tensor, alpha: Tensor) -> Tensor: ...   # [B, L, network vocab]


@runtime_checkable
class MaskedX0Process(DiscreteProcess, X0Denoiser, Protocol):
    """SDTT's teacher targets: an absorbing process with its posterior."""
    mask_id: int

    def posterior_weights(self, p_x0: Tensor, xt: Tensor, t: Tensor, s: Tensor) -> Tensor: ...


# --- DiffuSeq, as DLM-One uses it -----------------------------------------------------------------------------------
@runtime_checkable
class DiffuSeqProcessContract(Protocol):
    """Integer times t [B] in {0 … T−1}; embeddings [B, L, E]; mask [B, L] (1 on targets, 0 on the source)."""
    num_steps: int

    def config(self) -> dict: ...

    def model_time(self, t: Tensor) -> Tensor: ...                                  # what the network is told

    def signal_and_noise(self, t: Tensor, like: Tensor) -> tuple[Tensor, Tensor]: ...   # (α_t, σ_t) [B, 1, 1]

    def forward_sample(self, x0: Tensor, t: Tensor, noise: Tensor, mask: Tensor) -> Tensor: ...   # differentiable

    def denoise(self, model, zt: Tensor, t: Tensor) -> Tensor: ...                    # x0 prediction [B, L, E]


@runtime_checkable
class DiffuSeqNetworkContract(Protocol):
    """The teacher's network; G_θ and ψ are trainable copies of it. `config` has hidden_size, dropout and
    attention_dropout; `word_embedding` and `lm_head` are tied (rounding and decoding read them)."""
    config: object
    word_embedding: torch.nn.Embedding
    lm_head: torch.nn.Linear

    def __call__(self, x: Tensor, t: Tensor) -> Tensor: ...                          # x0 prediction

    def hidden_states(self, x: Tensor, t: Tensor) -> Tensor: ...                     # [B, L, H], ψ's logits read it

    def read_out(self, h: Tensor) -> Tensor: ...                                     # [B, L, H] -> [B, L, E]

    def get_embeds(self, input_ids: Tensor) -> Tensor: ...

    def get_logits(self, hidden: Tensor) -> Tensor: ...


@runtime_checkable
class DiffuSeqFunctions(Protocol):
    """The module-level pieces dlm_one/ imports (from teachers.diffuseq and teachers.diffuseq_rounding)."""
    SAMPLING_STREAM: str                                      # the sampler's noise stream: student and teacher share it

    def anchor(self, x: Tensor, x_src: Tensor, mask: Tensor) -> Tensor: ...

    def randn_like(self, x: Tensor, rng: torch.Generator | None = None) -> Tensor: ...

    def x0_mse(self, x0_pred: Tensor, x0: Tensor) -> Tensor: ...                     # [B, L, E] -> [B, L]

    def round_targets(self, model, x: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]: ...

    def decode_ids(self, model, x: Tensor, source_ids: Tensor, mask: Tensor,
                   rounded: Tensor | None = None) -> Tensor: ...


# --- samplers -------------------------------------------------------------------------------------------------------
@runtime_checkable
class FamilySampler(Protocol):
    """A family's own sampler: (ids [B, length], network calls per sequence)."""

    def __call__(self, process, network, *, batch_size: int, length: int, steps: int, device=None,
                 temperature: float = 1.0, float64: bool = True,
                 rng: torch.Generator | None = None) -> tuple[Tensor, float]: ...


@runtime_checkable
class RegistrySampler(Protocol):
    """One entry of teachers.registry.SAMPLERS: the family's sampler behind the options every family is asked with."""

    def __call__(self, process, network, *, predictor: str, temperature: float, top_p: float, cache: bool,
                 batch_size: int, length: int, steps: int, device, float64: bool) -> tuple[Tensor, float]: ...


@runtime_checkable
class CandidateSampler(Protocol):
    """seq2seq candidates: batch {"input_ids", "input_mask"} [B, L] and one seed per candidate -> ids [B, k, L]
    (the source where mask = 0, the generated target elsewhere)."""

    def __call__(self, batch: dict, seeds: list[int]) -> Tensor: ...


# --- checking -------------------------------------------------------------------------------------------------------
def protocol_members(protocol: type) -> dict[str, object]:
    """name -> the protocol's declaration (a function, a property, or None for a data attribute), bases included."""
    members: dict[str, object] = {}
    for klass in reversed(protocol.__mro__):
        if klass in (object, Protocol) or not getattr(klass, "_is_protocol", False):
            continue
        members.update({name: None for name in vars(klass).get("__annotations__", {})})
        members.update({name: value for name, value in vars(klass).items()
                        if (inspect.isfunction(value) or isinstance(value, property))
                        and (not name.startswith("_") or name == "__call__")})
    return members


def contract_violations(obj, protocol: type) -> list[str]:
    """One line per member of `protocol` that `obj` lacks or whose signature differs (empty when `obj` conforms)."""
    problems = []
    for name, declared in protocol_members(protocol).items():
        if name == "__call__" and not callable(obj):
            problems.append(f"{protocol.__name__}: not callable")
            continue
        if name != "__call__" and not hasattr(obj, name):
            problems.append(f"{protocol.__name__}.{name}: missing")
            continue
        if not inspect.isfunction(declared):
            continue
        implemented = getattr(obj, name) if name != "__call__" else obj
        if name == "__call__" and isinstance(obj, torch.nn.Module):
            implemented = obj.forward                       # nn.Module.__call__ hands its arguments to forward
        expected = list(inspect.signature(declared).parameters.values())[1:]   # without self
        problems += [f"{protocol.__name__}.{name}: {p}" for p in signature_mismatches(expected, implemented)]
    return problems


def signature_mismatches(expected: list[inspect.Parameter], implemented) -> list[str]:
    try:
        actual = list(inspect.signature(implemented).parameters.values())
    except (TypeError, ValueError):
        return ["its signature cannot be read"]
    problems = []
    positional = [p for p in actual if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    by_name = {p.name: p for p in actual}
    takes_kwargs = any(p.kind == p.VAR_KEYWORD for p in actual)
    expected_names = {p.name for p in expected}
    for i, want in enumerate(expected):
        if want.kind == want.POSITIONAL_OR_KEYWORD:
            got = positional[i] if i < len(positional) else None
            if got is None or got.name != want.name:
                problems.append(f"positional parameter {i + 1} should be {want.name!r}, got "
                                f"{got.name if got else 'none'!r}")
                continue
        else:
            got = by_name.get(want.name)
            if got is None or got.kind not in (got.KEYWORD_ONLY, got.POSITIONAL_OR_KEYWORD):
                if not takes_kwargs:
                    problems.append(f"no keyword parameter {want.name!r}")
                continue
        if want.default is not want.empty and got.default is got.empty:
            problems.append(f"{want.name!r} needs a default")
    compared = {p.name for p in positional[:sum(p.kind == p.POSITIONAL_OR_KEYWORD for p in expected)]}
    for extra in actual:
        if (extra.name not in expected_names | compared and extra.default is extra.empty
                and extra.kind not in (extra.VAR_POSITIONAL, extra.VAR_KEYWORD)):
            problems.append(f"extra parameter {extra.name!r} has no default")
    return problems
