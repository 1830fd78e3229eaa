"""The defaults of a dub, in one place (the CLI, requests, batch manifests and the pipeline
all read them from here)."""

from __future__ import annotations

#: ``--generator``: a neural generator when its weights are local, else the weight-free one.
GENERATOR = "auto"
#: ``--blender``: the feathered lower-face mask.
BLENDER = "mask"
#: ``--tracker``.
TRACKER = "mediapipe"
#: ``--face``: which face to redraw when there are several (the one that moves with the
#: source audio; the largest when none does or there is no audio). See README "Faces".
FACE = "speaker"
#: ``--pads TOP BOTTOM LEFT RIGHT``: Wav2Lip's default grows the box 10 px at the bottom.
PADS: tuple[int, int, int, int] = (0, 10, 0, 0)
#: ``--scene-threshold``: PySceneDetect's content-detector threshold.
SCENE_THRESHOLD = 27.0
#: ``--fps`` for a still image.
STILL_FPS = 25.0
#: Sample rate the pipeline analyses audio at.
ANALYSIS_SAMPLE_RATE = 16000
#: ``--codec``, ``--preset``, ``--crf``: the output's video encoder. Measured on 720p
#: (benchmarks/bench_pipeline.py --encoders): veryfast at CRF 15 gives the picture within
#: 0.3 dB PSNR of medium at CRF 18, in a file of the same size, for half the encoder CPU.
ENCODER_CODEC = "libx264"
ENCODER_PRESET = "veryfast"
ENCODER_CRF = 15
