"""Finding the watermark in a video: per-frame correlations summed over the time code.

Every frame with a face gives its correlations with all patterns
(:func:`lipdub.provenance.watermark.correlate`). The detector does not know where the
excerpt starts, so it sums them under the time code at each of its phases. Each pattern's
noise level is the spread of its sums over the phases (at all but one phase the mark does
not line up, so they hold only the picture's and the encoder's noise), which turns the sums
into one z-score per code bit. The phase whose known bits (pilot and tool id) agree best
wins; their combined z-score is the confidence. The payload is the lipdub codeword (any
version) that matches the bits best, reported when it beats the runner-up clearly.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from lipdub.faces.regions import FaceRegions
from lipdub.provenance import payload as codes
from lipdub.provenance import watermark as marks

#: Confidence (z-score of the known bits at the best phase) from which a mark counts as
#: found. Noise alone, the best of the 31 phases, stays below about 4.
FOUND_Z = 5.0
#: Least margin (z) between the best and second-best codeword for a payload to be shown.
PAYLOAD_MARGIN = 3.0
#: Fewest frames with a face worth looking at.
MIN_FRAMES = 8
#: Median of a chi-square variable with one degree of freedom (robust noise estimate).
_CHI2_MEDIAN = 0.4549


@dataclass
class MarkReport:
    """What the watermark detector found."""

    #: Whether lipdub's sync bits (pilot and tool id ``LD``) are there: the mark is lipdub's.
    found: bool
    #: z-score of those bits at the best phase of the time code.
    confidence: float
    frames: int
    #: The whole payload, when its version bits could be read too (None: only the tool id).
    payload: codes.Payload | None = None
    phase: int | None = None

    @property
    def version(self) -> str | None:
        return None if self.payload is None else self.payload.version_text

    def to_json(self) -> dict[str, object]:
        return {
            "found": self.found,
            "confidence": round(self.confidence, 2),
            "frames": self.frames,
            "payload": {"tool": "lipdub", "version": self.version} if self.found else None,
        }


class Detector:
    """Collects frames (:meth:`add`), then says whether they carry lipdub's mark."""

    def __init__(self) -> None:
        self.overlap = np.zeros((marks.CODE_BITS, marks.CODE_BITS), np.float64)
        self.values: list[np.ndarray] = []
        self.indices: list[int] = []

    @property
    def frames(self) -> int:
        return len(self.values)

    def add(self, frame: np.ndarray, regions: FaceRegions | None, index: int) -> bool:
        """Correlate frame ``index`` of the video (RGB uint8); False without a usable face."""
        found = marks.correlate(frame, regions)
        if found is None:
            return False
        self.values.append(found.values.astype(np.float64))
        self.overlap += found.overlap
        self.indices.append(index)
        return True

    def report(self) -> MarkReport:
        """The verdict of the best phase."""
        if self.frames < MIN_FRAMES:
            return MarkReport(False, 0.0, self.frames)
        values = np.stack(self.values)
        values -= values.mean(axis=0)
        indices = np.asarray(self.indices)
        sums = np.stack([marks.chips(indices, phase) @ values for phase in range(marks.PERIOD)])
        noise = np.sqrt(np.median(sums**2, axis=0) / _CHI2_MEDIAN)
        soft = sums / np.maximum(noise, 1e-12)
        known = codes.known_signs()
        agreement = soft[:, : len(known)] @ known / np.sqrt(len(known))
        phase = int(np.argmax(agreement))
        confidence = float(agreement[phase])
        found = bool(confidence >= FOUND_Z)
        text = read_payload(sums, phase, self.overlap) if found else None
        return MarkReport(found, confidence, self.frames, text, phase)


def read_payload(sums: np.ndarray, phase: int, overlap: np.ndarray) -> codes.Payload | None:
    """The payload of the lipdub codeword that best explains the sums (phases x code bits)
    at ``phase``, when it beats the runner-up clearly.

    The patterns overlap on a face (``overlap``, their summed products under the mask and
    weights), so codeword ``s`` shows up as ``a * overlap @ s``: the best codeword maximises
    ``s @ sums / sqrt(s @ overlap @ s)`` (the likelihood ratio). The margin's noise is the
    spread of the same difference over the other phases."""
    book = _codebook()
    energy = np.sqrt(np.maximum(np.einsum("ij,jk,ik->i", book, overlap, book), 1e-12))
    scores = (book @ sums[phase]) / energy
    order = np.argsort(scores)
    first, second = order[-1], order[-2]
    difference = sums @ (book[first] / energy[first] - book[second] / energy[second])
    spread = float(np.sqrt(np.median(difference**2) / _CHI2_MEDIAN))
    if difference[phase] < PAYLOAD_MARGIN * max(spread, 1e-12):
        return None
    return codes.decode((book[first] > 0).astype(np.uint8))


@functools.cache
def _codebook() -> np.ndarray:
    """+-1 code bits of every lipdub codeword (all versions), ``(2**16, CODE_BITS)``."""
    return np.where(codes.all_codewords() > 0, 1.0, -1.0).astype(np.float32)
