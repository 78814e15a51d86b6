"""Batch behaviour and the CLI end to end, on temporary folders."""
from __future__ import annotations

import hashlib
import io
import os
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from denoiser_app import cli
from denoiser_app.core import batch as batch_module
from denoiser_app.core.batch import BatchOptions, Summary, default_output_dir, plan_batch, run_batch
from denoiser_app.core.engine import DenoiseSettings, load_denoiser
from denoiser_app.core.progress import Progress
from tests.conftest import noisy_photo, write_png


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def snapshot(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): digest(p) for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture()
def shoot(tmp_path: Path) -> Path:
    """A mixed folder: images, junk, a non-image, a corrupt JPEG, a subfolder, odd names."""
    folder = tmp_path / "Été 2024 shoot"
    write_png(folder / "a.png", noisy_photo(40, 50, 1))
    Image.fromarray((noisy_photo(30, 40, 2) * 255).astype(np.uint8)).save(folder / "b photo.jpg", quality=90)
    write_png(folder / "ß-grey.png", noisy_photo(32, 32, 3, channels=1))
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0" + b"garbage" * 20)
    (folder / ".DS_Store").write_bytes(b"\0\1\2")
    (folder / "Thumbs.db").write_bytes(b"\0")
    (folder / "._a.png").write_bytes(b"\0\5")
    write_png(folder / ".hidden thumbnail.png", noisy_photo(8, 8, 5))
    (folder / "notes.txt").write_text("not an image")
    write_png(folder / "sub" / "c.png", noisy_photo(24, 36, 4))
    return folder


def options(**changes) -> BatchOptions:
    """Batch options with a fixed strength and small tiles; ``strength``, ``tile`` and ``keep_grain`` go to the denoise settings."""
    denoise = {key: changes.pop(key) for key in ("strength", "tile", "keep_grain") if key in changes}
    return BatchOptions(denoise=DenoiseSettings(**{"strength": 10.0, "tile": 256, **denoise}), **changes)


def run(shoot: Path, model: Path, **changes) -> tuple[Summary, list]:
    plan = plan_batch([shoot], options(**changes))
    summary = Summary()
    results = []
    for result in run_batch(plan, load_denoiser(model, "cpu"), options(**changes)):
        summary.add(result)
        results.append(result)
    return summary, results


def test_plan_skips_junk_and_mirrors_subfolders_only_when_recursive(shoot: Path) -> None:
    flat = plan_batch([shoot], options())
    names = sorted(p.source.name for p in flat.files)
    assert names == ["a.png", "b photo.jpg", "broken.jpg", "ß-grey.png"]
    deep = plan_batch([shoot], options(recursive=True))
    out = default_output_dir(shoot)
    assert out.name == "Été 2024 shoot-denoised" and out.parent == shoot.parent
    assert out / "sub" / "c.png" in {p.destination for p in deep.files}


def test_batch_writes_outputs_and_leaves_originals_untouched(shoot: Path, tiny_model: Path) -> None:
    before = snapshot(shoot)
    summary, results = run(shoot, tiny_model, recursive=True)
    assert snapshot(shoot) == before
    assert (summary.done, summary.skipped, summary.failed) == (4, 0, 1)
    (failure,) = summary.failures
    assert failure.source.name == "broken.jpg" and failure.reason
    out = default_output_dir(shoot)
    written = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    assert written == ["a.png", "b photo.jpg", "sub/c.png", "ß-grey.png"]
    assert Image.open(out / "ß-grey.png").mode == "L"
    assert all(r.sigma == 10.0 for r in results if r.status == "done")


def test_rerun_resumes_and_overwrite_replaces(shoot: Path, tiny_model: Path) -> None:
    run(shoot, tiny_model)
    out = default_output_dir(shoot)
    first = digest(out / "a.png")
    os.utime(out / "a.png", (1, 1))
    summary, _ = run(shoot, tiny_model)
    assert (summary.done, summary.skipped) == (0, 3)
    assert (out / "a.png").stat().st_mtime == 1
    summary, _ = run(shoot, tiny_model, overwrite=True)
    assert summary.done == 3 and digest(out / "a.png") == first and (out / "a.png").stat().st_mtime != 1


def test_output_inside_input_is_refused_unless_allowed(shoot: Path, tiny_model: Path) -> None:
    plan = plan_batch([shoot], options(output_dir=shoot / "clean"))
    assert not plan.files and "inside the input folder" in plan.problems[0][1]
    plan = plan_batch([shoot], options(output_dir=shoot / "clean", allow_inside_input=True))
    assert len(plan.files) == 4


def test_output_may_never_replace_an_input(shoot: Path) -> None:
    plan = plan_batch([shoot], options(output_dir=shoot, allow_inside_input=True))
    assert not plan.files
    assert all("replace an input" in reason for _, reason in plan.problems)


def test_cancel_mid_batch_leaves_no_partial_files(shoot: Path, tiny_model: Path) -> None:
    write_png(shoot / "big.png", noisy_photo(600, 600, 9))

    class CancelOnThirdTile(Progress):
        tiles = 0

        def on_update(self, update) -> None:
            if update.stage == "tile":
                self.tiles += 1
                if self.tiles == 3:
                    self.cancel()

    plan = plan_batch([shoot], options())
    results = list(run_batch(plan, load_denoiser(tiny_model, "cpu"), options(), CancelOnThirdTile()))
    assert results[-1].status == "cancelled" and results[-1].source.name == "big.png"
    out = default_output_dir(shoot)
    assert not any(p.name.endswith(".partial") for p in out.rglob("*"))
    assert not (out / "big.png").exists()
    assert (out / "a.png").exists()  # finished before the cancel, and kept


def test_unwritable_output_fails_per_file_and_batch_goes_on(shoot: Path, tiny_model: Path, monkeypatch) -> None:
    real_write = batch_module.write_image

    def refuse_png(path, *args, **kwargs):
        if Path(path).suffix == ".png":
            raise PermissionError(13, "Permission denied", str(path))
        return real_write(path, *args, **kwargs)

    monkeypatch.setattr(batch_module, "write_image", refuse_png)
    summary, results = run(shoot, tiny_model)
    assert summary.done == 1  # the JPEG
    assert {r.source.name for r in summary.failures} == {"a.png", "ß-grey.png", "broken.jpg"}
    assert any("Permission denied" in r.reason for r in summary.failures)


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root ignores folder permissions")
@pytest.mark.skipif(sys.platform == "win32", reason="Windows ignores chmod on folders: files can still be written in them")
def test_read_only_output_folder(shoot: Path, tiny_model: Path, tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        summary, _ = run(shoot, tiny_model, output_dir=locked)
        assert summary.done == 0 and summary.failed == 4
    finally:
        locked.chmod(0o700)


def test_cli_end_to_end(shoot: Path, tiny_model: Path, capsys) -> None:
    before = snapshot(shoot)
    out = shoot.parent / "clean output"
    code = cli.main([str(shoot), "-o", str(out), "--model", str(tiny_model), "--strength", "12", "--recursive", "--device", "cpu"])
    captured = capsys.readouterr()
    assert code == 1  # the corrupt file failed
    assert "4 done, 0 skipped, 1 failed" in captured.out
    assert "broken.jpg" in captured.err
    assert snapshot(shoot) == before
    assert (out / "sub" / "c.png").exists()
    code = cli.main([str(shoot), "-o", str(out), "--model", str(tiny_model), "--recursive", "--quiet"])
    captured = capsys.readouterr()
    assert code == 1 and "0 done, 4 skipped, 1 failed" in captured.out
    assert "skipped" not in captured.err


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(("terminal", "quiet", "bars"), [(True, False, True), (False, False, False), (True, True, False)])
def test_progress_bars_are_drawn_on_a_terminal_only(
    tmp_path: Path, tiny_model: Path, monkeypatch, terminal: bool, quiet: bool, bars: bool
) -> None:
    write_png(tmp_path / "in" / "wide.png", noisy_photo(100, 200, 1))  # several 64 px tiles
    stderr = FakeTerminal() if terminal else io.StringIO()
    stdout = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stderr)
    monkeypatch.setattr(sys, "stdout", stdout)
    args = [str(tmp_path / "in"), "-o", str(tmp_path / "out"), "--model", str(tiny_model), "--strength", "12", "--tile", "64"]
    assert cli.main(args + (["--quiet"] if quiet else [])) == 0
    assert ("img" in stderr.getvalue()) == bars
    assert ("tiles" in stderr.getvalue()) == bars
    assert "1 done, 0 skipped, 0 failed" in stdout.getvalue()
    assert ("wide.png" in stdout.getvalue()) != quiet  # per-file lines with or without bars


def test_metadata_a_jpeg_cannot_hold_is_a_note_not_a_failure(tmp_path: Path, tiny_model: Path, capsys) -> None:
    folder = tmp_path / "in"
    write_png(folder / "plain.png", noisy_photo(32, 32))
    large_xmp = PngInfo()
    large_xmp.add_itxt("XML:com.adobe.xmp", "<x:xmpmeta>" + " " * 70_000 + "</x:xmpmeta>")
    Image.fromarray((noisy_photo(32, 32, 1) * 255).astype(np.uint8)).save(folder / "large-xmp.png", pnginfo=large_xmp)

    summary, results = run(folder, tiny_model, format="jpeg")
    assert (summary.done, summary.failed) == (2, 0)
    notes = {r.source.name: r.warnings for r in results}
    assert notes["plain.png"] == ()
    assert len(notes["large-xmp.png"]) == 1 and notes["large-xmp.png"][0].startswith("XMP metadata left out")

    code = cli.main([str(folder), "--model", str(tiny_model), "--format", "jpeg", "--overwrite", "--quiet"])
    captured = capsys.readouterr()
    assert code == 0
    assert "large-xmp.png" in captured.out and "note: XMP metadata left out" in captured.out
    assert "plain.png" not in captured.out  # --quiet still hides files without notes


def test_cli_auto_strength_reports_the_estimate(tmp_path: Path, tiny_model: Path, capsys) -> None:
    write_png(tmp_path / "in" / "x.png", noisy_photo(64, 64))
    code = cli.main([str(tmp_path / "in"), "--model", str(tiny_model), "--format", "tiff"])
    captured = capsys.readouterr()
    assert code == 0
    assert "estimated" in captured.out
    assert (tmp_path / "in-denoised" / "x.tif").exists() or (tmp_path / "in-denoised" / "x.tiff").exists()


def test_cli_strength_as_a_share_of_auto_and_keep_grain(tmp_path: Path, tiny_model: Path, capsys) -> None:
    image = noisy_photo(64, 64)
    write_png(tmp_path / "in" / "x.png", image)
    out = tmp_path / "out"

    def run(*extra: str) -> np.ndarray:
        args = [str(tmp_path / "in"), "-o", str(out), "--model", str(tiny_model), "--overwrite", "--device", "cpu"]
        assert cli.main([*args, *extra]) == 0
        return np.asarray(Image.open(out / "x.png"), dtype=np.float32)

    auto = run()
    estimate = float(capsys.readouterr().out.split("noise ")[1].split()[0])
    half_line = run("--strength", "50%")
    assert f"noise {estimate / 2:.1f} estimated" in capsys.readouterr().out
    assert not np.array_equal(half_line, auto)
    kept = run("--strength", "20", "--keep-grain", "100")
    np.testing.assert_allclose(kept, np.round(image * 255), atol=1.0)  # all the noise blended back
    for bad in (["--strength", "250%"], ["--keep-grain", "120"]):
        with pytest.raises(SystemExit):
            cli.main([str(tmp_path / "in"), *bad])
    assert "keep-grain" in capsys.readouterr().err


def test_cli_rejects_bad_arguments(capsys) -> None:
    with pytest.raises(SystemExit):
        cli.main(["somewhere", "--strength", "200"])
    assert "strength" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--help"])
    assert exit_info.value.code == 0
    assert "examples:" in capsys.readouterr().out


def test_cli_bad_model_is_a_clear_error(tmp_path: Path, capsys) -> None:
    write_png(tmp_path / "in" / "x.png", noisy_photo(16, 16))
    assert cli.main([str(tmp_path / "in"), "--model", "no-such-model"]) == 2
    assert "No model named 'no-such-model'" in capsys.readouterr().err


@pytest.mark.skipif(sys.platform == "win32", reason="Windows cannot send SIGINT to a child process (only to a whole console)")
def test_ctrl_c_stops_cleanly_with_exit_130(tmp_path: Path, tiny_model: Path) -> None:
    import signal
    import subprocess
    import sys
    import time

    folder = tmp_path / "many"
    for i in range(40):
        write_png(folder / f"img{i:02d}.png", noisy_photo(300, 300, i))
    process = subprocess.Popen(
        [sys.executable, "-m", "denoiser_app.cli", str(folder), "--model", str(tiny_model), "--strength", "10", "--tile", "128", "--threads", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    out = default_output_dir(folder)
    deadline = time.monotonic() + 60
    while not (out.exists() and any(out.glob("*.png"))) and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    output, _ = process.communicate(timeout=60)
    assert process.returncode == 130, output
    assert "(cancelled)" in output
    finished = list(out.glob("*.png"))
    assert 0 < len(finished) < 40
    assert not [p for p in out.iterdir() if p.name.endswith(".partial")]
    for path in finished:  # every file that exists is complete
        assert Image.open(path).size == (300, 300)


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX; TerminateProcess would do the same")
def test_a_killed_batch_leaves_only_complete_photos_and_the_next_run_finishes_the_rest(tmp_path: Path, tiny_model: Path) -> None:
    import signal
    import subprocess
    import time

    folder = tmp_path / "shoot"
    for i in range(30):
        write_png(folder / f"img{i:02d}.png", noisy_photo(300, 300, i))
    command = [sys.executable, "-m", "denoiser_app.cli", str(folder), "--model", str(tiny_model), "--strength", "10",
               "--tile", "128", "--threads", "1"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    out = default_output_dir(folder)
    deadline = time.monotonic() + 60
    while not (out.exists() and len(list(out.glob("*.png"))) >= 2) and time.monotonic() < deadline:
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)  # a crash: no handler runs, nothing is tidied
    process.wait(timeout=30)
    before = snapshot(folder)
    visible = [p for p in out.iterdir() if not p.name.startswith(".")]
    assert 0 < len(visible) < 30
    for path in visible:  # a photo under its real name is always whole
        with Image.open(path) as picture:
            picture.load()
            assert picture.size == (300, 300)

    (out / ".img29.png.0badc0de.partial").write_bytes(b"\x89PNG half")  # as a kill mid-write leaves one
    (out / ".someone else's.jpg.0badc0de.partial").write_bytes(b"not ours")
    rerun = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == [f"img{i:02d}.png" for i in range(30)]
    assert [p.name for p in out.iterdir() if p.name.startswith(".")] == [".someone else's.jpg.0badc0de.partial"], \
        "the run's own leftovers are gone, nothing else is touched"
    assert snapshot(folder) == before, "the originals are never touched"
    clean = tmp_path / "uninterrupted"
    subprocess.run([*command, "--output", str(clean)], capture_output=True, timeout=300, check=True)
    assert snapshot(out) == snapshot(clean) | {".someone else's.jpg.0badc0de.partial": digest(out / ".someone else's.jpg.0badc0de.partial")}, \
        "every photo equals an uninterrupted run's"


def test_names_differing_only_in_case_never_share_an_output(tmp_path: Path) -> None:
    folder = tmp_path / "case"
    write_png(folder / "IMG_1.PNG", noisy_photo(8, 8))
    write_png(folder / "img_1.png", noisy_photo(8, 8, 1))
    if len(list(folder.iterdir())) == 1:
        pytest.skip("this file system folds case (macOS, Windows): the two names are one file")
    plan = plan_batch([folder], options(format="tiff"))
    assert len(plan.files) == 1
    assert "same output name" in plan.problems[0][1]


def test_a_name_suffix_cannot_leave_the_output_folder(shoot: Path) -> None:
    for suffix in ("/../../escape", "..\\up", "a/b"):
        with pytest.raises(ValueError, match="separators"):
            plan_batch([shoot], options(name_suffix=suffix))
    plan = plan_batch([shoot], options(name_suffix="-clean"))
    assert {p.destination.name for p in plan.files} >= {"a-clean.png", "b photo-clean.jpg"}


def test_symlinked_photo_in_a_folder_is_planned_under_its_link_name(tmp_path: Path) -> None:
    elsewhere = write_png(tmp_path / "elsewhere" / "x.png", noisy_photo(8, 8))
    folder = tmp_path / "linked"
    folder.mkdir()
    (folder / "link.png").symlink_to(elsewhere)
    plan = plan_batch([folder], options())
    assert [p.destination.name for p in plan.files] == ["link.png"]
    assert plan.files[0].source == elsewhere.resolve()


def test_the_same_photo_given_twice_is_planned_once(shoot: Path) -> None:
    plan = plan_batch([shoot, shoot / "a.png", shoot / "a.png"], options())
    assert [p.source.name for p in plan.files].count("a.png") == 1
    assert not plan.problems


def test_outputs_inside_the_input_are_not_taken_as_inputs_on_a_rerun(shoot: Path, tiny_model: Path) -> None:
    inside = options(output_dir=shoot / "clean", allow_inside_input=True, recursive=True)
    first = plan_batch([shoot], inside)
    list(run_batch(first, load_denoiser(tiny_model, "cpu"), inside))
    again = plan_batch([shoot], inside)
    assert sorted(p.source for p in again.files) == sorted(p.source for p in first.files)
    assert not any("replace an input" in reason for _, reason in again.problems)


def test_a_drive_root_needs_an_explicit_output_folder() -> None:
    plan = plan_batch([Path("/")], options())
    assert not plan.files and "root of a drive" in plan.problems[0][1]


def test_cli_passes_reach_the_engine(tmp_path: Path, tiny_model: Path, capsys) -> None:
    write_png(tmp_path / "in" / "photo.png", noisy_photo(40, 48))
    outputs = {}
    for passes in ("1", "4"):
        out = tmp_path / f"out {passes}"
        assert cli.main([str(tmp_path / "in"), "-o", str(out), "--model", str(tiny_model), "--strength", "20", "--passes", passes]) == 0
        outputs[passes] = np.asarray(Image.open(out / "photo.png"))
    assert not np.array_equal(outputs["1"], outputs["4"])
    with pytest.raises(SystemExit):
        cli.main([str(tmp_path / "in"), "--passes", "3"])
    assert "--passes" in capsys.readouterr().err


def test_photos_in_formats_not_read_are_named_as_skipped_not_ignored(tmp_path: Path, tiny_model: Path, capsys) -> None:
    folder = tmp_path / "RAW+JPEG night"
    folder.mkdir()
    Image.fromarray((noisy_photo(30, 40, 1) * 255).astype(np.uint8)).save(folder / "IMG_0001.JPG")
    (folder / "IMG_0002.AVIF").write_bytes(b"\0\0\0\x18ftypavif")
    (folder / "IMG_0003.PSD").write_bytes(b"8BPS")
    (folder / "._IMG_0003.NEF").write_bytes(b"\0")  # a resource fork, junk: never named
    (folder / "IMG_0001.xmp").write_text("<x:xmpmeta/>")  # a sidecar, not a photo: passed over quietly
    plan = plan_batch([folder], options())
    assert [p.source.name for p in plan.files] == ["IMG_0001.JPG"]
    reasons = {path.name: reason for path, reason in plan.passed_over}
    assert set(reasons) == {"IMG_0002.AVIF", "IMG_0003.PSD"}
    assert "JPEG, PNG or 16-bit TIFF" in reasons["IMG_0003.PSD"]

    assert cli.main([str(folder), "--model", str(tiny_model), "--strength", "10"]) == 0
    out = capsys.readouterr().out
    assert "skipped  IMG_0002.AVIF: .avif files are not read" in out
    assert "skipped  IMG_0003.PSD: .psd files are not read" in out
    assert "1 done, 2 skipped, 0 failed" in out


def test_camera_raw_files_are_cleaned_like_any_photo_and_a_damaged_one_fails_with_its_reason(
    tmp_path: Path, tiny_model: Path, capsys
) -> None:
    from tests.test_imageio_raw import scene, write_dng

    folder = tmp_path / "raw night"
    write_dng(folder / "IMG_0001.DNG", scene(32, 48))
    (folder / "DSC_0042.NEF").write_bytes(b"MM\0*not really a raw file")
    plan = plan_batch([folder], options())
    assert sorted(item.destination.name for item in plan.files) == ["DSC_0042.tif", "IMG_0001.tif"]
    assert cli.main([str(folder), "--model", str(tiny_model), "--strength", "10"]) == 1
    captured = capsys.readouterr()
    assert "DSC_0042.NEF" in captured.err and "LibRaw" in captured.err
    assert "1 done, 0 skipped, 1 failed" in captured.out
    text = tmp_path / "notes.txt"
    text.write_text("x")
    assert "not a supported image type (reads JPEG, PNG, TIFF, WebP, BMP, HEIC and camera raw)" in plan_batch(
        [text], options()
    ).problems[0][1]


def _png_declaring(width: int, height: int) -> bytes:
    """A tiny PNG whose header declares ``width`` x ``height`` (a decompression bomb's shape)."""
    import struct
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00" * 1000)  # far fewer rows than declared
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


def test_a_decompression_bomb_is_refused_from_its_header_and_the_batch_goes_on(
    tmp_path: Path, tiny_model: Path, capsys
) -> None:
    import time

    folder = tmp_path / "in"
    write_png(folder / "a-good.png", noisy_photo(32, 32))
    (folder / "bomb.png").write_bytes(_png_declaring(30000, 30000))
    started = time.monotonic()
    code = cli.main([str(folder), "-o", str(tmp_path / "out"), "--model", str(tiny_model), "--strength", "10"])
    captured = capsys.readouterr()
    assert code == 1 and time.monotonic() - started < 60
    assert "bomb.png" in captured.err and "900 megapixels, above the limit of 400" in captured.err
    assert "--max-megapixels" in captured.err
    assert (tmp_path / "out" / "a-good.png").exists() and not (tmp_path / "out" / "bomb.png").exists()
    assert "1 done, 0 skipped, 1 failed" in captured.out


def test_the_pixel_limit_applies_to_every_reader_and_can_be_raised(tmp_path: Path) -> None:
    from denoiser_app.core.imageio import read_image

    for suffix in (".png", ".jpg", ".tif", ".webp", ".bmp"):
        path = tmp_path / f"small{suffix}"
        Image.fromarray(np.zeros((40, 50, 3), np.uint8)).save(path)
        with pytest.raises(batch_module.ImageReadError, match="above the limit of 0.001"):
            read_image(path, max_megapixels=0.001)
        assert read_image(path, max_megapixels=0.002).pixels.shape == (40, 50, 3)


def test_the_summary_of_a_cancelled_run_accounts_for_every_file(tmp_path: Path, tiny_model: Path) -> None:
    folder = tmp_path / "shoot"
    for index in range(5):
        write_png(folder / f"p{index}.png", noisy_photo(24, 24, index))
    (folder / "IMG_9.psd").write_bytes(b"8BPS")  # a photo in a format that is not read: passed over
    plan = plan_batch([folder, tmp_path / "gone"], options())

    class CancelAfterFirstPhoto(Progress):
        def on_update(self, update) -> None:
            if update.stage == "files" and update.done == 1:
                self.cancel()

    summary = Summary.for_plan(plan)
    for result in run_batch(plan, load_denoiser(tiny_model, "cpu"), options(), CancelAfterFirstPhoto()):
        summary.add(result)
    assert (summary.total, summary.done, summary.skipped, summary.failed) == (7, 1, 1, 1)
    assert [r.source.name for r in summary.cancelled_files] == ["p1.png"] and summary.not_started == 3
    assert [r.source.name for r in summary.skips] == ["IMG_9.psd"] and summary.skips[0].reason
    assert summary.counts_text() == "1 done, 1 skipped, 1 failed, 1 cancelled, 3 not started (of 7)"
    assert summary.exit_code == 130


def test_an_unwritable_output_folder_is_one_error_before_any_photo(tmp_path: Path, tiny_model: Path, capsys) -> None:
    folder = tmp_path / "shoot"
    write_png(folder / "a.png", noisy_photo(24, 24, 1))
    write_png(folder / "b.png", noisy_photo(24, 24, 2))
    blocker = tmp_path / "not a folder"
    blocker.write_text("a file where the output folder should go")
    code = cli.main([str(folder), "--output", str(blocker / "out"), "--model", str(tiny_model), "--strength", "10"])
    captured = capsys.readouterr()
    assert code == 2
    assert captured.err.count("cannot write in") == 1 and "--output" in captured.err
    assert "a.png" not in captured.out + captured.err


def test_planned_work_reads_megapixels_from_headers_and_counts_nothing_for_outputs_that_exist(tmp_path: Path) -> None:
    from denoiser_app.core.batch import planned_work

    folder = tmp_path / "shoot"
    write_png(folder / "a.png", noisy_photo(100, 200, 1))
    Image.fromarray((noisy_photo(300, 400, 2) * 255).astype(np.uint8)).save(folder / "b.jpg", quality=90)
    write_png(folder / "c.png", noisy_photo(10, 10, 3))
    (folder / "d.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    plan = plan_batch([folder], options())
    write_png(plan.files[2].destination, noisy_photo(10, 10, 3))  # c.png was cleaned by an earlier run
    assert planned_work(plan, options()) == pytest.approx((0.02, 0.12, 0.0, 0.12))  # d: the (upper) median of the others
    assert planned_work(plan, options(overwrite=True))[2] == pytest.approx(0.0001)


def test_the_next_photo_is_read_while_the_current_one_is_denoised(tmp_path: Path, tiny_model: Path, monkeypatch) -> None:
    import threading

    folder = tmp_path / "shoot"
    for index in range(3):
        write_png(folder / f"p{index}.png", noisy_photo(24, 24, index))
    (folder / "p3.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    real_read = batch_module.read_image
    readers: dict[str, str] = {}

    def recording_read(path, *args, **kwargs):
        readers[Path(path).name] = threading.current_thread().name
        return real_read(path, *args, **kwargs)

    monkeypatch.setattr(batch_module, "read_image", recording_read)
    plan = plan_batch([folder], options())
    results = list(run_batch(plan, load_denoiser(tiny_model, "cpu"), options()))
    assert [r.status for r in results] == ["done", "done", "done", "failed"]
    assert "truncated or corrupt" in results[3].reason or "not an image" in results[3].reason
    assert readers["p0.png"] == threading.current_thread().name  # the first has nothing to overlap with
    assert all(readers[name].startswith("read-ahead") for name in ("p1.png", "p2.png", "p3.png"))
    assert not [t for t in threading.enumerate() if t.name.startswith("read-ahead")]  # the reader is closed


def display_p3_profile() -> bytes:
    """LittleCMS's sRGB profile with its primaries moved to Display P3's (D50-adapted)."""
    from PIL import ImageCms

    profile = bytearray(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())
    primaries = {b"rXYZ": (0.5151, 0.2412, -0.0011), b"gXYZ": (0.2920, 0.6922, 0.0419), b"bXYZ": (0.1571, 0.0666, 0.7841)}
    count = int.from_bytes(profile[128:132], "big")
    for entry in range(count):
        start = 132 + 12 * entry
        signature, offset = bytes(profile[start : start + 4]), int.from_bytes(profile[start + 4 : start + 8], "big")
        if signature in primaries:
            for axis, value in enumerate(primaries[signature]):
                at = offset + 8 + 4 * axis
                profile[at : at + 4] = round(value * 65536).to_bytes(4, "big", signed=True)
    return bytes(profile)


def test_a_wide_gamut_photo_keeps_its_profile_and_its_colours(tmp_path: Path) -> None:
    from PIL import ImageCms

    p3 = display_p3_profile()
    to_srgb = ImageCms.buildTransform(
        ImageCms.ImageCmsProfile(io.BytesIO(p3)), ImageCms.createProfile("sRGB"), "RGB", "RGB"
    )
    red = ImageCms.applyTransform(Image.new("RGB", (1, 1), (255, 0, 0)), to_srgb).getpixel((0, 0))
    assert red[1] == 0 and red[2] == 0 and red[0] == 255, "P3 red lies outside sRGB: clipped there"
    flat = np.empty((96, 96, 3), np.uint8)
    flat[:] = (236, 38, 52)
    noisy = np.clip(flat + np.random.default_rng(0).normal(0, 6, flat.shape), 0, 255).astype(np.uint8)
    (tmp_path / "in").mkdir()
    Image.fromarray(noisy).save(tmp_path / "in" / "p3.png", icc_profile=p3)

    assert cli.main([str(tmp_path / "in"), "-o", str(tmp_path / "out"), "--device", "cpu", "--quiet"]) == 0

    with Image.open(tmp_path / "out" / "p3.png") as written:
        assert written.info["icc_profile"] == p3
        cleaned = np.asarray(written.convert("RGB"), dtype=np.float64)
    inner = (slice(8, -8), slice(8, -8))
    assert np.abs(cleaned[inner].mean(axis=(0, 1)) - noisy[inner].astype(np.float64).mean(axis=(0, 1))).max() < 1.0
    noise_left = cleaned[inner].std(axis=(0, 1)) / noisy[inner].astype(np.float64).std(axis=(0, 1))
    assert (noise_left < 0.5).all(), "the noise is gone, the colour stays"


def test_a_full_disk_stops_the_batch_with_a_clear_line_and_leaves_nothing_partial(tmp_path: Path, tiny_model: Path, monkeypatch, capsys) -> None:
    from denoiser_app.core.imageio import files as files_module

    shoot = tmp_path / "shoot"
    for index in range(4):
        write_png(shoot / f"photo_{index}.png", noisy_photo(24, 32, index))
    before = snapshot(shoot)
    real_png_writer = files_module._WRITERS["PNG"]
    written: list[str] = []

    def fill_the_disk(path: Path, image, settings) -> list[str]:
        if len(written) == 1:  # the second photo finds the disk full half-way through its file
            path.write_bytes(b"\x89PNG half")
            raise OSError(28, "No space left on device")
        written.append(path.name)
        return real_png_writer(path, image, settings)

    monkeypatch.setitem(files_module._WRITERS, "PNG", fill_the_disk)
    out = tmp_path / "clean"
    code = cli.main([str(shoot), "-o", str(out), "--model", str(tiny_model), "--strength", "10", "--device", "cpu"])

    captured = capsys.readouterr()
    assert code == 1
    assert "1 done, 0 skipped, 1 failed, 2 not started (of 4); stopped: the disk is full" in captured.out
    assert "photo_1.png" in captured.err and "the disk is full" in captured.err
    assert sorted(path.name for path in out.iterdir()) == ["photo_0.png"], "no partial file, nothing tried after"
    assert snapshot(shoot) == before
