"""Failing fast when ``lipdub models pull`` cannot reach any download host.

Without this, an offline pull waits through every mirror's retries (over a minute, dozens
of log lines). One short connection attempt per host (in parallel, :data:`CONNECT_SECONDS`
at most) decides first; the pull then fails with one line when none answered.
"""

from __future__ import annotations

import os
import socket
import threading
from urllib.parse import urlsplit

from lipdub.errors import DownloadError
from lipdub.weights.spec import WeightSpec

#: Longest wait for any host to accept a connection (name lookup included).
CONNECT_SECONDS = 3.0
DEFAULT_HUB = "https://huggingface.co"
#: Environment variables that tell the Hugging Face client to stay offline.
OFFLINE_ENV = ("HF_HUB_OFFLINE", "LIPDUB_OFFLINE")


def download_hosts(
    spec: WeightSpec, endpoint: str | None = None, hub: bool = True
) -> list[tuple[str, int]]:
    """``(host, port)`` of every place ``spec`` is downloaded from (``hub``: with the
    Hugging Face endpoint of its repositories); local ``file:`` addresses have none."""
    hosts: list[tuple[str, int]] = []
    urls = ([endpoint or DEFAULT_HUB] if spec.repos and hub else []) + list(spec.urls)
    for url in urls:
        parts = urlsplit(url)
        if parts.hostname:
            port = parts.port or (80 if parts.scheme == "http" else 443)
            if (parts.hostname, port) not in hosts:
                hosts.append((parts.hostname, port))
    return hosts


def _offline_flag() -> str | None:
    for name in OFFLINE_ENV:
        if os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on"):
            return name
    return None


def reachable(hosts: list[tuple[str, int]], seconds: float = CONNECT_SECONDS) -> bool:
    """Whether any of ``hosts`` accepts a TCP connection within ``seconds``."""
    answered = threading.Event()

    def attempt(host: str, port: int) -> None:
        try:
            with socket.create_connection((host, port), timeout=seconds):
                answered.set()
        except OSError:
            pass

    threads = [
        threading.Thread(target=attempt, args=host, daemon=True, name="lipdub-reach")
        for host in hosts
    ]
    for thread in threads:
        thread.start()
    remaining = seconds
    for thread in threads:  # done as soon as one answers, or all have failed
        thread.join(timeout=max(0.0, remaining))
        if answered.is_set():
            return True
    return answered.is_set()


def check_online(spec: WeightSpec, endpoint: str | None, where: str) -> None:
    """DownloadError (one line) when the download of ``spec`` cannot start: the Hugging Face
    client is told to stay offline and there is no other source, or no host answers.
    ``where`` says how to install the file by hand."""
    flag = _offline_flag()
    if flag is not None and not spec.urls:
        raise DownloadError(f"{flag} is set, so {spec.name} cannot be downloaded; {where}")
    hosts = download_hosts(spec, endpoint, hub=flag is None)
    local = any(url.startswith("file:") for url in spec.urls)
    if hosts and not local and not reachable(hosts):
        names = ", ".join(host for host, _ in hosts)
        raise DownloadError(f"cannot reach {names} (offline?) to download {spec.name}; {where}")
