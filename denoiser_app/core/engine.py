"""Inference: a loaded model that maps a noisy image and a strength to a clean image.

    >>> from denoiser_app.core.engine import load_denoiser
    >>> denoiser = load_denoiser()                      # bundled default model, best device
    >>> clean = denoiser.denoise(noisy, strength="auto")  # float32 H x W x C in [0, 1]
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path

import numpy as np
import torch
from torch import nn

from denoiser_app.core.colour_noise import ColourTransform, decorrelating_transform
from denoiser_app.core.hardware import cpu_features
from denoiser_app.core.modelfile import ModelFileError, ModelInfo, load_model_file, quiet_torchscript
from denoiser_app.core.models import resolve_companion, resolve_model
from denoiser_app.core.noise_level import estimate_sigma
from denoiser_app.core.progress import Progress, Stage
from denoiser_app.core.tiling import run_tiled

log = logging.getLogger(__name__)

DEFAULT_TILE = 512
MIN_TILE = 128  # the smallest a CUDA out-of-memory error halves tiles to
MIN_CHOSEN_TILE = 64
EDGE_CONTEXT = 16
MAX_STRENGTH = 75.0
MAX_AUTO_PERCENT = 200.0
AUTO = "auto"
# A level, "auto", or a share of the Auto level written as "NN%".
Strength = float | str
# Auto's level for a whole photo is read on up to this many crops of this size.
ESTIMATE_CROPS = 16
ESTIMATE_CROP = 256

# Geometric self-ensemble: the network sees each tile turned and mirrored
# (quarter turns, then a left-right mirror) and the outputs, turned back, are
# averaged. Its errors differ between orientations while the image does not,
# so each doubling of passes removes a share of them, at the cost of time.
# Two passes are the default: +0.09 dB at sigma 15 on McMaster for
# nmunet-wide, still above 1 MP/s end to end on 2 cores.
ORIENTATIONS: tuple[tuple[int, bool], ...] = (
    (0, False), (1, False), (0, True), (2, False), (3, False), (2, True), (1, True), (3, True)
)
PASS_CHOICES = (1, 2, 4, 8)
DEFAULT_PASSES = 2


DEVICES = ("auto", "cpu", "cuda", "mps")


def _mps_available() -> bool:
    """Apple-silicon GPUs through Metal."""
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def pick_device(device: str) -> torch.device:
    """``auto`` picks CUDA when it is available, else Apple's Metal GPU (MPS), else the CPU."""
    if device not in DEVICES:
        raise ValueError(f"device must be one of {', '.join(DEVICES)}, not {device!r}")
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "mps" if _mps_available() else "cpu")
    if device == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("CUDA was requested but no CUDA device is available.")
    if device == "mps" and not _mps_available():
        raise RuntimeError("MPS (Apple-silicon GPU) was requested but is not available here.")
    return torch.device(device)


PRECISIONS = ("auto", "fp32", "bf16")
# bfloat16 must beat float32 by this much on a convolution like the network's to be chosen.
BF16_MIN_SPEEDUP = 1.3


def _cpu_has_bf16_instructions() -> bool:
    features = cpu_features()
    return any(name in features for name in ("AMX", "AVX-512 BF16", "BF16"))


@cache
def bf16_conv_speedup() -> float:
    """How many times faster this CPU runs a 64-channel 3x3 convolution in bfloat16 than in float32.

    CPU flags alone do not say it: with AMX bfloat16 is several times faster;
    with AVX-512 BF16 it was 2.2x faster on an AMD EPYC but 2x slower on an
    Intel Xeon (``python -m model.precision_check``). Measured once per process,
    in about a tenth of a second.
    """
    def median_seconds(dtype: torch.dtype) -> float:
        conv = nn.Conv2d(64, 64, 3, padding=1).to(dtype).to(memory_format=torch.channels_last).eval()
        features = torch.randn(1, 64, 96, 96).to(dtype).contiguous(memory_format=torch.channels_last)
        times = []
        with torch.inference_mode():
            conv(features)  # oneDNN builds its kernel on the first call
            for _ in range(5):
                start = time.perf_counter()
                conv(features)
                times.append(time.perf_counter() - start)
        return sorted(times)[len(times) // 2]

    return median_seconds(torch.float32) / median_seconds(torch.bfloat16)


def pick_dtype(precision: str, device: torch.device) -> torch.dtype:
    """``auto`` runs the network in bfloat16 on CPUs where it measures clearly faster, else float32.

    Quality was checked against float32 (``python -m model.precision_check``:
    within 0.02 dB on Kodak24 and the real sets); only speed decides.
    """
    if precision == "fp32":
        return torch.float32
    if precision == "bf16":
        return torch.bfloat16
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, not {precision!r}")
    if device.type != "cpu" or not _cpu_has_bf16_instructions():
        return torch.float32
    return torch.bfloat16 if bf16_conv_speedup() >= BF16_MIN_SPEEDUP else torch.float32


def available_devices() -> list[str]:
    return ["auto", "cpu"] + (["cuda"] if torch.cuda.is_available() else []) + (["mps"] if _mps_available() else [])


def parse_strength(text: str) -> Strength:
    """``"auto"``, a share of Auto such as ``"150%"`` (0-200%), or a noise level from 0 to 75 (8-bit sigma)."""
    text = text.strip().lower()
    if text == AUTO:
        return AUTO
    if text.endswith("%"):
        share = float(text[:-1])
        if not 0 <= share <= MAX_AUTO_PERCENT:
            raise ValueError(f"a strength relative to Auto must be between 0% and {MAX_AUTO_PERCENT:g}%")
        return f"{share:g}%"
    value = float(text)
    if not 0 <= value <= MAX_STRENGTH:
        raise ValueError(f"strength must be auto, a share of auto (0-{MAX_AUTO_PERCENT:g}%) or between 0 and {MAX_STRENGTH:g}")
    return value


def auto_share(strength: Strength) -> float | None:
    """How much of the Auto level a strength asks for (1.0 for ``"auto"``), or None for an absolute level."""
    if strength == AUTO:
        return 1.0
    if isinstance(strength, str) and strength.endswith("%"):
        return float(strength[:-1]) / 100.0
    return None


def _spread_crops(image: np.ndarray, count: int, size: int) -> list[np.ndarray]:
    """Up to ``count`` crops of ``size`` pixels on a regular grid over the image (the whole image if small)."""
    height, width = image.shape[:2]
    if height <= size and width <= size:
        return [image]
    per_side = max(1, int(np.sqrt(count)))
    tops = np.linspace(0, max(0, height - size), per_side).astype(int)
    lefts = np.linspace(0, max(0, width - size), per_side).astype(int)
    return [image[top : top + size, left : left + size] for top in np.unique(tops) for left in np.unique(lefts)]


@dataclass(frozen=True)
class CorrelatedNoise:
    """How the engine treats correlated (real camera) noise, as a model file calibrates it.

    The learned estimator was trained on synthetic camera noise, which is
    less correlated between neighbouring pixels than real cameras' (0.5
    against 0.7), and reads real noise low. The patch-PCA estimator, made
    for white noise, reads white noise right and correlated noise far lower
    (a fifth of it). So their ratio tells the two apart: at ``white_ratio``
    or above the noise is white and nothing changes; at ``correlated_ratio``
    or below it is camera noise, Auto applies ``gain`` times the learned
    reading and the network works in colours where noise whose channels
    correlate by ``channel_correlation`` is independent (see
    :mod:`denoiser_app.core.colour_noise`); in between, a linear blend. Both
    numbers are chosen on one real set (CC15) and checked on another (Nam25).
    """

    gain: float = 1.0
    channel_correlation: float = 0.0
    white_ratio: float = 0.8
    correlated_ratio: float = 0.4

    def weight(self, white_noise_reading: float, learned_reading: float) -> float:
        """0 for white noise, 1 for camera noise."""
        ratio = white_noise_reading / max(learned_reading, 0.5)
        weight = (self.white_ratio - ratio) / (self.white_ratio - self.correlated_ratio)
        return min(1.0, max(0.0, weight))


@dataclass(frozen=True)
class NoiseReading:
    """What the engine reads of a photo's noise before denoising it."""

    level: float  # the estimator's reading, 8-bit sigma
    gain: float = 1.0  # what Auto multiplies the reading by
    channel_correlation: float = 0.0  # the correlation the colour transform undoes; 0 leaves the colours alone
    local: bool = True  # whether Auto reads a map of local levels tile by tile, scaled to this level
    camera_network: bool = False  # whether the model's camera-noise network cleans it

    @property
    def auto_level(self) -> float:
        return self.level * self.gain


# A photo whose noise reads at least this much like a camera's goes to the camera-noise network.
CAMERA_NETWORK_WEIGHT = 0.5


@dataclass(frozen=True)
class CameraNetwork:
    """A second network a model names for camera noise, trained on it, with its own Auto calibration.

    White (Gaussian) noise stays with the model's own network, so what the
    benchmark measures there does not change; noise that reads as a
    camera's goes to this one.
    """

    name: str
    module: torch.jit.ScriptModule
    calibration: CorrelatedNoise


def _calibration(info: ModelInfo) -> CorrelatedNoise | None:
    # Model files written before the colour transform carry only a gain, under its old key.
    calibration = info.extra.get("correlated_noise") or info.extra.get("correlated_noise_gain")
    return CorrelatedNoise(**calibration) if calibration else None


@dataclass(frozen=True)
class DenoiseResult:
    pixels: np.ndarray
    sigma: float
    estimated: bool


class Denoiser:
    """A model on a device, ready to denoise images of any size tile by tile."""

    def __init__(
        self,
        path: Path,
        device: str = "auto",
        on_notice: Callable[[str], None] | None = None,
        precision: str = "auto",
        passes: int = DEFAULT_PASSES,
    ) -> None:
        self.path = Path(path)
        self.device = pick_device(device)
        self.precision = precision
        self.passes = passes
        self.notify = on_notice or log.warning
        self._load()

    @property
    def passes(self) -> int:
        return self._passes

    @passes.setter
    def passes(self, passes: int) -> None:
        self._passes = _checked_passes(passes)

    def _load(self) -> None:
        module, info = load_model_file(self.path, self.device)
        self.info: ModelInfo = info
        self.estimator = self._load_estimator(info)
        self.correlated_noise = _calibration(info)
        self.dtype = pick_dtype(self.precision, self.device)
        self.module = self._prepared(module)
        self.camera_network = self._load_camera_network(info)

    def _prepared(self, module: torch.jit.ScriptModule) -> torch.jit.ScriptModule:
        """A loaded denoising network in this device's precision and layout, frozen for inference."""
        # The architectures keep the image and the residual in float32 and run
        # only their convolutions in the weights' dtype.
        module = module.to(self.dtype)
        if self.device.type == "cpu":
            module = module.to(memory_format=torch.channels_last)
        with quiet_torchscript():
            frozen = torch.jit.freeze(module)
            # oneDNN's bf16 kernels are already chosen for channels-last input;
            # this pass only pays off (and only applies) in float32.
            cpu_float32 = self.dtype == torch.float32 and self.device.type == "cpu"
            return torch.jit.optimize_for_inference(frozen) if cpu_float32 else frozen

    def _load_estimator(self, info: ModelInfo) -> torch.jit.ScriptModule | None:
        """The learned noise-level estimator the model names for Auto, frozen; None for the patch-PCA estimate."""
        name = info.extra.get("estimator")
        if not name:
            return None
        module, _ = load_model_file(resolve_companion(str(name), self.path), self.device)
        with quiet_torchscript():
            return torch.jit.freeze(module)

    def _load_camera_network(self, info: ModelInfo) -> CameraNetwork | None:
        """The network the model names for camera noise (``camera_model``), with its own Auto calibration."""
        name = info.extra.get("camera_model")
        if not name or self.correlated_noise is None:
            return None
        module, camera_info = load_model_file(resolve_companion(str(name), self.path, "camera_model"), self.device)
        if not camera_info.takes_noise_map or camera_info.multiple != info.multiple:
            raise ModelFileError(f"{self.path.name}: its camera-noise network {name!r} does not fit it.")
        return CameraNetwork(str(name), self._prepared(module), _calibration(camera_info) or self.correlated_noise)

    @property
    def name(self) -> str:
        return self.info.name or self.path.stem

    @property
    def reads_local_levels(self) -> bool:
        """Whether Auto gives this model a map of local noise levels (a learned estimator) rather than one number."""
        return self.estimator is not None

    def estimate(self, image: np.ndarray) -> float:
        """The image's noise level in 8-bit sigma units: one number, as Auto shows it and applies it."""
        return self.read_noise(image).auto_level

    def read_noise(self, image: np.ndarray) -> NoiseReading:
        """Auto's reading of the photo, and how correlated noise changes what is done with it.

        With a learned estimator, the level is the median of its map over up
        to ``ESTIMATE_CROPS`` crops spread over the photo. With the model's
        :class:`CorrelatedNoise` calibration, camera noise gets the learned
        level times the gain, read locally, and the colour transform; white
        noise the patch-PCA level for the whole photo (made for it, and
        right where the learned one reads high); noise in between a blend
        of the two levels and a share of the transform.
        """
        if self.estimator is None:
            return NoiseReading(estimate_sigma(image), local=False)
        crops = _spread_crops(image, ESTIMATE_CROPS, ESTIMATE_CROP)
        level = float(np.median([np.median(self._level_map(crop)) for crop in crops]))
        calibration = self.correlated_noise
        if calibration is None:
            return NoiseReading(level)
        white_level = estimate_sigma(image)
        weight = calibration.weight(white_level, level)
        if weight == 0.0:
            # White noise: the patch-PCA level, one for the whole photo. The
            # learned estimator reads white noise high (54 at sigma 50 on Kodak24).
            return NoiseReading(white_level, local=False)
        camera = self.camera_network is not None and weight >= CAMERA_NETWORK_WEIGHT
        if camera:
            calibration = self.camera_network.calibration  # its own gain and colours, chosen for it
        auto_level = (1.0 - weight) * white_level + weight * calibration.gain * level
        correlation = calibration.channel_correlation * weight if image.shape[2] == 3 else 0.0
        return NoiseReading(level, auto_level / max(level, 1e-3), correlation, camera_network=camera)

    def _level_map(self, tile: np.ndarray) -> np.ndarray:
        """The learned estimator's H x W map of local noise levels (8-bit units) for an H x W x C tile."""
        colour = np.repeat(tile, 3, axis=2) if tile.shape[2] == 1 else tile
        batch = torch.from_numpy(np.ascontiguousarray(colour, dtype=np.float32)).permute(2, 0, 1)[None]
        with torch.inference_mode():
            level = self.estimator(batch.to(self.device))
        return level[0, 0].float().cpu().numpy() * 255.0

    def _run_model(
        self,
        tile: np.ndarray,
        level: float | None,
        share: float,
        colours: ColourTransform | None = None,
        network: torch.jit.ScriptModule | None = None,
    ) -> np.ndarray:
        """Denoise one tile in ``self.passes`` orientations and average them.

        ``level`` is the noise level for the whole tile, or None to read a map
        of local levels from the tile with the learned estimator, times
        ``share``. With ``colours`` the network works in those colours, at
        the level the noise has there. ``network`` is the one to run (the
        model's own when None). Grey tiles go through the colour model as
        three equal channels.
        """
        grey = tile.shape[2] == 1
        if grey:
            tile = np.repeat(tile, 3, axis=2)
        low, high = self.info.noise_range
        if level is None:
            level_map = self._level_map(tile) * share
        else:
            level_map = np.full(tile.shape[:2], level, dtype=np.float32)
        if colours is not None:
            tile = colours.forward(tile)
            level_map *= colours.noise_scale
        level_map = np.clip(level_map, low, high).astype(np.float32)
        network = network or self.module
        result = self._run_network(tile, level_map, network)
        for quarter_turns, mirrored in ORIENTATIONS[1 : self.passes]:
            turned, turned_map = np.rot90(tile, quarter_turns), np.rot90(level_map, quarter_turns)
            if mirrored:
                turned, turned_map = turned[:, ::-1], turned_map[:, ::-1]
            output = self._run_network(turned, turned_map, network)
            result += np.rot90(output[:, ::-1] if mirrored else output, -quarter_turns)
        if self.passes > 1:
            result /= self.passes
        if colours is not None:
            result = colours.backward(result)
        return result.mean(axis=2, keepdims=True) if grey else result

    def _run_network(self, tile: np.ndarray, level_map: np.ndarray, network: torch.jit.ScriptModule) -> np.ndarray:
        """One forward pass of ``network`` on an H x W x 3 tile with an H x W map of noise levels (8-bit units)."""
        # An H x W x C array viewed as 1 x C x H x W is already channels-last.
        batch = torch.from_numpy(np.ascontiguousarray(tile)).permute(2, 0, 1)[None].to(self.device)
        noise_map = torch.from_numpy(np.ascontiguousarray(level_map) / 255.0)[None, None].to(self.device)
        with torch.inference_mode():
            output = network(batch, noise_map)
        return output[0].float().cpu().numpy().transpose(1, 2, 0)

    def _blend_weight(self, sigma: float) -> float:
        # A model without a noise input always removes "typical" noise; weaker
        # strengths mix the input back in. Full effect from mid-range up.
        middle = sum(self.info.noise_range) / 2
        return min(1.0, max(0.0, sigma) / middle) if middle > 0 else 1.0

    def denoise(
        self,
        image: np.ndarray,
        strength: Strength = "auto",
        tile: int = DEFAULT_TILE,
        overlap: int = 64,
        progress: Progress | None = None,
        keep_grain: float = 0.0,
        reading: NoiseReading | None = None,
        in_place: bool = False,
    ) -> DenoiseResult:
        """Denoise an H x W x C float32 image in [0, 1] (C is 1 or 3).

        ``strength`` is a noise level (8-bit sigma), ``"auto"``, or a share of
        Auto such as ``"150%"``. With a learned estimator Auto reads a map of
        local levels tile by tile (real noise is stronger in shadows), scaled
        by the share; otherwise one level for the photo. ``keep_grain`` (0-1)
        blends that share of the removed noise back in. ``reading`` is the
        whole photo's :meth:`read_noise` when ``image`` is a part of it, so a
        crop is cleaned as it is in the photo. ``in_place`` lets a float32
        ``image`` become the result on the CPU, with no second copy of the
        photo (the batch, which owns its pixels, asks for it); if the call
        raises, such an image is half cleaned and only fit to be dropped.

        Returns the clean pixels, clipped to [0, 1], and the noise level used
        (for a map, its median over the photo, times the share).
        ``progress`` receives one ``tile`` update per tile and may cancel.
        """
        if image.ndim != 3 or image.shape[2] not in (1, 3):
            raise ValueError("expected an H x W x 1 or H x W x 3 image")
        if not 0.0 <= keep_grain <= 1.0:
            raise ValueError("keep_grain must be between 0 and 1")
        share = auto_share(strength)
        estimated = share is not None
        # A fixed strength still needs the reading to know whether the noise is a camera's.
        if reading is None and (estimated or self.correlated_noise is not None):
            reading = self.read_noise(image)
        if share is not None:
            share *= reading.gain
            sigma = reading.level * share
        else:
            sigma = float(strength)
        colours = decorrelating_transform(reading.channel_correlation) if reading and reading.channel_correlation else None
        image = image.astype(np.float32, copy=False)
        # Strengths beyond what the model was trained on are applied at its limit.
        low, high = self.info.noise_range
        if not self.info.takes_noise_map:
            model_sigma: float | None = (low + high) / 2
        elif estimated and reading.local:
            model_sigma = None  # read locally, tile by tile
        else:
            model_sigma = min(max(sigma, low), high)

        def on_tile(done: int, total: int) -> None:
            if progress:
                progress.report(Stage.TILE, done, total)
                progress.check_cancelled()

        if progress:
            progress.check_cancelled()
        # Mirrored context at the photo's edges: with zeros there instead, the
        # network darkens or brightens a thin frame (about 1 dB worse in the
        # outer 8 pixels).
        mode = "reflect" if min(image.shape[:2]) > EDGE_CONTEXT else "edge"
        blend = None if self.info.takes_noise_map else self._blend_weight(sigma)

        def finish(output: np.ndarray, noisy: np.ndarray) -> None:
            """Rows of the blended network output made final, in place, beside the same rows of the input."""
            if blend is not None:
                output -= noisy
                output *= blend
                output += noisy
            np.clip(output, 0.0, 1.0, out=output)
            if keep_grain > 0.0:
                output *= 1.0 - keep_grain
                output += keep_grain * noisy
                np.clip(output, 0.0, 1.0, out=output)

        # Only on the CPU: the GPU's out-of-memory retry must start again from the untouched photo.
        in_place = in_place and self.device.type == "cpu" and image.flags.writeable
        camera = bool(reading and reading.camera_network and self.camera_network)

        def run(tile: int) -> np.ndarray:
            """The photo tiled with ``EDGE_CONTEXT`` px of mirrored context, through the network as loaded now."""
            network = self.camera_network.module if camera else self.module  # read again after a reload
            process = lambda t: self._run_model(t, model_sigma, share or 1.0, colours, network)  # noqa: E731
            return run_tiled(image, process, tile, min(overlap, tile // 4), on_tile, EDGE_CONTEXT, mode, finish, in_place)

        return DenoiseResult(self._with_memory_fallback(run, tile), sigma, estimated)

    def _with_memory_fallback(self, run: Callable[[int], np.ndarray], tile: int) -> np.ndarray:
        """``run(tile)``; on CUDA out-of-memory again with half the tile, then on the CPU."""
        while True:
            try:
                return run(tile)
            except torch.cuda.OutOfMemoryError:
                torch.cuda.empty_cache()
                if tile // 2 >= MIN_TILE:
                    tile //= 2
                    self.notify(f"GPU out of memory; retrying with {tile}px tiles.")
                else:
                    self.device = torch.device("cpu")
                    self._load()
                    self.notify("GPU out of memory even with small tiles; continuing on the CPU.")


def set_cpu_threads(threads: int | None) -> None:
    """How many CPU threads torch may use, for the whole process (every model, every thread); None leaves it."""
    if threads:
        torch.set_num_threads(threads)


def _checked_passes(passes: int) -> int:
    if passes not in PASS_CHOICES:
        raise ValueError(f"passes must be one of {', '.join(map(str, PASS_CHOICES))}, not {passes!r}")
    return passes


@dataclass(frozen=True)
class DenoiseSettings:
    """How to denoise, said once: the model, where and how it runs, and how strongly.

    The CLI builds it from its arguments, the window from its panel, a script
    by hand; the batch, the preview and :meth:`load` all take it. Checked when
    made, so a worker holding one never meets a bad value.
    """

    model: str | Path | None = None  # a bundled or user model name, a .pt path, or None for the default
    device: str = "auto"
    precision: str = "auto"
    passes: int = DEFAULT_PASSES
    strength: Strength = AUTO  # a level, "auto" or a share of Auto such as "150%" (see parse_strength)
    keep_grain: float = 0.0  # share of the removed noise blended back, 0-1
    tile: int = DEFAULT_TILE

    def __post_init__(self) -> None:
        if self.device not in DEVICES:
            raise ValueError(f"device must be one of {', '.join(DEVICES)}, not {self.device!r}")
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, not {self.precision!r}")
        _checked_passes(self.passes)
        parse_strength(str(self.strength))
        if not 0.0 <= self.keep_grain <= 1.0:
            raise ValueError("keep grain must be between 0 and 1")
        if self.tile < MIN_CHOSEN_TILE:
            raise ValueError(f"tiles must be at least {MIN_CHOSEN_TILE} px")

    def gives_the_same_pixels_as(self, other: DenoiseSettings) -> bool:
        """Whether both clean a photo alike (the tile size changes them by rounding only)."""
        return replace(self, tile=other.tile) == other

    def load(self, on_notice: Callable[[str], None] | None = None) -> Denoiser:
        return load_denoiser(self.model, self.device, on_notice, self.precision, self.passes)


def load_denoiser(
    model: str | Path | None = None,
    device: str = "auto",
    on_notice: Callable[[str], None] | None = None,
    precision: str = "auto",
    passes: int = DEFAULT_PASSES,
) -> Denoiser:
    """Load a model by bundled/user name, by file path, or the default when ``model`` is None.

    ``precision`` is ``auto``, ``fp32`` or ``bf16`` (see :func:`pick_dtype`);
    ``passes`` is how many orientations each tile is denoised in (see
    ``ORIENTATIONS``). CPU threads are the process's: see :func:`set_cpu_threads`.
    """
    return Denoiser(resolve_model(model), device, on_notice, precision, passes)
