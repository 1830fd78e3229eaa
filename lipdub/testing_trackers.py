"""Face trackers for tests: prove that nothing downstream depends on mediapipe's mesh.

:class:`Ibug68TestTracker` runs the mediapipe tracker and keeps only the 68 iBUG points
nearest to its mesh, so its faces look like those of a 68-point landmark detector. It is not
a built-in: register this module in a test, e.g. ``lipdub_plugins.register(testing_trackers,
name="ibug68-test")``, then use ``--tracker ibug68-test``.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from lipdub.components import FaceTracker
from lipdub.faces.boxes import landmarks_box
from lipdub.faces.ibug68 import ibug68_from_mediapipe, regions_from_ibug68
from lipdub.faces.mediapipe_tracker import MediapipeTracker
from lipdub.hookspecs import hookimpl
from lipdub.types import Face


class Ibug68TestTracker(FaceTracker):
    """The mediapipe tracker's faces with 68 iBUG landmarks and regions built from those only.

    Takes the mediapipe tracker's options.
    """

    name: ClassVar[str] = "ibug68-test"
    description: ClassVar[str] = "Test only: mediapipe faces reduced to 68 iBUG landmarks."
    Options = MediapipeTracker.Options

    def __init__(self, options: Any = None, **values: Any) -> None:
        super().__init__(options, **values)
        self._mesh = MediapipeTracker(self.options)

    def detect(self, frame: np.ndarray) -> list[Face]:
        """Faces in ``frame``: ``landmarks`` ``(68, 2)`` and regions (clipped to the frame)
        from them, or neither."""
        faces = []
        height, width = frame.shape[:2]
        for face in self._mesh.detect(frame):
            if face.landmarks is None:
                faces.append(Face(box=face.box, score=face.score))
                continue
            points = ibug68_from_mediapipe(face.landmarks)
            regions = regions_from_ibug68(points).clipped(width, height)
            box = landmarks_box(np.concatenate([points, regions.oval]))
            faces.append(Face(box=box, landmarks=points, score=face.score, regions=regions))
        return faces

    def reset(self) -> None:
        self._mesh.reset()

    def close(self) -> None:
        self._mesh.close()


@hookimpl
def register_face_trackers(register: Any) -> None:
    """Register the 68-point test tracker (only when a test registers this module)."""
    register(Ibug68TestTracker)
