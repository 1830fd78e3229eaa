"""Finding the watermark in a video: per-frame correlations summed over the time code.

Every frame with a face gives its correlations with the slot patterns
(:func:`lipdub.provenance.watermark.correlate`). The detector does not know where the
excerpt starts, so at each phase of the time code it multiplies them by the chips and adds
each slot's value to the code bit the schedule (:func:`~lipdub.provenance.watermark.slot_bits`)
puts there at that phase. Each bit's noise level is what is left of its values once its
mean is taken out (:func:`bit_sums`), which turns the sums into one z-score per code bit.
The phase whose known bits (pilot and tool id) agree best wins; their combined z-score is
the confidence. The payload is the lipdub codeword (any version) that matches the bits
best, reported when it beats the runner-up clearly.
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
        self.overlaps: list[np.ndarray] = []
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
        self.overlaps.append(found.overlap.astype(np.float64))
        self.indices.append(index)
        return True

    def report(self) -> MarkReport:
        """The verdict of the best phase."""
        if self.frames < MIN_FRAMES:
            return MarkReport(False, 0.0, self.frames)
        values = np.stack(self.values)
        values -= values.mean(axis=0)
        indices = np.asarray(self.indices)
        stats = [bit_sums(values, indices, phase) for phase in range(marks.PERIOD)]
        sums = np.stack([total for total, _ in stats])
        noise = np.stack([spread for _, spread in stats])
        soft = sums / np.maximum(noise, 1e-12)
        known = codes.known_signs()
        agreement = soft[:, : len(known)] @ known / np.sqrt(len(known))
        phase = int(np.argmax(agreement))
        confidence = float(agreement[phase])
        found = bool(confidence >= FOUND_Z)
        text = None
        if found:
            overlap = self._bit_overlap(indices, phase)
            text = read_payload(sums[phase], noise[phase], overlap)
        return MarkReport(found, confidence, self.frames, text, phase)

    def _bit_overlap(self, indices: np.ndarray, phase: int) -> np.ndarray:
        """How much each pair of code bits' patterns overlapped, summed over the frames
        that carried them together at ``phase``."""
        bits = marks.slot_bits(indices, phase)
        overlap = np.zeros((marks.CODE_BITS, marks.CODE_BITS), np.float64)
        np.add.at(overlap, (bits[:, :, None], bits[:, None, :]), np.stack(self.overlaps))
        return overlap


def bit_sums(values: np.ndarray, indices: np.ndarray, phase: int) -> tuple[np.ndarray, np.ndarray]:
    """Each code bit's chip-signed sum of the slot values (``frames x SLOTS``, mean removed)
    at ``phase``, and its noise level (standard deviation).

    The values are first summed over each chip (its frames carry the same bits, and the
    picture's noise is alike in neighbouring frames). The noise is what is left of those
    chip sums once each bit's mean is taken out (pooled over the slots, corrected for the
    means fitted). At a wrong phase the misplaced mark counts as noise too, so only the
    phase that lines up gives high z-scores."""
    signed = values * marks.chips(indices, phase)[:, None]
    chip = (np.asarray(indices) + phase) // marks.SEGMENT
    first, block = np.unique(chip, return_index=True, return_inverse=True)[1:]
    per_chip = np.zeros((len(first), signed.shape[1]), np.float64)
    np.add.at(per_chip, block, signed)
    bits = marks.slot_bits(np.asarray(indices)[first], phase)
    counts = np.bincount(bits.ravel(), minlength=marks.CODE_BITS).astype(np.float64)
    sums = np.bincount(bits.ravel(), per_chip.ravel(), minlength=marks.CODE_BITS)
    residual = per_chip - (sums / np.maximum(counts, 1.0))[bits]
    freedom = max(residual.size - int(np.count_nonzero(counts)), 1)
    variance = float(np.sum(residual**2)) / freedom
    return sums, np.sqrt(variance * counts)


def read_payload(sums: np.ndarray, noise: np.ndarray, overlap: np.ndarray) -> codes.Payload | None:
    """The payload of the lipdub codeword that best explains the bit sums (with their
    ``noise`` levels), when it beats the runner-up clearly.

    The patterns overlap on a face (``overlap``, their summed products under the mask and
    weights), so codeword ``s`` shows up as ``a * overlap @ s``: the best codeword maximises
    ``s @ sums / sqrt(s @ overlap @ s)`` (the likelihood ratio). The margin, the difference
    of the two best scores, counts when it is ``PAYLOAD_MARGIN`` times its noise."""
    book = _codebook()
    energy = np.sqrt(np.maximum(np.einsum("ij,jk,ik->i", book, overlap, book), 1e-12))
    scores = (book @ sums) / energy
    order = np.argsort(scores)
    first, second = order[-1], order[-2]
    weights = book[first] / energy[first] - book[second] / energy[second]
    spread = float(np.sqrt(np.sum((weights * noise) ** 2)))
    if scores[first] - scores[second] < PAYLOAD_MARGIN * max(spread, 1e-12):
        return None
    return codes.decode((book[first] > 0).astype(np.uint8))


@functools.cache
def _codebook() -> np.ndarray:
    """+-1 code bits of every lipdub codeword (all versions), ``(2**16, CODE_BITS)``."""
    return np.where(codes.all_codewords() > 0, 1.0, -1.0).astype(np.float32)
