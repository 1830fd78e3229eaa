"""The ONNX face restorers, maskers and Wav2Lip exports, registered for ``lipdub models pull``.

Facts as published (see docs/hq.md): a SHA-256 where the publisher or a reference loader
gives one; FaceFusion publishes CRC-32 only, so its files are checked by size (or presence,
size 0, where no size is published). A dub never downloads: local files by path always work.
"""

from __future__ import annotations

from collections.abc import Callable

from lipdub.hookspecs import hookimpl
from lipdub.weights.spec import WeightSpec

_FF_GITHUB = "https://github.com/facefusion/facefusion-assets/releases/download"
_FUO = "https://github.com/harisreedhar/Face-Upscalers-ONNX/releases/download/Models"
_VISO = "https://github.com/visomaster/visomaster-assets/releases/download/v0.1.0"
_PARSING = "https://github.com/yakhyo/face-parsing/releases/download/weights"

_GFPGAN = "GFPGAN (TencentARC): Apache-2.0."
_CODEFORMER = "CodeFormer (sczhou): S-Lab License 1.0, non-commercial use."
_GPEN = "GPEN (yangxy): non-commercial use only."
_RESTOREFORMER = "RestoreFormer / RestoreFormer++ (wzhouxiff): Apache-2.0."
_XSEG = "XSeg (DeepFaceLab lineage, FaceFusion export): GPL-3.0."
_BISENET = "BiSeNet face parsing (yakhyo): MIT."
_WAV2LIP = "Wav2Lip (Rudrabha): research / non-commercial use; FaceFusion ONNX export."


def _fuo(name: str, filename: str, sha256: str, size: int, what: str, licence: str,
         used_by: str) -> WeightSpec:  # fmt: skip
    return WeightSpec(name=name, filename=filename, sha256=sha256, size=size, repos=(),
                      urls=(f"{_FUO}/{filename}",), description=what, licence=licence,
                      used_by=(used_by,), option="--checkpoint-enhancer")  # fmt: skip


def _facefusion(name: str, tag: str, filename: str, size: int, what: str, licence: str,
                used_by: str, option: str) -> WeightSpec:  # fmt: skip
    return WeightSpec(name=name, filename=filename, sha256="", size=size,
                      repos=(f"facefusion/{tag}",), urls=(f"{_FF_GITHUB}/{tag}/{filename}",),
                      description=what, licence=licence, used_by=(used_by,),
                      option=option)  # fmt: skip


_MASKER_OPTION = "--option masker.{}.model="

ONNX_FACE_WEIGHTS = (
    _fuo("gfpgan-1.2", "GFPGANv1.2.onnx",
         "9a01802f3bb17cae81698622c925589b6aeb9abfd79f227d44309048d51b8a7b", 340_256_690,
         "GFPGAN v1.2 face restorer (ONNX, 512 px)", _GFPGAN, "gfpgan"),
    _fuo("gfpgan-1.3", "GFPGANv1.3.onnx",
         "9408fdec7998371128c7f733c94789e0da44804c9348f87efba772ca19541a8c", 340_256_690,
         "GFPGAN v1.3 face restorer (ONNX, 512 px)", _GFPGAN, "gfpgan"),
    _fuo("gfpgan-1.4", "GFPGANv1.4.onnx",
         "6548e54cbcf248af385248f0c1193b359c37a0f98b836282b09cf48af4fd2b73", 340_256_690,
         "GFPGAN v1.4 face restorer (ONNX, 512 px; --quality hq's first choice)", _GFPGAN,
         "gfpgan"),
    _fuo("codeformer", "codeformer.onnx",
         "a1a03d62686b92fa217408cad64c6ca37aaf2788ac340693a926e6361c58e36c", 377_000_000,
         "CodeFormer face restorer with fidelity input (ONNX, 512 px)", _CODEFORMER,
         "codeformer"),
    _fuo("gpen-bfr-256", "GPEN-BFR-256.onnx",
         "aa5bd3ab238640a378c59e4a560f7a7150627944cf2129e6311ae4720e833271", 75_715_262,
         "GPEN-BFR 256 face restorer (ONNX)", _GPEN, "gpen"),
    _fuo("gpen-bfr-512", "GPEN-BFR-512.onnx",
         "0960f836488735444d508b588e44fb5dfd19c68fde9163ad7878aa24d1d5115e", 284_250_449,
         "GPEN-BFR 512 face restorer (ONNX)", _GPEN, "gpen"),
    WeightSpec(name="gpen-bfr-1024", filename="GPEN-BFR-1024.onnx",
               sha256="cec8892093d7b99828acde97bf231fb0964d3fb11b43f3b0951e36ef1e192a3e",
               size=285_101_993, repos=(), urls=(f"{_VISO}/GPEN-BFR-1024.onnx",),
               description="GPEN-BFR 1024 face restorer (ONNX)", licence=_GPEN,
               used_by=("gpen",), option="--checkpoint-enhancer"),
    WeightSpec(name="gpen-bfr-2048", filename="GPEN-BFR-2048.onnx",
               sha256="d0229ff43f979c360bd19daa9cd0ce893722d59f41a41822b9223ebbe4f89b3e",
               size=285_469_146, repos=(), urls=(f"{_VISO}/GPEN-BFR-2048.onnx",),
               description="GPEN-BFR 2048 face restorer (ONNX)", licence=_GPEN,
               used_by=("gpen",), option="--checkpoint-enhancer"),
    _fuo("restoreformer", "restoreformer.onnx",
         "ca44c1c63642078c6f4daf5645421e6daa4a640440597af836e2d332982cf3d4", 292_022_041,
         "RestoreFormer (v1) face restorer (ONNX, 512 px)", _RESTOREFORMER, "restoreformer"),
    _facefusion("restoreformer-plus-plus", "models-3.0.0", "restoreformer_plus_plus.onnx",
                294_264_812, "RestoreFormer++ face restorer (ONNX, 512 px; size checked)",
                _RESTOREFORMER, "restoreformer", "--checkpoint-enhancer"),
    _facefusion("xseg-1", "models-3.1.0", "xseg_1.onnx", 70_300_000,
                "XSeg occluder mask (ONNX, 256 px; size checked)", _XSEG, "occlusion",
                _MASKER_OPTION.format("occlusion")),
    _facefusion("xseg-2", "models-3.1.0", "xseg_2.onnx", 70_300_000,
                "XSeg occluder mask, second model (ONNX; size checked)", _XSEG, "occlusion",
                _MASKER_OPTION.format("occlusion")),
    _facefusion("xseg-3", "models-3.2.0", "xseg_3.onnx", 70_300_000,
                "XSeg occluder mask, third model (ONNX; size checked)", _XSEG, "occlusion",
                _MASKER_OPTION.format("occlusion")),
    WeightSpec(name="bisenet-resnet-34", filename="resnet34.onnx",
               sha256="5b805bba7b5660ab7070b5a381dcf75e5b3e04199f1e9387232a77a00095102e",
               size=93_600_000, repos=(), urls=(f"{_PARSING}/resnet34.onnx",),
               description="BiSeNet ResNet-34 face parsing (ONNX, 512 px)", licence=_BISENET,
               used_by=("parsing",), option=_MASKER_OPTION.format("parsing")),
    WeightSpec(name="bisenet-resnet-18", filename="resnet18.onnx",
               sha256="0d9bd318e46987c3bdbfacae9e2c0f461cae1c6ac6ea6d43bbe541a91727e33f",
               size=53_200_000, repos=(), urls=(f"{_PARSING}/resnet18.onnx",),
               description="BiSeNet ResNet-18 face parsing (ONNX, 512 px)", licence=_BISENET,
               used_by=("parsing",), option=_MASKER_OPTION.format("parsing")),
    _facefusion("wav2lip-96-onnx", "models-3.0.0", "wav2lip_96.onnx", 0,
                "Wav2Lip 96 px generator as ONNX (FaceFusion; presence checked)", _WAV2LIP,
                "wav2lip-onnx", "--checkpoint"),
    _facefusion("wav2lip-gan-96-onnx", "models-3.0.0", "wav2lip_gan_96.onnx", 0,
                "Wav2Lip GAN 96 px generator as ONNX (FaceFusion; presence checked)", _WAV2LIP,
                "wav2lip-onnx", "--checkpoint"),
)  # fmt: skip


@hookimpl
def register_weights(register: Callable[[WeightSpec], None]) -> None:
    for spec in ONNX_FACE_WEIGHTS:
        register(spec)
