"""``python -m model.benchmark``: the command line that runs every method and writes the report."""
from __future__ import annotations

import argparse
import shlex
import sys
import tempfile
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import nullcontext
from pathlib import Path
from typing import Any


from model.cpu_share import other_processes_cores, sample_cpu
from model.data import COLOUR_TEST_SETS
from model.evaluate import PROTOCOLS, SIGMAS, load_test_set
from model.photo_speed import ROUNDS, make_noisy_photo, time_photo
from model.score_store import ScoreStore, default_score_store
from model.benchmark.markdown import busy_machine_notes, write_outputs
from model.benchmark.methods import cbm3d_method, ffdnet_method, model_methods, nlm_method, training_crops, tune_nlm
from model.benchmark.records import build_report, load_average, nlm_record, run_context
from model.benchmark.running import Console, MethodRun, run_method


METHOD_KEYS = ("default", "auto", "seed", "ffdnet", "nlm", "cbm3d")
QUICK_IMAGES = 3
QUICK_SIGMAS = (25.0,)


def comma_list(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


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
    progress = Console()
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
