"""A student's GenPPL read against its teacher's temperature frontier, on a sweep with known values."""
import math

import pytest

from core.evaluate.temperature_match import frontier_ratio


def sweep(*points):
    return [{"temperature": t, "metrics": {"entropy": h, "gen_ppl": p}} for t, h, p in points]


def test_ratio_to_the_frontier_interpolates_log_genppl_between_the_bracketing_temperatures():
    rows = sweep((1.0, 3.0, 20.0), (0.8, 2.8, 10.0), (0.9, 2.9, 12.0))
    # entropy 2.85 is halfway between T = 0.8 and 0.9: the frontier there is sqrt(10 * 12)
    result = frontier_ratio(9.0, 2.85, rows)
    assert result["genppl_at_entropy"] == pytest.approx(math.sqrt(120))
    assert result["ratio"] == pytest.approx(9.0 / math.sqrt(120))
    assert result["bracket_temperatures"] == [0.8, 0.9]


def test_no_ratio_outside_the_sweep_only_its_range():
    result = frontier_ratio(9.0, 3.2, sweep((0.8, 2.8, 10.0), (1.0, 3.0, 20.0)))
    assert result == {"ratio": None, "genppl_at_entropy": None, "sweep_entropy_range": [2.8, 3.0]}
