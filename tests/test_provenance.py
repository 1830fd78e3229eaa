"""Provenance marks: payload coding, the watermark (embed/detect), signing keys, tags, writer."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import cv2
import numpy as np
import pytest

from lipdub import __version__
from lipdub.blenders.masks import lower_face_mask
from lipdub.errors import InputError
from lipdub.faces.regions import FaceRegions
from lipdub.media.probe import probe
from lipdub.media.writer import VideoWriter
from lipdub.provenance import keys, payload, tags
from lipdub.provenance.detect import FOUND_Z, MIN_FRAMES, Detector
from lipdub.provenance.manifest import DubFacts
from lipdub.provenance.watermark import Embedder

SIZE = 256


@pytest.fixture(autouse=True)
def _own_signing_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(keys.KEY_DIR_ENV, str(tmp_path / "signing"))


def face_regions(cx: float, cy: float, scale: float = 1.0) -> FaceRegions:
    """Regions of a frontal face: oval 70x90 half-axes, eyes 60 px apart (times ``scale``)."""

    def ellipse(x: float, y: float, w: float, h: float, degrees: np.ndarray) -> np.ndarray:
        t = np.radians(degrees)
        return np.stack([x + w * np.cos(t), y + h * np.sin(t)], axis=1) * scale

    oval = ellipse(cx, cy, 70, 90, -90 + 10 * np.arange(36))
    jaw = ellipse(cx, cy, 70, 90, 180 - 9 * np.arange(21))
    outer = ellipse(cx, cy + 42, 22, 8, 180 - 18 * np.arange(20))
    inner = ellipse(cx, cy + 42, 16, 3, 180 - 18 * np.arange(20))
    return FaceRegions.build(
        oval=oval,
        jaw=jaw,
        lips_outer=outer,
        lips_inner=inner,
        nose_tip=np.array([cx, cy + 8]) * scale,
        nose_base=np.array([cx, cy + 20]) * scale,
        nose_alae=np.array([[cx - 12, cy + 16], [cx + 12, cy + 16]]) * scale,
        eyes=np.array([[cx - 30, cy - 25], [cx + 30, cy - 25]]) * scale,
    )


def host_frames(count: int, seed: int = 0) -> list[np.ndarray]:
    """A static textured face-like picture with per-frame noise and a moving mouth."""
    rng = np.random.default_rng(seed)
    base = cv2.GaussianBlur(rng.normal(140, 40, (SIZE, SIZE)).astype(np.float32), (0, 0), 3)
    frames = []
    for i in range(count):
        frame = base + rng.normal(0, 2.0, base.shape).astype(np.float32)
        opening = int(3 + 3 * np.sin(i / 2.0))
        cv2.ellipse(frame, (SIZE // 2, 112 + 42), (20, opening), 0, 0, 360, 60, -1)
        frames.append(np.repeat(np.clip(frame, 0, 255).astype(np.uint8)[..., None], 3, axis=2))
    return frames


def detect(frames: list[np.ndarray], regions: FaceRegions) -> Detector:
    detector = Detector()
    for index, frame in enumerate(frames):
        detector.add(frame, regions, index)
    return detector


def test_payload_round_trip_and_check() -> None:
    code = payload.encode("1.2.3")
    assert len(code) == payload.CODE_BITS
    found = payload.decode(code)
    assert found is not None and found.is_lipdub and found.version == (1, 2, 3)
    assert payload.decode(payload.encode()).version_text == __version__
    broken = code.copy()
    broken[20] ^= 1
    assert payload.decode(broken) is None
    every = payload.all_codewords()
    assert (every[(1 << 12) | (2 << 6) | 3] == code).all()
    # The code is linear (plus an offset): its distance is the lightest non-zero word.
    weights = (every[1:] ^ every[0]).sum(axis=1)
    assert weights.min() >= payload.MIN_DISTANCE


def test_watermark_is_found_in_any_excerpt_and_invisible() -> None:
    regions = face_regions(SIZE / 2, 112)
    frames = host_frames(96)
    embedder = Embedder(payload.encode())
    marked = [embedder.embed(frame.copy(), regions, i) for i, frame in enumerate(frames)]
    region = lower_face_mask(regions, (SIZE, SIZE)) > 0.5
    error = np.mean(
        [(m[region].astype(float) - f[region]) ** 2 for m, f in zip(marked, frames, strict=True)]
    )
    assert 10 * np.log10(255**2 / error) >= 40.0
    outside = ~(lower_face_mask(regions, (SIZE, SIZE), dilate_px=3) > 0)
    assert all((m[outside] == f[outside]).all() for m, f in zip(marked, frames, strict=True))
    excerpt = detect(marked[17:], regions).report()  # starts mid-way: no start frame needed
    assert excerpt.found and excerpt.payload is not None
    assert excerpt.payload.version_text == __version__
    assert not detect(frames, regions).report().found
    short = detect(marked[: MIN_FRAMES - 1], regions).report()  # too few to measure noise
    assert not short.found and short.frames == MIN_FRAMES - 1


def test_watermark_survives_half_size() -> None:
    regions = face_regions(SIZE / 2, 112)
    embedder = Embedder(payload.encode())
    marked = [embedder.embed(f.copy(), regions, i) for i, f in enumerate(host_frames(72, 1))]
    half = [cv2.resize(m, (SIZE // 2, SIZE // 2), interpolation=cv2.INTER_AREA) for m in marked]
    report = detect(half, face_regions(SIZE / 2, 112, scale=0.5)).report()
    assert report.found and report.confidence > 2 * FOUND_Z


def test_local_key_is_private_and_reused(tmp_path: Path) -> None:
    first = keys.signing_key()
    assert first.local and first.algorithm == "es256"
    key_file = keys.signing_dir() / "key.pem"
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    assert keys.signing_key().private_key == first.private_key


def test_dubs_starting_at_once_share_one_local_key_pair(tmp_path: Path) -> None:
    """The first dubs of a batch (threads) and of two commands (processes) make the local key
    at the same moment: every one gets the same pair, whose certificate is the key's."""
    import subprocess
    import sys
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    folder = tmp_path / "signing"
    start = threading.Barrier(6)

    def make(_: int) -> keys.SigningKey:
        start.wait()
        return keys.local_key(folder)

    code = "import pathlib, sys; from lipdub.provenance import keys; "
    code += "keys.local_key(pathlib.Path(sys.argv[1]))"
    others = [subprocess.Popen([sys.executable, "-c", code, str(folder)]) for _ in range(2)]
    with ThreadPoolExecutor(6) as pool:
        made = list(pool.map(make, range(6)))
    assert [other.wait(60) for other in others] == [0, 0]
    again = keys.local_key(folder)
    assert {(k.certificate, k.private_key) for k in made} == {
        (again.certificate, again.private_key)
    }
    leaf = x509.load_pem_x509_certificates(again.certificate)[0]
    private = serialization.load_pem_private_key(again.private_key, None)
    public = serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    assert leaf.public_key().public_bytes(*public) == private.public_key().public_bytes(*public)
    assert sorted(p.name for p in folder.iterdir()) == [".lock", "certificate.pem", "key.pem"]


def test_sign_flags_are_checked(tmp_path: Path) -> None:
    cert = tmp_path / "cert.pem"
    cert.write_text("not a certificate")
    with pytest.raises(InputError, match="go together"):
        keys.signing_key(cert, None)
    with pytest.raises(InputError, match="not a PEM certificate"):
        keys.signing_key(cert, tmp_path / "cert.pem")
    with pytest.raises(InputError, match="--sign-key"):
        keys.signing_key(cert, tmp_path / "missing.pem")


def test_xmp_packet_round_trip(tmp_path: Path) -> None:
    video = tmp_path / "v.mp4"
    with VideoWriter(video, 32, 32, 25) as writer:
        for _ in range(3):
            writer.write(np.zeros((32, 32, 3), np.uint8))
    facts = DubFacts(generator="warp", model="w.pth")
    tags.append_xmp(video, tags.xmp_packet(facts))
    found = tags.xmp_facts(tags.read_xmp(video) or "")
    assert found["generator"] == "warp" and found["model"] == "w.pth"
    assert found["digital_source_type"].endswith("compositeWithTrainedAlgorithmicMedia")
    assert probe(video).n_frames == 3  # still a valid video


def test_writer_keeps_given_tags_and_finish_errors_leave_nothing(tmp_path: Path) -> None:
    video = tmp_path / "tagged.mp4"
    facts = DubFacts(generator="warp")
    kept = tags.kept_source_tags({"title": "Holiday", "major_brand": "isom"})
    assert kept == {"title": "Holiday"}
    with VideoWriter(video, 32, 32, 25, metadata={**kept, **tags.container_tags(facts)}) as w:
        w.write(np.zeros((32, 32, 3), np.uint8))
    metadata = probe(video).metadata
    assert metadata["title"] == "Holiday" and "lipdub" in metadata["comment"]

    def fail(path: Path) -> None:
        raise InputError("signing failed")

    failed = tmp_path / "failed.mp4"
    with pytest.raises(InputError), VideoWriter(failed, 32, 32, 25, finish=fail) as writer:
        writer.write(np.zeros((32, 32, 3), np.uint8))
    assert not failed.exists() and not any(p.name.startswith(".failed") for p in tmp_path.iterdir())


def tiny_video(path: Path, frames: int = 3) -> Path:
    with VideoWriter(path, 32, 32, 25) as writer:
        for i in range(frames):
            writer.write(np.full((32, 32, 3), 40 * i, np.uint8))
    return path


def test_manifest_says_algorithmic_edit_and_detects_tampering(tmp_path: Path) -> None:
    from lipdub.provenance import manifest

    source = tiny_video(tmp_path / "source.mp4")
    assert manifest.read(source).state == manifest.ABSENT
    dubbed = tiny_video(tmp_path / "dubbed.mp4")
    manifest.sign(dubbed, DubFacts("warp", source=source), keys.signing_key())
    found = manifest.read(dubbed)
    assert found.state == manifest.UNTRUSTED and found.synthetic
    assert found.actions == [manifest.OPENED, manifest.EDITED]
    assert found.digital_source_types == [manifest.DIGITAL_SOURCE_TYPE]
    assert found.parameters == {"generator": "warp"}
    assert found.claim_generator == f"lipdub {__version__}"
    assert found.ingredients == ["source.mp4"]
    # A dub of a dub: the first dub's manifest becomes the ingredient's.
    again = tiny_video(tmp_path / "again.mp4")
    manifest.sign(again, DubFacts("warp", source=dubbed), keys.signing_key())
    assert manifest.read(again).ingredients == ["dubbed.mp4" + manifest.CREDENTIALS]
    data = bytearray(dubbed.read_bytes())
    data[-200] ^= 0xFF  # a changed byte of the media data
    dubbed.write_bytes(bytes(data))
    assert manifest.read(dubbed).state == manifest.INVALID


def test_signing_that_needs_more_memory_than_is_free_fails_with_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lipdub.errors import OutputError
    from lipdub.provenance import manifest

    dubbed = tiny_video(tmp_path / "dubbed.mp4")
    before = dubbed.read_bytes()
    monkeypatch.setattr(manifest, "available_memory", lambda: dubbed.stat().st_size)
    with pytest.raises(OutputError, match="needs about .* MB of memory .*--no-mark") as error:
        manifest.sign(dubbed, DubFacts("warp"), keys.signing_key(), title="out.mp4")
    assert "\n" not in str(error.value) and str(error.value).startswith("out.mp4: ")
    assert dubbed.read_bytes() == before  # left as it was
    monkeypatch.setattr(manifest, "available_memory", lambda: None)  # unknown: sign
    manifest.sign(dubbed, DubFacts("warp"), keys.signing_key())
    assert manifest.read(dubbed).state == manifest.UNTRUSTED


def test_a_dub_that_cannot_be_signed_for_memory_leaves_no_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from lipdub.cli.app import main
    from lipdub.provenance import manifest
    from tests.conftest import make_talking_head, speech_like, write_wav

    video = make_talking_head(tmp_path / "face.mp4", seconds=1.0, size=160)
    audio = write_wav(tmp_path / "speech.wav", speech_like(1.0, seed=5))
    monkeypatch.setattr(manifest, "available_memory", lambda: 1000)
    out = tmp_path / "out.mp4"
    args = [str(video), "--audio", str(audio), "-g", "warp", "-q", "--no-cache", "-o", str(out)]
    assert main(args) != 0
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and "--no-mark" in error[0] and "Traceback" not in error[0]
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == ["face.mp4", "signing", "speech.wav"]  # no output, no hidden partial
