"""DiffuSeq's TransformerNetModel with the BERT encoder (Gong et al., 2023, "DiffuSeq: Sequence to Sequence Text
Generation with Diffusion Models"; public code Shark-NLP/DiffuSeq, `diffuseq/transformer_model.py`).

Module names and shapes follow the public code so the released `ema_0.9999_*.pt` files load without renaming
(see `teachers/diffuseq_checkpoint.py`):
    word_embedding      Embedding(V, E)                       E = emb_dim (DiffuSeq `hidden_dim`, 128)
    lm_head             Linear(E, V), weight TIED to word_embedding.weight (bias is its own)
    time_embed          Sequential(Linear(Dt, 4 Dt), SiLU, Linear(4 Dt, H))   Dt = hidden_t_dim, H = hidden_size
    input_up_proj       Sequential(Linear(E, H), Tanh, Linear(H, H))          only when E != H (as DiffuSeq)
    position_embeddings Embedding(max_position_embeddings, H)
    LayerNorm           LayerNorm(H, eps=layer_norm_eps)
    input_transformers  transformers' BertEncoder(BertConfig) -> keys `input_transformers.layer.N.…`
    output_down_proj    Sequential(Linear(H, H), Tanh, Linear(H, E))          only when E != H
    self_condition_proj Linear(E, H, bias=False), zero-initialised             only with self_condition (not DiffuSeq)
DiffuSeq also registers a persistent `position_ids` buffer; we build the positions in `forward` instead and the
checkpoint loader checks and drops that key (one less piece of state to keep in sync).

Shapes: B batch, L sequence length (≤ max_position_embeddings), E embedding size.
    forward(x_t [B, L, E], t [B] float, already scaled as the process does, x0_hat [B, L, E] or None)
      -> x0 prediction [B, L, E] = read_out(hidden_states(x_t, t, x0_hat)), hidden_states [B, L, H] (the encoder's
      last hidden state)
    get_embeds(ids [B, L]) -> [B, L, E];  get_logits(h [B, L, E]) -> [B, L, V]
No attention mask is passed to the encoder: DiffuSeq attends over the whole padded sequence, so do we.
Initialisation is PyTorch's default for every module (DiffuSeq never re-initialises): the word embedding is N(0, 1).
Self-conditioning (Chen et al., 2023, "Analog Bits", §3; not in DiffuSeq, used by its successors, e.g. SeqDiffuSeq
and CDCD): with `self_condition`, a previous x0 estimate x0_hat enters through its own projection, added to the
up-projected input. It is zero-initialised and has no bias, so x0_hat = None (no estimate yet) is the plain network,
and a folder trained without it loads as this network with the projection at zero (`complete_state`). The training
and sampling wrappers that feed it are `teachers/diffuseq_self_condition.py`.
Hugging Face API: `DiffuSeqNet.from_pretrained` / `save_pretrained` / `push_to_hub` (`core.networks.hub.HubNetwork`);
it also reads the project's DiffuSeq and DLM-One folders, which store the tied LM head once, as the word embedding.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn as nn
from core.networks.hub import HubNetwork, config_from_dict
from core.networks.time_embedding import timestep_embedding  # noqa: F401  (re-exported)
from transformers import BertConfig
from transformers.models.bert.modeling_bert import BertEncoder


@dataclass
class DiffuSeqNetConfig:
    vocab_size: int
    emb_dim: int = 128                  # DiffuSeq `hidden_dim`: the diffusion space (word-embedding size)
    hidden_size: int = 768              # BERT hidden size
    num_layers: int = 12
    num_heads: int = 12
    intermediate_size: int = 3072       # BERT feed-forward size (4 × hidden in every preset)
    hidden_t_dim: int = 128             # sinusoidal time-embedding size
    max_position_embeddings: int = 512  # bert-base-uncased value, independent of seq_len (as DiffuSeq)
    dropout: float = 0.1                # DiffuSeq sets BERT hidden_dropout_prob = dropout; also used after LayerNorm
    attention_dropout: float = 0.1      # bert-base attention_probs_dropout_prob, which DiffuSeq leaves untouched
    layer_norm_eps: float = 1e-12       # bert-base value
    hidden_act: str = "gelu"            # bert-base value
    self_condition: bool = False        # a previous x0 estimate as a second input (module docstring)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, config: dict) -> "DiffuSeqNetConfig":
        return config_from_dict(cls, config, "DiffuSeq network")


# `tiny` runs in tests in milliseconds; `small` is the embedded CPU default (a 4-layer 256-wide BERT; see the report
# for its measured throughput); `base` is the paper's bert-base-uncased encoder with 128-dim embeddings.
DIFFUSEQ_PRESETS = {
    "tiny": dict(emb_dim=16, hidden_size=32, num_layers=1, num_heads=2, intermediate_size=64, hidden_t_dim=16,
                 max_position_embeddings=64, dropout=0.0, attention_dropout=0.0),
    "small": dict(emb_dim=128, hidden_size=256, num_layers=4, num_heads=4, intermediate_size=1024, hidden_t_dim=128),
    "base": dict(emb_dim=128, hidden_size=768, num_layers=12, num_heads=12, intermediate_size=3072, hidden_t_dim=128),
}


def diffuseq_config(preset: str, vocab_size: int, **overrides) -> DiffuSeqNetConfig:
    if preset not in DIFFUSEQ_PRESETS:
        raise ValueError(f"unknown DiffuSeq preset {preset!r}; valid: {sorted(DIFFUSEQ_PRESETS)}")
    return DiffuSeqNetConfig(vocab_size=vocab_size, **{**DIFFUSEQ_PRESETS[preset], **overrides})


def bert_config(config: DiffuSeqNetConfig) -> BertConfig:
    """The BertConfig DiffuSeq gets from `AutoConfig.from_pretrained(config_name)`, built without any download."""
    bert = BertConfig(
        vocab_size=config.vocab_size, hidden_size=config.hidden_size, num_hidden_layers=config.num_layers,
        num_attention_heads=config.num_heads, intermediate_size=config.intermediate_size,
        hidden_act=config.hidden_act, hidden_dropout_prob=config.dropout,
        attention_probs_dropout_prob=config.attention_dropout,
        max_position_embeddings=config.max_position_embeddings, layer_norm_eps=config.layer_norm_eps)
    # A standalone BertEncoder gets no attention dispatch from a PreTrainedModel; pick SDPA explicitly
    # (same maths as eager, ~15% faster on CPU).
    bert._attn_implementation = "sdpa"
    return bert


class DiffuSeqNet(nn.Module, HubNetwork, library_name="dlm-distill",
                  tags=["diffusion-language-model", "seq2seq", "diffuseq"]):
    """x0-predicting Transformer over word-embedding space (see the module docstring for names and shapes)."""

    def __init__(self, config: DiffuSeqNetConfig):
        super().__init__()
        self.config = config
        emb, hidden, t_dim = config.emb_dim, config.hidden_size, config.hidden_t_dim
        self.word_embedding = nn.Embedding(config.vocab_size, emb)
        self.lm_head = nn.Linear(emb, config.vocab_size)
        self.lm_head.weight = self.word_embedding.weight  # tied: rounding and decoding share the embedding table
        self.time_embed = nn.Sequential(nn.Linear(t_dim, 4 * t_dim), nn.SiLU(), nn.Linear(4 * t_dim, hidden))
        if emb != hidden:
            self.input_up_proj = nn.Sequential(nn.Linear(emb, hidden), nn.Tanh(), nn.Linear(hidden, hidden))
        self.input_transformers = BertEncoder(bert_config(config))
        self.position_embeddings = nn.Embedding(config.max_position_embeddings, hidden)
        self.LayerNorm = nn.LayerNorm(hidden, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.dropout)
        if emb != hidden:
            self.output_down_proj = nn.Sequential(nn.Linear(hidden, hidden), nn.Tanh(), nn.Linear(hidden, emb))
        if config.self_condition:
            self.self_condition_proj = nn.Linear(emb, hidden, bias=False)
            nn.init.zeros_(self.self_condition_proj.weight)   # starts as the network without the input

    config_class = DiffuSeqNetConfig
    TIED_KEY, TIED_SOURCE = "lm_head.weight", "word_embedding.weight"
    SELF_CONDITION_KEY = "self_condition_proj.weight"

    def complete_state(self, state: dict) -> dict:
        """Folders store the tied LM head once (safetensors keeps one name per shared tensor): restore the other.
        A folder without self-conditioning, loaded into a network with it, gets the projection at zero: exactly the
        function the folder's network computes (how a trained teacher starts self-conditioned training)."""
        state = dict(state)
        for missing, present in ((self.TIED_KEY, self.TIED_SOURCE), (self.TIED_SOURCE, self.TIED_KEY)):
            if missing not in state and present in state:
                state[missing] = state[present]
        if self.config.self_condition and self.SELF_CONDITION_KEY not in state:
            state[self.SELF_CONDITION_KEY] = torch.zeros_like(self.self_condition_proj.weight)
        return state

    def get_embeds(self, input_ids: torch.Tensor) -> torch.Tensor:
        return self.word_embedding(input_ids)

    def get_logits(self, hidden: torch.Tensor) -> torch.Tensor:
        """DiffuSeq logits_mode 1: ⟨h, E_v⟩ + b_v through the tied LM head. [B, L, E] -> [B, L, V]."""
        return self.lm_head(hidden)

    def forward(self, x: torch.Tensor, t: torch.Tensor, x0_hat: torch.Tensor | None = None) -> torch.Tensor:
        return self.read_out(self.hidden_states(x, t, x0_hat)).to(x.dtype)

    def hidden_states(self, x: torch.Tensor, t: torch.Tensor, x0_hat: torch.Tensor | None = None) -> torch.Tensor:
        """The encoder's last hidden state [B, L, H] (before the down-projection): DLM-One's discriminator reads
        its logits from here, so the fake network's one pass gives both its x0 prediction and its logits."""
        batch, length, _ = x.shape
        if x0_hat is not None and not self.config.self_condition:
            raise ValueError("x0_hat given to a DiffuSeq network without self_condition")
        if x0_hat is not None and x0_hat.shape != x.shape:
            raise ValueError(f"x0_hat must have the shape of x {tuple(x.shape)}, got {tuple(x0_hat.shape)}")
        if length > self.config.max_position_embeddings:
            raise ValueError(f"sequence length {length} exceeds max_position_embeddings "
                             f"{self.config.max_position_embeddings}")
        if t.shape != (batch,):
            raise ValueError(f"t must have shape ({batch},), got {tuple(t.shape)}")
        emb_t = self.time_embed(timestep_embedding(t, self.config.hidden_t_dim))           # [B, H]
        h = self.input_up_proj(x) if hasattr(self, "input_up_proj") else x                 # [B, L, H]
        if x0_hat is not None:
            h = h + self.self_condition_proj(x0_hat.to(h.dtype))
        positions = torch.arange(length, device=x.device)
        h = h + self.position_embeddings(positions)[None] + emb_t[:, None, :]
        h = self.dropout(self.LayerNorm(h))
        return self.input_transformers(h).last_hidden_state

    def read_out(self, h: torch.Tensor) -> torch.Tensor:
        """Hidden states [B, L, H] -> x0 prediction [B, L, E]."""
        return self.output_down_proj(h) if hasattr(self, "output_down_proj") else h

