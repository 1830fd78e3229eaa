"""Torch datasets over a preprocessed dataset (``manifest.json`` + ``clips/*.npz``).

Samples are drawn at random, reproducibly: item ``i`` is drawn with ``default_rng([seed, i])``,
so a run resumed at step ``k`` sees exactly the samples it would have seen (see
:class:`StepSampler`). Faces are BGR like the Wav2Lip networks expect, in [0, 1].
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset, Sampler

from lipdub.audio.windows import window_starts
from lipdub.errors import InputError
from lipdub.training.clips import SAMPLE_RATE, decode_faces

#: Frames per SyncNet window (0.2 s at 25 fps).
SYNC_FRAMES = 5
#: Length of the audio window given per video frame / per SyncNet window, in seconds.
WINDOW_SECONDS = 0.2


@dataclass(frozen=True)
class FeatureSpec:
    """An extractor's features as the dataset stores them."""

    name: str
    fps: float
    dim: int
    info: dict[str, Any]

    @property
    def window(self) -> int:
        """Feature frames per 0.2 s window (mel: 16, 50 frames/s: 10)."""
        return max(1, round(WINDOW_SECONDS * self.fps))

    def network_input(self, window: np.ndarray) -> torch.Tensor:
        """``(window, D)`` -> ``(1, 80, 16)`` for mel (SyncNetColor/Wav2Lip), else unchanged."""
        tensor = torch.from_numpy(np.ascontiguousarray(window, dtype=np.float32))
        return tensor.T[None].contiguous() if self.name == "mel" else tensor


class ClipStore:
    """The manifest of a dataset and lazy access to its clip files."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)
        path = self.root / "manifest.json"
        if not path.is_file():
            raise InputError(
                f"{self.root} is not a preprocessed dataset (no manifest.json; "
                "run `lipdub train preprocess` first)"
            )
        try:
            self.manifest = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise InputError(f"{path} is unreadable ({exc})") from None
        self.fps = float(self.manifest.get("fps", 25.0))
        self._cache: OrderedDict[tuple[str, str, bool], dict[str, np.ndarray]] = OrderedDict()
        #: How many loaded clips to keep in memory (per process).
        self.cache_size = 64

    def clips(self, split: str) -> list[dict[str, Any]]:
        """The manifest entries of ``split`` (train/val/test)."""
        return [clip for clip in self.manifest["clips"] if clip.get("split") == split]

    def feature_spec(self, extractor: str) -> FeatureSpec:
        """How ``extractor``'s features are stored (error if the dataset has none)."""
        info = self.manifest.get("extractors", {}).get(extractor)
        if info is None:
            have = ", ".join(self.manifest.get("extractors", {})) or "none"
            raise InputError(
                f"dataset {self.root} has no {extractor!r} features (has: {have}); run "
                f"`lipdub train preprocess ... --extractor {extractor}` on it again"
            )
        clips = self.manifest["clips"]
        dim = info.get("feature_dim")
        if dim is None and clips:
            with np.load(self.root / clips[0]["file"]) as stored:
                dim = int(stored[f"features_{extractor}"].shape[1])
        return FeatureSpec(extractor, float(info["fps"]), int(dim or 0), info)

    def load(
        self, clip: dict[str, Any], extractor: str, wav: bool = False
    ) -> dict[str, np.ndarray]:
        """A clip's JPEG data, validity mask and features of ``extractor`` (LRU-cached), with
        ``wav`` its int16 16 kHz audio too."""
        key = (clip["file"], extractor, wav)
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        with np.load(self.root / clip["file"], allow_pickle=False) as stored:
            if f"features_{extractor}" not in stored.files:
                raise InputError(
                    f"{clip['file']} has no {extractor} features; run `lipdub train preprocess "
                    f"... --extractor {extractor}` on the dataset again to add them"
                )
            data = {
                "jpeg": stored["jpeg"],
                "offsets": stored["jpeg_offsets"],
                "valid": stored["valid"],
                "features": stored[f"features_{extractor}"].astype(np.float32),
            }
            if wav:
                data["wav"] = stored["wav"]
        self._cache[key] = data
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        return data


class _WindowDataset(Dataset):
    """Shared sampling: a clip, then a start frame of ``SYNC_FRAMES`` valid frames."""

    def __init__(
        self,
        store: ClipStore,
        split: str,
        extractor: str,
        seed: int = 0,
        length: int = 1 << 62,
        wav: bool = False,
    ) -> None:
        self.store, self.wav = store, wav
        self.spec = store.feature_spec(extractor)
        self.clips = [c for c in store.clips(split) if c["frames"] >= 2 * SYNC_FRAMES]
        if not self.clips:
            raise InputError(f"dataset {store.root} has no usable {split} clips")
        self.split, self.seed, self.length = split, seed, length

    def __len__(self) -> int:
        return self.length

    def _starts(self, data: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """Feature window start per frame, and the frames that can start a 5-frame window."""
        valid = data["valid"]
        n_features, window = len(data["features"]), self.spec.window
        starts = window_starts(len(valid), self.store.fps, self.spec.fps, window, n_features)
        raw = (np.arange(len(valid)) * self.spec.fps / self.store.fps).astype(np.int64)
        ok = [
            i
            for i in range(len(valid) - SYNC_FRAMES + 1)
            if valid[i : i + SYNC_FRAMES].all() and raw[i + SYNC_FRAMES - 1] + window <= n_features
        ]
        return starts, np.asarray(ok, dtype=np.int64)

    def _draw(self, index: int) -> tuple[np.random.Generator, dict[str, np.ndarray], Any, Any]:
        rng = np.random.default_rng([self.seed, int(index)])
        for _ in range(20):
            clip = self.clips[rng.integers(len(self.clips))]
            data = self.store.load(clip, self.spec.name, wav=self.wav)
            starts, ok = self._starts(data)
            if len(ok) >= 2:
                return rng, data, starts, ok
        raise InputError(f"dataset {self.store.root}: {self.split} clips have too few face frames")

    def _faces(self, data: dict[str, np.ndarray], first: int) -> np.ndarray:
        frames = decode_faces(data["jpeg"], data["offsets"], range(first, first + SYNC_FRAMES))
        return frames.astype(np.float32) / 255.0  # (5, 96, 96, 3) BGR

    def _audio(self, data: dict[str, np.ndarray], start: int) -> torch.Tensor:
        return self.spec.network_input(data["features"][start : start + self.spec.window])

    def _wav(self, data: dict[str, np.ndarray], first: int) -> torch.Tensor:
        """The 16 kHz audio of frames ``first`` to ``first + SYNC_FRAMES`` (zero-padded)."""
        per_frame = SAMPLE_RATE / self.store.fps
        start, count = round(first * per_frame), round(SYNC_FRAMES * per_frame)
        window = np.zeros(count, np.float32)
        piece = data["wav"][start : start + count].astype(np.float32) / 32767.0
        window[: len(piece)] = piece
        return torch.from_numpy(window)


class SyncDataset(_WindowDataset):
    """SyncNet pairs: ``faces`` (15, 48, 96) lower halves of 5 frames, ``audio``, ``label``.

    Half the pairs are in sync (label 1); the others take the audio of another time of the
    same clip, at least ``min_shift`` frames away (label 0).
    """

    def __init__(self, *args: Any, min_shift: int = SYNC_FRAMES, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.min_shift = min_shift

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        rng, data, starts, ok = self._draw(index)
        first = int(ok[rng.integers(len(ok))])
        far = ok[np.abs(ok - first) >= self.min_shift]
        in_sync = bool(rng.random() < 0.5) or len(far) == 0
        audio_frame = first if in_sync else int(far[rng.integers(len(far))])
        faces = self._faces(data, first)[:, faces_half(96) :]
        return {
            "faces": stack_frames(torch.from_numpy(faces)),
            "audio": self._audio(data, int(starts[audio_frame])),
            "label": torch.tensor(1.0 if in_sync else 0.0),
        }


class GeneratorDataset(_WindowDataset):
    """Generator samples for a window of 5 frames.

    ``faces`` (6, 5, 96, 96): the target with its lower half zeroed, then reference frames
    drawn at random from elsewhere in the clip; ``audio`` one window per frame; ``sync_audio``
    the SyncNet window of the whole 5 frames; ``target`` (3, 5, 96, 96); with ``wav=True``
    also ``sync_wav``, the 16 kHz audio of the 5 frames (for experts on raw audio).
    """

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        rng, data, starts, ok = self._draw(index)
        first = int(ok[rng.integers(len(ok))])
        others = np.flatnonzero(data["valid"])
        outside = others[(others < first) | (others >= first + SYNC_FRAMES)]
        pool = outside if len(outside) >= SYNC_FRAMES else others
        picks = rng.choice(pool, SYNC_FRAMES, replace=len(pool) < SYNC_FRAMES)
        target = torch.from_numpy(self._faces(data, first)).permute(3, 0, 1, 2)
        reference = decode_faces(data["jpeg"], data["offsets"], picks).astype(np.float32) / 255.0
        masked = target.clone()
        masked[:, :, faces_half(96) :] = 0.0
        faces = torch.cat((masked, torch.from_numpy(reference).permute(3, 0, 1, 2)), dim=0)
        audio = torch.stack(
            [self._audio(data, int(starts[i])) for i in range(first, first + SYNC_FRAMES)]
        )
        sample = {
            "faces": faces,
            "audio": audio,
            "sync_audio": self._audio(data, int(starts[first])),
            "target": target,
        }
        if self.wav:
            sample["sync_wav"] = self._wav(data, first)
        return sample


def faces_half(height: int) -> int:
    """First row of the lower half of a face crop."""
    return height // 2


def stack_frames(frames: torch.Tensor) -> torch.Tensor:
    """``(T, H, W, 3)`` -> ``(3T, H, W)``: frames stacked on channels, frame-major."""
    return frames.permute(0, 3, 1, 2).flatten(0, 1).contiguous()


def lower_half_stack(images: torch.Tensor) -> torch.Tensor:
    """Generated ``(B, 3, T, H, W)`` -> the SyncNet's ``(B, 3T, H/2, W)`` input."""
    lower = images[:, :, :, faces_half(images.shape[3]) :]
    return lower.permute(0, 2, 1, 3, 4).flatten(1, 2)


class StepSampler(Sampler[int]):
    """Sample numbers ``offset + k * stride`` from ``start``: resumable, split across ranks."""

    def __init__(self, start: int = 0, stride: int = 1, offset: int = 0) -> None:
        self.start, self.stride, self.offset = start, stride, offset

    def __iter__(self) -> Iterator[int]:
        k = self.start
        while True:
            yield self.offset + k * self.stride
            k += 1

    def __len__(self) -> int:  # pragma: no cover - infinite
        return 1 << 62
