"""The built-in face tracker: mediapipe face mesh on crops found by full-range face detection.

The whole-frame face mesh only finds faces that fill a good part of the frame (its detector
is the short-range model), so this tracker finds faces with the full-range face detector
(``model_selection=1``) on a downscaled copy of the frame, then follows each one with its own
video-mode face mesh running on a fixed crop (window) around the face. A window is moved, and
its mesh restarted, only when the face drifts or changes size a lot within it. The detector
runs again every few frames to pick up faces that enter the picture. Faces too small for the
whole-frame detector (down to about 1/20 of the frame height) are searched for on
overlapping tiles at the start of each shot and, while no face is followed, every few frames.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
from pydantic import Field

from lipdub.components import FaceTracker
from lipdub.errors import InputError
from lipdub.faces.boxes import box_iou, landmarks_box
from lipdub.faces.landmarks import regions_from_mediapipe
from lipdub.faces.mediapipe_solutions import solution
from lipdub.faces.native_log import native_stderr_silenced
from lipdub.hookspecs import hookimpl
from lipdub.types import Face

#: Window side as a multiple of the face size; the face fills about half of its window.
WINDOW_SCALE = 2.0
#: Move the window when the face centre is off its centre by more than this share of the side.
MAX_DRIFT = 0.12
#: Move the window when the face size changes by more than this share.
MAX_RESIZE = 0.25
#: Smallest window side in pixels.
MIN_WINDOW = 48
#: Tiles searched for small faces are downscaled to at most this side before detection.
TILE_INPUT = 384
#: Tile side as a share of the frame's short side, and the least overlap of neighbours.
TILE_SHARE = 0.75
TILE_OVERLAP = 0.25

FloatBox = tuple[float, float, float, float]


def _tile_grid(width: int, height: int) -> list[tuple[int, int, int]]:
    """Overlapping square tiles ``(x, y, side)`` covering the frame (``TILE_SHARE`` of its
    short side), neighbours overlapping by ``TILE_OVERLAP`` of a tile, so that every face small
    enough to need a tile lies wholly inside one.
    """
    side = max(1, round(min(width, height) * TILE_SHARE))
    if side < 96:
        return []
    tiles = []
    for y in _tile_starts(height, side):
        for x in _tile_starts(width, side):
            tiles.append((x, y, side))
    return tiles


def _tile_starts(length: int, side: int) -> list[int]:
    count = max(1, int(np.ceil((length - side) / (side * (1 - TILE_OVERLAP)))) + 1)
    if count == 1:
        return [0]
    return [round(i * (length - side) / (count - 1)) for i in range(count)]


@dataclass
class _Track:
    """One followed face: its mesh solution, its window and where the face was last."""

    mesh: Any
    window: tuple[int, int, int, int]
    box: FloatBox
    score: float


def _window_around(box: FloatBox, width: int, height: int) -> tuple[int, int, int, int]:
    """A square crop about ``WINDOW_SCALE`` times the face size, centred on it, clipped."""
    x1, y1, x2, y2 = box
    side = max(MIN_WINDOW, WINDOW_SCALE * max(x2 - x1, y2 - y1))
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    wx1 = int(max(0, round(cx - side / 2)))
    wy1 = int(max(0, round(cy - side / 2)))
    wx2 = int(min(width, round(cx + side / 2)))
    wy2 = int(min(height, round(cy + side / 2)))
    return wx1, wy1, max(wx2, wx1 + 1), max(wy2, wy1 + 1)


def _needs_new_window(track: _Track, width: int, height: int) -> bool:
    """Whether the face has drifted or changed size too much inside its window."""
    ideal = _window_around(track.box, width, height)
    side = max(track.window[2] - track.window[0], track.window[3] - track.window[1])
    ideal_side = max(ideal[2] - ideal[0], ideal[3] - ideal[1])
    if abs(ideal_side - side) > MAX_RESIZE * ideal_side:
        return True
    # Comparing corners with the ideal window keeps windows clipped at the frame edge still.
    shift = max(abs(a - b) for a, b in zip(ideal, track.window, strict=True))
    return shift > MAX_DRIFT * side


#: One ``NormalizedLandmark`` as mediapipe serialises it: a length-delimited message (key
#: 0x0A, 15 bytes) holding x, y and z as fixed 32-bit floats (keys 0x0D, 0x15, 0x1D) and
#: nothing else; the bytes at :data:`_KEY_AT` are then :data:`_KEYS`.
_LANDMARK_WIRE = np.dtype(
    [("key", "u1"), ("size", "u1"), ("kx", "u1"), ("x", "<f4"), ("ky", "u1"), ("y", "<f4"),
     ("kz", "u1"), ("z", "<f4")]
)  # fmt: skip
_KEY_AT = [0, 1, 2, 7, 12]
_KEYS = np.array([0x0A, 15, 0x0D, 0x15, 0x1D], np.uint8)


def landmark_coords(landmarks: Any) -> np.ndarray:
    """``(n, 2)`` float32 x, y of a ``NormalizedLandmarkList``: read from its wire bytes at
    once when every landmark has exactly x, y and z (a loop over the 468 protobuf objects
    costs half a millisecond per face), else point by point."""
    wire = landmarks.SerializeToString()
    size = _LANDMARK_WIRE.itemsize
    if len(wire) % size == 0 and len(wire) // size == len(landmarks.landmark):
        raw = np.frombuffer(wire, np.uint8).reshape(-1, size)
        if np.array_equal(raw[:, _KEY_AT], np.broadcast_to(_KEYS, (len(raw), len(_KEYS)))):
            rows = np.frombuffer(wire, _LANDMARK_WIRE)
            return np.stack([rows["x"], rows["y"]], axis=1)
    return np.array([(p.x, p.y) for p in landmarks.landmark], dtype=np.float32)


def _face(box: FloatBox, coords: np.ndarray, score: float, width: int, height: int) -> Face:
    """A found face: its mesh as the raw landmarks and the regions built from it (clipped to
    the ``width`` x ``height`` frame: the mesh goes on past the edge of a cut face)."""
    regions = regions_from_mediapipe(coords).clipped(width, height)
    return Face(box=box, landmarks=coords, score=score, regions=regions)


class MediapipeTracker(FaceTracker):
    """Face-mesh landmarks (468 points) for up to ``max_faces`` faces per frame."""

    name = "mediapipe"
    description = "mediapipe face mesh (468 landmarks) guided by full-range face detection"

    class Options(FaceTracker.Options):
        max_faces: int = Field(4, ge=1, le=32, description="Most faces followed per frame.")
        min_confidence: float = Field(
            0.5, ge=0.0, le=1.0, description="Detection and tracking score a face needs."
        )
        detect_every: int = Field(
            8, ge=1, description="Frames between detector passes while faces are followed."
        )
        detect_max_side: int = Field(
            640,
            ge=64,
            description="The detector sees the frame downscaled to at most this long side.",
        )

    options: Options

    def __init__(self, options: Any = None, **values: Any) -> None:
        super().__init__(options, **values)
        self.max_faces = self.options.max_faces
        self.min_confidence = self.options.min_confidence
        self.detect_every = self.options.detect_every
        self.detect_max_side = self.options.detect_max_side
        self._detector: Any = None
        self._graphs_starting = False
        self._quiet_next = True
        self._idle_meshes: list[Any] = []
        self._tracks: list[_Track] = []
        self._frames_since_detection = 0
        self._detect_next = True
        self._search_tiles = True
        self._frames_since_tiles = 0

    # -- mediapipe objects -------------------------------------------------------------------

    def _ensure_detector(self) -> Any:
        if self._detector is None:
            self._graphs_starting = True
            face_detection = solution("face_detection")
            self._detector = face_detection.FaceDetection(
                model_selection=1, min_detection_confidence=self.min_confidence
            )
        return self._detector

    def _take_mesh(self) -> Any:
        if self._idle_meshes:
            return self._idle_meshes.pop()
        self._graphs_starting = True
        return solution("face_mesh").FaceMesh(
            static_image_mode=False,
            max_num_faces=1,
            refine_landmarks=False,
            min_detection_confidence=self.min_confidence,
            min_tracking_confidence=self.min_confidence,
        )

    def _restart_mesh(self, mesh: Any) -> None:
        """``mesh.reset()``; the restarted graph logs from its own threads until it has run,
        so the reset and the next detection are silenced."""
        with native_stderr_silenced():
            mesh.reset()
        self._quiet_next = True

    def _release_mesh(self, mesh: Any, tracking: bool = True) -> None:
        """Put a mesh back in the pool; one still ``tracking`` a face is restarted (slow)."""
        if tracking:
            self._restart_mesh(mesh)
        self._idle_meshes.append(mesh)

    # -- per frame ---------------------------------------------------------------------------

    def _detect_in(
        self, image: np.ndarray, offset: tuple[int, int], scale: float
    ) -> list[tuple[FloatBox, float]]:
        """Detections in ``image`` mapped to frame pixels: ``frame = offset + image / scale``."""
        result = self._ensure_detector().process(np.ascontiguousarray(image))
        height, width = image.shape[:2]
        found = []
        for detection in result.detections or []:
            rel = detection.location_data.relative_bounding_box
            box = (
                offset[0] + rel.xmin * width / scale,
                offset[1] + rel.ymin * height / scale,
                offset[0] + (rel.xmin + rel.width) * width / scale,
                offset[1] + (rel.ymin + rel.height) * height / scale,
            )
            found.append((box, float(detection.score[0])))
        return found

    def _detect_boxes(self, frame: np.ndarray, tiles: bool) -> list[tuple[FloatBox, float]]:
        """Full-range face detections as ``(box in frame pixels, score)``, best first.

        The detector sees the whole frame (downscaled); with ``tiles`` it also looks at
        overlapping square tiles, which finds faces down to about 1/20 of the frame height.
        """
        height, width = frame.shape[:2]
        scale = min(1.0, self.detect_max_side / max(height, width))
        small = frame
        if scale < 1:
            size = (max(1, round(width * scale)), max(1, round(height * scale)))
            small = cv2.resize(frame, size, interpolation=cv2.INTER_AREA)
        found = self._detect_in(small, (0, 0), scale)
        if tiles:
            for x, y, side in _tile_grid(width, height):
                tile = frame[y : y + side, x : x + side]
                tile_scale = min(1.0, TILE_INPUT / side)
                if tile_scale < 1:
                    tile = cv2.resize(
                        tile, None, fx=tile_scale, fy=tile_scale, interpolation=cv2.INTER_AREA
                    )
                found += self._detect_in(tile, (x, y), tile_scale)
        found.sort(key=lambda item: -item[1])
        kept: list[tuple[FloatBox, float]] = []
        for box, score in found:
            if all(box_iou(box, other) < 0.3 for other, _ in kept):
                kept.append((box, score))
        return kept

    def _run_mesh(self, track: _Track, frame: np.ndarray) -> np.ndarray | None:
        """The track's landmarks in this frame (frame pixels), or ``None`` if it lost the face."""
        wx1, wy1, wx2, wy2 = track.window
        crop = np.ascontiguousarray(frame[wy1:wy2, wx1:wx2])
        result = track.mesh.process(crop)
        if not result.multi_face_landmarks:
            return None
        coords = landmark_coords(result.multi_face_landmarks[0])
        coords *= np.array([wx2 - wx1, wy2 - wy1], dtype=np.float32)
        coords += np.array([wx1, wy1], dtype=np.float32)
        return coords

    def detect(self, frame: np.ndarray) -> list[Face]:
        """Faces in ``frame`` (RGB uint8), each with 468 landmarks and its regions when the mesh
        found them."""
        # mediapipe graphs print native log lines while they start: hide those calls' stderr.
        with native_stderr_silenced(self._quiet_next):
            faces = self._detect(frame)
        self._quiet_next = self._graphs_starting
        self._graphs_starting = False
        return faces

    def _detect(self, frame: np.ndarray) -> list[Face]:
        if not (isinstance(frame, np.ndarray) and frame.ndim == 3 and frame.shape[2] == 3):
            raise InputError("the face tracker needs RGB frames of shape (height, width, 3)")
        frame = np.ascontiguousarray(frame, dtype=np.uint8)
        height, width = frame.shape[:2]
        faces: list[Face] = []

        kept: list[_Track] = []
        for track in self._tracks:
            coords = self._run_mesh(track, frame)
            if coords is None:
                self._release_mesh(track.mesh, tracking=False)
                self._detect_next = True
                continue
            track.box = landmarks_box(coords)
            if any(box_iou(track.box, other.box) > 0.5 for other in kept):
                self._release_mesh(track.mesh)  # two windows locked onto the same face
                continue
            faces.append(_face(track.box, coords, track.score, width, height))
            kept.append(track)
            if _needs_new_window(track, width, height):
                track.window = _window_around(track.box, width, height)
                self._restart_mesh(track.mesh)
        self._tracks = kept

        self._frames_since_detection += 1
        wants_detection = self._detect_next or self._frames_since_detection >= self.detect_every
        if wants_detection and len(self._tracks) < self.max_faces:
            faces.extend(self._start_tracks(frame))
        return faces

    def _start_tracks(self, frame: np.ndarray) -> list[Face]:
        """Run the detector and start a track for every new face it finds."""
        height, width = frame.shape[:2]
        self._frames_since_detection = 0
        self._detect_next = False
        found: list[Face] = []
        # Small faces need the (slower) tiled search: at a shot's start, and every
        # ``detect_every`` frames while no face is followed.
        self._frames_since_tiles += 1
        tiles = self._search_tiles or (
            not self._tracks and self._frames_since_tiles >= self.detect_every
        )
        if tiles:
            self._search_tiles = False
            self._frames_since_tiles = 0
        for box, score in self._detect_boxes(frame, tiles=tiles):
            if len(self._tracks) >= self.max_faces:
                break
            taken = [track.box for track in self._tracks] + [face.box for face in found]
            if any(box_iou(box, other) > 0.2 for other in taken):
                continue
            track = _Track(
                mesh=self._take_mesh(),
                window=_window_around(box, width, height),
                box=tuple(box),
                score=score,
            )
            coords = self._run_mesh(track, frame)
            if coords is None:
                # Seen by the detector only (e.g. a profile): report the box, retry next frame.
                self._release_mesh(track.mesh, tracking=False)
                found.append(Face(box=tuple(box), landmarks=None, score=score))
                self._detect_next = True
                continue
            track.box = landmarks_box(coords)
            if any(box_iou(track.box, other.box) > 0.5 for other in self._tracks):
                self._release_mesh(track.mesh)  # the mesh found a face already followed
                continue
            self._tracks.append(track)
            found.append(_face(track.box, coords, score, width, height))
            if _needs_new_window(track, width, height):
                track.window = _window_around(track.box, width, height)
                self._restart_mesh(track.mesh)
        return found

    def reset(self) -> None:
        """Forget every followed face (called at shot cuts); the next frame is searched anew."""
        for track in self._tracks:
            self._release_mesh(track.mesh)
        self._tracks = []
        self._frames_since_detection = 0
        self._detect_next = True
        self._search_tiles = True

    def close(self) -> None:
        """Release the mediapipe graphs."""
        meshes = [track.mesh for track in self._tracks] + self._idle_meshes
        for mesh in meshes:
            mesh.close()
        self._tracks = []
        self._idle_meshes = []
        if self._detector is not None:
            self._detector.close()
            self._detector = None
        self._detect_next = True
        self._search_tiles = True


@hookimpl
def register_face_trackers(register: Any) -> None:
    register(MediapipeTracker)
