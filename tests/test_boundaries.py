"""`embodied` imports nothing from sims/agents/datasets3d (the CLI is the one place that wires them)."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from embodied._optional import is_available, require
from embodied.config import config_from_dict, config_to_dict
from embodied.errors import ConfigError, MissingDependencyError

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN = ("sims", "agents", "datasets3d")


def _imports(path: Path):
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module


def test_embodied_does_not_import_other_packages_statically():
    offenders = []
    for path in (ROOT / "embodied").rglob("*.py"):
        if "cli" in path.relative_to(ROOT / "embodied").parts:
            continue
        offenders += [f"{path.relative_to(ROOT)}: {m}" for m in _imports(path) if m.split(".")[0] in FORBIDDEN]
    assert not offenders, offenders


def test_embodied_does_not_import_other_packages_at_runtime():
    modules = [".".join(p.relative_to(ROOT).with_suffix("").parts) for p in (ROOT / "embodied").rglob("*.py")
               if "cli" not in p.parts and p.name != "__main__.py"]
    code = ("import importlib, sys\n"
            f"for m in {modules!r}: importlib.import_module(m.removesuffix('.__init__'))\n"
            f"bad = [m for m in sys.modules if m.split('.')[0] in {FORBIDDEN!r}]\n"
            "assert not bad, bad\n")
    res = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert len(modules) >= 10


def test_package_import_is_light():
    code = "import sys, embodied; assert 'torch' not in sys.modules and 'open_clip' not in sys.modules"
    assert subprocess.run([sys.executable, "-c", code], cwd=ROOT).returncode == 0


def test_missing_optional_names_the_extra():
    assert is_available("numpy") and not is_available("surely_not_a_module_xyz")
    with pytest.raises(MissingDependencyError, match=r"pip install 'embodied-zeroshot\[thor\]'"):
        require("surely_not_a_module_xyz", extra="thor", purpose="the THOR adapter")
    if not is_available("habitat_sim"):
        with pytest.raises(MissingDependencyError, match="conda install habitat-sim"):
            require("habitat_sim")


def test_config_from_dict_rejects_unknown_keys_with_suggestion():
    from embodied.clip import ClipConfig

    cfg = ClipConfig(model="embodied-tiny", random_init=True, batch_size=8)
    assert config_from_dict(ClipConfig, config_to_dict(cfg)) == cfg
    with pytest.raises(ConfigError, match="unknown ClipConfig key 'batchsize'; did you mean 'batch_size'"):
        config_from_dict(ClipConfig, {"batchsize": 3})
