"""The installed package carries every config overlay (setup.cfg package data): a wheel built from the source tree and
installed without its dependencies into a temporary folder loads a config with teacher and corpus overlays from there,
to the same values as the checkout."""
import configparser
import json
import os
import shutil
import subprocess
import sys
import zipfile

import pytest
from omegaconf import OmegaConf

from core.paths import REPO_ROOT
from experiments.config import CONFIG_DIR, load_config

OVERLAID = ["teacher=duo", "corpus=wikitext2"]   # both overlays change keys of defaults.yaml
LOAD = ("import json, sys\nfrom omegaconf import OmegaConf\nimport experiments.config as config\n"
        "cfg = config.load_config(json.loads(sys.argv[1]), command='pretrain')\n"
        "print(json.dumps({'module': config.__file__, 'config': OmegaConf.to_container(cfg, resolve=True)}))")


def packaged_folders() -> list[str]:
    """The top-level packages setup.cfg ships."""
    setup = configparser.ConfigParser()
    setup.read(REPO_ROOT / "setup.cfg")
    return sorted({name.split(".")[0] for name in setup["options.packages.find"]["include"].split()})


def pip(*args: str) -> None:
    out = subprocess.run([sys.executable, "-m", "pip", "--disable-pip-version-check", *args], capture_output=True,
                         text=True)
    assert out.returncode == 0, out.stderr[-3000:]


@pytest.mark.e2e   # builds and installs a wheel: the second tier
def test_a_wheel_installs_every_config_overlay_and_loads_them(tmp_path):
    # the build reads a copy, so its build/ and *.egg-info never land in the checkout
    source = tmp_path / "source"
    for name in packaged_folders():
        shutil.copytree(REPO_ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("setup.cfg", "pyproject.toml", "README.md"):
        shutil.copy(REPO_ROOT / name, source / name)
    pip("wheel", "--no-deps", "--no-build-isolation", "--no-index", "--wheel-dir", str(tmp_path / "wheel"),
        str(source))
    [wheel] = (tmp_path / "wheel").glob("*.whl")
    overlays = sorted(str(path.relative_to(REPO_ROOT)) for path in CONFIG_DIR.rglob("*.yaml"))
    assert len(overlays) > 10 and any("/teachers/" in o for o in overlays) and any("/corpora/" in o for o in overlays)
    assert [name for name in overlays if name not in zipfile.ZipFile(wheel).namelist()] == []

    target = tmp_path / "site"
    pip("install", "--no-deps", "--no-index", "--target", str(target), str(wheel))
    # from a folder without the checkout on the path: the installed copy is the one imported
    out = subprocess.run([sys.executable, "-c", LOAD, json.dumps(OVERLAID)], cwd=tmp_path, capture_output=True,
                         text=True, env={**os.environ, "PYTHONPATH": str(target)})
    assert out.returncode == 0, out.stderr[-3000:]
    installed = json.loads(out.stdout)
    assert installed["module"].startswith(str(target))
    checkout = OmegaConf.to_container(load_config(OVERLAID, command="pretrain"), resolve=True)
    assert installed["config"] == checkout
    assert checkout["data"]["seq_len"] == 1024 and checkout["distill"]["lr"] == 2e-5   # the overlays' own values
