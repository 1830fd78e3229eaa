"""How the benchmarks print their results: one JSON line (``--json``) or a key per line."""

from __future__ import annotations

import json
from collections.abc import Mapping


def print_result(result: Mapping[str, object], as_json: bool, width: int = 24) -> None:
    """``result`` as one JSON line, or as ``key: value`` lines with the keys right-aligned."""
    if as_json:
        print(json.dumps(result))
        return
    for key, value in result.items():
        print(f"{key:>{width}}: {value}")
