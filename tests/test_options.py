"""Typed component options: parsing, validation messages, shorthands and manifest columns."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import Field

from lipdub.batch.pairing import read_manifest
from lipdub.cli.dub_cmd import request_from_options
from lipdub.components import Blender, ComponentOptions
from lipdub.errors import InputError
from lipdub.options import describe_options
from lipdub.pipeline.components import merge_settings, parse_option_flags, resolve_classes
from lipdub.plugins import components


class Tint(Blender):
    name = "tint-unit"

    class Options(Blender.Options):
        tint: int = Field(0, ge=0, le=255, description="Grey level.")
        label: str | None = None

    def blend(self, frame, patch, face):
        return frame


def test_strings_are_parsed_by_the_field_types() -> None:
    assert Tint(tint="200").options.tint == 200
    assert Tint({"label": "none"}).options.label is None
    assert Tint().options == Tint.Options()


@pytest.mark.parametrize(
    ("values", "words"),
    [
        ({"tint": "999"}, ["blender 'tint-unit'", "tint", "255"]),
        ({"tint": "grey"}, ["tint", "int"]),
        ({"nope": "1"}, ["unknown option 'nope'", "tint, label"]),
    ],
)
def test_bad_values_name_component_key_and_what_is_allowed(values, words) -> None:
    with pytest.raises(InputError) as info:
        Tint(**values)
    message = str(info.value)
    assert "\n" not in message and info.value.exit_code == 2
    assert all(word in message for word in words), message


def test_options_are_frozen() -> None:
    with pytest.raises(Exception):  # noqa: B017 - pydantic's frozen-instance error
        Tint().options.tint = 3  # type: ignore[misc]


def test_describe_options_gives_type_default_bounds() -> None:
    (tint, label) = describe_options(Tint)
    assert (tint.name, tint.type, tint.default, tint.minimum, tint.maximum) == (
        "tint", "int", 0, 0, 255,
    )  # fmt: skip
    assert tint.description == "Grey level."
    assert label.type == "str | None" and label.default is None


def test_every_registered_component_declares_forbidding_options() -> None:
    for kind in ("audio_extractors", "face_trackers", "generators", "blenders"):
        for name, info in components(kind).items():
            options = info.cls.Options
            assert issubclass(options, ComponentOptions), (kind, name)
            assert options.model_config.get("extra") == "forbid", (kind, name)
            for item in describe_options(info.cls):
                assert item.description, f"{kind} {name}: option {item.name} has no description"


@pytest.mark.parametrize(
    ("flag", "words"),
    [
        ("blender.feather", ["KIND.KEY=VALUE"]),
        ("feather=0.1", ["KIND.KEY=VALUE"]),
        ("mixer.level=1", ["unknown kind 'mixer'", "blender"]),
    ],
)
def test_bad_flags(flag, words) -> None:
    with pytest.raises(InputError) as info:
        parse_option_flags([flag])
    assert all(word in str(info.value) for word in words)


def test_flags_group_by_kind_and_later_layers_win() -> None:
    flags = parse_option_flags(["blender.feather=0.1", "generator.teeth=false", "blender.a=b"])
    assert flags == {"blender": {"feather": "0.1", "a": "b"}, "generator": {"teeth": "false"}}
    merged = merge_settings({"generator": {"batch_size": 4}}, {"generator": {"batch_size": "8"}})
    assert merged == {"generator": {"batch_size": "8"}}


def test_resolve_classes_validates_before_building() -> None:
    classes = resolve_classes("warp", options={"generator": {"max_opening": "0.2"}})
    assert classes.generator.name == "warp" and classes.extractor.name == "articulation"
    with pytest.raises(InputError, match="max_opening"):
        resolve_classes("warp", options={"generator": {"max_opening": "2"}})
    with pytest.raises(InputError, match="mediapipe.*max_faces|max_faces"):
        resolve_classes("warp", options={"tracker": {"max_faces": "0"}})


def test_shorthand_flags_become_options() -> None:
    request = request_from_options(
        Path("v.mp4"),
        Path("a.wav"),
        None,
        {"generator": "warp", "batch_size": 3, "option": ["blender.feather=0.2"]},
    )
    assert request.options == {"generator": {"batch_size": 3}, "blender": {"feather": "0.2"}}


def test_request_refuses_a_bad_option_at_once() -> None:
    with pytest.raises(InputError, match="feather"):
        request_from_options(
            Path("v.mp4"),
            Path("a.wav"),
            None,
            {"generator": "warp", "option": ["blender.feather=9"]},
        )


def test_manifest_columns_set_component_options(tmp_path) -> None:
    manifest = tmp_path / "jobs.csv"
    manifest.write_text("video,audio,blender.feather,generator.teeth\na.mp4,a.wav,0.2,\n")
    (item,) = read_manifest(manifest, tmp_path / "out").items
    assert item.error is None
    assert item.options["option"] == ["blender.feather=0.2"]
    bad = tmp_path / "bad.csv"
    bad.write_text("video,audio,mixer.level\na.mp4,a.wav,1\n")
    with pytest.raises(InputError, match="mixer.level"):
        read_manifest(bad, tmp_path / "out")
