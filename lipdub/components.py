"""The base classes of the kinds of pipeline component that plugins register.

Each kind has one required method. Classes are registered, not instances: heavy weights load
only when a component is chosen and constructed. A component declares its tunables as a
nested pydantic model named ``Options`` (a :class:`ComponentOptions` subclass); the instance
receives the validated model as ``self.options``, and users set the values with
``--option KIND.KEY=VALUE`` (``KIND`` is the class's :attr:`Component.kind`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from lipdub.options import parse_options
from lipdub.types import Box, Face, GeneratorInput, Patch


class ComponentOptions(BaseModel):
    """Base of every component's ``Options``: unknown keys are refused, values are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


class Component(ABC):
    """What every component class declares."""

    #: Unique name used on the command line (``--generator NAME``).
    name: ClassVar[str]
    #: One line shown by ``lipdub plugins``.
    description: ClassVar[str] = ""
    #: The kind's word: ``--option KIND.KEY=VALUE`` and messages use it (set by each base).
    kind: ClassVar[str] = "component"

    class Options(ComponentOptions):
        """No options."""

    #: The validated options of this instance.
    options: ComponentOptions

    def __init__(self, options: ComponentOptions | Mapping[str, Any] | None = None, **values: Any):
        self.options = self.parse_options(options, **values)

    @classmethod
    def parse_options(
        cls, options: ComponentOptions | Mapping[str, Any] | None = None, **values: Any
    ) -> Any:
        """``options`` and ``values`` validated by :attr:`Options`; an :class:`InputError`
        naming the component, the key and what is allowed otherwise (strings are parsed by the
        fields' types, so ``"200"`` is fine for an ``int``)."""
        return parse_options(cls, options, values)

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release resources (models, sessions). Optional."""


class AudioExtractor(Component):
    """Turns 16 kHz mono audio into a sequence of feature frames."""

    kind: ClassVar[str] = "extractor"

    #: Feature frames per second of audio.
    frames_per_second: ClassVar[float]
    #: Sample rate the extractor expects.
    sample_rate: ClassVar[int] = 16000
    #: Whether :meth:`extract` takes any :class:`~lipdub.audio.samples.Samples` (a length and
    #: slices) and reads it a block at a time, so that an hour of audio is never in memory
    #: at once. Optional: an extractor that leaves it False is given one array.
    reads_blocks: ClassVar[bool] = False

    @abstractmethod
    def extract(self, wav: np.ndarray) -> np.ndarray:
        """Features of ``wav`` (float32 mono at ``sample_rate``) as ``(frames, dim)`` float32."""

    def identity(self) -> str:
        """A string naming the extractor, its model and options (used as a cache key)."""
        values = self.options.model_dump()
        opts = ",".join(f"{k}={v}" for k, v in sorted(values.items()))
        return f"{self.name}({opts})"


class FaceTracker(Component):
    """Finds faces (box, landmarks and named regions) in single frames."""

    kind: ClassVar[str] = "tracker"

    @abstractmethod
    def detect(self, frame: np.ndarray) -> list[Face]:
        """All faces in ``frame`` (RGB uint8 ``(H, W, 3)``), unsmoothed."""

    #: Most frames the first pass hands to :meth:`detect_batch` at once (1: one by one).
    frames_per_batch: int = 1

    def detect_batch(self, frames: Sequence[np.ndarray]) -> list[list[Face]]:
        """:meth:`detect` of each of ``frames`` (consecutive, one shot, one size) in turn.
        Optional: a tracker that is faster on several frames at once overrides it."""
        return [self.detect(frame) for frame in frames]

    def reset(self) -> None:  # noqa: B027 - optional hook
        """Forget temporal state: called at every shot cut. Optional."""

    def identity(self) -> str:
        """What decides the faces this tracker finds: its class, name and options (the
        analysis cache's key). Optional: a tracker with weight files adds them."""
        kind = type(self)
        return f"{kind.__module__}.{kind.__qualname__}:{self.name}:" + (
            self.options.model_dump_json()
        )


class Generator(Component):
    """Redraws the lower face of a batch of faces to match their audio windows."""

    kind: ClassVar[str] = "generator"

    #: Name of the audio extractor whose features ``GeneratorInput.audio`` holds.
    audio_extractor: ClassVar[str] = "mel"
    #: Length of the audio window given per video frame, in seconds (Wav2Lip: 0.2 s).
    audio_window_seconds: ClassVar[float] = 0.2
    #: Whether the generator cannot run without a checkpoint.
    needs_weights: ClassVar[bool] = True
    #: Name in the weights registry used when no ``--checkpoint`` is given.
    default_weights: ClassVar[str | None] = None
    #: Preferred batch size (frames per :meth:`generate` call unless the option says).
    batch_size: ClassVar[int] = 16
    #: Whether the generator crops the padded face box (``--pads``); False: it ignores it.
    uses_pads: ClassVar[bool] = True

    class Options(ComponentOptions):
        batch_size: int | None = Field(
            None, ge=1, description="Frames per generate() call (default: the generator's own)."
        )
        silence_closure: bool = Field(
            True, description="Draw the mouth closed in pauses of the driving audio."
        )
        min_pause_ms: float = Field(
            200.0, ge=40.0, le=5000.0, description="Shortest pause that closes the mouth (ms)."
        )
        vad: Literal["auto", "silero", "energy", "both"] = Field(
            "auto",
            description="Voice activity detector for the pauses (auto: energy; both: speech "
            "over music, needs silero-vad).",
        )

    options: Options

    def __init__(
        self,
        checkpoint: Path | None = None,
        device: str = "cpu",
        precision: str = "auto",
        options: ComponentOptions | Mapping[str, Any] | None = None,
        **values: Any,
    ) -> None:
        super().__init__(options, **values)
        self.checkpoint = checkpoint
        self.device = device
        self.precision = precision

    @abstractmethod
    def generate(self, items: Sequence[GeneratorInput]) -> list[Patch]:
        """One patch per item: the new pixels and where they go in the frame."""

    def load(self) -> None:  # noqa: B027
        """Load weights now, before any frame is processed, so a missing or wrong checkpoint
        fails fast. Optional (the default loads lazily on first use)."""

    def extractor_defaults(self) -> dict[str, Any]:
        """Options for the audio extractor when the user gives none (e.g. from checkpoint
        metadata: the layer it was trained on). Optional."""
        return {}

    def check_extractor(self, extractor: AudioExtractor) -> None:  # noqa: B027
        """Raise if ``extractor`` does not make the features this generator was trained on.
        Optional."""

    def begin_shot(self, shot: int, faces: Sequence[Face | None]) -> None:  # noqa: B027
        """Called before the frames of a shot, with its tracked faces per source frame.

        Optional: generators that learn from the shot (e.g. retrieve real mouth appearances)
        use it. ``faces`` is a sequence whose :class:`Face` objects are made as they are read
        (a long shot's faces are not all in memory), so the same frame read twice gives two
        equal objects, not one: recognise a face by its ``box``, not its identity.
        """


class Blender(Component):
    """Puts a generated patch back into its frame."""

    kind: ClassVar[str] = "blender"

    @abstractmethod
    def blend(self, frame: np.ndarray, patch: Patch, face: Face) -> np.ndarray:
        """``frame`` with ``patch`` merged in (RGB uint8, same shape; may modify ``frame``)."""


@dataclass
class Restoration:
    """Restored pixels for a frame: ``image`` (RGB uint8) over ``box``, mixed in by ``weights``
    (float32 ``[0, 1]``, box-sized; strength and region already applied)."""

    image: np.ndarray
    box: Box
    weights: np.ndarray


class Enhancer(Component):
    """Restores a redrawn face (sharpens the generator's low-resolution mouth) after blending."""

    kind: ClassVar[str] = "enhancer"

    class Options(ComponentOptions):
        strength: float = Field(
            1.0, ge=0.0, le=1.0, description="Blend with the unrestored dub (0: no change)."
        )
        region: Literal["mouth", "lower_face", "face"] = Field(
            "lower_face", description="Where restored pixels go: mouth, lower_face or face."
        )

    options: Options

    def __init__(
        self,
        checkpoint: Path | None = None,
        device: str = "auto",
        options: ComponentOptions | Mapping[str, Any] | None = None,
        **values: Any,
    ) -> None:
        super().__init__(options, **values)
        self.checkpoint = checkpoint
        self.device = device

    @abstractmethod
    def enhance(self, frame: np.ndarray, face: Face) -> Restoration | None:
        """The restoration of ``face`` in ``frame`` (RGB uint8, the dub blended in), or None
        when the face cannot be restored (no regions)."""

    def load(self) -> None:  # noqa: B027
        """Load the model now so a missing or wrong file fails fast. Optional."""


class Masker(Component):
    """Says where the redrawn face may show: 1 there, 0 where the source must stay (an
    occluder, hair, background). Every chosen masker is combined by element-wise minimum."""

    kind: ClassVar[str] = "masker"

    def __init__(
        self,
        device: str = "auto",
        options: ComponentOptions | Mapping[str, Any] | None = None,
        **values: Any,
    ) -> None:
        super().__init__(options, **values)
        self.device = device

    @abstractmethod
    def mask(self, frame: np.ndarray, face: Face, box: Box) -> np.ndarray:
        """Float32 ``[0, 1]`` weights over ``box`` (inside the frame) for ``face`` in the
        source ``frame`` (RGB uint8)."""

    def load(self) -> None:  # noqa: B027
        """Load the model now so a missing or wrong file fails fast. Optional."""


#: The component kinds by their plural hook name (``register_<name>``).
KINDS: dict[str, type[Component]] = {
    "audio_extractors": AudioExtractor,
    "face_trackers": FaceTracker,
    "generators": Generator,
    "blenders": Blender,
    "enhancers": Enhancer,
    "maskers": Masker,
}


def kind_of_prefix(prefix: str) -> str | None:
    """The plural kind (``"blenders"``) whose :attr:`Component.kind` is ``prefix``, or None."""
    for key, base in KINDS.items():
        if base.kind == prefix:
            return key
    return None
