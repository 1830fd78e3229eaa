"""Install the ``face-alignment`` wheel from the package index without a second OpenCV.

Every release of face-alignment declares ``opencv-python``, but lipdub keeps exactly one
OpenCV distribution, ``opencv-contrib-python`` (mediapipe needs it; both install the same
``cv2`` module). This script downloads the published wheel, changes nothing in its code and
rewrites one line of its metadata, ``Requires-Dist: opencv-python``, to the contrib build
that provides the same ``cv2``, then installs it with ``--no-deps`` (its other requirements
are declared by the lipdub-face-alignment distribution). ``pip check`` then stays clean.

Usage: ``python install_face_alignment.py`` (does nothing when it is already installed).
"""

from __future__ import annotations

import base64
import hashlib
import subprocess
import sys
import tempfile
import zipfile
from importlib import metadata
from pathlib import Path

VERSION = "1.5.0"
FROM, TO = "Requires-Dist: opencv-python", "Requires-Dist: opencv-contrib-python"


def _installed() -> bool:
    try:
        dist = metadata.distribution("face-alignment")
    except metadata.PackageNotFoundError:
        return False
    requires = dist.requires or []
    return dist.version == VERSION and not any(r.strip() == "opencv-python" for r in requires)


def _record_hash(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
    return f"sha256={digest.decode()},{len(data)}"


def _rewrite(wheel: Path, out: Path) -> Path:
    """A copy of ``wheel`` in ``out`` with the OpenCV requirement renamed (RECORD updated)."""
    target = out / wheel.name
    with zipfile.ZipFile(wheel) as src, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as dst:
        names = src.namelist()
        meta_name = next(n for n in names if n.endswith(".dist-info/METADATA"))
        record_name = next(n for n in names if n.endswith(".dist-info/RECORD"))
        lines = src.read(meta_name).decode().splitlines(keepends=True)
        changed = [TO + line[len(FROM) :] if line.rstrip() == FROM else line for line in lines]
        meta = "".join(changed).encode()
        record = []
        for row in src.read(record_name).decode().splitlines():
            if row.startswith(meta_name + ","):
                row = f"{meta_name},{_record_hash(meta)}"
            record.append(row)
        for name in names:
            if name == meta_name:
                dst.writestr(name, meta)
            elif name == record_name:
                dst.writestr(name, "\n".join(record) + "\n")
            else:
                dst.writestr(src.getinfo(name), src.read(name))
    return target


def main() -> int:
    if _installed():
        return 0
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check"]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        subprocess.run(
            [*pip, "download", "-q", "--no-deps", "--only-binary", ":all:", "-d", tmp,
             f"face-alignment=={VERSION}"],
            check=True,
        )  # fmt: skip
        wheel = next(folder.glob("face_alignment-*.whl"))
        (folder / "out").mkdir()
        patched = _rewrite(wheel, folder / "out")
        subprocess.run([*pip, "install", "-q", "--no-deps", str(patched)], check=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
