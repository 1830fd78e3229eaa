"""The checkpoint registry: resolution, messages, and pulling from a local hub."""

from __future__ import annotations

import dataclasses
import hashlib
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from lipdub import plugins
from lipdub.cli.app import main
from lipdub.errors import DownloadError, WeightsMissingError
from lipdub.hookspecs import hookimpl
from lipdub.weights.registry import WeightSpec, pull, resolve_weights

PAYLOAD = b"tiny checkpoint bytes " * 100
SPEC = WeightSpec(
    name="tiny-test",
    filename="tiny.pth",
    sha256=hashlib.sha256(PAYLOAD).hexdigest(),
    size=len(PAYLOAD),
    repos=("mirror/truncated", "owner/good"),
    description="test weights",
)


class _TestWeights:
    @hookimpl
    def register_weights(self, register):
        register(SPEC)


@pytest.fixture
def tiny_spec(fresh_plugins) -> Iterator[WeightSpec]:
    plugins.load_plugins()
    plugins.register_plugin(_TestWeights(), name="test-weights")
    yield SPEC


class _Hub(http.server.BaseHTTPRequestHandler):
    """Answers like the hub's `resolve` endpoint for the files in ``FILES``."""

    FILES: dict[str, bytes] = {
        "/mirror/truncated/resolve/main/tiny.pth": PAYLOAD[:100],
        "/owner/good/resolve/main/tiny.pth": PAYLOAD,
    }
    hits: list[str] = []

    def _send(self, body: bool) -> None:
        data = self.FILES.get(self.path)
        self.hits.append(f"{self.command} {self.path}")
        if data is None:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("ETag", '"' + hashlib.sha256(data).hexdigest() + '"')
        self.send_header("X-Repo-Commit", "0" * 40)
        self.end_headers()
        if body:
            self.wfile.write(data)

    def do_HEAD(self) -> None:  # noqa: N802 - http.server API
        self._send(body=False)

    def do_GET(self) -> None:  # noqa: N802
        self._send(body=True)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def local_hub(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    import huggingface_hub.constants

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Hub)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Hub.hits.clear()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()


def test_checkpoint_flag_wins(tmp_path: Path, tiny_spec) -> None:
    ckpt = tmp_path / "mine.pth"
    ckpt.write_bytes(b"x")
    assert resolve_weights("tiny-test", ckpt) == ckpt
    with pytest.raises(WeightsMissingError, match="does not exist"):
        resolve_weights("tiny-test", tmp_path / "missing.pth")


def test_missing_weights_say_how_to_get_them(tiny_spec) -> None:
    with pytest.raises(WeightsMissingError) as info:
        resolve_weights("tiny_test")
    message = str(info.value)
    assert "--checkpoint" in message and "lipdub models pull tiny-test" in message
    assert "\n" not in message


def test_pull_skips_a_truncated_mirror_and_verifies(local_hub: str, tiny_spec) -> None:
    path = pull("tiny-test", endpoint=local_hub)
    assert path.read_bytes() == PAYLOAD
    assert any("mirror/truncated" in hit for hit in _Hub.hits)
    assert resolve_weights("tiny-test") == path
    assert not any(p.name.startswith(".pull-") for p in path.parent.iterdir())


def test_pull_fails_cleanly_when_no_source_has_it(local_hub: str, tiny_spec, monkeypatch) -> None:
    monkeypatch.setattr(_Hub, "FILES", {"/mirror/truncated/resolve/main/tiny.pth": b"junk"})
    with pytest.raises(DownloadError, match="wrong digest.*pass --checkpoint PATH"):
        pull("tiny-test", endpoint=local_hub)
    assert not (Path(resolve_weights.__globals__["models_dir"]()) / "tiny.pth").exists()


def test_models_cli(local_hub: str, tiny_spec, monkeypatch, capsys) -> None:
    assert main(["models", "path", "tiny-test"]) != 0
    assert "lipdub models pull tiny-test" in capsys.readouterr().err
    monkeypatch.setenv("LIPDUB_HF_ENDPOINT", local_hub)
    assert main(["models", "pull", "tiny-test"]) == 0
    pulled = capsys.readouterr().out.strip()
    assert main(["models", "path", "tiny-test"]) == 0
    assert capsys.readouterr().out.strip() == pulled
    assert main(["models", "list", "--json"]) == 0
    assert '"cached": true' in capsys.readouterr().out


def fake_hf_snapshot(hf_home: Path, repo: str) -> Path:
    """Lay out a model in the Hugging Face cache the way a download leaves it."""
    commit = "1" * 40
    root = hf_home / "hub" / ("models--" + repo.replace("/", "--"))
    snapshot = root / "snapshots" / commit
    snapshot.mkdir(parents=True)
    (root / "refs").mkdir()
    (root / "refs" / "main").write_text(commit)
    (snapshot / "config.json").write_text("{}")
    return snapshot


def test_model_repositories_are_found_in_the_hf_cache(capsys, monkeypatch, tmp_path) -> None:
    import huggingface_hub.constants as hf_constants

    hf_home = tmp_path / "hf"
    monkeypatch.setattr(hf_constants, "HF_HUB_CACHE", str(hf_home / "hub"))
    assert main(["models", "path", "hubert-base"]) != 0
    assert "lipdub models pull hubert-base" in capsys.readouterr().err
    snapshot = fake_hf_snapshot(hf_home, "facebook/hubert-base-ls960")
    assert main(["models", "path", "hubert-base"]) == 0
    assert Path(capsys.readouterr().out.strip()) == snapshot


class _Files(http.server.BaseHTTPRequestHandler):
    """A plain web server (not a hub) holding ``FILES``."""

    FILES: dict[str, bytes] = {}

    def do_GET(self) -> None:  # noqa: N802
        data = self.FILES.get(self.path)
        self.send_response(200 if data is not None else 404)
        self.send_header("Content-Length", str(len(data or b"")))
        self.end_headers()
        self.wfile.write(data or b"")

    def log_message(self, *args) -> None:
        pass


URL_SPEC = WeightSpec(
    name="url-test",
    filename="plain.pt",
    sha256="",
    size=len(PAYLOAD),
    repos=(),
    licence="test licence",
    option="--my-weights",
)


def test_pull_from_a_plain_url_without_digest(tmp_path, fresh_plugins, monkeypatch, capsys):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Files)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    spec = dataclasses.replace(URL_SPEC, urls=(f"{base}/gone.pt", f"{base}/w/plain.pt"))

    class _UrlWeights:
        @hookimpl
        def register_weights(self, register):
            register(spec)

    monkeypatch.setattr(_Files, "FILES", {"/w/plain.pt": PAYLOAD[:10]})
    try:
        plugins.register_plugin(_UrlWeights(), name="url-weights")
        with pytest.raises(WeightsMissingError, match="pass --my-weights PATH.*from http://"):
            resolve_weights("url-test")
        with pytest.raises(DownloadError, match="HTTPError.*no digest was published") as info:
            pull("url-test")  # the first address is missing, the second holds a short file
        assert "pass --my-weights PATH" in str(info.value)
        monkeypatch.setattr(_Files, "FILES", {"/w/plain.pt": PAYLOAD})
        assert main(["models", "pull", "url-test"]) == 0
        captured = capsys.readouterr()
        assert f"source: {base}/gone.pt" in captured.err and "Hugging Face" not in captured.err
        assert "no digest was published for plain.pt" in captured.err
        path = Path(captured.out.strip())
        assert path.read_bytes() == PAYLOAD and resolve_weights("url-test") == path
        assert not any(p.name.startswith(".pull-") for p in path.parent.iterdir())
    finally:
        server.shutdown()


def test_pull_checks_a_published_digest_prefix(tmp_path, fresh_plugins, monkeypatch) -> None:
    # torch hub names carry the first digits of the SHA-256 (FAN's 2DFAN4-11f355bf06.pth.tar)
    monkeypatch.setenv("LIPDUB_HOME", str(tmp_path / "home"))
    prefix = hashlib.sha256(PAYLOAD).hexdigest()[:10]
    mirrors = {name: tmp_path / name / f"net-{prefix}.pth" for name in ("bad", "good")}
    for name, path in mirrors.items():
        path.parent.mkdir()
        path.write_bytes(PAYLOAD if name == "good" else PAYLOAD[::-1])
    spec = dataclasses.replace(
        URL_SPEC, name="prefix-test", filename=f"net-{prefix}.pth", sha256=prefix, size=0,
        urls=(mirrors["bad"].as_uri(), mirrors["good"].as_uri()),
    )  # fmt: skip

    class _PrefixWeights:
        @hookimpl
        def register_weights(self, register):
            register(spec)

    plugins.register_plugin(_PrefixWeights(), name="prefix-weights")
    assert pull("prefix-test").read_bytes() == PAYLOAD  # the reversed copy was refused
    spec_bad = dataclasses.replace(spec, name="prefix-bad", urls=(mirrors["bad"].as_uri(),))

    class _BadWeights:
        @hookimpl
        def register_weights(self, register):
            register(spec_bad)

    plugins.register_plugin(_BadWeights(), name="prefix-bad")
    with pytest.raises(DownloadError, match=f"wrong digest.*expected {prefix}"):
        pull("prefix-bad", force=True)  # same file name as the one now cached
