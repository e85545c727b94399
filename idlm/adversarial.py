"""IDLM's adversarial term (`idlm.adversarial=true`): DLM-One's discriminator on IDLM's fake network, every family.

Legend (as idlm/losses.py; D_ψ, its zero-initialised head and the per-position losses (D), (G): core/discriminator.py):
    x_t'^g = q(· | p, t')      the re-noised student output: the x_t' of the IDLM losses (process.forward_relaxed)
    x_t'^r = q(· | x_0, t')    real data re-noised at the same t'
    l^g, l^r                   D_ψ at x_t'^g and x_t'^r, [B, L], read from the fake's last hidden state; l^g comes from
                               the same fake pass that gives ℓ_F
Losses (summed over positions, mean over the batch, as IDLM's own):
    fake:       a_F · L_F + b_F · Σ_l ½ [softplus(−l^r) + softplus(l^g)]          p detached
    generator:  a_G · L_G + b_G · Σ_l softplus(−clamp(l^g, −10, 10))            the non-saturating term
(a_F, b_F) and (a_G, b_G) are DLM-One Table 5's (a_dsm, b_adv) of ψ and (a_sd, b_adv) of θ.

The generator's path to the logits. Duo and duo_distilled already feed the frozen networks the soft input
softmax(w'/τ), w' = α̃ p + σ̃ ε', differentiable in p; the logits use that same input. MDLM/SEDD feed hard ids x_t' (a draw from
Cat(α p + (1 − α) e_m)), which carry no gradient: for the logits the fake network reads the straight-through input
onehot(x_t') + (p − sg(p)) at the positions x_t' left unmasked (their token was drawn from p), equal in value to the
ids (the soft lookup p @ E of a one-hot is the id lookup), so ℓ_F and the logits come from one pass. In that pass
ℓ_F reads the hidden state detached: IDLM's MDLM/SEDD gradient stays as the paper has it (through p in ℓ only).
At initialisation (ψ = teacher, zero head) L_G = b_G · L · log 2 exactly and its gradient is exactly 0.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from core.discriminator import FakeScoreNetwork, discriminator_logit_loss, generator_logit_loss
from idlm.losses import fake_loss, generator_loss


class HiddenStateTap:
    """The fake network as a process calls it, network(x, σ), keeping its last hidden state for D_ψ.
    probs (the student's p [B, L, V], generator step only): where the process passes hard ids, the hidden state is
    computed from the straight-through input (module docstring) and the read-out sees it detached."""

    def __init__(self, fake: FakeScoreNetwork, probs: torch.Tensor | None = None):
        if not isinstance(fake, FakeScoreNetwork):
            raise TypeError("idlm.adversarial needs the fake network wrapped in core.discriminator.FakeScoreNetwork")
        self.fake, self.probs, self.hidden = fake, probs, None

    def __call__(self, x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        if self.probs is None or x.is_floating_point():
            self.hidden = self.fake.hidden_states(x, sigma)
            return self.fake.read_out(self.hidden, sigma)
        self.hidden = self.fake.hidden_states(straight_through(x, self.probs), sigma)
        return self.fake.read_out(self.hidden.detach(), sigma)

    def logits(self) -> torch.Tensor:
        return self.fake.logits(self.hidden)


def straight_through(xt: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
    """onehot(x_t') over the network's V + 1 inputs (mask id V) plus (p − sg(p)) at its unmasked positions: the ids'
    value, p's gradient. xt [B, L], p [B, L, V] -> [B, L, V + 1]."""
    mask_id = p.shape[-1]
    relax = F.pad(p - p.detach(), (0, 1)) * (xt != mask_id)[..., None].to(p.dtype)
    return F.one_hot(xt, mask_id + 1).to(p.dtype) + relax


def adversarial_fake_loss(process, fake, p: torch.Tensor, x0: torch.Tensor, t_loss: torch.Tensor,
                          weights: tuple[float, float]) -> tuple[torch.Tensor, dict]:
    """a_F · L_F + b_F · L_D on the detached student output and real data at the same t'."""
    a, b = weights
    tap = HiddenStateTap(fake)
    idlm_term, metrics = fake_loss(process, tap, p, t_loss)
    l_fake = tap.logits()
    real_tap = HiddenStateTap(fake)
    process.x0_log_probs(real_tap, *process.forward_relaxed(x0, t_loss), t_loss)   # one pass, for its hidden state
    l_real = real_tap.logits()
    disc = discriminator_logit_loss(l_real, l_fake).sum(-1).mean()
    metrics.update(idlm=idlm_term.detach(), disc=disc.detach(), real_logit=l_real.mean().detach(),
                   fake_logit=l_fake.mean().detach())
    return a * idlm_term + b * disc, metrics


def adversarial_generator_loss(process, teacher, fake, p: torch.Tensor, t_loss: torch.Tensor,
                               weights: tuple[float, float]) -> tuple[torch.Tensor, dict]:
    """a_G · L_G + b_G · L_adv on one shared (x_t', t'); teacher and fake frozen, not detached."""
    a, b = weights
    tap = HiddenStateTap(fake, probs=p)
    idlm_term, metrics = generator_loss(process, teacher, tap, p, t_loss)
    adv = generator_logit_loss(tap.logits()).sum(-1).mean()
    metrics.update(idlm=idlm_term.detach(), adv=adv.detach())
    return a * idlm_term + b * adv, metrics
