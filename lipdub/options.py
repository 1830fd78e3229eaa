"""Component options: validating them (values may arrive as strings, from ``--option
KIND.KEY=VALUE`` or manifest columns) and describing them (``lipdub plugins --options``).

Every component class has a nested pydantic model ``Options``; see
:class:`lipdub.components.ComponentOptions`. This module imports nothing of the plugin
machinery.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from lipdub.errors import InputError

#: Strings that mean "no value" for an option whose type admits None.
_NONE_WORDS = {"none", "null"}


def owner_of(cls: Any) -> str:
    """How messages name a component class: ``blender 'mask'``."""
    return f"{getattr(cls, 'kind', 'component')} {getattr(cls, 'name', cls.__name__)!r}"


def _admits_none(annotation: Any) -> bool:
    origin = typing.get_origin(annotation)
    if annotation is type(None):
        return True
    if origin in (typing.Union, types.UnionType):
        return any(_admits_none(arg) for arg in typing.get_args(annotation))
    return False


def _prepare(model: type[BaseModel], values: Mapping[str, Any]) -> dict[str, Any]:
    prepared = dict(values)
    for key, value in values.items():
        field = model.model_fields.get(key)
        if (
            field is not None
            and isinstance(value, str)
            and value.strip().lower() in _NONE_WORDS
            and _admits_none(field.annotation)
        ):
            prepared[key] = None
    return prepared


def parse_options(cls: Any, options: Any, values: Mapping[str, Any]) -> Any:
    """``cls.Options`` validated from ``options`` (a model or mapping) updated by ``values``.

    Raises :class:`InputError` (exit 2) in one line naming the component, the key and what is
    allowed.
    """
    model: type[BaseModel] = cls.Options
    if isinstance(options, model) and not values:
        return options
    if isinstance(options, BaseModel):
        merged = {**options.model_dump(exclude_unset=True), **values}
    else:
        merged = {**dict(options or {}), **values}
    try:
        return model.model_validate(_prepare(model, merged))
    except ValidationError as exc:
        raise InputError(_first_problem(cls, exc)) from None


def _first_problem(cls: Any, exc: ValidationError) -> str:
    error = exc.errors()[0]
    key = ".".join(str(part) for part in error.get("loc", ()))
    owner = owner_of(cls)
    message = str(error.get("msg", "bad value")).removeprefix("Value error, ")
    if not key:  # a check across several options
        return f"{owner}: {message}"
    if error.get("type") == "extra_forbidden":
        known = ", ".join(cls.Options.model_fields) or "none"
        return f"{owner}: unknown option {key!r} (options: {known})"
    info = {item.name: item for item in describe_options(cls)}.get(key.split(".")[0])
    allowed = f" (allowed: {info.allowed()})" if info is not None else ""
    value = error.get("input")
    return f"{owner}: option {key}={value!r} is invalid: {message}{allowed}"


@dataclass(frozen=True)
class OptionInfo:
    """One option of a component, as ``lipdub plugins --options`` shows it."""

    name: str
    type: str
    default: Any
    description: str
    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: float | None = None
    exclusive_maximum: float | None = None
    choices: tuple[Any, ...] | None = None

    def allowed(self) -> str:
        """What values are allowed, in words: ``int, 0 ≤ tint ≤ 255``."""
        parts = [self.type]
        low = _bound(self.minimum, self.exclusive_minimum, "{} ≤ ", "{} < ")
        high = _bound(self.maximum, self.exclusive_maximum, " ≤ {}", " < {}")
        if low or high:
            parts.append(f"{low}{self.name}{high}")
        if self.choices:
            parts.append("one of " + ", ".join(str(c) for c in self.choices))
        return ", ".join(parts)

    def as_dict(self) -> dict[str, Any]:
        """Plain data (JSON-safe) for ``--json`` output."""
        data = {
            "name": self.name,
            "type": self.type,
            "default": _json_safe(self.default),
            "description": self.description,
        }
        for key in ("minimum", "maximum", "exclusive_minimum", "exclusive_maximum"):
            if getattr(self, key) is not None:
                data[key] = getattr(self, key)
        if self.choices:
            data["choices"] = [_json_safe(c) for c in self.choices]
        return data


def _bound(inclusive: Any, exclusive: Any, inclusive_text: str, exclusive_text: str) -> str:
    if inclusive is not None:
        return inclusive_text.format(inclusive)
    return exclusive_text.format(exclusive) if exclusive is not None else ""


def _json_safe(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return str(value)


def _type_name(annotation: Any) -> str:
    if annotation is None or annotation is type(None):
        return "None"
    origin = typing.get_origin(annotation)
    if origin is typing.Literal:
        return "choice"
    if origin in (typing.Union, types.UnionType):
        return " | ".join(_type_name(arg) for arg in typing.get_args(annotation))
    if origin is not None:
        args = ", ".join(_type_name(arg) for arg in typing.get_args(annotation))
        return f"{getattr(origin, '__name__', str(origin))}[{args}]"
    return getattr(annotation, "__name__", str(annotation))


def _choices(annotation: Any) -> tuple[Any, ...] | None:
    origin = typing.get_origin(annotation)
    if origin is typing.Literal:
        return typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            found = _choices(arg)
            if found:
                return found
    return None


def describe_options(cls: Any) -> list[OptionInfo]:
    """The options of component class ``cls`` (its ``Options`` model), in declaration order."""
    model: type[BaseModel] | None = getattr(cls, "Options", None)
    if model is None:
        return []
    found = []
    for name, field in model.model_fields.items():
        bounds: dict[str, float] = {}
        for item in field.metadata:
            for attr, key in (
                ("ge", "minimum"),
                ("le", "maximum"),
                ("gt", "exclusive_minimum"),
                ("lt", "exclusive_maximum"),
            ):
                value = getattr(item, attr, None)
                if value is not None:
                    bounds[key] = value
        default = None if field.is_required() else field.get_default(call_default_factory=True)
        found.append(
            OptionInfo(
                name=name,
                type=_type_name(field.annotation),
                default=default,
                description=field.description or "",
                choices=_choices(field.annotation),
                **bounds,
            )
        )
    return found
