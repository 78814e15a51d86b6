"""Synthetic noise for training: Gaussian, Poisson-Gaussian and a camera-pipeline model.

Every function takes clean images as an (N, 3, H, W) float tensor in [0, 1] and
a :class:`torch.Generator`, and returns the noisy batch together with the
per-image noise level (standard deviation of noisy - clean, in 8-bit units),
which is what the noise-map input of the model is trained to expect.

``isp``, the camera pipeline of :mod:`model.camera_noise`, is the exception:
it also changes the target (the clean image through the same camera pipeline)
and labels each pixel with its local noise level. :func:`add_noise` mixes all
of them and always returns a :class:`~model.camera_noise.NoisyBatch`.
"""
from __future__ import annotations

import io
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from denoiser_app.core.noise_level import estimate_sigma_batch
from model.camera_noise import NoisyBatch, camera_batch
from model.noise_profile import NoiseProfile, profile_noise

NoiseFn = Callable[[torch.Tensor, torch.Generator], tuple[torch.Tensor, torch.Tensor]]

MAX_SIGMA = 55.0


def _uniform(n: int, low: float, high: float, gen: torch.Generator) -> torch.Tensor:
    return low + (high - low) * torch.rand(n, generator=gen)


def _log_uniform(n: int, low: float, high: float, gen: torch.Generator) -> torch.Tensor:
    return torch.exp(_uniform(n, float(np.log(low)), float(np.log(high)), gen))


def _per_image(values: torch.Tensor) -> torch.Tensor:
    return values.view(-1, 1, 1, 1)


def _measured_sigma(noisy: torch.Tensor, clean: torch.Tensor) -> torch.Tensor:
    return (noisy - clean).flatten(1).std(dim=1) * 255.0


def srgb_to_linear(x: torch.Tensor) -> torch.Tensor:
    return torch.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055).clamp_min(0) ** 2.4)


def linear_to_srgb(x: torch.Tensor) -> torch.Tensor:
    x = x.clamp(0, 1)
    return torch.where(x <= 0.0031308, 12.92 * x, 1.055 * x.clamp_min(1e-8) ** (1 / 2.4) - 0.055)


def gaussian(clean: torch.Tensor, gen: torch.Generator, max_sigma: float = MAX_SIGMA):
    """Additive white Gaussian noise, sigma uniform in [0, max_sigma] per image."""
    sigma = _uniform(clean.shape[0], 0.0, max_sigma, gen)
    noise = torch.randn(clean.shape, generator=gen) * _per_image(sigma / 255.0)
    return clean + noise, sigma


def correlated_gaussian(clean: torch.Tensor, gen: torch.Generator, max_sigma: float = MAX_SIGMA):
    """Gaussian noise correlated across channels and, in 60 % of images, between neighbours.

    Real camera noise is mostly luma noise (in-camera chroma noise reduction
    and 4:2:0 JPEG remove most of its colour), so its channels correlate
    (0.3-0.45 on CC15 and Nam25). A model trained on independent channels
    learns colour speckle as the mark of noise and keeps grey noise as
    texture (``python -m model.noise_cause``). Each image draws a channel
    correlation in [0, 0.9] and a blur spread in [0.3, 1.2] px; every pixel
    and channel keeps the standard deviation ``sigma``, its label.
    """
    n = clean.shape[0]
    sigma = _uniform(n, 0.0, max_sigma, gen)
    noise = _channels_sharing(clean.shape, _uniform(n, 0.0, 0.9, gen), gen)
    spread = _uniform(n, 0.3, 1.2, gen)
    noise = _blurred_where(noise, spread, torch.rand(n, generator=gen) < 0.6)
    return clean + noise * _per_image(sigma / 255.0), sigma


def _channels_sharing(shape: torch.Size, share: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Unit-variance noise whose channels share ``share`` (per image) of their variance."""
    share = _per_image(share)
    common = torch.randn((shape[0], 1, *shape[2:]), generator=gen)
    own = torch.randn(shape, generator=gen)
    return share.sqrt() * common + (1 - share).sqrt() * own


def _blurred_where(noise: torch.Tensor, spread: torch.Tensor, blurred: torch.Tensor) -> torch.Tensor:
    """The images picked by the ``blurred`` mask with their noise blurred by their ``spread`` (variance kept)."""
    if blurred.any():
        idx = torch.nonzero(blurred).flatten()
        noise[idx] = _blur_per_image(noise[idx], spread[idx])
    return noise


def grain(clean: torch.Tensor, gen: torch.Generator, max_sigma: float = 30.0):
    """Grainy Gaussian noise with independent channels: camera noise as the network sees it.

    The engine denoises camera noise in colours where its channel correlation
    is undone (:mod:`denoiser_app.core.colour_noise`), so what reaches the
    network is noise whose channels barely correlate but whose neighbours do
    (demosaicing: lag-1 correlation 0.6-0.7 on CC15 and Nam25), at the low
    levels cameras produce. Each image draws a level log-uniform in
    [1.5, ``max_sigma``], a leftover channel correlation in [0, 0.3] and a
    blur spread in [0, 1.3] px (below 0.3: white); every pixel keeps the
    standard deviation ``sigma``, its label.
    """
    n = clean.shape[0]
    sigma = _log_uniform(n, 1.5, max_sigma, gen)
    noise = _channels_sharing(clean.shape, _uniform(n, 0.0, 0.3, gen), gen)
    spread = _uniform(n, 0.0, 1.3, gen)
    noise = _blurred_where(noise, spread, spread >= 0.3)
    return clean + noise * _per_image(sigma / 255.0), sigma


def poisson_gaussian(clean: torch.Tensor, gen: torch.Generator, max_sigma: float = MAX_SIGMA):
    """Signal-dependent noise with variance a*x + b, per channel, in display space."""
    n = clean.shape[0]
    shot = _per_image(_log_uniform(n, 1e-4, 3e-2, gen))
    read = _per_image(_uniform(n, 0.0, 0.08, gen) ** 2)
    std = torch.sqrt(shot * clean + read)
    noisy = clean + torch.randn(clean.shape, generator=gen) * std
    return _limit(noisy, clean, max_sigma)


def _limit(noisy: torch.Tensor, clean: torch.Tensor, max_sigma: float):
    """Scale each image's noise down so its level stays within ``max_sigma``."""
    sigma = _measured_sigma(noisy, clean)
    scale = torch.clamp(max_sigma / sigma.clamp_min(1e-6), max=1.0)
    noisy = clean + (noisy - clean) * _per_image(scale)
    return noisy, sigma * scale


def _gaussian_kernel(radius: int, spread: float) -> torch.Tensor:
    offsets = torch.arange(-radius, radius + 1, dtype=torch.float32)
    weights = torch.exp(-0.5 * (offsets / max(spread, 1e-3)) ** 2)
    kernel_1d = weights / weights.sum()
    return torch.outer(kernel_1d, kernel_1d)


def _blur_per_image(noise: torch.Tensor, spreads: torch.Tensor) -> torch.Tensor:
    """Blur each image's noise with its own Gaussian, keeping its variance.

    Demosaicing interpolates neighbouring photosites, which makes real noise
    spatially correlated (grainy clumps rather than single-pixel speckle).
    """
    out = torch.empty_like(noise)
    channels = noise.shape[1]
    for i, spread in enumerate(spreads.tolist()):
        kernel = _gaussian_kernel(2, spread)
        kernel = kernel / kernel.square().sum().sqrt()
        weight = kernel.expand(channels, 1, 5, 5).contiguous()
        out[i : i + 1] = F.conv2d(F.pad(noise[i : i + 1], (2, 2, 2, 2), mode="reflect"), weight, groups=channels)
    return out


def _random_colour_matrix(gen: torch.Generator) -> torch.Tensor:
    """A camera-to-sRGB-like matrix: rows sum to 1, off-diagonals negative.

    Such matrices amplify and correlate chroma noise, which is why real noise
    shows coloured blotches.
    """
    off = -_uniform(6, 0.05, 0.45, gen)
    m = torch.zeros(3, 3)
    m[0, 1], m[0, 2], m[1, 0], m[1, 2], m[2, 0], m[2, 1] = off.tolist()
    m += torch.diag(1.0 - m.sum(dim=1))
    return m


def _smoothstep_tone(x: torch.Tensor, amount: torch.Tensor) -> torch.Tensor:
    return (1 - amount) * x + amount * (3 * x**2 - 2 * x**3)


def _inverse_smoothstep_tone(y: torch.Tensor, amount: torch.Tensor, steps: int = 20) -> torch.Tensor:
    x = y.clone()
    for _ in range(steps):  # Newton's method; the curve is monotone on [0, 1]
        f = _smoothstep_tone(x, amount) - y
        df = (1 - amount) + amount * (6 * x - 6 * x**2)
        x = (x - f / df.clamp_min(1e-3)).clamp(0, 1)
    return x


def jpeg_roundtrip(images: torch.Tensor, qualities: list[int]) -> torch.Tensor:
    """Encode and decode each image as 8-bit JPEG (4:2:0, as cameras write)."""
    out = torch.empty_like(images)
    for i, quality in enumerate(qualities):
        array = (images[i].clamp(0, 1).permute(1, 2, 0).numpy() * 255 + 0.5).astype(np.uint8)
        buffer = io.BytesIO()
        Image.fromarray(array).save(buffer, format="JPEG", quality=int(quality))
        decoded = np.asarray(Image.open(io.BytesIO(buffer.getvalue())).convert("RGB"))
        out[i] = torch.from_numpy(decoded.astype(np.float32) / 255.0).permute(2, 0, 1)
    return out


def camera(clean: torch.Tensor, gen: torch.Generator, max_sigma: float = MAX_SIGMA, jpeg_probability: float = 0.3):
    """Noise as a camera makes it.

    The clean image is taken back to linear raw-like values (inverse tone
    curve, inverse sRGB gamma, inverse white balance); Poisson-Gaussian noise
    is added there; the noise is then correlated spatially (demosaicing) and
    across channels (colour matrix), with extra low-frequency chroma noise;
    finally white balance, gamma and tone curve are applied again and the
    result may be JPEG-compressed.
    """
    n = clean.shape[0]
    tone = _per_image(_uniform(n, 0.0, 0.6, gen))
    display = _inverse_smoothstep_tone(clean, tone)
    linear = srgb_to_linear(display)
    gains = torch.stack([_uniform(n, 1.3, 2.4, gen), torch.ones(n), _uniform(n, 1.2, 2.0, gen)], dim=1)
    raw = (linear / gains.view(n, 3, 1, 1)).clamp(0, 1)
    shot = _per_image(_log_uniform(n, 2e-4, 2e-2, gen))
    read = _per_image(_log_uniform(n, 1e-7, 1e-3, gen))
    noise = torch.randn(clean.shape, generator=gen) * torch.sqrt(shot * raw + read)
    noise = _blur_per_image(noise, _uniform(n, 0.3, 1.2, gen))
    for i in range(n):
        noise[i] = torch.einsum("ij,jhw->ihw", _random_colour_matrix(gen), noise[i])
    chroma = _low_frequency_chroma(clean.shape, gen) * torch.sqrt(shot * raw.mean(1, keepdim=True) + read)
    noisy_raw = raw + noise + chroma * _per_image(_uniform(n, 0.0, 0.8, gen))
    noisy_linear = noisy_raw * gains.view(n, 3, 1, 1)
    noisy = _smoothstep_tone(linear_to_srgb(noisy_linear), tone)
    use_jpeg = torch.rand(n, generator=gen) < jpeg_probability
    if use_jpeg.any():
        idx = torch.nonzero(use_jpeg).flatten()
        qualities = torch.randint(70, 97, (len(idx),), generator=gen).tolist()
        noisy[idx] = jpeg_roundtrip(noisy[idx], qualities)
    return _limit(noisy, clean, max_sigma)


def _low_frequency_chroma(shape: torch.Size, gen: torch.Generator) -> torch.Tensor:
    """Blotchy colour noise: coarse noise upsampled, with zero luminance."""
    n, _, height, width = shape
    coarse = torch.randn((n, 2, max(1, height // 4), max(1, width // 4)), generator=gen)
    smooth = F.interpolate(coarse, size=(height, width), mode="bilinear", align_corners=False)
    red_green, blue_yellow = smooth[:, 0:1], smooth[:, 1:2]
    return torch.cat([red_green - 0.5 * blue_yellow, -red_green - 0.5 * blue_yellow, blue_yellow], dim=1)


def quantise(noisy: torch.Tensor) -> torch.Tensor:
    """Clip to [0, 1] and round to 8 bits, as a saved image file would be."""
    return torch.round(noisy.clamp(0, 1) * 255.0) / 255.0


NOISE_MODELS: dict[str, NoiseFn] = {
    "gaussian": gaussian,
    "correlated_gaussian": correlated_gaussian,
    "grain": grain,
    "poisson_gaussian": poisson_gaussian,
    "camera": camera,
}
# Noise models that make their own targets and per-pixel labels.
PIPELINE_MODELS = {"isp": camera_batch}
# Noise drawn from a camera's measured profile (model.noise_profile), labelled per pixel.
PROFILE_MODEL = "profile"
# Labelled with the level they added, not with the white-noise estimator's reading.
TRUE_LABEL_MODELS = {"gaussian", "correlated_gaussian", "grain", PROFILE_MODEL, *PIPELINE_MODELS}


def _profile_batch(clean: torch.Tensor, profile: NoiseProfile, rng: np.random.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Noise from a camera's profile on each image of an (N, 3, H, W) batch, with (N, 1, H, W) level maps."""
    noisy, levels = [], []
    for image in clean:
        pixels, level = profile_noise(image.permute(1, 2, 0).numpy(), profile, rng)
        noisy.append(torch.from_numpy(pixels).permute(2, 0, 1))
        levels.append(torch.from_numpy(level)[None])
    return torch.stack(noisy), torch.stack(levels)


def parse_mix(spec: str) -> dict[str, float]:
    """Parse ``"gaussian:0.5,camera:0.5"`` into normalised weights."""
    weights: dict[str, float] = {}
    for part in spec.split(","):
        name, _, weight = part.partition(":")
        name = name.strip()
        if name not in NOISE_MODELS and name not in PIPELINE_MODELS and name != PROFILE_MODEL:
            known = ", ".join([*NOISE_MODELS, *PIPELINE_MODELS, PROFILE_MODEL])
            raise ValueError(f"unknown noise model {name!r}; known: {known}")
        weights[name] = float(weight) if weight else 1.0
    total = sum(weights.values())
    if total <= 0:
        raise ValueError("noise mix weights must add up to more than zero")
    return {name: weight / total for name, weight in weights.items()}


def add_noise(
    clean: torch.Tensor,
    gen: torch.Generator,
    mix: dict[str, float],
    quantise_probability: float = 0.5,
    estimate_non_gaussian: bool = True,
    profile: NoiseProfile | None = None,
) -> NoisyBatch:
    """Add noise drawn from ``mix`` to each image; returns noisy images, targets and noise-level maps.

    A share of the batch is clipped and rounded to 8 bits, as files on disk are;
    the rest stays unclipped, as in the papers' evaluation protocol.

    Gaussian noise is labelled with its true sigma, the number a user or a
    benchmark gives. ``isp`` noise is labelled per pixel with its true local
    level. The older per-image models (``poisson_gaussian``, ``camera``) are
    labelled, when ``estimate_non_gaussian``, with what the patch-PCA
    estimator reads on the noisy image, which is how the earlier models were
    trained; mixes without ``isp`` draw exactly the random numbers they
    always did, so runs resume and repeat as before.
    """
    n, _, height, width = clean.shape
    names = list(mix)
    choice = torch.multinomial(torch.tensor([mix[k] for k in names]), n, replacement=True, generator=gen)
    noisy = torch.empty_like(clean)
    target = clean.clone()
    sigma = torch.empty(n)
    maps: dict[int, torch.Tensor] = {}
    for k, name in enumerate(names):
        idx = torch.nonzero(choice == k).flatten()
        if not len(idx):
            continue
        if name == PROFILE_MODEL:
            if profile is None:
                raise ValueError("profile noise needs a NoiseProfile")
            seed = int(torch.randint(2**62, (1,), generator=gen))
            noisy[idx], levels = _profile_batch(clean[idx], profile, np.random.default_rng(seed))
            maps.update({int(i): level for i, level in zip(idx, levels)})
        elif name in PIPELINE_MODELS:
            seed = int(torch.randint(2**62, (1,), generator=gen))
            made = PIPELINE_MODELS[name](clean[idx], np.random.default_rng(seed))
            noisy[idx], target[idx] = made.noisy, made.clean
            maps.update({int(i): level for i, level in zip(idx, made.level)})
        else:
            noisy[idx], sigma[idx] = NOISE_MODELS[name](clean[idx], gen)
    to_quantise = torch.rand(n, generator=gen) < quantise_probability
    noisy[to_quantise] = quantise(noisy[to_quantise])
    by_estimate = [i for i in range(n) if names[choice[i]] not in TRUE_LABEL_MODELS]
    other = torch.tensor(by_estimate if estimate_non_gaussian else [], dtype=torch.long)
    if len(other):
        sigma[other] = estimate_sigma_batch(noisy[other])
    level = sigma.view(n, 1, 1, 1).expand(n, 1, height, width).clone()
    for index, plane in maps.items():
        level[index] = plane
    return NoisyBatch(noisy, target, level)
