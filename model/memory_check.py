"""Memory of the CLI as a user runs it: one huge photo, and a long batch of small ones.

    python -m model.memory_check [--megapixels 100] [--images 2000] [--passes 1] [--output docs/memory.md]

- **Peak memory on a huge photo**: a noisy JPEG of ``--megapixels`` (the
  sample photo enlarged, fresh grain) through ``python -m denoiser_app.cli``
  in a fresh process; its resident memory (RSS) is sampled every 50 ms and the
  peak reported with the wall time. The operating system's own peak
  (``ru_maxrss``, which the CLI reports at its exit) is given beside it.
- **A long batch**: ``--images`` small JPEGs through one CLI run; RSS when the
  200th output appears and when the last does. A leak shows as growth between
  the two.

``--passes`` is the engine's orientations per tile. Memory does not depend on
it (each pass's output is added into one tile-sized sum), so the huge photo
runs with one pass to keep the measurement short; the table says so.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

from denoiser_app.core.atomic import is_partial_file
from denoiser_app.core.engine import load_denoiser
from denoiser_app.core.hardware import describe_compute
from model.photo_speed import make_noisy_photo, photo_size

SAMPLE_SECONDS = 0.05
LEAK_CHECKPOINT = 200
MB = 1024 * 1024


@dataclass
class Watched:
    """What sampling one CLI run saw."""

    seconds: float
    peak_rss: int  # bytes, the largest sample
    os_peak_rss: int | None  # bytes, the kernel's maximum resident set of the CLI, as it reported it at exit
    rss_at_outputs: dict[int, int]  # outputs written -> RSS when that many first existed


def _outputs(folder: Path) -> int:
    return sum(not is_partial_file(path) for path in folder.iterdir()) if folder.exists() else 0


# The CLI, run so that at its exit it reports its own peak resident memory as the kernel counts it
# (ru_maxrss: kB on Linux, bytes on macOS). Its parent here is small when it starts it, and the
# kernel's figure carries the parent's memory at fork over into the child's.
CLI_WITH_PEAK = (
    "import atexit, resource, runpy, sys\n"
    "atexit.register(lambda: sys.stderr.write(f'PEAK_RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}\\n'))\n"
    "sys.argv = ['denoiser-cli', *sys.argv[1:]]\n"
    "runpy.run_module('denoiser_app.cli', run_name='__main__')\n"
)


def _reported_peak(errors: str) -> int | None:
    lines = [line for line in errors.splitlines() if line.startswith("PEAK_RSS ")]
    if not lines:
        return None
    peak = int(lines[-1].split()[1])
    return peak if sys.platform == "darwin" else peak * 1024


def watch_cli(inputs: Path, output: Path, extra: list[str], checkpoints: tuple[int, ...] = ()) -> Watched:
    command = [sys.executable, "-c", CLI_WITH_PEAK, str(inputs), "--output", str(output), "--quiet", *extra]
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    watched = psutil.Process(process.pid)
    peak, at_outputs = 0, {}
    while process.poll() is None:
        try:
            rss = watched.memory_info().rss
        except psutil.NoSuchProcess:
            break
        peak = max(peak, rss)
        if checkpoints:
            written = _outputs(output)
            for checkpoint in checkpoints:
                if written >= checkpoint and checkpoint not in at_outputs:
                    at_outputs[checkpoint] = rss
        time.sleep(SAMPLE_SECONDS)
    seconds = time.perf_counter() - started
    errors = process.stderr.read() if process.stderr else ""
    if process.wait() != 0:
        raise RuntimeError(f"the CLI failed ({process.returncode}): {errors[-2000:]}")
    return Watched(seconds, peak, _reported_peak(errors), at_outputs)


def _make_photo_elsewhere(path: Path, width: int, height: int) -> None:
    """Write the noisy photo from another process: making a huge one here would raise this process's memory,
    which Linux then counts in the peak of the CLI it starts (ru_maxrss survives fork and exec)."""
    code = "import sys; from pathlib import Path; from model.photo_speed import make_noisy_photo; " \
           "make_noisy_photo(Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]))"
    subprocess.run([sys.executable, "-c", code, str(path), str(width), str(height)], check=True)


def huge_photo(folder: Path, megapixels: float, extra: list[str]) -> Watched:
    photos = folder / "huge"
    photos.mkdir()
    _make_photo_elsewhere(photos / "huge.jpg", *photo_size(megapixels))
    return watch_cli(photos, folder / "huge-clean", extra)


def long_batch(folder: Path, images: int, extra: list[str]) -> Watched:
    photos = folder / "many"
    photos.mkdir()
    for index in range(images):
        make_noisy_photo(photos / f"photo_{index:05d}.jpg", 128, 96, seed=index)
    return watch_cli(photos, folder / "many-clean", extra, checkpoints=(LEAK_CHECKPOINT, images))


def markdown(args: argparse.Namespace, huge: Watched | None, batch: Watched | None) -> str:
    denoiser = load_denoiser(args.model)
    lines = [
        "# Memory",
        "",
        f"Command: `python -m model.memory_check --megapixels {args.megapixels:g} --images {args.images} --passes {args.passes}" + (f" --threads {args.threads}" if args.threads else "") + "`  ",
        f"Machine: {describe_compute(denoiser.device, denoiser.dtype)}, {psutil.virtual_memory().total / 2**30:.0f} GB; "
        f"model {denoiser.name}, {args.passes} pass(es), {args.threads or 'all'} CPU thread(s), the CLI's defaults otherwise (tiles of 512 px, Auto strength); "
        "resident memory (RSS) of the CLI process, sampled every 50 ms.",
        "",
        "| run | wall time (s) | peak RSS (MB) | operating system's peak RSS (MB) | RSS at 200 outputs (MB) | RSS at the last (MB) |",
        "|:---|---:|---:|---:|---:|---:|",
    ]
    if huge is not None:
        os_peak = f"{huge.os_peak_rss / MB:.0f}" if huge.os_peak_rss else "n/a"
        lines.append(f"| one {args.megapixels:g} MP JPEG | {huge.seconds:.0f} | {huge.peak_rss / MB:.0f} | {os_peak} | | |")
    if batch is not None:
        first = batch.rss_at_outputs.get(LEAK_CHECKPOINT)
        last = batch.rss_at_outputs.get(args.images)
        cells = [f"{value / MB:.0f}" if value else "n/a" for value in (first, last)]
        lines.append(f"| {args.images} JPEGs of 128 x 96 | {batch.seconds:.0f} | {batch.peak_rss / MB:.0f} | | {cells[0]} | {cells[1]} |")
        if first and last:
            lines += ["", f"Growth from the 200th output to the last: {(last - first) / MB:+.0f} MB."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--megapixels", type=float, default=100.0, help="0 skips the huge photo")
    parser.add_argument("--images", type=int, default=2000, help="0 skips the long batch")
    parser.add_argument("--passes", type=int, default=1)
    parser.add_argument("--model", default=None)
    parser.add_argument("--threads", type=int, default=0, help="CPU threads for the CLI (0: its default, all cores)")
    parser.add_argument("--output", type=Path, default=None, help="also write the table here")
    args = parser.parse_args(argv)
    extra = ["--passes", str(args.passes), *(["--model", args.model] if args.model else [])]
    extra += ["--threads", str(args.threads)] if args.threads else []
    with tempfile.TemporaryDirectory() as folder:
        huge = huge_photo(Path(folder), args.megapixels, extra) if args.megapixels > 0 else None
        # The huge photo's child is finished: getrusage's peak from here on would still be its.
        batch = long_batch(Path(folder), args.images, extra) if args.images > 0 else None
    table = markdown(args, huge, batch)
    print(table)
    if args.output:
        args.output.write_text(table, encoding="utf-8")


if __name__ == "__main__":
    main()
