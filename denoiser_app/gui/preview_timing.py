"""How long the window's preview takes on a large photo, measured in a real (offscreen) window.

    QT_QPA_PLATFORM=offscreen python -m denoiser_app.gui.preview_timing [--megapixels 24] [--model NAME]

A noisy photo of the given size is written to a temporary folder and dropped
on the window, as a user would. Printed: seconds from adding it to the photo
on screen, to the approximate whole view (a reduced copy) and to the exact
middle at Fit; then, at 100%, from a pan to an uncleaned corner to its exact
After side. The machine and precision are named, since the figures mean
nothing without them.
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image
from PySide6.QtCore import QPointF
from PySide6.QtWidgets import QApplication

from denoiser_app.core.engine import load_denoiser
from denoiser_app.core.hardware import describe_compute
from denoiser_app.gui.main_window import MainWindow
from denoiser_app.gui.preview_worker import MAX_PREVIEW_SIDE
from denoiser_app.gui.settings import Settings

TIMEOUT = 900.0


def noisy_photo(megapixels: float, seed: int = 0) -> np.ndarray:
    """A 3:2 photo-like image (smooth gradients and edges) with sigma-15 noise, 8-bit."""
    width = int(round((megapixels * 1e6 * 1.5) ** 0.5))
    height = int(round(width / 1.5))
    rng = np.random.default_rng(seed)
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    base = np.stack([xs / width, ys / height, 0.5 + 0.3 * np.sin(xs / 97) * np.cos(ys / 61)], axis=-1)
    noisy = base * 255 + rng.normal(0, 15, base.shape)
    return np.clip(noisy, 0, 255).astype(np.uint8)


def wait_for(app: QApplication, condition, started: float) -> float:
    while not condition():
        app.processEvents()
        time.sleep(0.01)
        if time.perf_counter() - started > TIMEOUT:
            raise TimeoutError("the preview did not answer")
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--megapixels", type=float, default=24.0)
    parser.add_argument("--model", default=None)
    args = parser.parse_args(argv)
    app = QApplication.instance() or QApplication([])
    with tempfile.TemporaryDirectory() as folder:
        photo = Path(folder) / "large.png"
        Image.fromarray(noisy_photo(args.megapixels)).save(photo, compress_level=1)
        window = MainWindow(Settings(Path(folder) / "settings.ini"), model_path=None)
        if args.model:
            window.options.select_model(args.model)
        window.resize(1280, 800)
        window.show()
        preview = window.preview
        started = time.perf_counter()
        window.add_inputs([photo])
        shown = wait_for(app, preview.has_image, started)
        # A photo small enough for one exact preview gets no reduced copy.
        overview = wait_for(app, lambda: preview.has_overview() or (preview.has_denoised() and not preview.shows_part_of_view()), started)
        exact = wait_for(app, preview.has_denoised, started)
        preview.set_zoom(1.0)
        preview.pan_to(QPointF(400, 400))
        region = preview.after_region()
        started = time.perf_counter()
        pan = wait_for(app, lambda: preview.has_denoised() and preview._denoised_rect.contains(region), started)
        window.close()
    denoiser = load_denoiser(args.model, device="cpu")
    print(f"Machine: {describe_compute(denoiser.device, denoiser.dtype)}; model {denoiser.name}; "
          f"window 1280 x 800; {args.megapixels:g} MP photo")
    print("| step | seconds |\n|:---|---:|")
    print(f"| photo on screen | {shown:.1f} |")
    print(f"| approximate whole view at Fit (reduced copy, 1 pass) | {overview:.1f} |" if overview < exact
          else "| approximate whole view at Fit | not needed: the photo fits one exact preview |")
    print(f"| exact middle at Fit (up to {MAX_PREVIEW_SIDE}² px) | {exact:.1f} |")
    print(f"| pan at 100% to an uncleaned corner: exact After side | {pan:.1f} |")


if __name__ == "__main__":
    main()
