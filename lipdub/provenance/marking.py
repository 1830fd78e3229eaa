"""What a dub does to mark its output, in the two places the pipeline calls.

:func:`frame_marker` gives the per-frame step (the watermark in each redrawn face, just
before the frame is encoded); :func:`writer_options` gives the writer its metadata (the
source's, plus lipdub's tags) and the finishing step that adds the XMP packet and signs
the C2PA manifest on the finished file, before it replaces the output. ``mark=False`` on the
request (``--no-mark``) turns all three off.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lipdub.provenance import keys, manifest, payload, tags
from lipdub.provenance.watermark import Embedder
from lipdub.types import GeneratorInput, Patch

#: The warning ``--no-mark`` prints.
NO_MARK_WARNING = (
    "--no-mark: the output carries no C2PA manifest, watermark or tags; the EU AI Act "
    "(article 50) requires AI-manipulated video to be marked as such, and publishing it "
    "unmarked may break that duty"
)

FrameMark = Callable[[np.ndarray, Sequence[GeneratorInput], Sequence[Patch]], np.ndarray]


def no_mark(
    frame: np.ndarray, items: Sequence[GeneratorInput], patches: Sequence[Patch]
) -> np.ndarray:
    """The frame as it is (``--no-mark``)."""
    return frame


@dataclass
class FrameMarker:
    """Adds the watermark to every face of a frame that the generator redrew."""

    embedder: Embedder

    def __call__(
        self, frame: np.ndarray, items: Sequence[GeneratorInput], patches: Sequence[Patch]
    ) -> np.ndarray:
        for item, patch in zip(items, patches, strict=True):
            if patch.redrawn:
                frame = self.embedder.embed(frame, item.face.regions, item.index)
        return frame


def frame_marker(request: Any) -> FrameMark:
    """The per-frame step for ``request`` (a :class:`~lipdub.pipeline.request.DubRequest`)."""
    if not getattr(request, "mark", True):
        return no_mark
    return FrameMarker(Embedder(payload.encode()))


def facts_for(request: Any, generator: str) -> manifest.DubFacts:
    """What the marks say about a dub of ``request`` with ``generator``."""
    checkpoint = getattr(request, "checkpoint", None)
    model = Path(checkpoint).name if checkpoint else None
    return manifest.DubFacts(generator=generator, model=model, source=Path(request.video))


def signing_key_for(request: Any) -> keys.SigningKey:
    """The key the manifest is signed with (InputError for a bad ``--sign-cert/-key``)."""
    return keys.signing_key(getattr(request, "sign_cert", None), getattr(request, "sign_key", None))


def writer_options(
    request: Any, generator: str, output: Path, source_tags: dict[str, str] | None = None
) -> dict[str, Any]:
    """``VideoWriter`` keyword arguments: the metadata (the source's ``source_tags`` plus
    lipdub's) and the finishing step (XMP packet and C2PA manifest)."""
    kept = tags.kept_source_tags(source_tags)
    if not getattr(request, "mark", True):
        return {"metadata": kept}
    facts = facts_for(request, generator)
    options: dict[str, Any] = {"metadata": {**kept, **tags.container_tags(facts)}}
    if manifest.can_embed(Path(output)):
        key = signing_key_for(request)

        def finish(finished: Path) -> None:
            tags.append_xmp(finished, tags.xmp_packet(facts))
            manifest.sign(finished, facts, key, title=Path(output).name)

        options["finish"] = finish
    return options


def summary_line(request: Any, output: Path | None = None) -> str:
    """One line for the dub's summary: what marks the output carries."""
    if not getattr(request, "mark", True):
        return "unmarked (--no-mark): no C2PA manifest, watermark or tags"
    target = Path(output or request.output or "out.mp4")
    if not manifest.can_embed(target):
        return (
            f"watermark and tags; no C2PA manifest ({target.suffix or 'this'} files cannot "
            "hold one: write .mp4 or .mov for content credentials)"
        )
    if getattr(request, "sign_cert", None):
        signer = f"signed with {Path(request.sign_cert).name}"
    else:
        signer = (
            f"signed with this installation's local key ({keys.signing_dir()}), which "
            "validators report as an untrusted signer; pass --sign-cert/--sign-key to use yours"
        )
    return f"C2PA manifest ({signer}), invisible watermark and XMP/MP4 tags"
