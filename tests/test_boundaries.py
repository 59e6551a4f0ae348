"""The direction of the code: sims -> Observation -> agents -> Action, with `embodied` underneath.

* ``embodied`` imports nothing from sims / agents / datasets3d (the CLI, ``embodied.cli``, is the one
  place that wires them together);
* ``sims`` and ``agents`` import only ``embodied`` (and themselves); ``datasets3d`` may import ``sims``;
* no import cycles between modules, lazy (function-level) imports included;
* no private (``_name``) name imported across packages, nor by tests and benchmarks.
"""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from embodied.optional import is_available, require
from embodied.config import config_from_dict, config_to_dict
from embodied.errors import ConfigError, MissingDependencyError

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN = ("sims", "agents", "datasets3d")
PACKAGES = ("embodied", "sims", "agents", "datasets3d")
ALLOWED = {"embodied": {"embodied"}, "sims": {"embodied", "sims"}, "agents": {"embodied", "agents"},
           "datasets3d": {"embodied", "sims", "datasets3d"}}
"""Which packages each package may import (``embodied.cli`` aside)."""


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


# --------------------------------------------------------------------------- the whole direction
def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_module(name: str) -> bool:
    base = ROOT / name.replace(".", "/")
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def _import_nodes(path: Path):
    """(module, imported name or None, line) of every absolute import in ``path``, lazy ones included."""
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            yield from ((a.name, None, node.lineno) for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield from ((node.module, a.name, node.lineno) for a in node.names)


def _sources(*folders: str) -> list[Path]:
    return sorted(p for d in folders for p in (ROOT / d).rglob("*.py"))


def check_direction(paths: list[Path]) -> list[str]:
    """Imports that go against :data:`ALLOWED`."""
    bad = []
    for path in paths:
        me = _module_name(path)
        if me.startswith("embodied.cli"):
            continue
        allowed = ALLOWED[me.split(".")[0]]
        bad += [f"{path.relative_to(ROOT)}:{line} imports {mod}" for mod, _, line in _import_nodes(path)
                if mod.split(".")[0] in PACKAGES and mod.split(".")[0] not in allowed]
    return bad


def check_private(paths: list[Path]) -> list[str]:
    """``from pkg.mod import _name`` where the importer is another package, a test or a benchmark."""
    bad = []
    for path in paths:
        top = path.relative_to(ROOT).parts[0]
        for mod, name, line in _import_nodes(path):
            if mod.split(".")[0] in PACKAGES and mod.split(".")[0] != top:
                privates = [p for p in (mod.split(".") + [name or ""])[1:] if p.startswith("_") and not
                            p.startswith("__")]
                if privates:
                    bad.append(f"{path.relative_to(ROOT)}:{line} imports {mod} {name or ''}".strip())
    return bad


def import_cycles(paths: list[Path]) -> list[list[str]]:
    """Groups of modules that import each other (strongly connected components of the import graph,
    lazy imports included; ``from a import b`` is an edge to module ``a.b`` when it is one)."""
    graph: dict[str, set[str]] = {}
    for path in paths:
        out = set()
        for mod, name, _ in _import_nodes(path):
            if mod.split(".")[0] in PACKAGES:
                out.add(f"{mod}.{name}" if name and _is_module(f"{mod}.{name}") else mod)
        graph[_module_name(path)] = {m for m in out if _is_module(m)}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles = []

    def visit(v: str) -> None:  # Tarjan's algorithm
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                group.append(w)
                if w == v:
                    break
            if len(group) > 1 or v in graph.get(v, ()):
                cycles.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return cycles


def test_each_package_imports_only_what_it_may():
    assert not check_direction(_sources(*PACKAGES)), check_direction(_sources(*PACKAGES))


def test_no_import_cycles():
    paths = _sources(*PACKAGES)
    assert len(paths) > 50
    assert import_cycles(paths) == []


def test_no_private_names_across_packages_tests_or_benchmarks():
    bad = check_private(_sources(*PACKAGES, "tests", "benchmarks"))
    assert not bad, bad


def test_the_checks_catch_what_they_guard(tmp_path, monkeypatch):
    """The three checks on a small made-up tree: each rule broken once."""
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    files = {"embodied/__init__.py": "", "embodied/a.py": "from embodied import b\n",
             "embodied/b.py": "def f():\n    import embodied.a\n",  # a cycle through a lazy import
             "sims/__init__.py": "", "sims/s.py": "from agents.x import act\n",  # sims may not import agents
             "embodied/c.py": "import datasets3d.d\n",  # embodied may not import datasets3d
             "agents/__init__.py": "", "agents/x.py": "from embodied.b import _secret\n",  # private, across
             "datasets3d/__init__.py": "", "datasets3d/d.py": "import sims.s\nfrom embodied.a import ok\n"}
    for rel, text in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    paths = sorted(tmp_path.rglob("*.py"))
    assert import_cycles(paths) == [["embodied.a", "embodied.b"]]
    assert [b.split(" imports ")[1] for b in check_direction(paths)] == ["datasets3d.d", "agents.x"]
    assert check_private(paths) == ["agents/x.py:1 imports embodied.b _secret"]


def test_cli_modules_form_no_circle():
    """Command modules import options and the packages, never each other or ``main``; ``options``
    imports no command module."""
    bad = []
    for path in (ROOT / "embodied" / "cli").glob("*.py"):
        name = path.stem
        for mod, _, line in _import_nodes(path):
            cli_module = mod == "embodied.cli" or mod.startswith("embodied.cli.")
            if name in ("main", "__init__", "__main__") or not cli_module:
                continue  # main assembles the commands; the package and __main__ only start it
            if name == "options" or mod != "embodied.cli.options":
                bad.append(f"{name}:{line} imports {mod}")
    assert not bad, bad
