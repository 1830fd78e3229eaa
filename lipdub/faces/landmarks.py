"""Named index sets of the 468-point mediapipe face mesh.

The indices are facts of the mediapipe face-mesh topology (the connection sets in
``mediapipe.python.solutions.face_mesh_connections``). "Left"/"right" follow the *subject's*
side, as mediapipe names them: the subject's right eye is on the image's left in a frontal,
unmirrored view. Loops are ordered so that consecutive indices (and last -> first) are
mesh edges, ready to be used as polygons.

Only the mediapipe tracker (and the iBUG-68 mapping) use these indices: everything else reads
the tracker-independent :class:`~lipdub.faces.regions.FaceRegions` that
:func:`regions_from_mediapipe` builds.
"""

from __future__ import annotations

import numpy as np

from lipdub.faces.regions import FaceRegions

#: Number of points in the face mesh without iris refinement.
NUM_LANDMARKS = 468

#: Outer lip contour, closed loop: from the image-left mouth corner (61) along the lower lip
#: to the image-right corner (291), then back along the upper lip.
LIPS_OUTER: tuple[int, ...] = (
    61, 146, 91, 181, 84, 17, 314, 405, 321, 375,
    291, 409, 270, 269, 267, 0, 37, 39, 40, 185,
)  # fmt: skip

#: Inner lip contour (the mouth opening), closed loop: from the inner corner 78 along the
#: lower lip to 308, then back along the upper lip.
LIPS_INNER: tuple[int, ...] = (
    78, 95, 88, 178, 87, 14, 317, 402, 318, 324,
    308, 415, 310, 311, 312, 13, 82, 81, 80, 191,
)  # fmt: skip

#: Outer mouth corners: image-left (subject's right) and image-right (subject's left).
MOUTH_CORNER_RIGHT = 61
MOUTH_CORNER_LEFT = 291
#: Inner mouth corners.
MOUTH_INNER_CORNER_RIGHT = 78
MOUTH_INNER_CORNER_LEFT = 308
#: Middle of the upper/lower lip, on the inner contour (their distance = mouth opening).
UPPER_LIP_INNER_MID = 13
LOWER_LIP_INNER_MID = 14
#: Middle of the upper/lower lip, on the outer contour.
UPPER_LIP_OUTER_MID = 0
LOWER_LIP_OUTER_MID = 17

#: Face oval (silhouette), closed loop starting at the forehead top (10), running down the
#: image-right side to the chin (152) and up the image-left side.
FACE_OVAL: tuple[int, ...] = (
    10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288,
    397, 365, 379, 378, 400, 377, 152, 148, 176, 149, 150, 136,
    172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109,
)  # fmt: skip

#: Lower part of the face oval (jaw contour), open path from the image-right cheek (454)
#: down round the chin (152) to the image-left cheek (234).
JAW_CONTOUR: tuple[int, ...] = (
    454, 323, 361, 288, 397, 365, 379, 378, 400, 377, 152,
    148, 176, 149, 150, 136, 172, 58, 132, 93, 234,
)  # fmt: skip

#: Top of the forehead on the face oval, bottom of the chin.
FOREHEAD = 10
CHIN = 152
#: Widest points of the face oval: image-left (subject's right) and image-right cheek.
CHEEK_RIGHT = 234
CHEEK_LEFT = 454

#: Tip of the nose, the point just below it (above the upper lip) and the nose bridge
#: between the eyes.
NOSE_TIP = 1
NOSE_BOTTOM = 2
NOSE_BRIDGE = 168
#: Outer edges of the nostrils (alae): image-left, image-right.
NOSE_ALA_RIGHT = 98
NOSE_ALA_LEFT = 327

#: Eye contours, closed loops starting at the outer corner.
RIGHT_EYE: tuple[int, ...] = (
    33, 7, 163, 144, 145, 153, 154, 155, 133, 173, 157, 158, 159, 160, 161, 246,
)  # fmt: skip
LEFT_EYE: tuple[int, ...] = (
    263, 249, 390, 373, 374, 380, 381, 382, 362, 398, 384, 385, 386, 387, 388, 466,
)  # fmt: skip
#: Eye corners: outer/inner of each eye.
RIGHT_EYE_OUTER, RIGHT_EYE_INNER = 33, 133
LEFT_EYE_OUTER, LEFT_EYE_INNER = 263, 362

#: Eyebrows: upper edge from the outer end inwards (open paths).
RIGHT_EYEBROW_UPPER: tuple[int, ...] = (70, 63, 105, 66, 107)
LEFT_EYEBROW_UPPER: tuple[int, ...] = (300, 293, 334, 296, 336)
#: Eyebrows: lower edge from the outer end inwards (open paths).
RIGHT_EYEBROW_LOWER: tuple[int, ...] = (46, 53, 52, 65, 55)
LEFT_EYEBROW_LOWER: tuple[int, ...] = (276, 283, 282, 295, 285)


def regions_from_mediapipe(points: np.ndarray) -> FaceRegions:
    """The named regions of a face from its ``(468, 2)`` (or more, with irises) mesh points.

    The mesh's own contours already have the canonical counts and order, so the regions are
    the mesh points themselves (no resampling); eye centres are the means of the eye loops.
    """
    points = np.asarray(points, np.float32)
    return FaceRegions.build(
        oval=points[list(FACE_OVAL)],
        jaw=points[list(JAW_CONTOUR[::-1])],
        lips_outer=points[list(LIPS_OUTER)],
        lips_inner=points[list(LIPS_INNER)],
        nose_tip=points[NOSE_TIP],
        nose_base=points[NOSE_BOTTOM],
        nose_alae=points[[NOSE_ALA_RIGHT, NOSE_ALA_LEFT]],
        eyes=np.stack([points[list(RIGHT_EYE)].mean(axis=0), points[list(LEFT_EYE)].mean(axis=0)]),
    )
