"""Camera noise made the way a camera makes it: back to a raw mosaic, noise there, forward again.

The clean sRGB patch is *unprocessed* into a raw-like Bayer mosaic (inverse
tone curve, inverse sRGB gamma, inverse colour matrix, inverse white balance
and digital gain, RGGB sampling). Shot and read noise are added to the mosaic,
with the read noise tied to the shot noise as sensor calibrations show
(log read variance roughly linear in log shot variance). The mosaic is then
demosaiced (bilinear or edge-aware) and *processed* forward again: white
balance, gain, colour matrix, gamma and tone curve; then, at random strengths,
in-camera chroma and luma noise reduction, sharpening and JPEG with chroma
subsampling.

The clean target goes through the same forward pipeline without noise:
sharpening and JPEG's chroma subsampling included, noise reduction and
JPEG's quantisation not: noise reduction exists only because of the noise,
and a real pair's reference, the mean of many JPEGs, has their quantisation
averaged away.

Each image is labelled with a map of its local noise level: the standard
deviation of noisy minus target, over a Gaussian window and the three
channels, in 8-bit units. That is what the denoiser is conditioned on and what
the learned estimator predicts, so both read real noise in the same units.

Ideas from Brooks et al. 2019 ("Unprocessing images for learned raw
denoising") and Guo et al. 2019 (CBDNet); the code is this project's own.
"""
from __future__ import annotations

import io
from dataclasses import dataclass

import cv2
import numpy as np
import torch
from PIL import Image

# Per-site variance = shot * signal + read, signal in [0, 1] raw units.
SHOT_RANGE = (1e-4, 1.5e-2)
# log(read) = READ_SLOPE * log(shot) + READ_OFFSET + normal(0, READ_SPREAD)
READ_SLOPE = 2.18
READ_OFFSET = 1.2
READ_SPREAD = 0.26
RED_GAIN = (1.4, 2.6)
BLUE_GAIN = (1.2, 2.2)
# Digital gain (underexposure pushed up): a log-uniform factor.
DIGITAL_GAIN = (1.0, 3.0)
TONE_AMOUNT = (0.0, 0.8)
CHROMA_NR_PROBABILITY = 0.85
CHROMA_NR_RADIUS = (1.0, 4.0)
LUMA_NR_PROBABILITY = 0.7
LUMA_NR_AMOUNT = (0.3, 1.0)
LUMA_NR_RADIUS = (0.8, 2.0)
# Sensor-level correlation of the noise (crosstalk between photosites, raw
# noise reduction): the mosaic's noise field blurred, at the same variance.
RAW_BLUR_PROBABILITY = 0.85
RAW_BLUR_RADIUS = (0.4, 1.2)
SHARPEN_PROBABILITY = 0.3
SHARPEN_AMOUNT = (0.1, 0.5)
JPEG_PROBABILITY = 0.7
JPEG_QUALITY = (75, 98)
TARGET_JPEG_QUALITY = 100
# PIL subsampling codes: 0 = 4:4:4, 1 = 4:2:2, 2 = 4:2:0, with these odds.
JPEG_SUBSAMPLING = {2: 0.7, 1: 0.1, 0: 0.2}
LABEL_WINDOW_SIGMA = 6.0
DEMOSAIC_CODES = (cv2.COLOR_BayerBG2RGB, cv2.COLOR_BayerBG2RGB_EA)  # OpenCV's names for an RGGB mosaic
RAW_LEVELS = 65535.0
# The models' noise range ends here (model.noise.MAX_SIGMA).
MAX_LEVEL = 55.0


@dataclass(frozen=True)
class CameraParams:
    """One image's draw of the pipeline's settings."""

    tone: float
    colour_matrix: np.ndarray  # camera RGB -> linear sRGB, rows sum to 1
    red_gain: float
    blue_gain: float
    digital_gain: float
    shot: float
    read: float
    demosaic: int
    raw_blur: float  # Gaussian radius of the noise field on the mosaic, 0 for white
    chroma_nr: float  # Gaussian radius in pixels, 0 for none
    luma_nr: float  # share of a smoothed luma mixed in, 0 for none
    luma_nr_radius: float
    sharpen: float
    jpeg_quality: int  # 0 for no JPEG
    jpeg_subsampling: int


def _log_uniform(rng: np.random.Generator, low: float, high: float) -> float:
    return float(np.exp(rng.uniform(np.log(low), np.log(high))))


def random_colour_matrix(rng: np.random.Generator) -> np.ndarray:
    """A camera-to-sRGB-like matrix: rows sum to 1 (grey stays grey), off-diagonals negative."""
    matrix = -rng.uniform(0.0, 0.3, size=(3, 3))
    np.fill_diagonal(matrix, 0.0)
    np.fill_diagonal(matrix, 1.0 - matrix.sum(axis=1))
    return matrix.astype(np.float32)


def draw_params(rng: np.random.Generator, shot: float | None = None) -> CameraParams:
    """Random pipeline settings; ``shot`` fixes the shot-noise variance (its read noise still follows it)."""
    shot = _log_uniform(rng, *SHOT_RANGE) if shot is None else shot
    read = float(np.exp(READ_SLOPE * np.log(shot) + READ_OFFSET + rng.normal(0.0, READ_SPREAD)))
    subsampling_codes = list(JPEG_SUBSAMPLING)
    return CameraParams(
        tone=float(rng.uniform(*TONE_AMOUNT)),
        colour_matrix=random_colour_matrix(rng),
        red_gain=float(rng.uniform(*RED_GAIN)),
        blue_gain=float(rng.uniform(*BLUE_GAIN)),
        digital_gain=_log_uniform(rng, *DIGITAL_GAIN),
        shot=shot,
        read=read,
        demosaic=int(rng.integers(len(DEMOSAIC_CODES))),
        raw_blur=float(rng.uniform(*RAW_BLUR_RADIUS)) if rng.random() < RAW_BLUR_PROBABILITY else 0.0,
        chroma_nr=float(rng.uniform(*CHROMA_NR_RADIUS)) if rng.random() < CHROMA_NR_PROBABILITY else 0.0,
        luma_nr=float(rng.uniform(*LUMA_NR_AMOUNT)) if rng.random() < LUMA_NR_PROBABILITY else 0.0,
        luma_nr_radius=float(rng.uniform(*LUMA_NR_RADIUS)),
        sharpen=float(rng.uniform(*SHARPEN_AMOUNT)) if rng.random() < SHARPEN_PROBABILITY else 0.0,
        jpeg_quality=int(rng.integers(JPEG_QUALITY[0], JPEG_QUALITY[1] + 1)) if rng.random() < JPEG_PROBABILITY else 0,
        jpeg_subsampling=int(rng.choice(subsampling_codes, p=list(JPEG_SUBSAMPLING.values()))),
    )


# ------------------------------------------------------------ tone and gamma


def _tone(x: np.ndarray, amount: float) -> np.ndarray:
    """A smoothstep S-curve mixed in by ``amount``: the family of camera tone curves used here."""
    return (1 - amount) * x + amount * (3 * x**2 - 2 * x**3)


def _inverse_tone(y: np.ndarray, amount: float, steps: int = 12) -> np.ndarray:
    x = y.copy()
    for _ in range(steps):  # Newton's method; the curve is monotone on [0, 1]
        slope = (1 - amount) + amount * (6 * x - 6 * x**2)
        x = np.clip(x - (_tone(x, amount) - y) / np.maximum(slope, 1e-3), 0.0, 1.0)
    return x


def _srgb_to_linear(x: np.ndarray) -> np.ndarray:
    return np.where(x <= 0.04045, x / 12.92, ((np.maximum(x, 0) + 0.055) / 1.055) ** 2.4)


def _linear_to_srgb(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return np.where(x <= 0.0031308, 12.92 * x, 1.055 * np.maximum(x, 1e-8) ** (1 / 2.4) - 0.055)


# ------------------------------------------------------------ the pipeline


def unprocess(srgb: np.ndarray, params: CameraParams) -> np.ndarray:
    """H x W x 3 sRGB in [0, 1] -> linear camera RGB before white balance and gain, in [0, 1]."""
    linear = _srgb_to_linear(_inverse_tone(srgb, params.tone))
    camera = linear @ np.linalg.inv(params.colour_matrix).T
    gains = np.array([params.red_gain, 1.0, params.blue_gain], dtype=np.float32) * params.digital_gain
    return np.clip(camera / gains, 0.0, 1.0).astype(np.float32)


def mosaic(camera: np.ndarray) -> np.ndarray:
    """RGGB Bayer sampling of an H x W x 3 image (H and W even) -> H x W."""
    bayer = np.empty(camera.shape[:2], dtype=camera.dtype)
    bayer[0::2, 0::2] = camera[0::2, 0::2, 0]
    bayer[0::2, 1::2] = camera[0::2, 1::2, 1]
    bayer[1::2, 0::2] = camera[1::2, 0::2, 1]
    bayer[1::2, 1::2] = camera[1::2, 1::2, 2]
    return bayer


def demosaic(bayer: np.ndarray, method: int) -> np.ndarray:
    """H x W RGGB mosaic in [0, 1] -> H x W x 3, interpolated at 16 bits."""
    levels = np.round(np.clip(bayer, 0.0, 1.0) * RAW_LEVELS).astype(np.uint16)
    return cv2.cvtColor(levels, DEMOSAIC_CODES[method]).astype(np.float32) / RAW_LEVELS


def process(camera: np.ndarray, params: CameraParams) -> np.ndarray:
    """Linear camera RGB -> sRGB in [0, 1]: white balance and gain, colour matrix, gamma, tone."""
    gains = np.array([params.red_gain, 1.0, params.blue_gain], dtype=np.float32) * params.digital_gain
    linear = np.clip(camera * gains, 0.0, 1.0) @ params.colour_matrix.T
    return _tone(_linear_to_srgb(linear), params.tone).astype(np.float32)


def sharpen(image: np.ndarray, amount: float) -> np.ndarray:
    if amount <= 0:
        return image
    blurred = cv2.GaussianBlur(image, (0, 0), 1.0)
    return np.clip(image + amount * (image - blurred), 0.0, 1.0)


def reduce_noise(noisy: np.ndarray, target: np.ndarray, params: CameraParams) -> np.ndarray:
    """In-camera noise reduction in YCrCb: edge-preserving (bilateral) smoothing of chroma, and of luma in part.

    Like a camera, which knows its sensor's noise profile, the filters' range
    is set from the noise's own standard deviation, so they smooth noise and
    keep edges.
    """
    if params.chroma_nr <= 0 and params.luma_nr <= 0:
        return noisy
    planes = [np.ascontiguousarray(p) for p in cv2.split(cv2.cvtColor(noisy, cv2.COLOR_RGB2YCrCb))]
    clean_planes = cv2.split(cv2.cvtColor(target, cv2.COLOR_RGB2YCrCb))
    noise_std = [float(np.std(p - c)) + 1e-4 for p, c in zip(planes, clean_planes)]
    if params.chroma_nr > 0:
        for index in (1, 2):
            planes[index] = cv2.bilateralFilter(planes[index], 0, 2.5 * noise_std[index], params.chroma_nr)
    if params.luma_nr > 0:
        smoothed = cv2.bilateralFilter(planes[0], 0, 2.0 * noise_std[0], params.luma_nr_radius)
        planes[0] = (1 - params.luma_nr) * planes[0] + params.luma_nr * smoothed
    return np.clip(cv2.cvtColor(cv2.merge(planes), cv2.COLOR_YCrCb2RGB), 0.0, 1.0)


def jpeg(image: np.ndarray, quality: int, subsampling: int) -> np.ndarray:
    """8-bit JPEG encode and decode in memory."""
    buffer = io.BytesIO()
    pixels = np.round(np.clip(image, 0.0, 1.0) * 255.0).astype(np.uint8)
    Image.fromarray(pixels).save(buffer, format="JPEG", quality=quality, subsampling=subsampling)
    with Image.open(io.BytesIO(buffer.getvalue())) as decoded:
        return np.asarray(decoded.convert("RGB"), dtype=np.float32) / 255.0


def local_noise_level(noisy: np.ndarray, clean: np.ndarray, window: float = LABEL_WINDOW_SIGMA) -> np.ndarray:
    """H x W map of the noise's local standard deviation, in 8-bit units, over a Gaussian window and all channels."""
    variance = np.mean((noisy - clean) ** 2, axis=2)
    return np.sqrt(cv2.GaussianBlur(variance, (0, 0), window, borderType=cv2.BORDER_REFLECT)) * 255.0


def noise_field(shape: tuple[int, int], radius: float, rng: np.random.Generator) -> np.ndarray:
    """Unit-variance Gaussian noise, white or blurred over ``radius`` pixels (then rescaled to unit variance)."""
    white = rng.standard_normal(shape).astype(np.float32)
    if radius <= 0:
        return white
    blurred = cv2.GaussianBlur(white, (0, 0), radius, borderType=cv2.BORDER_REFLECT)
    return blurred / max(float(blurred.std()), 1e-6)


def simulate(clean: np.ndarray, params: CameraParams, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(noisy, target) sRGB images in [0, 1] for an H x W x 3 clean sRGB image."""
    height, width = clean.shape[:2]
    if height % 2 or width % 2:  # the Bayer pattern needs whole 2x2 cells
        padded = np.pad(clean, ((0, height % 2), (0, width % 2), (0, 0)), mode="edge")
        noisy, target = simulate(padded, params, rng)
        return noisy[:height, :width], target[:height, :width]
    camera = unprocess(clean, params)
    bayer = mosaic(camera)
    std = np.sqrt(params.shot * bayer + params.read)
    noisy_bayer = bayer + noise_field(bayer.shape, params.raw_blur, rng) * std
    noisy = process(demosaic(noisy_bayer, params.demosaic), params)
    target_unsharpened = process(demosaic(bayer, params.demosaic), params)
    target = sharpen(target_unsharpened, params.sharpen)
    noisy = sharpen(reduce_noise(noisy, target_unsharpened, params), params.sharpen)
    if params.jpeg_quality:
        noisy = jpeg(noisy, params.jpeg_quality, params.jpeg_subsampling)
        # The mean of many JPEGs (a real pair's reference) keeps their chroma
        # subsampling, which is linear, but averages the noise-dithered
        # quantisation away; a target quantised like the noisy shot taught
        # the network to paint blocks on flat areas. Quality 100 subsamples
        # with next to no quantisation.
        target = jpeg(target, TARGET_JPEG_QUALITY, params.jpeg_subsampling)
    return noisy.astype(np.float32), target.astype(np.float32)


@dataclass(frozen=True)
class NoisyBatch:
    """Noisy images, the targets to recover and the noise-level map, all (N, C, H, W) tensors."""

    noisy: torch.Tensor
    clean: torch.Tensor
    level: torch.Tensor  # (N, 1, H, W), 8-bit sigma units


def camera_batch(
    clean: torch.Tensor, rng: np.random.Generator, shot: float | None = None, max_level: float = MAX_LEVEL
) -> NoisyBatch:
    """Run every image of an (N, 3, H, W) batch in [0, 1] through :func:`simulate` with its own settings.

    An image whose mean noise level is above ``max_level`` has its noise
    scaled down to it, as the models' noise range ends there.
    """
    noisy_images, targets, levels = [], [], []
    for image in clean.permute(0, 2, 3, 1).numpy():
        noisy, target = simulate(np.ascontiguousarray(image, dtype=np.float32), draw_params(rng, shot), rng)
        mean_level = float(local_noise_level(noisy, target).mean())
        if mean_level > max_level:
            noisy = np.clip(target + (noisy - target) * (max_level / mean_level), 0.0, 1.0)
        noisy_images.append(noisy)
        targets.append(target)
        levels.append(local_noise_level(noisy, target))

    def stack(arrays: list[np.ndarray]) -> torch.Tensor:
        return torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).contiguous()

    level = torch.from_numpy(np.stack(levels))[:, None]
    return NoisyBatch(stack(noisy_images), stack(targets), level)
