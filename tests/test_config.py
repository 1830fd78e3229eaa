"""``$XDG_CONFIG_HOME/lipdub/config.toml``: defaults for options, flags win, bad keys are one
clear line."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.test_cli_errors import assert_clean_error, run_cli


@pytest.fixture
def config_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("LIPDUB_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    folder = tmp_path / "xdg" / "lipdub"
    folder.mkdir(parents=True)
    return folder / "config.toml"


@pytest.fixture
def seen_requests(monkeypatch: pytest.MonkeyPatch) -> list:
    import lipdub.cli.dub_cmd as dub_cmd

    seen: list = []
    monkeypatch.setattr(dub_cmd, "dub", lambda request, *a, **k: seen.append(request))
    return seen


def test_config_sets_defaults_and_flags_win(
    capsys, config_home: Path, seen_requests: list, talking_head, speech_wav, tmp_path
) -> None:
    config_home.write_text(
        'generator = "warp"\nscene-threshold = 40.0\npads = [0, 20, 0, 0]\nnosmooth = true\n'
        '[dub]\nfit = "loop"\n'
    )
    base = (talking_head, "--audio", speech_wav, "-o", tmp_path / "o.mp4", "-q")
    assert run_cli(capsys, *base)[0] == 0
    assert run_cli(capsys, "dub", *base, "--scene-threshold", "12", "--fit", "freeze")[0] == 0
    first, second = seen_requests
    assert (first.generator, first.scene_threshold, first.pads) == ("warp", 40.0, (0, 20, 0, 0))
    assert first.fit.long == "loop" and first.smooth is False
    assert (second.scene_threshold, second.fit.long, second.generator) == (12.0, "freeze", "warp")


def test_bad_config_is_one_line(capsys, config_home: Path, talking_head, speech_wav) -> None:
    config_home.write_text('genrator = "warp"\n')
    code, err = run_cli(capsys, talking_head, "--audio", speech_wav)
    assert_clean_error(code, err, str(config_home), "'genrator' is not an option of lipdub dub")
    config_home.write_text("generator = \n")
    code, err = run_cli(capsys, "models", "list")
    assert_clean_error(code, err, "not valid TOML")
    config_home.write_text("[nosuch]\na = 1\n")
    code, err = run_cli(capsys, "models", "list")
    assert_clean_error(code, err, "[nosuch] is not a lipdub command")


def test_eval_section_and_an_empty_lipdub_config(
    capsys, config_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import typer

    from lipdub.cli.app import app, register_commands
    from lipdub.cli.config import load_default_map

    register_commands()
    config_home.write_text("[eval]\nvshift = 4\n")
    group = typer.main.get_command(app)
    assert load_default_map(group) == {"eval": {"vshift": 4}}
    monkeypatch.setenv("LIPDUB_CONFIG", "")
    assert load_default_map(group) is None
