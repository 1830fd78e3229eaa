"""The contract every component of a kind must keep, as checks any test can run.

``lipdub.testing`` exposes these to plugin authors; lipdub's own suite runs them over every
registered component (``tests/test_contracts.py``). Each ``check_*`` raises
:class:`AssertionError` saying what broke, and returns nothing when the component keeps the
contract:

- blenders never change pixels outside the patch box, and cope with boxes past the frame
  edge and with read-only frames;
- generators return one patch per input, each an RGB uint8 image of its box's size, and leave
  the input frames alone;
- trackers return faces whose boxes are sane and whose named regions lie inside the frame,
  and ``detect_batch`` finds what ``detect`` finds frame by frame;
- extractors return ``(frames, dim)`` float32 at their declared frame rate.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from lipdub.audio.windows import frame_windows, window_starts
from lipdub.components import AudioExtractor, Blender, FaceTracker, Generator
from lipdub.faces.regions import JAW_POINTS, LIP_POINTS, OVAL_POINTS, FaceRegions
from lipdub.spill import RowBlocks
from lipdub.types import Face, GeneratorInput, Patch

#: Frame size of the synthetic cases ``(height, width)``.
FRAME_HW = (160, 200)
#: Extractor output may differ from ``duration * frames_per_second`` by this many frames.
FRAME_COUNT_SLACK = 2
#: Regions may reach this far (pixels) past the frame edge (rounding).
EDGE_SLACK = 0.5
#: ``detect_batch`` boxes and regions may differ from ``detect``'s by this many pixels.
BATCH_SLACK = 0.5


def _expect(condition: bool, message: str) -> None:
    if not condition:
        raise AssertionError(message)


def _ellipse(centre, axes, angles) -> np.ndarray:
    return np.stack(
        [centre[0] + axes[0] * np.cos(angles), centre[1] + axes[1] * np.sin(angles)], axis=1
    )


def synthetic_face(box: tuple[float, float, float, float] = (50, 20, 150, 140)) -> Face:
    """A drawn (not detected) frontal face filling ``box``, with every named region, in the
    canonical orders of :mod:`lipdub.faces.regions`."""
    x1, y1, x2, y2 = box
    width, height = x2 - x1, y2 - y1
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    half = (width / 2, height / 2)
    # Forehead top (-90 deg), down the image-right side to the chin (+90 deg), back up.
    oval = _ellipse((cx, cy), half, np.linspace(-np.pi / 2, 1.5 * np.pi, OVAL_POINTS + 1)[:-1])
    jaw = _ellipse((cx, cy), half, np.linspace(np.pi, 0.0, JAW_POINTS))
    # Lip loops: image-left corner, along the lower lip (+90 deg), image-right corner, back.
    lip_angles = np.pi - np.arange(LIP_POINTS) * (2 * np.pi / LIP_POINTS)
    mouth = (cx, cy + 0.28 * height)
    regions = FaceRegions.build(
        oval=oval,
        jaw=jaw,
        lips_outer=_ellipse(mouth, (0.17 * width, 0.06 * height), lip_angles),
        lips_inner=_ellipse(mouth, (0.13 * width, 0.012 * height), lip_angles),
        nose_tip=np.array([cx, cy + 0.08 * height]),
        nose_base=np.array([cx, cy + 0.15 * height]),
        nose_alae=np.array([[cx - 0.08 * width, cy + 0.13 * height],
                            [cx + 0.08 * width, cy + 0.13 * height]]),
        eyes=np.array([[cx - 0.2 * width, cy - 0.1 * height],
                       [cx + 0.2 * width, cy - 0.1 * height]]),
    )  # fmt: skip
    return Face(box=(float(x1), float(y1), float(x2), float(y2)), regions=regions)


def synthetic_frame(seed: int = 0, face: Face | None = None) -> np.ndarray:
    """A textured RGB frame of :data:`FRAME_HW` with a skin-coloured face oval (read-only)."""
    import cv2

    rng = np.random.default_rng(seed)
    frame = rng.integers(40, 215, (*FRAME_HW, 3), dtype=np.uint8)
    face = face or synthetic_face()
    if face.regions is not None:
        oval = np.round(face.regions.oval).astype(np.int32)
        cv2.fillPoly(frame, [oval], (200, 150, 120))
        lips = np.round(face.regions.lips_outer).astype(np.int32)
        cv2.fillPoly(frame, [lips], (150, 60, 60))
    frame.setflags(write=False)
    return frame


def _shifted(face: Face, dx: float, dy: float) -> Face:
    x1, y1, x2, y2 = face.box
    regions = face.regions.translated(dx, dy) if face.regions is not None else None
    return Face(box=(x1 + dx, y1 + dy, x2 + dx, y2 + dy), regions=regions, score=face.score)


def _outside_box(shape_hw: tuple[int, int], box: tuple[int, int, int, int]) -> np.ndarray:
    height, width = shape_hw
    outside = np.ones(shape_hw, bool)
    x1, y1, x2, y2 = box
    outside[max(y1, 0) : min(max(y2, 0), height), max(x1, 0) : min(max(x2, 0), width)] = False
    return outside


def check_blender(blender: Blender) -> None:
    """``blender`` changes no pixel outside the patch box, also for boxes past the frame edge
    (either side) and for read-only frames, and returns a frame of the same shape and type."""
    face = synthetic_face()
    height, width = FRAME_HW
    cases = [("inside the frame", face), ("past the top-left edge", _shifted(face, -80, -60)),
             ("past the bottom-right edge", _shifted(face, 90, 70))]  # fmt: skip
    rng = np.random.default_rng(1)
    for where, case_face in cases:
        x1, y1, x2, y2 = (int(round(v)) for v in case_face.box)
        image = rng.integers(0, 256, (y2 - y1, x2 - x1, 3), dtype=np.uint8)
        patch = Patch(image=image, box=(x1, y1, x2, y2))
        for writeable in (True, False):
            source = synthetic_frame(face=case_face)
            frame = source.copy()
            frame.setflags(write=writeable)
            result = blender.blend(frame, patch, case_face)
            what = f"blender {blender.name!r}, patch box {where}, writeable={writeable}"
            _expect(isinstance(result, np.ndarray), f"{what}: returned {type(result).__name__}")
            _expect(
                result.shape == (height, width, 3) and result.dtype == np.uint8,
                f"{what}: returned {result.dtype} {result.shape}, want uint8 {source.shape}",
            )
            outside = _outside_box(FRAME_HW, patch.box)
            changed = np.any(result != source, axis=2) & outside
            _expect(
                not changed.any(),
                f"{what}: changed {int(changed.sum())} pixels outside the patch box",
            )
            if not writeable:
                _expect(np.array_equal(frame, source), f"{what}: modified a read-only frame")


def generator_inputs(
    generator: Generator, extractor: AudioExtractor, count: int = 3, fps: float = 25.0
) -> list[GeneratorInput]:
    """``count`` inputs for ``generator``: a synthetic face, read-only frames and audio
    windows of ``extractor``'s features of one second of noise bursts."""
    rng = np.random.default_rng(2)
    seconds = 1.0
    samples = int(seconds * extractor.sample_rate)
    envelope = 0.5 * (1 + np.sin(2 * np.pi * 4 * np.arange(samples) / extractor.sample_rate))
    wav = (0.3 * envelope * rng.standard_normal(samples)).astype(np.float32)
    features = extractor.extract(wav)
    window = max(1, round(generator.audio_window_seconds * extractor.frames_per_second))
    starts = window_starts(count, fps, extractor.frames_per_second, window, len(features))
    windows = frame_windows(features, starts, window)
    face = synthetic_face()
    frame = synthetic_frame(face=face)
    return [
        GeneratorInput(frame=frame, face=face, audio=windows[i], index=i, source_index=i)
        for i in range(count)
    ]


def check_generator(generator: Generator, extractor: AudioExtractor | None = None) -> None:
    """``generator`` returns one patch per input, each an RGB uint8 image of its box's size
    (a non-empty box that meets the frame), and does not modify the inputs' frames.

    ``extractor`` makes the features; default: the registered ``generator.audio_extractor``
    with its default options."""
    if extractor is None:
        from lipdub.plugins import get_component

        extractor = get_component("audio_extractors", generator.audio_extractor)()
    items = generator_inputs(generator, extractor)
    before = [item.frame.copy() for item in items]
    patches = generator.generate(items)
    what = f"generator {generator.name!r}"
    _expect(isinstance(patches, Sequence) and len(patches) == len(items),
            f"{what}: {len(items)} inputs gave {len(patches)} patches")  # fmt: skip
    height, width = FRAME_HW
    for number, patch in enumerate(patches):
        _expect(isinstance(patch, Patch), f"{what}: patch {number} is a {type(patch).__name__}")
        x1, y1, x2, y2 = patch.box
        _expect(x2 > x1 and y2 > y1, f"{what}: patch {number} has an empty box {patch.box}")
        _expect(x1 < width and y1 < height and x2 > 0 and y2 > 0,
                f"{what}: patch {number} box {patch.box} misses the frame")  # fmt: skip
        image = patch.image
        _expect(isinstance(image, np.ndarray) and image.dtype == np.uint8,
                f"{what}: patch {number} image is not uint8")  # fmt: skip
        _expect(image.shape == (y2 - y1, x2 - x1, 3),
                f"{what}: patch {number} image {image.shape} for box {patch.box}")  # fmt: skip
    for item, frame in zip(items, before, strict=True):
        _expect(np.array_equal(item.frame, frame), f"{what}: modified an input frame")


def check_tracker(tracker: FaceTracker, frames: Iterable[np.ndarray]) -> int:
    """Every face ``tracker`` finds in ``frames`` (RGB uint8) has a finite, non-empty box and
    named regions (when given) inside the frame; ``reset`` and ``close`` work. Returns how
    many faces with regions were seen (so a test can require some)."""
    what = f"tracker {tracker.name!r}"
    frames = list(frames)
    with_regions = 0
    for number, frame in enumerate(frames):
        height, width = frame.shape[:2]
        faces = tracker.detect(frame)
        _expect(isinstance(faces, list), f"{what}: detect returned {type(faces).__name__}")
        for face in faces:
            _expect(isinstance(face, Face), f"{what}: detect returned a {type(face).__name__}")
            x1, y1, x2, y2 = face.box
            _expect(bool(np.all(np.isfinite(face.box))) and x2 > x1 and y2 > y1,
                    f"{what}: frame {number}: bad face box {face.box}")  # fmt: skip
            if face.regions is None:
                continue
            with_regions += 1
            points = face.regions.points
            inside = (
                np.all(np.isfinite(points))
                and points[:, 0].min() >= -EDGE_SLACK
                and points[:, 1].min() >= -EDGE_SLACK
                and points[:, 0].max() <= width + EDGE_SLACK
                and points[:, 1].max() <= height + EDGE_SLACK
            )
            _expect(bool(inside), f"{what}: frame {number}: regions reach outside the "
                    f"{width}x{height} frame")  # fmt: skip
        tracker.reset()
    check_tracker_batch(tracker, frames)
    tracker.close()
    return with_regions


def check_tracker_batch(tracker: FaceTracker, frames: Sequence[np.ndarray]) -> None:
    """``detect_batch`` on two frames of one size finds what ``detect`` on each in turn
    finds (after a ``reset``): as many faces, boxes and regions within
    :data:`BATCH_SLACK` pixels (batched networks round differently)."""
    what = f"tracker {tracker.name!r}"
    frames = [frame for frame in frames if frame.shape == frames[0].shape][:2]
    single = [tracker.detect(frame) for frame in frames]
    tracker.reset()
    batched = tracker.detect_batch(frames)
    tracker.reset()
    _expect(
        isinstance(batched, list) and len(batched) == len(frames),
        f"{what}: detect_batch of {len(frames)} frames returned {len(batched)} lists",
    )
    for number, (alone, together) in enumerate(zip(single, batched, strict=True)):
        _expect(len(alone) == len(together), f"{what}: frame {number}: detect found "
                f"{len(alone)} faces, detect_batch {len(together)}")  # fmt: skip
        for one, other in zip(alone, together, strict=True):
            _expect(
                np.allclose(one.box, other.box, atol=BATCH_SLACK),
                f"{what}: frame {number}: detect_batch box {other.box} != {one.box}",
            )
            if one.regions is not None:
                same = other.regions is not None and np.allclose(
                    one.regions.points, other.regions.points, atol=BATCH_SLACK
                )
                _expect(same, f"{what}: frame {number}: detect_batch regions differ")


def check_extractor(extractor: AudioExtractor) -> None:
    """``extractor`` returns finite ``(frames, dim)`` float32 at ``frames_per_second``
    (within :data:`FRAME_COUNT_SLACK` frames) with the same ``dim`` for any length, and (when
    it :attr:`~lipdub.components.AudioExtractor.reads_blocks`) the same features from samples
    spilled to disk."""
    what = f"extractor {extractor.name!r}"
    rng = np.random.default_rng(3)
    widths = set()
    for seconds in (1.0, 0.3):
        wav = (0.1 * rng.standard_normal(int(seconds * extractor.sample_rate))).astype(np.float32)
        features = extractor.extract(wav)
        kind = getattr(features, "dtype", type(features))
        _expect(
            isinstance(features, np.ndarray) and features.dtype == np.float32,
            f"{what}: returned {kind}, want float32",
        )
        _expect(features.ndim == 2, f"{what}: returned shape {features.shape}, want (frames, dim)")
        expected = seconds * extractor.frames_per_second
        _expect(abs(len(features) - expected) <= FRAME_COUNT_SLACK,
                f"{what}: {len(features)} frames for {seconds} s at "
                f"{extractor.frames_per_second}/s")  # fmt: skip
        _expect(bool(np.all(np.isfinite(features))), f"{what}: features are not finite")
        widths.add(features.shape[1])
        if extractor.reads_blocks:  # the same samples spilled in small blocks
            store = RowBlocks((), np.float32, spill=True, block_rows=1000, keep_rows=2000)
            store.extend(wav)
            _expect(np.array_equal(extractor.extract(store), features),
                    f"{what}: reads_blocks is set, but samples read a block at a time give "
                    "other features than the same samples in an array")  # fmt: skip
            store.close()
    _expect(len(widths) == 1, f"{what}: feature width changes with the length: {widths}")
