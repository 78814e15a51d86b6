"""``denoiser-cli``: clean folders of photos from a terminal."""
from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path

from tqdm import tqdm

from denoiser_app import __version__
from denoiser_app.core.batch import (
    BatchOptions,
    FileResult,
    JobStarted,
    OutputFolderError,
    Summary,
    check_name_suffix,
    run_job,
)
from denoiser_app.core.engine import (
    DEFAULT_PASSES,
    DEVICES,
    DEFAULT_TILE,
    PASS_CHOICES,
    DenoiseSettings,
    Denoiser,
    available_devices,
    parse_strength,
    set_cpu_threads,
)
from denoiser_app.core.hardware import describe_compute
from denoiser_app.core.imageio import DEFAULT_MAX_MEGAPIXELS, OUTPUT_FORMATS
from denoiser_app.core.modelfile import ModelFileError
from denoiser_app.core.models import DEFAULT_MODEL, list_models
from denoiser_app.core.progress import Progress, Stage, Update

EXAMPLES = """\
examples:
  denoiser-cli ~/Photos/wedding
      clean every image in the folder into ~/Photos/wedding-denoised
  denoiser-cli shoot/ -o clean/ --recursive --strength 20
      clean a folder tree at a fixed strength, mirroring subfolders
  denoiser-cli shoot/ --strength 70% --keep-grain 15
      a lighter touch than Auto measures, with some of the grain kept
  denoiser-cli IMG_0042.jpg IMG_0043.tif --format tiff
      clean two files and write 16-bit-capable TIFFs
  denoiser-cli --list-models
      show the bundled models and your own fine-tuned ones

Existing outputs are skipped, so running the same command again resumes an
interrupted batch; --overwrite replaces them. Originals are never modified.
Press Ctrl+C to stop: the image in progress is abandoned and no partial file
is left. The exit code is 0 when every file succeeded, 1 when any failed and
130 when cancelled.
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="denoiser-cli",
        description="Remove sensor noise from photos, keeping their metadata and colour profile.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("inputs", nargs="*", type=Path, metavar="INPUT", help="image files and/or folders")
    parser.add_argument("-o", "--output", type=Path, help="output folder (default: <input>-denoised beside it)")
    parser.add_argument(
        "--strength",
        default="auto",
        help="auto (default: each photo's measured noise), a share of auto such as 70%% or 150%% (0-200%%), "
        "or a fixed noise level 0-75 (8-bit sigma)",
    )
    parser.add_argument(
        "--keep-grain",
        type=float,
        default=0.0,
        metavar="PERCENT",
        help="blend this share (0-100) of the removed noise back in, for a natural grain (default 0)",
    )
    parser.add_argument("--model", default=None, help=f"model name or .pt file (default: {DEFAULT_MODEL})")
    parser.add_argument("--device", choices=DEVICES, default="auto", help="auto: CUDA, else Apple's Metal GPU (mps), else the CPU")
    parser.add_argument("--tile", type=int, default=DEFAULT_TILE, help=f"tile size in pixels (default {DEFAULT_TILE})")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads (default: all cores)")
    parser.add_argument(
        "--passes",
        type=int,
        choices=PASS_CHOICES,
        default=DEFAULT_PASSES,
        help=f"orientations each tile is denoised in, averaged: more is cleaner and slower (default {DEFAULT_PASSES})",
    )
    parser.add_argument(
        "--max-megapixels",
        type=float,
        default=DEFAULT_MAX_MEGAPIXELS,
        metavar="MP",
        help=f"refuse images above this size, read from their header before decoding (default {DEFAULT_MAX_MEGAPIXELS:g})",
    )
    parser.add_argument("--recursive", action="store_true", help="include subfolders, mirrored in the output")
    parser.add_argument("--format", choices=OUTPUT_FORMATS, default="same", help="output format (default: same as input)")
    parser.add_argument("--jpeg-quality", type=int, default=95, metavar="Q", help="JPEG quality 1-100 (default 95)")
    parser.add_argument("--suffix", default="", help="text appended to output file names")
    parser.add_argument("--overwrite", action="store_true", help="replace existing outputs instead of skipping them")
    parser.add_argument("--allow-inside-input", action="store_true", help="allow an output folder inside an input folder")
    parser.add_argument("--list-models", action="store_true", help="list available models and exit")
    parser.add_argument("--self-test", action="store_true", help="check this installation end to end, then exit")
    parser.add_argument("--out", type=Path, metavar="FILE", help="with --self-test: write the JSON result here")
    parser.add_argument("--quiet", action="store_true", help="print only failures and the summary")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    return parser


class BarProgress(Progress):
    """Draws a per-image tile bar under the overall bar."""

    def __init__(self, quiet: bool) -> None:
        super().__init__()
        # None lets tqdm draw only on a terminal: in a log file its redraws are noise around the per-file lines
        self.disable_bars: bool | None = True if quiet else None
        self.tile_bar: tqdm | None = None

    def on_update(self, update: Update) -> None:
        if self.disable_bars or update.stage != Stage.TILE or update.total <= 1:
            return
        if self.tile_bar is None:
            self.tile_bar = tqdm(
                total=int(update.total), desc="  tiles", unit="tile", leave=False, position=1, disable=self.disable_bars
            )
        self.tile_bar.n = int(update.done)
        self.tile_bar.refresh()
        if update.done >= update.total:
            self.close_tile_bar()

    def close_tile_bar(self) -> None:
        if self.tile_bar is not None:
            self.tile_bar.close()
            self.tile_bar = None


def print_models() -> None:
    for entry in list_models():
        origin = "bundled" if entry.bundled else "yours"
        marker = "*" if entry.name == DEFAULT_MODEL else " "
        print(f"{marker} {entry.name:<20} {origin:<8} {entry.info.architecture:<10} {entry.info.description}")
    print("(* default)")


def describe(result: FileResult) -> str:
    if result.status == "done":
        how = "estimated" if result.sigma_estimated else "set"
        rate = result.megapixels / result.seconds if result.seconds else 0.0
        notes = "".join(f"\n         note: {warning}" for warning in result.warnings)
        return (
            f"done     {result.source.name} -> {result.destination}  "
            f"(noise {result.sigma:.1f} {how}, {result.seconds:.1f}s, {rate:.2f} MP/s){notes}"
        )
    if result.status == "skipped":
        return f"skipped  {result.source.name}: {result.reason}"
    if not result.reason:
        return f"{result.status:<8} {result.source}"
    # Read and write errors already name the file.
    where = "" if str(result.source) in result.reason else f"{result.source}: "
    return f"{result.status:<8} {where}{result.reason}"


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.list_models:
        print_models()
        return 0
    if args.self_test:
        from denoiser_app.self_test import self_test

        return self_test(args.out)
    if not args.inputs:
        parser.error("give at least one image file or folder (see --help)")
    try:
        strength = parse_strength(args.strength)
    except ValueError as error:
        parser.error(str(error))
    if args.max_megapixels <= 0:
        parser.error("--max-megapixels must be more than 0")
    if not 0 <= args.keep_grain <= 100:
        parser.error("--keep-grain must be between 0 and 100")
    if not 1 <= args.jpeg_quality <= 100:
        parser.error("--jpeg-quality must be between 1 and 100")
    if args.tile < 64:
        parser.error("--tile must be at least 64")
    try:
        check_name_suffix(args.suffix)
    except ValueError as error:
        parser.error(str(error))
    if args.device not in available_devices():
        parser.error("CUDA is not available on this machine")

    options = BatchOptions(
        output_dir=args.output,
        recursive=args.recursive,
        format=args.format,
        jpeg_quality=args.jpeg_quality,
        name_suffix=args.suffix,
        overwrite=args.overwrite,
        allow_inside_input=args.allow_inside_input,
        denoise=DenoiseSettings(
            model=args.model, device=args.device, passes=args.passes, strength=strength,
            keep_grain=args.keep_grain / 100.0, tile=args.tile,
        ),
        max_megapixels=args.max_megapixels,
    )
    progress = BarProgress(args.quiet)
    summary = Summary()

    def request_stop(signum: int, frame: object) -> None:
        if progress.is_cancelled:  # a second Ctrl+C stops at once
            raise KeyboardInterrupt
        tqdm.write("stopping after the current tile… (Ctrl+C again to abort now)")
        progress.cancel()

    previous_handler = signal.signal(signal.SIGINT, request_stop)
    try:
        return run(args, options, progress, summary)
    except KeyboardInterrupt:
        summary.cancelled = True
        progress.close_tile_bar()
        print_summary(summary)
        return summary.exit_code
    finally:
        signal.signal(signal.SIGINT, previous_handler)


def run(args: argparse.Namespace, options: BatchOptions, progress: BarProgress, summary: Summary) -> int:
    """Plan, load the model and clean every file, drawing progress; returns the exit code."""

    def load() -> Denoiser:
        set_cpu_threads(args.threads)
        return options.denoise.load(on_notice=lambda m: tqdm.write(f"note: {m}"))

    job = run_job(args.inputs, options, load, progress)
    try:
        started = next(job)
    except OutputFolderError as error:
        print(f"denoiser-cli: {error} ({error.__cause__}); choose another output folder with --output", file=sys.stderr)
        return 2
    except (ModelFileError, RuntimeError, ValueError) as error:
        print(f"denoiser-cli: {error}", file=sys.stderr)
        return 2
    assert isinstance(started, JobStarted)
    plan, denoiser = started.plan, started.denoiser
    summary.total = plan.total
    # Existing outputs are skipped at once, so only the rest count towards the time left.
    to_process = {f.source for f in plan.files if options.overwrite or not f.destination.exists()}
    if not args.quiet:
        compute = describe_compute(denoiser.device, denoiser.dtype)
        print(f"model {denoiser.name} on {compute}; {len(plan.files)} image(s), {len(to_process)} to clean")
    with tqdm(total=len(to_process), unit="img", disable=progress.disable_bars, position=0) as overall:
        for result in job:
            assert isinstance(result, FileResult)
            progress.close_tile_bar()
            summary.add(result)
            if result.status == "failed" or result.warnings or not args.quiet:
                tqdm.write(describe(result), file=sys.stderr if result.status == "failed" else sys.stdout)
            if result.status in ("done", "failed") and result.source in to_process:
                overall.update(1)
    print_summary(summary)
    return summary.exit_code


def print_summary(summary: Summary) -> None:
    rate = f", {summary.megapixels / summary.seconds:.2f} MP/s" if summary.seconds else ""
    state = " (cancelled)" if summary.cancelled else ""
    print(f"{summary.counts_text()}{state}{rate}")


if __name__ == "__main__":
    sys.exit(main())
