"""PSNR / SSIM against a reference frame, and FID from a local Inception network.

SSIM is the standard one (Wang et al. 2004): an 11-tap Gaussian window (sigma 1.5, truncated
at 3.5 sigma), K1 = 0.01, K2 = 0.03, 8-bit data range, population covariances, averaged over
the image without the 5-pixel border and over the three colour channels (what
``skimage.metrics.structural_similarity(..., gaussian_weights=True, sigma=1.5,
use_sample_covariance=False, channel_axis=-1, data_range=255)`` computes).

FID needs the Inception network of the FID papers as a local TorchScript file (nothing is
downloaded): ``inception-2015-12-05.pt`` as published with NVIDIA's StyleGAN2-ADA metrics
(also used by clean-fid); it is called as ``model(images, return_features=True)`` on float
``(N, 3, H, W)`` RGB images with values 0-255 and returns ``(N, 2048)`` pool features.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
from scipy import linalg
from scipy.ndimage import gaussian_filter

from lipdub.errors import CheckpointError, WeightsMissingError

SSIM_SIGMA = 1.5
SSIM_TRUNCATE = 3.5
SSIM_K1 = 0.01
SSIM_K2 = 0.03
DATA_RANGE = 255.0
#: Pixels ignored along each border (half the Gaussian window).
SSIM_BORDER = int(SSIM_TRUNCATE * SSIM_SIGMA + 0.5)
#: PSNR of identical images is infinite; it is reported capped at this value.
PSNR_CAP = 100.0
FID_WEIGHTS_HINT = (
    "FID needs a local Inception weight file: pass --fid-weights PATH to the TorchScript "
    "inception-2015-12-05.pt (NVIDIA StyleGAN2-ADA / clean-fid); lipdub downloads nothing"
)


def psnr(image: np.ndarray, reference: np.ndarray) -> float:
    """Peak signal-to-noise ratio in dB of 8-bit images (capped at 100 dB when identical)."""
    if image.shape != reference.shape:
        raise ValueError(f"image shapes differ: {image.shape} and {reference.shape}")
    mse = float(np.mean((image.astype(np.float64) - reference.astype(np.float64)) ** 2))
    if mse == 0:
        return PSNR_CAP
    return min(PSNR_CAP, 10.0 * np.log10(DATA_RANGE**2 / mse))


def _ssim_channel(x: np.ndarray, y: np.ndarray) -> float:
    def blur(values: np.ndarray) -> np.ndarray:
        return gaussian_filter(values, sigma=SSIM_SIGMA, truncate=SSIM_TRUNCATE)

    mu_x, mu_y = blur(x), blur(y)
    var_x = blur(x * x) - mu_x * mu_x
    var_y = blur(y * y) - mu_y * mu_y
    cov = blur(x * y) - mu_x * mu_y
    c1, c2 = (SSIM_K1 * DATA_RANGE) ** 2, (SSIM_K2 * DATA_RANGE) ** 2
    ssim_map = ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / (
        (mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2)
    )
    b = SSIM_BORDER
    return float(ssim_map[b:-b, b:-b].mean())


def ssim(image: np.ndarray, reference: np.ndarray) -> float:
    """Mean structural similarity of 8-bit images ``(H, W)`` or ``(H, W, C)`` (>= 11 x 11)."""
    if image.shape != reference.shape:
        raise ValueError(f"image shapes differ: {image.shape} and {reference.shape}")
    if min(image.shape[:2]) < 2 * SSIM_BORDER + 1:
        raise ValueError(f"SSIM needs images of at least 11 x 11 pixels, got {image.shape[:2]}")
    x = image.astype(np.float64)
    y = reference.astype(np.float64)
    if x.ndim == 2:
        return _ssim_channel(x, y)
    return float(np.mean([_ssim_channel(x[..., c], y[..., c]) for c in range(x.shape[2])]))


def load_inception(path: Path | str | None, device: str = "cpu") -> Any:
    """The TorchScript FID Inception in ``path``; a clear error when absent or not one."""
    if path is None:
        raise WeightsMissingError(FID_WEIGHTS_HINT)
    path = Path(path).expanduser()
    if not path.is_file():
        raise WeightsMissingError(f"FID weights {path} do not exist. {FID_WEIGHTS_HINT}")
    import torch

    try:
        with warnings.catch_warnings():  # "torch.jit.load is deprecated": the file format is
            warnings.simplefilter("ignore")  # TorchScript, so there is no other loader
            return torch.jit.load(str(path), map_location=device).eval()
    except Exception:  # not TorchScript (a pickle, a state dict, a web page...)
        raise CheckpointError(
            f"{path} is not a TorchScript Inception network. {FID_WEIGHTS_HINT}"
        ) from None


def inception_features(model: Any, frames_rgb: list[np.ndarray]) -> np.ndarray:
    """``(N, 2048)`` pool features of RGB uint8 frames."""
    import torch

    device = next(iter(model.parameters()), torch.empty(0)).device
    batch = torch.from_numpy(np.stack(frames_rgb)).permute(0, 3, 1, 2).float().to(device)
    with torch.inference_mode():
        features = model(batch, return_features=True)
    return features.double().cpu().numpy()


def frechet_distance(features_a: np.ndarray, features_b: np.ndarray) -> float:
    """The Fréchet distance between Gaussians fitted to two ``(N, D)`` feature sets."""
    if features_a.shape[0] < 2 or features_b.shape[0] < 2:
        raise ValueError("FID needs at least two frames on each side")
    mu_a, mu_b = features_a.mean(axis=0), features_b.mean(axis=0)
    cov_a = np.cov(features_a, rowvar=False)
    cov_b = np.cov(features_b, rowvar=False)
    covmean = linalg.sqrtm(cov_a @ cov_b)
    if not np.isfinite(covmean).all():  # singular product: regularise, as FID code does
        offset = np.eye(cov_a.shape[0]) * 1e-6
        covmean = linalg.sqrtm((cov_a + offset) @ (cov_b + offset))
    covmean = np.real(covmean)
    diff = mu_a - mu_b
    return float(diff @ diff + np.trace(cov_a) + np.trace(cov_b) - 2 * np.trace(covmean))
