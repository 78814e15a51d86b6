"""Start-up: from a command to its first output, and from app start to the first cleaned preview.

    python -m model.startup_timing [--megapixels 1] [--output docs/startup.md]

Each figure comes from a fresh process, as a user starts one, on a noisy
photo written to a temporary folder:

- the CLI (``python -m denoiser_app.cli``) on two photos: seconds from the
  command to the first output file and to the second, so the first photo's
  extra cost (interpreter, imports, model load, TorchScript warm-up) shows
  beside what a photo costs in a warm process;
- the engine in a fresh process: importing it, loading the default model, the
  first denoise and the second of the same photo (the warm-up is their
  difference);
- the window (offscreen): seconds from the process start to the window on
  screen, the photo on screen and its first cleaned preview.

The machine and the precision are named with the figures.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from denoiser_app.core.atomic import is_partial_file
from denoiser_app.core.engine import load_denoiser
from denoiser_app.core.hardware import describe_compute
from model.photo_speed import make_noisy_photo, photo_size

POLL_SECONDS = 0.01
TIMEOUT = 600.0

ENGINE_PROBE = """
import json, sys, time
started = float(sys.argv[1])
from denoiser_app.core.imageio import read_image
from denoiser_app.core.engine import load_denoiser
imported = time.time()
denoiser = load_denoiser()
loaded = time.time()
pixels = read_image(sys.argv[2]).pixels
times = []
for _ in range(2):
    begin = time.time()
    denoiser.denoise(pixels)
    times.append(time.time() - begin)
print(json.dumps({"import": imported - started, "load": loaded - imported, "first": times[0], "second": times[1]}))
"""

WINDOW_PROBE = """
import json, sys, time
from pathlib import Path
started = float(sys.argv[1])
from PySide6.QtWidgets import QApplication
from denoiser_app.gui.main_window import MainWindow
from denoiser_app.gui.settings import Settings
app = QApplication([])
window = MainWindow(Settings(Path(sys.argv[3])))
window.resize(1280, 800)
window.show()
app.processEvents()
shown = time.time()
window.add_inputs([Path(sys.argv[2])])
def wait(condition):
    while not condition():
        app.processEvents()
        time.sleep(0.01)
    return time.time() - started
photo = wait(window.preview.has_image)
cleaned = wait(window.preview.has_denoised)
window.close()
print(json.dumps({"window": shown - started, "photo": photo, "cleaned": cleaned}))
"""


def run_probe(code: str, *args: str) -> dict[str, float]:
    """Run ``code`` in a fresh interpreter, passing it the moment it was started; its last line is JSON."""
    environment = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}  # the same on every machine, display or not
    started = time.time()
    done = subprocess.run(
        [sys.executable, "-c", code, repr(started), *args], capture_output=True, text=True, timeout=TIMEOUT, env=environment
    )
    if done.returncode != 0:
        raise RuntimeError(f"the probe failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def time_cli(photos: Path, output: Path) -> list[float]:
    """Seconds from starting the CLI to each output file appearing, in order, and to the process's exit last."""
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "denoiser_app.cli", str(photos), "--output", str(output)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    expected = len(list(photos.iterdir()))
    seen: list[float] = []
    while process.poll() is None and time.perf_counter() - started < TIMEOUT:
        written = sum(not is_partial_file(path) for path in output.iterdir()) if output.exists() else 0
        seen += [time.perf_counter() - started] * (written - len(seen))
        time.sleep(POLL_SECONDS)
    finished = time.perf_counter() - started
    seen += [finished] * (expected - len(seen))  # written in the last poll interval
    if process.returncode != 0:
        raise RuntimeError(f"the CLI failed with exit code {process.returncode}")
    return [*seen, finished]


def markdown(megapixels: float, cli: list[float], engine: dict[str, float], window: dict[str, float]) -> str:
    denoiser = load_denoiser()
    rows = [
        ("CLI: command to the first output file", cli[0]),
        ("CLI: command to the second output file", cli[1]),
        ("CLI: the second photo alone (a warm process)", cli[1] - cli[0]),
        ("CLI: the first photo's extra cost (start-up)", cli[0] - (cli[1] - cli[0])),
        ("engine, fresh process: interpreter start and imports (torch, numpy)", engine["import"]),
        ("engine: loading the default model (TorchScript, frozen)", engine["load"]),
        ("engine: first denoise", engine["first"]),
        ("engine: second denoise of the same photo", engine["second"]),
        ("window: process start to the window on screen", window["window"]),
        ("window: process start to the photo on screen", window["photo"]),
        ("window: process start to the first cleaned preview", window["cleaned"]),
    ]
    lines = [
        "# Start-up timings",
        "",
        f"Command: `python -m model.startup_timing --megapixels {megapixels:g}`  ",
        f"Machine: {describe_compute(denoiser.device, denoiser.dtype)}; the default model ({denoiser.name}) "
        f"with the default settings; a {megapixels:g} MP noisy JPEG (the sample photo enlarged, fresh grain); every figure from a fresh process.",
        "",
        "| step | seconds |",
        "|:---|---:|",
        *(f"| {name} | {seconds:.2f} |" for name, seconds in rows),
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--megapixels", type=float, default=1.0)
    parser.add_argument("--output", type=Path, default=None, help="also write the table here")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        photos = Path(folder) / "photos"
        photos.mkdir()
        for seed in (0, 1):
            make_noisy_photo(photos / f"photo_{seed}.jpg", *photo_size(args.megapixels), seed)
        first = photos / "photo_0.jpg"
        cli = time_cli(photos, Path(folder) / "clean")
        engine = run_probe(ENGINE_PROBE, str(first))
        window = run_probe(WINDOW_PROBE, str(first), str(Path(folder) / "settings.ini"))
    table = markdown(args.megapixels, cli, engine, window)
    print(table)
    if args.output:
        args.output.write_text(table, encoding="utf-8")


if __name__ == "__main__":
    main()
