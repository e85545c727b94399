"""precision=auto picks bf16 only on hardware with native bf16; an explicit bf16 without it warns."""
import warnings

import pytest
import torch

from core.precision import cpu_flags, default_threads, resolve_precision

CPU = torch.device("cpu")
AVX2 = {"fpu", "sse2", "avx", "avx2", "fma"}
ZEN4 = AVX2 | {"avx512f", "avx512_bf16"}
SAPPHIRE_RAPIDS = AVX2 | {"avx512f", "amx_tile", "amx_bf16"}


@pytest.mark.parametrize("flags, chosen", [(AVX2, "fp32"), (ZEN4, "bf16"), (SAPPHIRE_RAPIDS, "bf16"), (set(), "fp32")])
def test_auto_chooses_bf16_only_with_native_support(flags, chosen):
    assert resolve_precision("auto", CPU, flags) == chosen


def test_explicit_bf16_without_native_support_warns_and_is_kept():
    with pytest.warns(UserWarning, match="without native bf16"):
        assert resolve_precision("bf16", CPU, AVX2) == "bf16"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert resolve_precision("bf16", CPU, ZEN4) == "bf16"
        assert resolve_precision("fp32", CPU, AVX2) == "fp32"


def test_unknown_precision_is_refused():
    with pytest.raises(ValueError, match="unknown precision 'fp16'; valid: auto, fp32, bf16"):
        resolve_precision("fp16", CPU, AVX2)


def test_cpu_flags_read_the_flags_line(tmp_path):
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nmodel name\t: X\nflags\t\t: fpu avx2 avx512_bf16\n\nprocessor\t: 1\n")
    assert cpu_flags(info) == {"fpu", "avx2", "avx512_bf16"}
    assert cpu_flags(tmp_path / "missing") == set()


def test_default_threads_share_the_cores_among_local_processes(monkeypatch):
    monkeypatch.setattr("os.sched_getaffinity", lambda pid: {0, 1, 2, 3})
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "2")
    assert default_threads() == 2
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "8")
    assert default_threads() == 1
    monkeypatch.delenv("LOCAL_WORLD_SIZE")
    assert default_threads() == 4
