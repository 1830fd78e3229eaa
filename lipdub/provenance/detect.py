"""Finding the watermark in a video: per-frame correlations summed over the time code.

Every frame with a face gives its correlations with the slot patterns
(:func:`lipdub.provenance.watermark.correlate`). The detector does not know where the
excerpt starts, so at each phase of the time code it multiplies them by the chips and adds
each slot's value to the code bit the schedule (:func:`~lipdub.provenance.watermark.slot_bits`)
puts there at that phase. Each bit's noise level is what is left of its values once its
mean is taken out (:func:`bit_sums`). Every word of lipdub's code (one per version, see
:mod:`lipdub.provenance.payload`) is then scored against the bits at every phase; the best
word's z-score (:func:`word_scores`) is the confidence, and its version is reported when
it beats every other version clearly.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from lipdub.faces.regions import FaceRegions
from lipdub.provenance import payload as codes
from lipdub.provenance import watermark as marks

#: Confidence (z-score of the best code word at the best phase) from which a mark counts as
#: found. Unmarked videos and unmarked dubs (the best of 2**16 words at 31 phases) measured
#: 1.9-4.2.
FOUND_Z = 6.5
#: Least margin (z) between the best word and the best word of another version for the
#: version to be shown.
PAYLOAD_MARGIN = 2.0
#: Words (with their phases) the screening hands on to the exact score.
SHORTLIST = 64
#: Fewest frames with a face worth looking at: two periods of the time code, so that every
#: bit is seen twice and its noise can be measured.
MIN_FRAMES = 2 * marks.PERIOD


@dataclass
class MarkReport:
    """What the watermark detector found."""

    #: Whether a word of lipdub's code is there (z at least :data:`FOUND_Z`): it is lipdub's.
    found: bool
    #: z-score of the best word at the best phase of the time code.
    confidence: float
    frames: int
    #: The version the mark carries, when it could be read clearly (None: not read).
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
        """The verdict of the best code word at the best phase."""
        if self.frames < MIN_FRAMES:
            return MarkReport(False, 0.0, self.frames)
        values = np.stack(self.values)
        values -= values.mean(axis=0)
        indices = np.asarray(self.indices)
        stats = [bit_sums(values, indices, phase) for phase in range(marks.PERIOD)]
        sums = np.stack([total for total, _ in stats])
        noise = np.stack([spread for _, spread in stats])
        # Screening: every word at every phase, as if the bits' noise were independent.
        book = _codebook()
        rough = book @ (sums / np.maximum(noise, 1e-12)).T.astype(np.float32)
        best = np.argsort(rough, axis=None)[-SHORTLIST:]
        words, phases = np.unravel_index(best, rough.shape)
        scores = np.empty(len(best))
        for phase in np.unique(phases):
            picked = phases == phase
            overlap = self._bit_overlap(indices, int(phase))
            scores[picked] = word_scores(book[words[picked]], sums[phase], noise[phase], overlap)
        order = np.argsort(scores)[::-1]
        first = order[0]
        confidence = float(scores[first])
        found = bool(confidence >= FOUND_Z)
        text = None
        if found:
            others = [i for i in order[1:] if words[i] != words[first]]
            runner_up = float(scores[others[0]]) if others else 0.0
            if confidence - runner_up >= PAYLOAD_MARGIN:
                text = codes.Payload(codes.TOOL_ID, codes.version_of(int(words[first])))
        return MarkReport(found, confidence, self.frames, text, int(phases[first]))

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


def word_scores(
    words: np.ndarray, sums: np.ndarray, noise: np.ndarray, overlap: np.ndarray
) -> np.ndarray:
    """The z-score of each +-1 code word (rows of ``words``) given the bit sums and their
    noise levels.

    Bits carried by the same frame are read through overlapping patterns (``overlap``, their
    summed products under the mask and weights), so their noise is correlated: the score
    ``s @ sums`` is divided by its own standard deviation ``sqrt(s @ C @ s)``, with ``C`` the
    noise covariance the overlap implies."""
    scale = np.sqrt(np.maximum(np.diag(overlap), 1e-12))
    covariance = overlap / np.outer(scale, scale) * np.outer(noise, noise)
    spread = np.sqrt(np.maximum(np.einsum("ij,jk,ik->i", words, covariance, words), 1e-12))
    return (words @ sums) / spread


@functools.cache
def _codebook() -> np.ndarray:
    """+-1 bits of every lipdub code word (all versions), ``(2**16, CODE_BITS)`` float32."""
    return np.where(codes.all_codewords() > 0, 1.0, -1.0).astype(np.float32)
