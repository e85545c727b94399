"""1- and 2-step discrete students: MDLM from all-mask (one step is a product of per-position marginals, whatever the
network), and Duo's steps through its Gaussian latent (noise -> one forward -> tokens, re-noised for each later step),
which can correlate positions; exact sampler behaviour on tiny models and toy networks."""
import pytest
import torch

from core.discrete_toy import all_sequences, exact_denoiser, toy_pmf, total_variation
from core.distill import DistillSettings, RoleSettings, distill
from core.errors import ConfigError
from core.gaussian_duality import duality_for_vocab, gaussian_coefficients
from core.networks import copy_for_training
from idlm.method import IDLMSettings, idlm_method
from core.schedules import SAMPLER_T_END, uniform_time_grid
from teachers.duo import SOFT_INPUT_TAU, UniformDiffusion, sample_from_latent, sample_through_latent
from teachers.mdlm import MaskedDiffusion
from teachers.mdlm import sample as mdlm_sample
from teachers.registry import sample_model
from tests.test_idlm import Table, tiny_teacher

V, L, B = 5, 6, 8


class Recorder(torch.nn.Module):
    """Wraps a network and keeps every input it is called with."""

    def __init__(self, network):
        super().__init__()
        self.network, self.inputs = network, []

    def forward(self, x, sigma):
        self.inputs.append(x.clone())
        return self.network(x, sigma)


def test_mdlm_one_step_sees_only_the_all_mask_input_and_fills_every_position():
    process, network = tiny_teacher("mdlm")
    recorder = Recorder(network)
    x, nfe = mdlm_sample(process, recorder, batch_size=B, length=L, steps=1,
                         rng=torch.Generator().manual_seed(0))
    assert x.shape == (B, L) and x.max() < V and 1 <= nfe < 2
    assert torch.equal(recorder.inputs[0], torch.full((B, L), V))      # the one step's input: a constant
    again, _ = mdlm_sample(process, network, batch_size=B, length=L, steps=1,
                           rng=torch.Generator().manual_seed(0))
    other, _ = mdlm_sample(process, network, batch_size=B, length=L, steps=1,
                           rng=torch.Generator().manual_seed(1))
    assert torch.equal(x, again) and not torch.equal(x, other)


def test_mdlm_two_steps_fill_every_position_in_two_calls():
    process, network = tiny_teacher("mdlm")
    x, nfe = sample_model("mdlm", process, network, batch_size=B, length=L, steps=2, device=None, float64=True,
                          cache=False)
    assert x.shape == (B, L) and x.max() < V and 2 <= nfe < 3


def test_mdlm_one_step_is_the_product_of_marginals_even_with_an_exact_denoiser():
    """Toy pmf with correlated positions, exact MDLM denoiser: the 1-step samples follow Π_l p(x^l) (TV ≈ Monte-Carlo
    error), far from the pmf itself; 2 steps already move towards the pmf."""
    vocab, length = 3, 3
    pmf = toy_pmf(vocab, length, seed=0, spread=1.5)
    process = MaskedDiffusion(vocab)
    table = Table(exact_denoiser(pmf, vocab)(all_sequences(vocab + 1, length), None), vocab)
    marginals = [pmf.sum(dim=[d for d in range(length) if d != keep]) for keep in range(length)]
    product = marginals[0][:, None, None] * marginals[1][None, :, None] * marginals[2][None, None, :]

    def samples(steps):
        x, _ = mdlm_sample(process, table, batch_size=100_000, length=length, steps=steps, cache=False,
                           rng=torch.Generator().manual_seed(3))
        return x
    one = samples(1)
    assert total_variation(one, product) < 0.01 < 0.1 < total_variation(one, pmf)
    assert total_variation(samples(2), pmf) < total_variation(one, pmf) - 0.03


def test_latent_one_step_is_one_call_deterministic_given_the_rng():
    process, network = tiny_teacher("duo")
    recorder = Recorder(network)
    x, nfe = sample_from_latent(process, recorder, batch_size=B, length=L, rng=torch.Generator().manual_seed(0))
    assert x.shape == (B, L) and 0 <= x.min() and x.max() < V and nfe == 1 and len(recorder.inputs) == 1
    assert recorder.inputs[0].shape == (B, L, V)                      # the soft input softmax(w / τ)
    again, _ = sample_from_latent(process, network, batch_size=B, length=L, rng=torch.Generator().manual_seed(0))
    other, _ = sample_from_latent(process, network, batch_size=B, length=L, rng=torch.Generator().manual_seed(1))
    assert torch.equal(x, again) and not torch.equal(x, other)


def test_latent_one_step_input_is_the_gaussian_latent_at_t1():
    """A network that returns its input as logits: greedy tokens are argmax ε of the same draw (the duality's
    uniform-state sample), and the input is softmax(σ̃ ε / τ) at γ = T⁻¹(α(1))."""
    process = UniformDiffusion(V)
    recorder = Recorder(lambda x, sigma: 50.0 * x)
    x, _ = sample_from_latent(process, recorder, batch_size=B, length=L, greedy=True,
                              rng=torch.Generator().manual_seed(4))
    noise = torch.randn((B, L, V), generator=torch.Generator().manual_seed(4))
    _, sigma_tilde = gaussian_coefficients(duality_for_vocab(V).gamma(process.schedule.alpha(torch.ones(1))))
    torch.testing.assert_close(recorder.inputs[0], torch.softmax(sigma_tilde * noise / SOFT_INPUT_TAU, -1))
    assert torch.equal(x, noise.argmax(-1))


def test_latent_one_step_can_correlate_positions():
    """A network that predicts, at every position, the token position 0 holds in its input: every one-step sample
    repeats one token L times, and across samples that token is spread over the vocabulary. No network can do this
    from MDLM's all-mask input, where one step draws the positions independently."""
    process = UniformDiffusion(V)
    copy_first = lambda x, sigma: 50.0 * x[:, :1].expand(-1, x.shape[1], -1)  # noqa: E731
    x, _ = sample_from_latent(process, copy_first, batch_size=400, length=L, greedy=True,
                              rng=torch.Generator().manual_seed(5))
    assert torch.equal(x, x[:, :1].expand(-1, L))
    counts = torch.bincount(x[:, 0], minlength=V)
    assert counts.min() > 400 / V / 2                                 # every token starts some samples


def test_latent_predictor_at_one_step_is_the_one_step_sampler_and_makes_k_steps():
    process, network = tiny_teacher("duo")
    common = dict(batch_size=B, length=L, device=None, float64=True)
    x, nfe = sample_model("duo", process, network, predictor="latent", steps=1, rng=torch.Generator().manual_seed(3),
                          **common)
    one, _ = sample_from_latent(process, network, rng=torch.Generator().manual_seed(3), **common)
    assert nfe == 1 and torch.equal(x, one)          # the rows of one-step students are made as before
    recorder = Recorder(network)
    x, nfe = sample_model("duo", process, recorder, predictor="latent", steps=3, **common)
    assert x.shape == (B, L) and x.max() < V and nfe == 3 and len(recorder.inputs) == 3


class Sigmas(Recorder):
    """Keeps every σ a network is called at and the tokens its greedy read-out gives."""

    def forward(self, x, sigma):
        self.inputs.append((x.clone(), sigma.clone()))
        logits = self.network(x, sigma)
        self.inputs[-1] += (logits.argmax(-1),)
        return logits


def test_each_later_latent_step_renoises_the_last_tokens_by_the_forward_process_at_its_grid_time():
    """K = 4, greedy: the calls are at σ(α(t_k)) for the grid t_k = 1 - k(1 - t_end)/4, and each later call's input is
    the last call's tokens kept with probability T(γ_k) = α(t_k) + (1 - α(t_k))/V (argmax of the Gaussian latent: Duo's
    duality), as the student's training input at t_k (forward_relaxed) keeps real tokens."""
    process = UniformDiffusion(V)
    torch.manual_seed(0)
    mix = torch.randn(V, V)
    network = Sigmas(lambda x, sigma: 4.0 * x @ mix)       # its tokens depend on its input
    n = 4000
    sample_through_latent(process, network, steps=4, batch_size=n, length=L, greedy=True,
                          rng=torch.Generator().manual_seed(1))
    times = uniform_time_grid(4, t_end=SAMPLER_T_END, dtype=torch.float32)[:-1]
    sigmas = [s[0].item() for _, s, _ in network.inputs]
    assert sigmas == pytest.approx(process.alpha_to_sigma(process.schedule.alpha(times)).tolist(), rel=1e-6)
    for k in (1, 2, 3):
        alpha = process.schedule.alpha(times[k]).item()
        kept = (network.inputs[k][0].argmax(-1) == network.inputs[k - 1][2]).double().mean().item()
        expected = alpha + (1 - alpha) / V
        assert kept == pytest.approx(expected, abs=4 * (expected * (1 - expected) / (n * L)) ** 0.5)


@pytest.mark.parametrize("family, predictor, steps", [("mdlm", "default", 1), ("mdlm", "default", 2),
                                                      ("duo", "latent", 1), ("duo", "latent", 2),
                                                      ("duo", "default", 2)])
def test_an_idlm_student_trains_and_samples_at_one_and_two_steps(family, predictor, steps, tmp_path):
    process, teacher = tiny_teacher(family)
    role = RoleSettings(lr=1e-3)
    settings = DistillSettings(max_steps=2, generator=role, fake=role, ema_decay=0.0, eval_every=10**6,
                               save_every=10**6, log_every=10**6)
    student = copy_for_training(teacher)
    distill(generator=student, fake=copy_for_training(teacher), method=idlm_method(process, teacher, IDLMSettings()),
            get_batch=lambda step, k: torch.randint(V, (4, L), generator=torch.Generator().manual_seed(step + k)),
            run_dir=tmp_path, settings=settings, config={}, device=torch.device("cpu"))
    x, nfe = sample_model(family, process, student.eval(), predictor=predictor, batch_size=B, length=L, steps=steps,
                          device=None, float64=True, cache=False)
    assert x.shape == (B, L) and x.max() < V and steps <= nfe < steps + 2
