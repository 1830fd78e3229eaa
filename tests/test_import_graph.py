"""No import cycle among lipdub's modules, counting imports inside functions and under
``TYPE_CHECKING``; ``lipdub.hookspecs`` imports only leaf modules."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "lipdub"


def module_files() -> dict[str, Path]:
    """``lipdub.x.y`` -> its file (packages by their ``__init__.py``)."""
    found = {}
    for path in ROOT.rglob("*.py"):
        parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _known(name: str, modules: dict[str, Path]) -> str | None:
    """The longest prefix of ``name`` that is a lipdub module."""
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def imports_of(module: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """Every lipdub module ``module`` imports, anywhere in its file."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str | None] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(_known(alias.name, modules) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, *([node.module] if node.module else [])])
            for alias in node.names:
                full = f"{base}.{alias.name}"
                found.add(full if full in modules else _known(base, modules))
    return {name for name in found if name and name.startswith("lipdub") and name != module}


def import_graph() -> dict[str, set[str]]:
    modules = module_files()
    return {name: imports_of(name, path, modules) for name, path in modules.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in sorted(graph.get(node, ())):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                other = stack.pop()
                component.append(other)
                if other == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    seen: set[str] = set()
    todo = [start]
    while todo:
        for other in graph.get(todo.pop(), ()):
            if other not in seen:
                seen.add(other)
                todo.append(other)
    return seen


def test_the_graph_sees_imports_in_functions_and_type_checking() -> None:
    graph = import_graph()
    assert "lipdub.plugins" in graph["lipdub.weights.registry"]  # inside weight_specs()
    assert "lipdub.weights.spec" in graph["lipdub.hookspecs"]  # under TYPE_CHECKING


def test_no_import_cycle() -> None:
    assert cycles(import_graph()) == []


def test_hookspecs_reach_none_of_the_plugin_machinery() -> None:
    reached = reachable(import_graph(), "lipdub.hookspecs")
    machinery = {"lipdub.plugins", "lipdub.registry", "lipdub.cli.app"}
    assert not reached & machinery
    assert "lipdub.eval.metric_plugins" not in reached
    assert "lipdub.weights.registry" not in reached


def test_loading_every_plugin_imports_no_torch() -> None:
    """Plugins register classes and values, not models: the CLI starts without torch."""
    import subprocess
    import sys

    code = "import sys; from lipdub.plugins import load_plugins; load_plugins(); "
    # ... nor does the dub's first pass ask torch where SyncNet's weights would be (a warp
    # dub never needs torch: it is 180 MB of memory).
    code += "from lipdub.pipeline.run import DubRun; "
    code += "from lipdub.pipeline.speaker_sync import syncnet_file; syncnet_file(); "
    code += "print(sorted(m for m in ('torch', 'transformers', 'ray') if m in sys.modules))"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert run.stdout.strip() == "[]"


def test_a_warp_dub_runs_and_reports_its_device_without_torch(
    talking_head: Path, speech_wav: Path, tmp_path: Path
) -> None:
    """The weight-free generator needs no torch, not even for the summary's device line."""
    import json
    import os
    import subprocess
    import sys

    blocked = tmp_path / "no-torch" / "torch"
    blocked.mkdir(parents=True)
    (blocked / "__init__.py").write_text("raise ImportError('torch is not installed here')\n")
    env = dict(os.environ, PYTHONPATH=str(blocked.parent))
    output = tmp_path / "dub.mp4"
    command = [sys.executable, "-m", "lipdub", str(talking_head), "--audio", str(speech_wav)]
    command += ["-o", str(output), "--generator", "warp", "--no-mark", "--json", "-q"]
    run = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    assert run.returncode == 0, run.stderr
    summary = json.loads(run.stdout)
    assert (summary["device"], summary["precision"]) == ("cpu", "fp32")
    assert summary["dubbed_frames"] > 0 and output.stat().st_size > 0
