"""The report's JSON-able records: per-cell scores, speeds, the auto-strength loss, paper figures, the run's context."""
from __future__ import annotations

import datetime
import math
import os
import platform
from collections.abc import Sequence
from typing import Any

import torch

from denoiser_app.core.engine import pick_dtype
from denoiser_app.core.hardware import cpu_features, cpu_name
from model.data import TRAIN_SET
from model.evaluate import ImageScore, mean
from model.benchmark.methods import (
    NLM_H_FACTORS,
    NLM_SEARCH_WINDOW,
    NLM_TEMPLATE_WINDOW,
    NLM_TUNING_CROP,
    NlmTuning,
    package_version,
)
from model.benchmark.running import MethodRun


PAPER_SIGMAS = (15.0, 25.0, 50.0)
# From the data README (shared/data/README.md beside the repository; colour, float protocol); not run here.
PAPER_PSNR: dict[str, dict[str, tuple[float, float, float]]] = {
    "CBM3D": {"CBSD68": (33.52, 30.71, 27.38), "Kodak24": (34.28, 31.68, 28.46), "McMaster": (34.06, 31.66, 28.51)},
    "CDnCNN": {"CBSD68": (33.90, 31.24, 27.95), "Kodak24": (34.60, 32.14, 28.95), "McMaster": (33.45, 31.52, 28.62)},
    "FFDNet": {"CBSD68": (33.87, 31.21, 27.96), "Kodak24": (34.63, 32.13, 28.98), "McMaster": (34.66, 32.35, 29.18)},
    "DRUNet": {"CBSD68": (34.30, 31.69, 28.51), "Kodak24": (35.31, 32.89, 29.86), "McMaster": (35.40, 33.14, 30.08)},
}


def sigma_key(sigma: float) -> str:
    return f"{sigma:g}"


def json_number(value: float | None) -> float | None:
    """JSON has no inf/nan; such values are stored as null."""
    return value if value is not None and math.isfinite(value) else None


def cell_record(scores: Sequence[ImageScore]) -> dict[str, Any]:
    return {
        "psnr": json_number(mean(s.psnr for s in scores)),
        "ssim": json_number(mean(s.ssim for s in scores)),
        "images": len(scores),
        "per_image": [
            {
                "name": s.name,
                "psnr": json_number(s.psnr),
                "ssim": s.ssim,
                "seconds": s.seconds,
                **({"estimated_sigma": s.estimated_sigma} if s.estimated_sigma is not None else {}),
            }
            for s in scores
        ],
    }


def method_record(run: MethodRun) -> dict[str, Any]:
    speed = run.megapixels / run.seconds if run.seconds > 0 else None
    return {
        "key": run.method.key,
        "label": run.method.label,
        "details": run.method.details,
        "uint8_input": run.method.uint8_input,
        "speed": {"megapixels": run.megapixels, "seconds": run.seconds, "megapixels_per_second": speed},
        "image_scores": run.scored,
        "reused_scores": run.reused,
        "timing_images": run.timing_images,
    }


def results_record(run: MethodRun) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for (protocol, set_name, sigma), scores in run.scores.items():
        results.setdefault(protocol, {}).setdefault(set_name, {})[sigma_key(sigma)] = cell_record(scores)
    return results


def auto_strength_record(known: MethodRun, auto: MethodRun) -> dict[str, Any]:
    """Per cell: PSNR lost by auto strength (known − auto, dB) and the estimate's error in sigma."""
    record: dict[str, Any] = {}
    for (protocol, set_name, sigma), auto_scores in auto.scores.items():
        known_scores = known.scores.get((protocol, set_name, sigma))
        if known_scores is None:
            continue
        errors = [s.estimated_sigma - sigma for s in auto_scores if s.estimated_sigma is not None]
        record.setdefault(protocol, {}).setdefault(set_name, {})[sigma_key(sigma)] = {
            "psnr_loss_db": json_number(mean(s.psnr for s in known_scores) - mean(s.psnr for s in auto_scores)),
            "sigma_mae": json_number(mean(abs(e) for e in errors)),
            "sigma_bias": json_number(mean(errors)),
        }
    return record


def paper_record(sets: Sequence[str], sigmas: Sequence[float]) -> dict[str, Any]:
    record: dict[str, Any] = {}
    for method, by_set in PAPER_PSNR.items():
        for set_name in sets:
            for sigma in sigmas:
                if set_name in by_set and sigma in PAPER_SIGMAS:
                    value = by_set[set_name][PAPER_SIGMAS.index(sigma)]
                    record.setdefault(method, {}).setdefault(set_name, {})[sigma_key(sigma)] = value
    return record


def nlm_record(tuning: dict[float, NlmTuning], crop_names: Sequence[str]) -> dict[str, Any]:
    return {
        "template_window": NLM_TEMPLATE_WINDOW,
        "search_window": NLM_SEARCH_WINDOW,
        "h_color": "equal to h",
        "grid": f"h = sigma × {NLM_H_FACTORS[0]}…{NLM_H_FACTORS[-1]} in steps of 0.1",
        "training_crops": {
            "folder": TRAIN_SET,
            "images": list(crop_names),
            "size": NLM_TUNING_CROP,
            "noise": "8-bit protocol",
        },
        "tuned": {
            sigma_key(t.sigma): {
                "h": t.h,
                "psnr": t.psnr_by_h[t.h],
                "on_grid_edge": t.on_grid_edge,
                "psnr_by_h": {f"{h:g}": p for h, p in t.psnr_by_h.items()},
            }
            for t in tuning.values()
        },
    }


def load_average() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def run_context(command: str, threads: int) -> dict[str, Any]:
    import cv2

    from denoiser_app.core.engine import DEFAULT_PASSES, DEFAULT_TILE

    return {
        "command": command,
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "machine": {
            "cpu": cpu_name(),
            "cpu_features": cpu_features(),
            "cores": os.cpu_count(),
            "platform": platform.platform(),
            "load_average_start": load_average(),
        },
        "threads": {"torch": threads, "opencv": cv2.getNumThreads()},
        "engine": {"passes": DEFAULT_PASSES, "tile": DEFAULT_TILE,
                   "precision": str(pick_dtype("auto", torch.device("cpu"))).removeprefix("torch.")},
        "versions": {
            name: package_version(name)
            for name in ("torch", "numpy", "opencv-python-headless", "bm3d", "bm4d", "scikit-image")
        },
    }


def build_report(
    context: dict[str, Any],
    options: dict[str, Any],
    runs: Sequence[MethodRun],
    skipped: Sequence[str],
    nlm: dict[str, Any] | None,
    complete: bool,
    photo_speeds: dict[str, dict[str, Any]] | None = None,
    real_noise: Sequence[dict[str, Any]] = (),
) -> dict[str, Any]:
    by_key = {run.method.key: run for run in runs}
    auto_strength = {}
    if {"default", "auto"} <= by_key.keys():
        auto_strength = auto_strength_record(by_key["default"], by_key["auto"])
    return {
        **context,
        **options,
        "complete": complete,
        "skipped": list(skipped),
        "nlm": nlm,
        "methods": [method_record(run) for run in runs],
        "results": {run.method.key: results_record(run) for run in runs},
        "auto_strength": auto_strength,
        "photo_speed": photo_speeds or {},
        "real_noise": list(real_noise),
        "paper_reference": paper_record(options["sets"], options["sigmas"]),
    }


