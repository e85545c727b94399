"""DiffuSeq's rounding to the nearest word embedding (its clamping, `denoised_fn_round`) and the argmax of its tied LM
head, each one matmul with a bias and an argmax, with what depends on the table alone cached.

Both are an argmax over the vocabulary of an affine function of x [N, E] (e_v: row v of the embedding table):
    nearest   argmin_v ‖x − e_v‖² = argmax_v (2 x·e_v − ‖e_v‖²)    (‖x‖² is the same for every v)
    read-out  argmax_v (x·e_v + b_v)                               (DiffuSeq logits_mode 1: the head is tied to the table)
`argmax_affine` computes either in float32 over blocks of rows, so the [rows, V] scores stay small (a 30k vocabulary
at batch 32 × 128 positions would otherwise be 0.5 GB).

`TiedVocabulary` (one per network, rebuilt when its table or bias change) keeps ‖e_v‖², and per token as it is first
met: the read-out of the token's own embedding, so a rounded sequence decodes by look-up, and its isolation radius
r_v = ½ min_{u≠v} ‖e_u − e_v‖. A vector x with ‖x − e_v‖ < r_v has e_v as its unique nearest embedding (for u ≠ v,
‖x − e_u‖ ≥ ‖e_u − e_v‖ − ‖x − e_v‖ > ‖x − e_v‖). So a row whose nearest among the tokens already met is within that
radius, with a margin that float rounding cannot cross, is answered without scanning the vocabulary; every other row
is scanned. A trained sampler's x̂0 mostly lies that close (DLM-One qqp: 92% of target positions, median distance
0.08 against radii of about 4), so the scan, the sampler's cost beside its network, runs on a few rows. The tokens
are the full scan's either way; only rows within float rounding of a tie could differ, as between any two orders of
summation.
"""
from __future__ import annotations

import weakref

import torch

BLOCK_SCORES = 1 << 22        # scores per row block: 16 MB of float32
CERTIFY_TOLERANCE = 1e-4      # relative to ‖x‖² + ‖e‖²: far above float32 error in a squared distance, far below a gap


def argmax_affine(x: torch.Tensor, table_t: torch.Tensor, bias: torch.Tensor | None = None,
                  scale: float = 1.0) -> torch.Tensor:
    """argmax_v (scale · x·e_v + bias_v) for x [N, E], table_t [E, V] (the table transposed), bias [V]: LongTensor
    [N]."""
    out = torch.empty(x.shape[0], dtype=torch.long, device=x.device)
    rows = max(1, BLOCK_SCORES // max(table_t.shape[1], 1))
    for start in range(0, x.shape[0], rows):
        out[start:start + rows] = argmax_scores(x[start:start + rows], table_t, bias, scale).argmax(-1)
    return out


def argmax_scores(x: torch.Tensor, table_t: torch.Tensor, bias: torch.Tensor | None, scale: float = 1.0):
    """scale · x @ table_t + bias [N, V], the tied head's addmm. A contiguous [E, V] table_t streams the table in
    memory order: twice as fast as the [V, E] table's transposed view when N is a few rows (batch 1)."""
    if bias is None:
        return x @ table_t if scale == 1.0 else (scale * x) @ table_t   # scale 2: exact either way
    return torch.addmm(bias, x, table_t, alpha=scale)


def nearest_token(x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """argmin_v ‖x − weight_v‖² as LongTensor [...] for x [..., E] (a full scan; no cache)."""
    weight = weight.detach().float()
    flat = x.detach().reshape(-1, x.shape[-1]).float()
    return argmax_affine(flat, weight.t(), -(weight ** 2).sum(-1), 2.0).view(x.shape[:-1])


class TiedVocabulary:
    """Nearest-embedding rounding and tied read-out of one embedding table [V, E] and head bias [V] (or None)."""

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor | None):
        self.weight = weight.detach().float()
        self.table_t = self.weight.t().contiguous()   # [E, V]: every scan reads it in memory order
        self.bias = None if bias is None else bias.detach().float()
        self.neg_sq_norms = -(self.weight ** 2).sum(-1)
        size, device = self.weight.shape[0], self.weight.device
        self.readout_of = torch.full((size,), -1, dtype=torch.long, device=device)   # -1: not met yet
        self.radius = torch.zeros(size, device=device)
        self.limit = torch.zeros(size, device=device)   # certify when ‖x − e_v‖ < limit_v (the radius less a margin)
        self.candidates = torch.zeros(0, dtype=torch.long, device=device)
        self.candidates_t, self.candidate_bias = self.table_t[:, :0], self.neg_sq_norms[:0]   # their e_v, −‖e_v‖²
        self.max_candidates = max(64, size // 8)   # a candidate pass costs |candidates| / V of a full scan
        self.rows_rounded = self.rows_scanned = 0    # rows asked of `nearest`, and those it scanned in full

    @torch.no_grad()
    def nearest(self, x: torch.Tensor) -> torch.Tensor:
        """argmin_v ‖x − e_v‖², x [..., E] -> LongTensor [...]."""
        flat = x.detach().reshape(-1, x.shape[-1]).float()
        ids = self._certified(flat)
        todo = ids < 0
        scanned = int(todo.sum())
        self.rows_rounded += flat.shape[0]
        self.rows_scanned += scanned
        if scanned:
            ids[todo] = found = argmax_affine(flat[todo], self.table_t, self.neg_sq_norms, 2.0)
            self._meet(found)
        return ids.view(x.shape[:-1])

    @torch.no_grad()
    def readout(self, x: torch.Tensor) -> torch.Tensor:
        """argmax_v (x·e_v + b_v), the tied head's argmax, x [..., E] -> LongTensor [...]."""
        flat = x.detach().reshape(-1, x.shape[-1]).float()
        return argmax_affine(flat, self.table_t, self.bias).view(x.shape[:-1])

    @torch.no_grad()
    def readout_tokens(self, ids: torch.Tensor) -> torch.Tensor:
        """The read-out of the embeddings e_ids themselves (a rounded sequence), by look-up."""
        self._meet(ids.reshape(-1))
        return self.readout_of[ids]

    def _certified(self, flat: torch.Tensor) -> torch.Tensor:
        """The nearest token of every row it can be certified for among the tokens met so far; -1 elsewhere."""
        ids = torch.full((flat.shape[0],), -1, dtype=torch.long, device=flat.device)
        if not self.candidates.numel():
            return ids
        guess = self.candidates[argmax_affine(flat, self.candidates_t, self.candidate_bias, 2.0)]
        sure = (flat - self.weight[guess]).norm(dim=-1) < self.limit[guess]
        return torch.where(sure, guess, ids)

    def _meet(self, ids: torch.Tensor) -> None:
        """Read-out and isolation radius of the tokens in `ids` not met before, from one product with the table."""
        unmet = self.readout_of[ids] < 0
        if not unmet.any():
            return
        new = ids[unmet].unique()
        rows = max(1, BLOCK_SCORES // self.weight.shape[0])
        for start in range(0, new.numel(), rows):
            block = new[start:start + rows]
            scores = argmax_scores(self.weight[block], self.table_t, self.bias)               # the head at e_v
            self.readout_of[block] = scores.argmax(-1)
            products = scores if self.bias is None else scores - self.bias                    # e_v·e_u [n, V]
            near = 2 * products + self.neg_sq_norms                                           # ‖e_v‖² − ‖e_v − e_u‖²
            near[torch.arange(block.numel(), device=near.device), block] = -torch.inf         # not itself
            gap = (-self.neg_sq_norms[block] - near.max(-1).values).clamp_min(0)              # min_u ‖e_v − e_u‖²
            self.radius[block] = radius = 0.5 * gap.sqrt()
            # within r − δ of e_v every other token is farther by 4 r δ in squared distance; δ makes that gap exceed
            # the float error of both scans, CERTIFY_TOLERANCE (‖x‖² + ‖e_v‖²) with ‖x‖ ≤ ‖e_v‖ + r
            norm = (-self.neg_sq_norms[block]).sqrt()
            delta = CERTIFY_TOLERANCE * ((norm + radius) ** 2 + norm ** 2) / (4 * radius).clamp_min(1e-30)
            self.limit[block] = radius - delta
        room = self.max_candidates - self.candidates.numel()
        if room > 0:
            self.candidates = torch.cat([self.candidates, new[:room]])
            self.candidates_t = self.table_t[:, self.candidates].contiguous()
            self.candidate_bias = self.neg_sq_norms[self.candidates]


_VOCABULARIES: "weakref.WeakKeyDictionary[torch.nn.Module, tuple]" = weakref.WeakKeyDictionary()


def tied_vocabulary(model: torch.nn.Module) -> TiedVocabulary:
    """The TiedVocabulary of `model`'s word embedding and LM-head bias, cached per network. It is rebuilt when either
    tensor changes: in place (optimizer step, EMA swap, load_state_dict bump its version counter) or replaced."""
    weight = model.word_embedding.weight
    bias = getattr(getattr(model, "lm_head", None), "bias", None)
    key = tuple((t.data_ptr(), t._version, t.dtype, t.device, tuple(t.shape)) if t is not None else None
                for t in (weight, bias))
    cached = _VOCABULARIES.get(model)
    if cached is None or cached[0] != key:
        cached = (key, TiedVocabulary(weight, bias))
        _VOCABULARIES[model] = cached
    return cached[1]


def round_targets(model, x: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """DiffuSeq's clamping on the target positions (mask = 1) of x [B, L, E]: (x with each of them replaced by its
    nearest embedding, those tokens [B, L] with -1 on the source). Source positions are left as they are: every
    sampler re-anchors them to the clean source, so rounding them would be discarded work."""
    vocab = tied_vocabulary(model)
    on = mask.bool()
    ids = torch.full(mask.shape, -1, dtype=torch.long, device=x.device)
    ids[on] = vocab.nearest(x[on])
    return torch.where(on[..., None], vocab.weight[ids.clamp_min(0)].to(x.dtype), x), ids


def decode_ids(model, x: torch.Tensor, source_ids: torch.Tensor, mask: torch.Tensor,
               rounded: torch.Tensor | None = None) -> torch.Tensor:
    """DiffuSeq's final decoding, LongTensor [B, L]: the source ids where mask = 0, the tied head's argmax at x
    elsewhere. `rounded`: the tokens of `round_targets` when x holds exactly their embeddings, read by look-up."""
    vocab = tied_vocabulary(model)
    on = mask.bool()
    if rounded is not None:
        return torch.where(on, vocab.readout_tokens(rounded.clamp_min(0)), source_ids)
    out = source_ids.clone()
    out[on] = vocab.readout(x[on])
    return out
