"""The CLI's quick commands stay quick, checked by what they import rather than by timing them.

`ganzoo list` and `ganzoo info` read plugin metadata only: they must not import the libraries that
only scoring needs (torch-fidelity pulls in torchvision and torch._dynamo; the seqgan BLEU metric
pulls in NLTK, scipy and scikit-learn), nor build a model or an optimiser. `ganzoo --version` and
`--help` must not even import torch. Each command runs in a fresh interpreter, as a user runs it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

HEAVY = ("torch_fidelity", "torchvision", "torch._dynamo", "nltk", "scipy", "sklearn", "matplotlib")

PROBE = """
import json, sys
import torch

built = []
for cls in (torch.nn.Module, torch.optim.Optimizer):
    def spy(self, *args, _init=cls.__init__, **kwargs):
        built.append(type(self).__name__)
        _init(self, *args, **kwargs)
    cls.__init__ = spy

from ganzoo.cli import main
from ganzoo.plugins import get_plugins

main(ARGV)
plugins = get_plugins()
print(json.dumps({
    "modules": sorted(sys.modules),
    "built": built,
    "metrics": plugins.registry.table("metrics").names(),
    "failed": [p.name for p in plugins.records if p.status != "loaded"],
}))
"""

VERSION_PROBE = """
import json, sys
from ganzoo.cli import main

try:
    main(ARGV)
except SystemExit as exc:
    assert not exc.code, exc.code
print(json.dumps(sorted(sys.modules)))
"""


def probe(code: str, argv: list[str]) -> object:
    """Run ``code`` with ARGV bound in a fresh interpreter (every plugin enabled); its last stdout line as JSON."""
    env = {k: v for k, v in os.environ.items() if k != "GANZOO_LOAD_PLUGINS"}
    done = subprocess.run([sys.executable, "-c", code.replace("ARGV", repr(argv))], capture_output=True, text=True,
                          env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("argv", [["list"], ["info", "dcgan"], ["info", "seqgan"]])
def test_list_and_info_load_metadata_without_heavy_libraries(argv):
    result = probe(PROBE, argv)
    assert not result["failed"], "a plugin did not load, so this test would check too little"
    assert {"fid", "class_acc", "bleu"} <= set(result["metrics"])  # the metrics whose modules used to import them
    assert [m for m in HEAVY if m in result["modules"]] == []
    assert result["built"] == []


@pytest.mark.parametrize("argv", [["--version"], ["--help"]])
def test_version_and_help_import_no_torch(argv):
    modules = probe(VERSION_PROBE, argv)
    assert "torch" not in modules
