"""Nothing a user passes or ganzoo caches is unpickled, and no code is loaded from a path.

The scan reads every Python file under ganzoo/ and plugins/ and fails on: importing pickle or a
pickle-based loader (cPickle, dill, joblib, shelve, marshal, cloudpickle), ``torch.load`` without
``weights_only=True``, ``numpy.load`` with ``allow_pickle=True``, ``pandas.read_pickle``, and
loading code from a file path (``importlib.util.spec_from_file_location``, ``runpy``,
``SourceFileLoader``, ``exec``/``eval``/``compile``, ``sys.path`` edits). Plugins come only from
installed entry points.
"""

from __future__ import annotations

import ast
from importlib import metadata
from pathlib import Path

import pytest

from conftest import ROOT

PICKLE_MODULES = {"pickle", "cPickle", "_pickle", "dill", "joblib", "shelve", "marshal", "cloudpickle"}
CODE_FROM_PATHS = {"spec_from_file_location", "SourceFileLoader", "run_path", "run_module", "load_source"}
BUILTINS_THAT_RUN_TEXT = {"exec", "eval", "compile", "__import__"}


def _dotted(node: ast.AST) -> str:
    """'torch.load' for torch.load, 'np.load' for np.load, '' when it is not a plain name chain."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return ""


def _keyword_is(call: ast.Call, name: str, value: object) -> bool:
    return any(k.arg == name and isinstance(k.value, ast.Constant) and k.value.value == value for k in call.keywords)


def unsafe_calls(source: str, filename: str = "<source>") -> list[str]:
    """Every construct in ``source`` that could unpickle data or load code from a path."""
    tree = ast.parse(source, filename)
    aliases: dict[str, str] = {}  # local name -> module.attr it was imported as
    problems = []

    def report(node: ast.AST, what: str) -> None:
        problems.append(f"{filename}:{node.lineno}: {what}")

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in PICKLE_MODULES:
                    report(node, f"imports {alias.name}")
                aliases[alias.asname or alias.name] = alias.name
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if module.split(".")[0] in PICKLE_MODULES:
                report(node, f"imports from {module}")
            if module == "runpy" or module.startswith("importlib.machinery"):
                report(node, f"imports from {module}")
            for alias in node.names:
                aliases[alias.asname or alias.name] = f"{module}.{alias.name}"
                if alias.name in CODE_FROM_PATHS:
                    report(node, f"imports {alias.name}")

    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = _dotted(node.func)
        head, _, rest = name.partition(".")
        full = f"{aliases.get(head, head)}.{rest}" if rest else aliases.get(head, head)
        if full in ("torch.load", "torch.serialization.load") and not _keyword_is(node, "weights_only", True):
            report(node, "torch.load without weights_only=True")
        elif full in ("numpy.load", "np.load") and _keyword_is(node, "allow_pickle", True):
            report(node, "numpy.load with allow_pickle=True")
        elif full.endswith("read_pickle") or full.split(".")[-1] in CODE_FROM_PATHS:
            report(node, f"calls {full}")
        elif full in BUILTINS_THAT_RUN_TEXT:
            report(node, f"calls {full}")
        elif full in ("sys.path.insert", "sys.path.append", "sys.path.extend"):
            report(node, f"calls {full}")
    return problems


def project_sources() -> list[Path]:
    return sorted(p for folder in ("ganzoo", "plugins") for p in (ROOT / folder).rglob("*.py"))


def test_no_source_file_unpickles_or_loads_code_from_a_path():
    assert len(project_sources()) > 20
    problems = [p for path in project_sources() for p in unsafe_calls(path.read_text(), str(path.relative_to(ROOT)))]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("source", [
    "import pickle\npickle.loads(b'')",
    "import pickle as p",
    "from pickle import loads",
    "import joblib",
    "import torch\ntorch.load('x.pt')",
    "import torch\ntorch.load('x.pt', weights_only=False)",
    "from torch import load\nload('x.pt')",
    "import torch as t\nt.load('x.pt', map_location='cpu')",
    "import numpy as np\nnp.load('x.npy', allow_pickle=True)",
    "import pandas as pd\npd.read_pickle('x')",
    "import importlib.util\nimportlib.util.spec_from_file_location('m', 'plugin.py')",
    "import runpy\nrunpy.run_path('plugin.py')",
    "exec(open('plugin.py').read())",
    "import sys\nsys.path.insert(0, 'plugins')",
])
def test_the_scan_catches_each_unsafe_construct(source):
    assert unsafe_calls(source)


@pytest.mark.parametrize("source", [
    "import torch\ntorch.load('x.pt', weights_only=True)",
    "import numpy as np\nnp.load('x.npy')",
    "from safetensors.torch import load_file\nload_file('x.safetensors')",
    "import json\njson.loads('{}')",
])
def test_the_scan_allows_safe_loading(source):
    assert not unsafe_calls(source)


def test_plugins_come_only_from_installed_entry_points():
    """GANZOO_LOAD_PLUGINS selects among installed entry points by name; a path is not a plugin."""
    from ganzoo.plugins import CORE_PLUGIN, load_plugins

    loaded = load_plugins({"GANZOO_LOAD_PLUGINS": "dcgan,./plugins/ganzoo_vanilla,/tmp/evil.py"})
    by_name = {r.name: r for r in loaded.records}
    assert by_name["dcgan"].status == "loaded" and by_name["vanilla"].status == "disabled"
    installed = {ep.name for ep in metadata.entry_points(group="ganzoo")}
    assert set(by_name) == {CORE_PLUGIN} | installed
