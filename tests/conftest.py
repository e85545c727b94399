"""Test-wide settings: one intra-op thread (tiny tensors; extra threads only thrash on a shared 2-core machine),
and no hub access (everything the tests need ships with the project or its dependencies)."""
import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import torch  # noqa: E402

torch.set_num_threads(1)
