"""The package's curated API: ``__all__`` is exactly its public names, and importing it loads
neither torch nor llguidance (the parsers are engine-independent)."""

from __future__ import annotations

import inspect
import json
import subprocess
import sys

import modelport.structured.tools as tools


def test_all_matches_the_public_names() -> None:
    public = {
        name
        for name in dir(tools)
        if not name.startswith("_") and not inspect.ismodule(getattr(tools, name))
    }
    assert sorted(tools.__all__) == sorted(public - {"annotations"})


def test_importing_the_formats_loads_no_engine() -> None:
    code = (
        "import json, sys\n"
        "import modelport.structured.tools\n"
        "from modelport.structured.tools import detect_format, get_format\n"
        "[get_format(n) for n in ('hermes', 'llama3_json', 'mistral', 'generic')]\n"
        "print(json.dumps(sorted(m for m in ('torch', 'llguidance', 'transformers', 'jsonschema')"
        " if m in sys.modules)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert json.loads(done.stdout) == []
