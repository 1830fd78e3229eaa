"""The installed environment is consistent: one OpenCV, an ffmpeg, the console script."""

from __future__ import annotations

import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import lipdub


def test_exactly_one_opencv_distribution_provides_cv2() -> None:
    opencv = sorted(
        dist.metadata["Name"].lower()
        for dist in metadata.distributions()
        if dist.metadata["Name"] and dist.metadata["Name"].lower().startswith("opencv")
    )
    # mediapipe needs the contrib build; scenedetect is pinned to a series without an OpenCV
    # requirement, so nothing else installs a second cv2 over it.
    assert opencv == ["opencv-contrib-python"]
    import cv2

    assert hasattr(cv2, "ximgproc")  # a contrib module: the contrib build's cv2 is the one used
    files = metadata.distribution("opencv-contrib-python").files or []
    assert any(str(f).startswith("cv2/") for f in files)


def test_pip_check_is_clean() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pip", "check"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_ffmpeg_is_found_without_system_packages(monkeypatch) -> None:
    from lipdub.media.ffmpeg import find_ffmpeg

    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.delenv("LIPDUB_FFMPEG", raising=False)
    find_ffmpeg.cache_clear()
    try:
        path = find_ffmpeg()
    finally:
        find_ffmpeg.cache_clear()
    assert Path(path).is_file()


def test_console_script_runs() -> None:
    exe = shutil.which("lipdub", path=str(Path(sys.executable).parent))
    assert exe is not None
    result = subprocess.run([exe, "--version"], capture_output=True, text=True, check=False)
    assert result.returncode == 0
    assert result.stdout.strip() == f"lipdub {lipdub.__version__}"
