"""What the build scripts share: reading the set's JSON Lines and loading a set's own scorer."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType
from typing import Any

# The relevance set: this folder's parent.
SET_DIR = Path(__file__).resolve().parents[1]


def load_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def load_scorer(data: Path = SET_DIR) -> ModuleType:
    """The `score.py` of a set (this one, or eval-dev), loaded as a module of its own."""
    spec = importlib.util.spec_from_file_location(f"scorer_{data.name}", data / "score.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
