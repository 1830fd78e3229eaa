"""The registry of downloadable checkpoints, the local model cache, and weight resolution.

One function, :func:`resolve_weights`, decides which file a component loads: an explicit
``--checkpoint`` always wins, then the model cache; if neither exists it explains what to do.
Nothing is downloaded implicitly: ``lipdub models pull NAME`` is the only way in.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from lipdub.errors import DownloadError, InputError, WeightsMissingError
from lipdub.weights.download_check import check_online
from lipdub.weights.spec import (  # WeightSpec re-exported: the old import path
    SIZE_TOLERANCE,
    WeightSpec,
    normalise_name,
)


def lipdub_home() -> Path:
    """Root of lipdub's caches: ``$LIPDUB_HOME`` or the user cache directory."""
    env = os.environ.get("LIPDUB_HOME")
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("lipdub"))


def models_dir() -> Path:
    """Where pulled checkpoints live."""
    return lipdub_home() / "models"


def weight_specs() -> dict[str, WeightSpec]:
    """Every registered checkpoint by normalised name (a view of the plugin registry's
    ``weights``: built-ins and plugins' ``register_weights``)."""
    from lipdub.plugins import entries

    return {name: entry.value for name, entry in entries("weights").items()}


def get_spec(name: str) -> WeightSpec:
    """The spec called ``name``; :class:`InputError` listing the known names otherwise."""
    specs = weight_specs()
    key = normalise_name(name)
    if key not in specs:
        known = ", ".join(sorted(specs)) or "none"
        raise InputError(f"unknown model {name!r} (known: {known})")
    return specs[key]


def cached_path(spec: WeightSpec) -> Path:
    """Where a single-file ``spec`` lives in the model cache (whether or not it is there)."""
    return models_dir() / spec.filename


def local_path(spec: WeightSpec) -> Path | None:
    """The downloaded file (or snapshot folder) of ``spec``, or None if it is not local."""
    if spec.snapshot:
        from huggingface_hub import snapshot_download

        try:
            return Path(
                snapshot_download(
                    spec.repos[0],
                    allow_patterns=list(spec.snapshot_patterns),
                    local_files_only=True,
                )
            )
        except Exception:  # not in the Hugging Face cache
            return None
    path = cached_path(spec)
    return path if path.is_file() else None


def is_available(name: str) -> bool:
    """Whether the checkpoint ``name`` is downloaded."""
    return local_path(get_spec(name)) is not None


def resolve_weights(name: str | None, checkpoint: Path | str | None = None) -> Path:
    """The file to load: ``checkpoint`` if given, else the cached copy of ``name``.

    Raises :class:`WeightsMissingError` saying exactly which flag or command fixes it.
    """
    if checkpoint is not None:
        path = Path(checkpoint).expanduser()
        if not path.is_file():
            raise WeightsMissingError(f"checkpoint {path} does not exist or is not a file")
        return path
    if name is None:
        raise WeightsMissingError("this component needs a checkpoint: pass --checkpoint PATH")
    spec = get_spec(name)
    path = cached_path(spec)
    if path.is_file():
        return path
    source = spec.sources()[0] if spec.sources() else "no download source"
    raise WeightsMissingError(
        f"no local weights for {spec.name}: pass {spec.option} PATH to a {spec.filename}, "
        f"or run `lipdub models pull {spec.name}` while online "
        f"({spec.size_text}, from {source})"
    )


def sha256_of(path: Path, chunk: int = 1 << 20) -> str:
    """Hex SHA-256 of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


Downloader = Callable[[str, str, Path], Path]


def _hf_download(endpoint: str | None) -> Downloader:
    def download(repo_id: str, filename: str, dest_dir: Path) -> Path:
        from huggingface_hub import hf_hub_download

        return Path(hf_hub_download(repo_id, filename, local_dir=dest_dir, endpoint=endpoint))

    return download


def url_download(url: str, filename: str, dest_dir: Path) -> Path:
    """Fetch ``url`` to ``dest_dir/filename`` in 1 MiB blocks (no Hugging Face involved)."""
    import urllib.request

    target = dest_dir / filename
    with urllib.request.urlopen(url, timeout=60) as response, open(target, "wb") as handle:
        shutil.copyfileobj(response, handle, 1 << 20)
    return target


def _problem(spec: WeightSpec, got: Path) -> str | None:
    """Why a downloaded file is not ``spec``'s (None if it is)."""
    size = got.stat().st_size
    if not spec.sha256:
        if spec.size and abs(size - spec.size) > SIZE_TOLERANCE * spec.size:
            return f"got {size} bytes, expected about {spec.size} (no digest was published)"
        return None
    digest = sha256_of(got)
    if not digest.startswith(spec.sha256):  # a published prefix (torch hub names) or all
        expected = f"{spec.size} bytes, " if spec.size else ""
        return (
            f"wrong digest (got {size} bytes, sha256 {digest[:12]}…, "
            f"expected {expected}{spec.sha256[:12]}…)"
        )
    return None


def pull(
    name: str,
    *,
    force: bool = False,
    endpoint: str | None = None,
    downloader: Downloader | None = None,
) -> Path:
    """Download checkpoint ``name`` into the model cache, verifying size and SHA-256.

    Each hosting repository is tried in turn, then each plain address (``spec.urls``); a file
    with the wrong digest (some mirrors hold truncated copies) is discarded. Without a
    published digest only the size is checked. The file reaches the cache by a rename, never
    half-written. ``endpoint`` defaults to ``$LIPDUB_HF_ENDPOINT`` or the public hub.
    """
    spec = get_spec(name)
    endpoint = endpoint or os.environ.get("LIPDUB_HF_ENDPOINT")
    if spec.snapshot:
        check_online(spec, endpoint, "save the model with save_pretrained and pass --model DIR")
        return _pull_snapshot(spec, force=force, endpoint=endpoint)
    target = cached_path(spec)
    if target.is_file() and not force:
        return target
    if downloader is None:  # a given downloader (a test's, a mirror's) needs no network check
        by_hand = f"download {spec.filename} by hand and pass {spec.option} PATH"
        check_online(spec, endpoint, f"{by_hand}, or copy it to {target}")
    target.parent.mkdir(parents=True, exist_ok=True)
    download = downloader or _hf_download(endpoint)
    failures: list[str] = []
    sources = [(repo, download) for repo in spec.repos] + [(url, url_download) for url in spec.urls]
    for source, fetch in sources:
        staging = Path(tempfile.mkdtemp(prefix=".pull-", dir=target.parent))
        try:
            try:
                got = fetch(source, spec.filename, staging)
            except Exception as exc:  # network, missing file, auth...
                why = str(exc).splitlines()[0] if str(exc) else ""
                failures.append(f"{source}: {type(exc).__name__}: {why}")
                continue
            problem = _problem(spec, got)
            if problem is not None:
                failures.append(f"{source}: {problem}")
                continue
            os.replace(got, target)
            return target
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    tried = "; ".join(failures) or "no download source is registered"
    raise DownloadError(
        f"could not download {spec.filename} ({tried}); download it by hand and pass "
        f"{spec.option} PATH, or copy it to {target}"
    )


def _pull_snapshot(spec: WeightSpec, *, force: bool, endpoint: str | None) -> Path:
    """Download a model repository into the Hugging Face cache (where transformers finds it)."""
    from huggingface_hub import snapshot_download

    failures: list[str] = []
    for repo in spec.repos:
        try:
            folder = Path(
                snapshot_download(
                    repo,
                    allow_patterns=list(spec.snapshot_patterns),
                    force_download=force,
                    endpoint=endpoint or os.environ.get("LIPDUB_HF_ENDPOINT"),
                )
            )
        except Exception as exc:
            failures.append(f"{repo}: {type(exc).__name__}: {str(exc).splitlines()[0]}")
            continue
        if not (folder / "config.json").is_file():
            failures.append(f"{repo}: no config.json in the download")
            continue
        return folder
    raise DownloadError(
        f"could not download {spec.name} ({'; '.join(failures)}); save the model with "
        "save_pretrained to a folder and pass --model DIR"
    )
