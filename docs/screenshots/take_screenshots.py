"""Retake the README screenshots of the main window.

    .venv/bin/python docs/screenshots/take_screenshots.py [--model PATH]

Copies some real noisy photos (RNI15, from the shared data folder) to a
temporary folder, opens the window offscreen with throwaway settings, and saves

- ``main_window_batch.png``: mid-batch, with done, skipped, failed, working and
  queued photos, one photo with its own strength, and both progress bars partway;
- ``summary_after_cancel.png``: the summary after Cancel, with every photo
  counted (done, skipped, failed, cancelled, not started);
- ``preview_split.png``: the before/after preview, zoomed to 200%;
- ``finetune_dialog.png``: Tools > Train on My Photos a minute into a short
  fine-tune of the default model on clean training-set photos (``--only training``
  takes just these two; it never touches the user's own models);
- ``finetune_finished.png``: the shortest fine-tune at its end, with the
  starting model's and the new model's PSNR on the set-aside photos.

It uses the bundled default model when there is one. Without one it exports a
tiny random-weight model and says so: its "after" side is not a real result,
and the screenshots should be retaken once a trained model is bundled. A
random model is also very fast, so each tile is slowed down a little to catch
the batch in the middle.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from model.data import TRAIN_SET, data_root  # noqa: E402  (after the sys.path change)

PHOTOS = data_root() / "test" / "RNI15"
BATCH_PHOTOS = ("Audrey_Hepburn.jpg", "Bears.png", "Boy.png", "Dog.png", "Flowers.png", "Frog.png", "Glass.png", "Movie.png", "Postcards.png", "Singer.png", "Stars.png", "Window.png")
PREVIEW_PHOTO = "Frog.png"
# One photo gets its own strength, so the batch shot shows an override.
OVERRIDE_PHOTO, OVERRIDE_STRENGTH = "Boy.png", 20.0
WINDOW_SIZE = (1440, 880)
# Clean photos for the fine-tune demo come from the training set, never from test/.
TRAINING_PHOTOS = data_root() / TRAIN_SET
# Small enough to make visible progress in a minute on a busy CPU.
SCREENSHOT_TRAINING = {"batch_size": 4, "patch_size": 96, "validate_every": 20}


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    from PySide6.QtWidgets import QApplication

    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"gave up waiting for {what}")
        QApplication.processEvents()
        time.sleep(0.01)


def tiny_model(folder: Path) -> Path:
    from model.archs import build
    from model.export import export

    path = folder / "tiny-random.pt"
    options = {"widths": [8, 16], "blocks": 1}
    export(build("nm_unet", **options), path, "nm_unet", options, name="tiny (random weights)")
    return path


def slow_down_tiles(seconds: float) -> None:
    from denoiser_app.core.engine import Denoiser

    original = Denoiser._run_model

    def slow(self, tile, *args):  # type: ignore[no-untyped-def]
        time.sleep(seconds)
        return original(self, tile, *args)

    Denoiser._run_model = slow  # type: ignore[method-assign]


def prepare_photos(workspace: Path) -> Path:
    folder = workspace / "Street shoot"
    folder.mkdir()
    for name in BATCH_PHOTOS:
        shutil.copy2(PHOTOS / name, folder / name)
    (folder / "Boat.jpg").write_bytes(b"\xff\xd8\xff\xe0 damaged on the card")
    (folder / ".DS_Store").write_bytes(b"junk")  # never listed
    done_earlier = workspace / "Street shoot-denoised" / "Bears.png"
    done_earlier.parent.mkdir()
    shutil.copy2(PHOTOS / "Bears.png", done_earlier)  # so it is skipped
    return folder


def training_dialog(workspace: Path, name: str, minutes: int):  # type: ignore[no-untyped-def]
    """The fine-tune dialog on 12 clean training-set photos, started; its model and checkpoints stay in ``workspace``."""
    import platformdirs
    import torch

    from denoiser_app.core.models import DEFAULT_MODEL
    from denoiser_app.gui.finetune_dialog import FineTuneDialog
    from denoiser_app.gui.settings import Settings

    # The new model and its checkpoints go to the throwaway workspace, not the user's folders.
    platformdirs.user_data_dir = lambda *args, **kwargs: str(workspace / "user-data")  # type: ignore[assignment]
    platformdirs.user_cache_dir = lambda *args, **kwargs: str(workspace / "user-cache")  # type: ignore[assignment]
    torch.set_num_threads(1)
    folder = workspace / "Low ISO landscapes"
    if not folder.is_dir():
        folder.mkdir()
        for photo in sorted(TRAINING_PHOTOS.glob("*.jpg"))[:12]:
            shutil.copy2(photo, folder / photo.name)
    dialog = FineTuneDialog(Settings(workspace / "training.ini"), DEFAULT_MODEL, config_overrides=SCREENSHOT_TRAINING)
    dialog.folder_edit.setText(str(folder))
    dialog.name_edit.setText(name)
    dialog.minutes.setValue(max(minutes, dialog.minutes.minimum()))
    dialog.show()
    dialog.start()
    return dialog


def take_training_dialog(workspace: Path, out: Path) -> Path:
    dialog = training_dialog(workspace, "Landscapes (fine-tuned)", 5)
    wait_until(lambda: "set-aside photos" in dialog.status_label.text() and dialog.progress.value() >= 200, 600, "training progress")
    path = out / "finetune_dialog.png"
    dialog.grab().save(str(path))
    dialog.shutdown()
    dialog.close()
    return path


def take_finished_training(workspace: Path, out: Path) -> Path:
    """The shortest fine-tune the dialog allows, run to its end: its before and after on the set-aside photos."""
    dialog = training_dialog(workspace, "Landscapes (short run)", 0)
    wait_until(lambda: "before" in dialog.status_label.text(), 900, "the end of the training")
    path = out / "finetune_finished.png"
    dialog.grab().save(str(path))
    dialog.close()
    return path


def take_main_window(workspace: Path, out: Path, model: Path | None) -> list[Path]:
    from PySide6.QtCore import QPointF
    from PySide6.QtWidgets import QApplication

    from denoiser_app.core.models import list_models
    from denoiser_app.gui.main_window import MainWindow
    from denoiser_app.gui.settings import Settings

    if model is None and not list_models():
        print("No bundled model yet: using a tiny random-weight model. Retake these with the trained one.")
        model = tiny_model(workspace)
        slow_down_tiles(0.25)
    folder = prepare_photos(workspace)

    window = MainWindow(Settings(workspace / "settings.ini"), model_path=model)
    window.options.tile.setValue(256)  # several tiles per photo, so the per-photo bar moves
    window.resize(*WINDOW_SIZE)
    window.show()
    window.add_inputs([folder])
    window.file_view.select_path((folder / PREVIEW_PHOTO).resolve())
    wait_until(window.preview.has_denoised, 120, "the first preview")

    files = window.files
    files.set_strength((folder / OVERRIDE_PHOTO).resolve(), OVERRIDE_STRENGTH)  # as Run > Give This Photo the Current Strength does
    window.start_batch()
    wait_until(lambda: files.count_status("done") >= 4 and 0.3 < window.run_panel.image.value() / 1000 < 0.8, 600, "mid-batch")
    window.grab().save(str(out / "main_window_batch.png"))
    window.cancel_batch()
    wait_until(lambda: not window.runner.is_running() and window.summary_dialog is not None, 120, "the batch to stop")
    QApplication.processEvents()
    window.summary_dialog.grab().save(str(out / "summary_after_cancel.png"))
    window.summary_dialog.close()

    window.statusBar().clearMessage()
    window.preview.set_zoom(2.0)
    size = window.preview.image_size()
    window.preview.pan_to(QPointF(size.width() * 0.45, size.height() * 0.5))
    window.preview.set_split(0.5)
    wait_until(lambda: window.preview.has_denoised() and not window.preview.busy_text, 120, "the zoomed preview")
    wait_until(lambda: window.preview._denoised_rect.contains(window.preview.after_region()), 120, "the zoomed preview")
    window.grab().save(str(out / "preview_split.png"))
    window.close()
    QApplication.processEvents()
    return [out / "main_window_batch.png", out / "summary_after_cancel.png", out / "preview_split.png"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, help="model file to use (default: the bundled default model)")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent)
    parser.add_argument("--only", choices=("main", "training", "finished"), help="take only the main window or only the training dialog shots")
    args = parser.parse_args()

    from PySide6.QtWidgets import QApplication

    app = QApplication(sys.argv[:1])
    app.setApplicationName("Denoiser")
    saved: list[Path] = []
    with tempfile.TemporaryDirectory(prefix="denoiser-shots-") as temporary:
        workspace = Path(temporary)
        if args.only in (None, "main"):
            saved += take_main_window(workspace, args.out, args.model)
        if args.only in (None, "training"):
            saved.append(take_training_dialog(workspace, args.out))
        if args.only in (None, "training", "finished"):
            saved.append(take_finished_training(workspace, args.out))
        app.processEvents()
    print("saved " + ", ".join(str(path) for path in saved))
    return 0


if __name__ == "__main__":
    sys.exit(main())
