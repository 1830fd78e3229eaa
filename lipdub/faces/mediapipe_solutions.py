"""mediapipe's legacy solutions, imported without their drawing helpers.

Importing any ``mediapipe.python.solutions`` module runs that package's ``__init__``, which
imports the drawing helpers and, through them, ``matplotlib.pyplot``: more than a second of
every dub's start, for code lipdub never calls. :func:`solution` puts stand-ins for the two
drawing modules in place first; a stand-in imports the real module the first time anything
is asked of it, so other code that draws with mediapipe still works.
"""

from __future__ import annotations

import importlib
import sys
from types import ModuleType
from typing import Any

PACKAGE = "mediapipe.python.solutions"
#: The modules of :data:`PACKAGE` that import matplotlib.
DRAWING = ("drawing_utils", "drawing_styles")


class _OnFirstUse(ModuleType):
    """Stands in for a module until one of its attributes is asked for."""

    def __getattr__(self, name: str) -> Any:
        return getattr(_load(self.__name__), name)


def _load(fullname: str) -> ModuleType:
    """The real module ``fullname``, in place of its stand-in (also on the package)."""
    if isinstance(sys.modules.get(fullname), _OnFirstUse):
        del sys.modules[fullname]
    module = importlib.import_module(fullname)
    package = sys.modules.get(PACKAGE)
    if package is not None:
        setattr(package, fullname.rpartition(".")[2], module)
    return module


def solution(name: str) -> ModuleType:
    """``mediapipe.python.solutions.<name>`` (e.g. ``face_mesh``), imported without the
    drawing helpers (see the module docstring)."""
    for helper in DRAWING:
        fullname = f"{PACKAGE}.{helper}"
        sys.modules.setdefault(fullname, _OnFirstUse(fullname))
    module = importlib.import_module(f"{PACKAGE}.{name}")
    package = sys.modules[PACKAGE]
    for helper in DRAWING:
        if not hasattr(package, helper):
            setattr(package, helper, sys.modules[f"{PACKAGE}.{helper}"])
    return module
