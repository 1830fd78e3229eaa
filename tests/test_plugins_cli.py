"""``lipdub plugins``: distributions, hooks, what each plugin registers, skipped plugins,
``--all``, ``--json`` and ``--options``; plugin commands are registered once and attributed."""

from __future__ import annotations

import json
from typing import Any

from lipdub import plugins
from lipdub.cli.app import app, main
from lipdub.cli.command_list import names
from lipdub.training.network_spec import TrainingNetworks
from lipdub.weights.spec import WeightSpec
from tests.test_plugins import (
    EchoBlender,
    FakeEntryPoint,
    Impostor,
    SecondsMetric,
    add,
    entry_points,  # noqa: F401 - fixture
    registers,
)


class FakeNetworks(TrainingNetworks):
    def build(self, kind, spec):
        raise NotImplementedError

    def payload(self, kind, spec, state, step):
        return {"state_dict": state}

    def read(self, path, kind, spec):
        return {}


SPEC = WeightSpec("echo-weights", "echo.pth", "0" * 64, 10, ("owner/echo",))


def hello(name: str = "world") -> None:
    """Say hello."""
    print(f"hello {name}")


def listing(capsys, *args: str) -> dict[str, dict[str, Any]]:
    return listing_and_warnings(capsys, *args)[0]


def listing_and_warnings(capsys, *args: str) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """``lipdub plugins --json`` by name, and the warning lines it printed on stderr."""
    capsys.readouterr()
    assert main(["plugins", "--json", *args]) == 0
    out, err = capsys.readouterr()
    rows = {row["name"]: row for row in json.loads(out)}
    return rows, [line for line in err.splitlines() if line.startswith("warning:")]


def test_a_plugin_is_listed_with_all_it_registers(entry_points, capsys) -> None:  # noqa: F811
    add(
        entry_points,
        "echo",
        register_blenders=registers(EchoBlender),
        register_weights=registers(SPEC),
        register_eval_metrics=registers(SecondsMetric),
        register_training_networks=registers(FakeNetworks("echo-features")),
        register_commands=lambda cli: cli.command("echo-hello")(hello),
    )
    row = listing(capsys)["echo"]
    assert (row["distribution"], row["version"], row["builtin"]) == ("dist-echo", "9.9", False)
    assert row["hooks"] == [
        "register_blenders",
        "register_commands",
        "register_eval_metrics",
        "register_training_networks",
        "register_weights",
    ]
    (blender,) = row["components"]["blenders"]
    assert blender == {"name": "echo", "description": "returns the frame unchanged", "options": []}
    assert row["weights"] == ["echo-weights"] and row["metrics"] == ["seconds"]
    assert row["training_networks"] == ["echo-features"] and row["commands"] == ["echo-hello"]
    assert (row["status"], row["error"]) == ("loaded", None)
    assert plugins.entries("commands")["echo-hello"].plugin == "echo"
    assert main(["echo-hello", "--name", "you"]) == 0
    assert capsys.readouterr().out == "hello you\n"

    assert main(["plugins"]) == 0
    table = capsys.readouterr().out
    assert "dist-echo 9.9" in table and "echo-weights" in table and "echo-hello" in table
    assert "lipdub.blenders.mask" not in table


def test_builtins_only_with_all_in_table_and_json(entry_points, capsys) -> None:  # noqa: F811
    assert listing(capsys) == {}
    assert main(["plugins"]) == 0
    assert "no third-party plugins installed" in capsys.readouterr().out
    rows = listing(capsys, "--all")
    mask = rows["lipdub.blenders.mask"]
    assert (mask["distribution"], mask["builtin"], mask["hooks"]) == (
        "lipdub",
        True,
        ["register_blenders"],
    )
    (component,) = mask["components"]["blenders"]
    assert component["name"] == "mask" and component["description"]
    assert "wav2lip" in rows["lipdub.weights.builtin"]["weights"]
    assert rows["lipdub.training.networks"]["training_networks"] == ["mel"]
    assert main(["plugins", "--all"]) == 0
    assert "lipdub.blenders.mask" in capsys.readouterr().out


def test_skipped_plugins_are_listed_as_failed(entry_points, capsys) -> None:  # noqa: F811
    def broken():
        raise ImportError("No module named 'missing_dependency'")

    entry_points.append(FakeEntryPoint("broken", broken))
    add(entry_points, "impostor", register_blenders=registers(Impostor))
    rows, warned = listing_and_warnings(capsys)
    assert len(warned) == 2
    assert "'broken' (from dist-broken 9.9) failed to load and was skipped" in warned[0]
    assert "'impostor' (from dist-impostor 9.9) was skipped" in warned[1]
    assert "'lipdub.blenders.mask'" in warned[1]
    assert rows["broken"]["status"] == "failed"
    assert rows["broken"]["error"] == "ImportError: No module named 'missing_dependency'"
    assert rows["broken"]["distribution"] == "dist-broken"
    assert rows["impostor"]["status"] == "failed"
    assert "already registered by 'lipdub.blenders.mask'" in rows["impostor"]["error"]
    assert rows["impostor"]["components"] == {}
    assert main(["plugins"]) == 0
    table = capsys.readouterr().out
    assert "failed" in table and "missing_dependency" in table
    assert plugins.components("blenders")["mask"].plugin == "lipdub.blenders.mask"


def test_a_command_clash_skips_the_plugin(entry_points, capsys) -> None:  # noqa: F811
    add(
        entry_points,
        "grabby",
        register_blenders=registers(EchoBlender),
        register_commands=lambda cli: cli.command("plugins")(hello),
    )
    rows, (warned,) = listing_and_warnings(capsys)
    assert "'grabby' (from dist-grabby 9.9) was skipped" in warned
    assert "command 'plugins', a name already registered by 'lipdub'" in warned
    assert rows["grabby"]["status"] == "failed"
    assert "echo" not in plugins.components("blenders")
    assert names(app).count("plugins") == 1


def test_a_raising_command_hook_skips_the_plugin(entry_points, capsys) -> None:  # noqa: F811
    def register_commands(cli):
        cli.command("half")(hello)
        raise RuntimeError("oops")

    add(entry_points, "oops", register_commands=register_commands)
    rows, (warned,) = listing_and_warnings(capsys)
    assert "register_commands raised RuntimeError: oops" in warned
    assert rows["oops"]["status"] == "failed" and "half" not in names(app)


def test_commands_are_registered_once(entry_points, capsys) -> None:  # noqa: F811
    add(entry_points, "echo", register_commands=lambda cli: cli.command("echo-hello")(hello))
    for _ in range(3):
        listing(capsys)
    registered = names(app)
    assert registered.count("echo-hello") == 1 and registered.count("dub") == 1
    assert len(registered) == len(set(registered))


def test_options_lists_every_option_of_every_component(fresh_plugins, capsys) -> None:
    assert main(["plugins", "--options", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    feather = next(r for r in rows if (r["component"], r["option"]) == ("mask", "feather"))
    assert feather["kind"] == "blender" and feather["plugin"] == "lipdub.blenders.mask"
    assert {"type", "default", "description", "allowed"} <= set(feather)
    assert {r["kind"] for r in rows} >= {"blender", "extractor", "tracker", "generator"}
    assert main(["plugins", "--options"]) == 0
    table = capsys.readouterr().out
    assert "feather" in table and "mask" in table
