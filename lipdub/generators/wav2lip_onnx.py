"""``--generator wav2lip-onnx``: a Wav2Lip network exported to ONNX, run by ONNX Runtime.

It reads the public exports and lipdub's own (``docs/hq.md`` says how to make one):

* FaceFusion ``wav2lip_96.onnx`` / ``wav2lip_gan_96.onnx``: inputs ``source`` (audio) and
  ``target`` (face), batch 1;
* wav2lip-onnx / lipdub exports: ``mel_spectrogram`` and ``video_frames``, any batch.

Either way: audio ``(B, 1, 80, 16)`` mel windows, face ``(B, 6, 96, 96)`` BGR ``x / 255`` with
the lower half of the first three channels zeroed, output ``(B, 3, 96, 96)`` BGR in ``[0, 1]``
— the same crop, masking and rounding as the torch ``wav2lip`` generator, so both give the
same patches on the same weights. There are no default weights: pass ``--checkpoint``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from lipdub.components import Generator
from lipdub.errors import InputError
from lipdub.generators.wav2lip import crop_face, face_input, patches_from
from lipdub.hookspecs import hookimpl
from lipdub.onnx.session import InputSpec, OnnxModel, open_model
from lipdub.types import GeneratorInput, Patch

AUDIO_NAMES = ("mel_spectrogram", "source", "audio", "mel")
FACE_NAMES = ("video_frames", "target", "face", "faces")


class Wav2LipOnnxGenerator(Generator):
    """Wav2Lip on ONNX Runtime (CPU, or CUDA with onnxruntime-gpu)."""

    name: ClassVar[str] = "wav2lip-onnx"
    description: ClassVar[str] = "Wav2Lip exported to ONNX (FaceFusion / wav2lip-onnx files)"
    audio_extractor: ClassVar[str] = "mel"
    audio_window_seconds: ClassVar[float] = 0.2
    needs_weights: ClassVar[bool] = True
    default_weights: ClassVar[str | None] = "wav2lip-gan-96-onnx"
    batch_size: ClassVar[int] = 16

    def __init__(self, checkpoint: Path | None = None, device: str = "auto",
                 precision: str = "auto", options: Any = None, **values: Any) -> None:  # fmt: skip
        super().__init__(
            checkpoint=checkpoint, device=device, precision=precision, options=options, **values
        )
        self._model: OnnxModel | None = None
        self._audio = self._face = ""
        self._fixed_batch: int | None = None

    def load(self) -> None:
        self.model  # noqa: B018

    @property
    def model(self) -> OnnxModel:
        if self._model is None:
            from lipdub.weights.registry import resolve_weights

            model = open_model(resolve_weights(self.default_weights, self.checkpoint), self.device)
            found = model.match(
                [
                    InputSpec("audio", AUDIO_NAMES, rank=4, channels=1),
                    InputSpec("face", FACE_NAMES, rank=4, channels=6),
                ],
                "Wav2Lip",
            )
            self._audio, self._face = found["audio"].name, found["face"].name
            batch = found["face"].shape[0]
            self._fixed_batch = batch if isinstance(batch, int) and batch > 0 else None
            self._model = model
        return self._model

    def generate(self, items: Sequence[GeneratorInput]) -> list[Patch]:
        """One patch per item: the redrawn face crop at its box."""
        model = self.model
        if not items:
            return []
        boxes = [item.face.int_box(item.frame.shape[1], item.frame.shape[0]) for item in items]
        faces = face_input(
            np.stack([crop_face(item.frame, box) for item, box in zip(items, boxes, strict=True)])
        )
        windows = np.stack([np.asarray(item.audio, dtype=np.float32) for item in items])
        if windows.ndim != 3 or windows.shape[1:] != (16, 80):
            raise InputError(
                f"{self.name} needs (16, 80) mel windows (audio extractor 'mel'), "
                f"got {windows.shape[1:]}"
            )
        audio = np.ascontiguousarray(windows.transpose(0, 2, 1)[:, None])
        step = self._fixed_batch or max(1, self.options.batch_size or self.batch_size)
        outputs = []
        for start in range(0, len(items), step):
            stop = start + step
            feeds = {self._audio: audio[start:stop], self._face: faces[start:stop]}
            outputs.append(np.asarray(model.run(feeds)[0], np.float32))
        return patches_from(np.concatenate(outputs), boxes)

    def close(self) -> None:
        self._model = None


@hookimpl
def register_generators(register: Callable[[type[Generator]], None]) -> None:
    register(Wav2LipOnnxGenerator)
