"""What a dub is asked to do (:class:`DubRequest`) and what it did (:class:`DubSummary`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lipdub import defaults
from lipdub.pipeline.components import ComponentSettings
from lipdub.pipeline.finishing import Finishing
from lipdub.pipeline.fit import FitPolicy


@dataclass
class DubRequest:
    """Everything the user asked for (the CLI's options)."""

    video: Path
    audio: Path
    output: Path | None = None
    generator: str = defaults.GENERATOR
    checkpoint: Path | None = None
    blender: str = defaults.BLENDER
    tracker: str = defaults.TRACKER
    face: str = defaults.FACE
    pads: tuple[int, int, int, int] = defaults.PADS
    fps: float | None = None
    fit: FitPolicy = field(default_factory=FitPolicy)
    device: str = "auto"
    precision: str = "auto"
    scene_threshold: float = defaults.SCENE_THRESHOLD
    overwrite: bool = False
    feature_cache: bool = True
    #: Reuse (and store) the video's analysis, shots and face tracks (``--no-cache``: no).
    analysis_cache: bool = True
    #: The output's video encoder (``--codec``, ``--preset``, ``--crf``).
    codec: str = defaults.ENCODER_CODEC
    preset: str = defaults.ENCODER_PRESET
    crf: int = defaults.ENCODER_CRF
    #: Write the output even when no frame could be redrawn (else that is an error).
    allow_no_face: bool = False
    #: Component options per kind word: ``{"blender": {"feather": 0.1}}``.
    options: ComponentSettings = field(default_factory=dict)
    #: A separate stem that drives the chosen face (``--audio`` is still what is muxed).
    drive_audio: Path | None = None
    #: Track id -> the stem driving it (``--speakers``/``--audio-for``): several faces.
    speakers: dict[int, Path] = field(default_factory=dict)
    #: The restorer and maskers run on each redrawn face (``--enhancer``, ``--masker``,
    #: ``--quality``).
    finishing: Finishing = field(default_factory=Finishing)
    #: Milliseconds the lips are shifted against the audio (``--audio-offset``; > 0: later).
    audio_offset_ms: float = 0.0
    #: Smooth the face track over time (``--nosmooth``: no, Wav2Lip's flag).
    smooth: bool = True
    #: Work and write at a smaller size: source height / ``resize_factor`` or ``output_height``.
    resize_factor: int = 1
    output_height: int | None = None
    #: Mark the output as synthetic media: C2PA manifest, watermark, tags (``--no-mark``: no).
    mark: bool = True
    #: The user's certificate chain and key that sign the C2PA manifest (else a local key).
    sign_cert: Path | None = None
    sign_key: Path | None = None


@dataclass
class DubSummary:
    """What happened, for the final report."""

    output: Path
    generator: str
    generator_note: str | None
    frames: int
    dubbed_frames: int
    faces_found: int
    no_face_frames: int
    shots: int
    width: int
    height: int
    fps: float
    duration: float
    seconds: dict[str, float]
    #: Frames with a face that the generator could not redraw (left unchanged), and why.
    skipped_frames: int = 0
    skip_reasons: dict[str, int] = field(default_factory=dict)
    #: ``--face`` and, per shot, the track chosen, its score and any note (``ShotChoice``).
    face_mode: str = defaults.FACE
    shot_choices: list[Any] = field(default_factory=list)
    #: The first pass (shots, faces) came from the analysis cache.
    analysis_reused: bool = False
    #: Face tracker time per analysed frame, in milliseconds (None: the pass was reused).
    detect_ms_per_frame: float | None = None
    #: CPU seconds of the second pass's stages in this process (``decode``: reading the
    #: decoder's pipe, ``blend``, ``encode``: feeding the encoder, ``generate``: the rest).
    cpu_seconds: dict[str, float] = field(default_factory=dict)

    @property
    def total_seconds(self) -> float:
        return self.seconds.get("total", sum(self.seconds.values()))
