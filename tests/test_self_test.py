"""``--self-test``: it passes on a working install and each check fails when its thing is broken."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from denoiser_app import cli, self_test
from denoiser_app.core.engine import Denoiser, DenoiseResult


def test_every_check_passes_on_this_install_and_the_report_says_so(tmp_path: Path, capsys) -> None:
    report = tmp_path / "self-test.json"
    assert cli.main(["--self-test", "--out", str(report)]) == 0
    result = json.loads(report.read_text())
    assert result["passed"] is True
    assert [check["name"] for check in result["checks"]] == list(self_test.CHECKS)
    assert all(check["passed"] for check in result["checks"])
    assert capsys.readouterr().out.count("ok ") == len(self_test.CHECKS)


def test_a_model_that_does_nothing_fails_the_denoise_check(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(Denoiser, "denoise", lambda self, image, *a, **k: DenoiseResult(image, 25.0, False))
    [result] = self_test.run_checks({"denoise": self_test.check_denoise})
    assert not result.passed and "gained 0.0 dB" in result.detail


def test_torchscript_without_sources_fails_the_fine_tune_check(monkeypatch) -> None:
    """What a frozen app without the model sources hits on Save."""

    def no_source(*args, **kwargs):
        raise OSError("could not get source code")

    monkeypatch.setattr(torch.jit, "script", no_source)
    [result] = self_test.run_checks({"fine-tune": self_test.check_fine_tune_save_and_reload})
    assert not result.passed and "could not get source code" in result.detail


def test_metadata_lost_on_writing_fails_the_write_check(monkeypatch) -> None:
    from denoiser_app.core.imageio import files

    original = files.write_image

    def forgetful(path, image, *args, **kwargs):
        image.metadata = type(image.metadata)()
        return original(path, image, *args, **kwargs)

    monkeypatch.setattr("denoiser_app.core.imageio.write_image", forgetful)
    [result] = self_test.run_checks({"write": self_test.check_write_with_metadata})
    assert not result.passed and "EXIF" in result.detail


def test_a_failing_check_makes_the_exit_code_one_and_is_in_the_report(tmp_path: Path) -> None:
    def broken(_folder: Path) -> str:
        raise self_test.CheckFailed("on purpose")

    report = tmp_path / "r.json"
    assert self_test.self_test(report, {"ok": lambda folder: "fine", "broken": broken}) == 1
    checks = json.loads(report.read_text())["checks"]
    assert [(c["name"], c["passed"]) for c in checks] == [("ok", True), ("broken", False)]


@pytest.mark.parametrize("entry", ["gui", "cli"])
def test_both_entry_points_take_the_flag_before_qt_sees_it(entry: str, tmp_path: Path, monkeypatch) -> None:
    from denoiser_app import __main__ as gui_main

    called: list[Path | None] = []
    monkeypatch.setattr(self_test, "self_test", lambda out=None: called.append(out) or 0)
    main = gui_main.main if entry == "gui" else cli.main
    assert main(["--self-test", "--out", str(tmp_path / "x.json")]) == 0
    assert called == [tmp_path / "x.json"]
