"""The evaluation protocol and the benchmark report, on tiny synthetic images."""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from model.benchmark import methods as benchmark_methods
from model.benchmark.markdown import render_markdown
from model.benchmark.methods import NLM_H_FACTORS, Method, NlmTuning, model_methods, tune_nlm
from model.benchmark.records import build_report, json_number, nlm_record
from model.benchmark.running import Console, MethodRun, run_method
from model.evaluate import (
    Denoised,
    ImageScore,
    CleanImage,
    evaluate_cell,
    format_db,
    load_test_set,
    markdown_table,
    noisy_version,
    psnr_u8,
    score,
    ssim,
    to_uint8,
)
from tests.conftest import noisy_photo, write_png


def gradient_image(height: int = 24, width: int = 32) -> np.ndarray:
    """A smooth 8-bit RGB test image that spans dark to bright values."""
    rows = np.linspace(0, 255, height)[:, None]
    cols = np.linspace(0, 255, width)[None, :]
    red = (rows + 0 * cols).astype(np.uint8)
    green = (0 * rows + cols).astype(np.uint8)
    blue = ((rows + cols) / 2).astype(np.uint8)
    return np.stack([red, green, blue], axis=2)


# ---------------------------------------------------------------- noise


def test_same_index_gives_the_same_noise() -> None:
    clean = gradient_image()
    first = noisy_version(clean, 3, 25, "float")
    again = noisy_version(clean, 3, 25, "float")
    np.testing.assert_array_equal(first, again)


def test_different_indices_give_different_noise() -> None:
    clean = gradient_image()
    assert not np.allclose(noisy_version(clean, 0, 25, "float"), noisy_version(clean, 1, 25, "float"))


def test_noise_comes_from_default_rng_of_the_index_with_sigma_over_255() -> None:
    clean = np.full((16, 16, 3), 128, np.uint8)
    expected_noise = np.random.default_rng(7).normal(0.0, 15 / 255, size=clean.shape)
    noisy = noisy_version(clean, 7, 15, "float")
    np.testing.assert_allclose(noisy - clean / 255.0, expected_noise, atol=1e-6)


def test_noise_level_matches_sigma() -> None:
    clean = np.full((128, 128, 3), 128, np.uint8)
    noise = noisy_version(clean, 0, 25, "float") - 128 / 255
    assert noise.std() * 255 == pytest.approx(25, rel=0.02)


def test_float_protocol_is_neither_clipped_nor_quantised() -> None:
    clean = gradient_image()
    noisy = noisy_version(clean, 0, 50, "float")
    assert noisy.dtype == np.float32
    assert noisy.min() < 0 and noisy.max() > 1
    assert not np.allclose(noisy * 255, np.round(noisy * 255), atol=1e-3)


def test_8bit_protocol_is_the_float_noise_clipped_and_quantised() -> None:
    clean = gradient_image()
    noisy = noisy_version(clean, 0, 50, "8bit")
    assert noisy.dtype == np.float32
    assert noisy.min() >= 0 and noisy.max() <= 1
    np.testing.assert_allclose(noisy * 255, np.round(noisy * 255), atol=1e-4)
    expected = to_uint8(noisy_version(clean, 0, 50, "float"))
    np.testing.assert_array_equal(to_uint8(noisy), expected)


def test_unknown_protocol_is_refused() -> None:
    with pytest.raises(ValueError, match="protocol"):
        noisy_version(gradient_image(), 0, 25, "16bit")


# ---------------------------------------------------------------- scores


def test_psnr_of_identical_images_is_infinite_and_shows_as_inf() -> None:
    clean = gradient_image()
    assert psnr_u8(clean, clean) == math.inf
    assert score(clean / 255.0, clean) == math.inf
    assert format_db(math.inf) == "inf"
    assert json_number(math.inf) is None


def test_psnr_matches_a_hand_computed_value() -> None:
    clean = np.full((4, 4, 3), 100, np.uint8)
    off_by_five = clean + 5
    # MSE = 25, so PSNR = 10 * log10(255**2 / 25) = 34.1514 dB.
    assert psnr_u8(off_by_five, clean) == pytest.approx(34.1514, abs=1e-4)


def test_psnr_averages_over_pixels_and_channels() -> None:
    clean = np.zeros((2, 2, 3), np.uint8)
    one_wrong = clean.copy()
    one_wrong[0, 0, 1] = 12
    # MSE = 144 / 12 = 12.
    assert psnr_u8(one_wrong, clean) == pytest.approx(10 * math.log10(255**2 / 12))


def test_score_clips_and_rounds_before_comparing() -> None:
    clean = np.array([[[0, 255, 100]]], np.uint8)
    denoised = np.array([[[-0.3, 1.4, (100 + 0.4) / 255]]])
    assert score(denoised, clean) == math.inf
    shifted = np.array([[[0.0, 1.0, (100 + 0.6) / 255]]])
    assert score(shifted, clean) == pytest.approx(10 * math.log10(255**2 / (1 / 3)))


def test_ssim_is_one_for_identical_images_and_lower_for_noisy_ones() -> None:
    clean = gradient_image(32, 32)
    assert ssim(clean / 255.0, clean) == pytest.approx(1.0)
    assert ssim(noisy_version(clean, 0, 25, "8bit"), clean) < 0.9


# ---------------------------------------------------------------- test sets


def write_png_set(folder: Path, names: list[str]) -> list[np.ndarray]:
    folder.mkdir(parents=True)
    images = []
    for k, name in enumerate(names):
        image = np.full((8, 10, 3), 20 * k, np.uint8)
        Image.fromarray(image).save(folder / name)
        images.append(image)
    return images


def test_test_set_is_sorted_and_indexed_from_zero(tmp_path: Path) -> None:
    images = write_png_set(tmp_path / "Tiny", ["c.png", "a.png", "b.png"])
    loaded = load_test_set("Tiny", root=tmp_path)
    assert [(t.index, t.name) for t in loaded] == [(0, "a.png"), (1, "b.png"), (2, "c.png")]
    np.testing.assert_array_equal(loaded[0].clean, images[1])
    assert [t.name for t in load_test_set("Tiny", limit=2, root=tmp_path)] == ["a.png", "b.png"]


def test_each_image_is_denoised_with_the_noise_of_its_index() -> None:
    images = [CleanImage(k, f"{k}.png", gradient_image()) for k in range(3)]
    received = []

    def identity(noisy: np.ndarray, sigma: float) -> Denoised:
        received.append(noisy)
        return Denoised(noisy)

    scores = evaluate_cell(identity, images, 25, "float")
    for image, noisy, image_score in zip(images, received, scores):
        np.testing.assert_array_equal(noisy, noisy_version(image.clean, image.index, 25, "float"))
        assert image_score.psnr == pytest.approx(score(noisy, image.clean))
        assert image_score.megapixels == pytest.approx(24 * 32 / 1e6)


def halve_noise(noisy: np.ndarray, sigma: float) -> Denoised:
    """Module-level so a process pool can pickle it."""
    return Denoised(0.5 * noisy + 0.25)


def test_a_process_pool_gives_the_same_scores_in_the_same_order() -> None:
    from concurrent.futures import ProcessPoolExecutor

    images = [CleanImage(k, f"{k}.png", gradient_image()) for k in range(4)]
    serial = evaluate_cell(halve_noise, images, 15, "8bit")
    with ProcessPoolExecutor(2) as pool:
        pooled = evaluate_cell(halve_noise, images, 15, "8bit", pool=pool)
    assert [s.name for s in pooled] == ["0.png", "1.png", "2.png", "3.png"]
    assert [s.psnr for s in pooled] == [s.psnr for s in serial]


# ---------------------------------------------------------------- benchmark


def counting_method(key: str, uint8_input: bool = False) -> tuple[Method, list[str]]:
    calls: list[str] = []

    def denoise(noisy: np.ndarray, sigma: float) -> Denoised:
        calls.append(f"{sigma:g}")
        return Denoised(np.clip(noisy, 0, 1))

    return Method(key, key, denoise, uint8_input=uint8_input), calls


def tiny_sets() -> dict[str, list[CleanImage]]:
    return {"Tiny": [CleanImage(k, f"{k}.png", gradient_image()) for k in range(2)]}


def test_each_noisy_image_is_denoised_once_per_protocol() -> None:
    method, calls = counting_method("m")
    run = run_method(method, tiny_sets(), [15, 25], ["float", "8bit"], Console())
    assert len(calls) == 2 * 2 * 2
    assert set(run.scores) == {(p, "Tiny", s) for p in ("float", "8bit") for s in (15, 25)}


def test_an_8bit_only_method_runs_once_and_is_scored_under_both_protocols() -> None:
    method, calls = counting_method("nlm", uint8_input=True)
    run = run_method(method, tiny_sets(), [25], ["float", "8bit"], Console())
    assert len(calls) == 2
    assert run.scores["float", "Tiny", 25] == run.scores["8bit", "Tiny", 25]
    assert run.megapixels == pytest.approx(2 * 24 * 32 / 1e6)


def test_stored_scores_are_reused_and_an_interrupted_run_picks_up_where_it_stopped(tmp_path: Path) -> None:
    from model.score_store import ScoreStore

    store_path = tmp_path / "cache dir é" / "scores.jsonl"
    method, calls = counting_method("slow")
    method.store_key = "slow v1"
    first = run_method(method, tiny_sets(), [15, 25], ["float"], Console(), store=ScoreStore(store_path))
    assert len(calls) == 4 and first.reused == 0 and first.scored == 4
    # A run killed while writing leaves half a line; it is skipped and the rest is reused.
    lines = store_path.read_text(encoding="utf-8").splitlines()
    store_path.write_text("\n".join(lines[:3]) + "\n" + lines[3][:20], encoding="utf-8")
    calls.clear()
    second = run_method(method, tiny_sets(), [15, 25], ["float"], Console(), store=ScoreStore(store_path))
    assert calls == ["25"] and second.reused == 3

    def psnrs(run: MethodRun) -> dict:
        return {cell: [score.psnr for score in scores] for cell, scores in run.scores.items()}

    assert psnrs(second) == psnrs(first)
    calls.clear()
    third = run_method(method, tiny_sets(), [15, 25], ["float"], Console(), store=ScoreStore(store_path))
    # Nothing left to compute: one image per set is denoised only to time the method here.
    assert calls == ["15"] and third.reused == 4 and third.scores == second.scores
    assert third.timing_images == 1 and third.megapixels == pytest.approx(24 * 32 / 1e6)
    assert second.timing_images == 0 and second.megapixels == pytest.approx(24 * 32 / 1e6)  # its one fresh image


def test_stored_scores_belong_to_one_method_version_image_and_protocol(tmp_path: Path) -> None:
    from model.score_store import ScoreStore

    store = ScoreStore(tmp_path / "scores.jsonl")
    method, calls = counting_method("slow")
    method.store_key = "slow v1"
    run_method(method, tiny_sets(), [25], ["float"], Console(), store=store)
    calls.clear()
    run_method(method, tiny_sets(), [25], ["8bit"], Console(), store=store)
    assert len(calls) == 2
    method.store_key = "slow v2"
    calls.clear()
    run_method(method, tiny_sets(), [25], ["float"], Console(), store=store)
    assert len(calls) == 2
    changed = {"Tiny": [CleanImage(k, f"{k}.png", 255 - gradient_image()) for k in range(2)]}
    calls.clear()
    run_method(method, changed, [25], ["float"], Console(), store=store)
    assert len(calls) == 2
    unstored, unstored_calls = counting_method("fast")
    run_method(unstored, tiny_sets(), [25], ["float"], Console(), store=store)
    run_method(unstored, tiny_sets(), [25], ["float"], Console(), store=store)
    assert len(unstored_calls) == 4


def test_nlm_tuning_flags_a_best_h_on_the_grid_edge(monkeypatch: pytest.MonkeyPatch) -> None:
    clean = gradient_image()
    largest_h = max(NLM_H_FACTORS) * 25

    def better_with_larger_h(noisy_u8: np.ndarray, h: float) -> np.ndarray:
        return clean if h == largest_h else noisy_u8

    monkeypatch.setattr(benchmark_methods, "nlm_denoise_u8", better_with_larger_h)
    tuning = tune_nlm(25, [clean])
    assert tuning.h == largest_h
    assert tuning.on_grid_edge
    assert len(tuning.psnr_by_h) == len(NLM_H_FACTORS)


def image_scores(psnrs: list[float], estimates: list[float | None] | None = None) -> list[ImageScore]:
    estimates = estimates or [None] * len(psnrs)
    return [ImageScore(f"{k}.png", p, 0.5, 2.0, 0.25, e) for k, (p, e) in enumerate(zip(psnrs, estimates))]


def sample_report() -> dict:
    known, _ = counting_method("default")
    auto, _ = counting_method("auto")
    runs = [
        MethodRun(known, {("float", "Kodak24", 25.0): image_scores([30.0, 32.0])}, seconds=4.0, megapixels=0.5),
        MethodRun(auto, {("float", "Kodak24", 25.0): image_scores([29.0, 31.5], [27.0, 22.0])}, 4.0, 0.5),
    ]
    context = {
        "command": "python -m model.benchmark --quick",
        "date": "2025-01-01T00:00:00+00:00",
        "machine": {"cpu": "Test CPU", "cores": 2, "platform": "test", "load_average_start": [0.1, 0.1, 0.1]},
        "threads": {"torch": 2, "opencv": 2},
        "engine": {"passes": 2, "tile": 512},
        "versions": {"torch": "x"},
    }
    options = {"sets": ["Kodak24"], "sigmas": [25.0, 30.0], "protocols": ["float"], "images_per_set": {"Kodak24": 2}}
    nlm = nlm_record({25.0: NlmTuning(25.0, 15.0, {10.0: 27.0, 15.0: 27.5}, False)}, ["x.jpg"])
    return build_report(context, options, runs, ["seed CAE (seed-cae): skipped, not found"], nlm, complete=True)


def test_report_is_valid_json_and_computes_the_auto_strength_loss() -> None:
    report = json.loads(json.dumps(sample_report(), allow_nan=False))
    cell = report["auto_strength"]["float"]["Kodak24"]["25"]
    assert cell["psnr_loss_db"] == pytest.approx(31.0 - 30.25)
    assert cell["sigma_mae"] == pytest.approx((2 + 3) / 2)
    assert cell["sigma_bias"] == pytest.approx((2 - 3) / 2)
    assert report["methods"][0]["speed"]["megapixels_per_second"] == pytest.approx(0.125)


def test_markdown_table_has_header_alignment_and_one_line_per_row() -> None:
    table = markdown_table(["method", "A", "B"], [["x", "1", "2"], ["y", "3", "4"]])
    assert table.splitlines() == [
        "| method | A | B |",
        "|:---|---:|---:|",
        "| x | 1 | 2 |",
        "| y | 3 | 4 |",
    ]


def test_rendered_report_has_method_paper_auto_nlm_and_speed_rows() -> None:
    lines = render_markdown(sample_report()).splitlines()
    assert "| method | Kodak24 σ25 | Kodak24 σ30 |" in lines
    assert "| default | 31.00 | – |" in lines
    assert "| auto | 30.25 | – |" in lines
    # Paper figures exist for sigma 25 but not 30.
    assert "| CBM3D — paper (reference, not run here) | 31.68 | – |" in lines
    assert "| PSNR lost (dB), float | 0.75 | – |" in lines
    assert "| σ estimate MAE, float | 2.50 | – |" in lines
    assert "| 25 | 15 | 15 | 27.50 |" in lines
    assert "| default | 0.50 | 4.0 | 0.125 |" in lines
    assert "- Note: seed CAE (seed-cae): skipped, not found" in lines
    assert "- Command: `python -m model.benchmark --quick`" in lines
    assert not any("Partial results" in line for line in lines)
    assert not any("Stored scores" in line for line in lines)


def test_the_report_says_how_many_scores_came_from_the_store() -> None:
    report = sample_report()
    report["score_store"] = "/cache/scores.jsonl"
    report["methods"][0].update(image_scores=660, reused_scores=600)
    markdown = render_markdown(report)
    assert "default: 600 of 660 image scores" in markdown and "`/cache/scores.jsonl`" in markdown


def warnings_in(report: dict) -> list[str]:
    return [line for line in render_markdown(report).splitlines() if line.startswith("- **Warning:**")]


def test_a_busy_machine_is_flagged_and_an_idle_one_is_not() -> None:
    assert warnings_in(sample_report()) == []
    busy_start = sample_report()
    busy_start["machine"]["load_average_start"] = [3.5, 3.0, 2.0]
    assert any("3.50 on 2 cores when the run started" in line for line in warnings_in(busy_start))
    busy_during = sample_report()
    busy_during["machine"]["other_processes_cores"] = 0.8
    assert any("0.80 of 2 cores busy on average during the run" in line for line in warnings_in(busy_during))
    busy_photo = sample_report()
    busy_photo["photo_speed"] = {"default": {
        "label": "ours: U-Net", "tile": 512, "seconds": [6.0], "slowest_megapixels_per_second": 2.0,
        "other_processes_cores": 1.1,
    }}
    assert any("1.10 cores busy while the 12 MP photo was timed for ours: U-Net" in line for line in warnings_in(busy_photo))


def test_the_runs_own_cbm3d_workers_at_the_end_are_not_taken_for_other_processes() -> None:
    report = sample_report()
    report["machine"].update(load_average_end=[3.9, 3.9, 3.8], other_processes_cores=0.05)
    markdown = render_markdown(report)
    assert warnings_in(report) == []
    assert "during the run (machine busy time in /proc/stat minus this run's own): 0.05 cores on average" in markdown


def test_model_methods_skip_missing_and_repeated_models(tiny_model: Path) -> None:
    methods, notes = model_methods([], [str(tiny_model), str(tiny_model), "no-such-model"], threads=None)
    assert [m.key for m in methods] == [f"model:{tiny_model}"]
    assert any("already benchmarked" in note for note in notes)
    assert any(note.startswith("extra model no-such-model: skipped") for note in notes)
    run = run_method(methods[0], tiny_sets(), [25], ["float"], Console())
    assert all(math.isfinite(s.psnr) and s.estimated_sigma is None for s in run.scores["float", "Tiny", 25])


def test_auto_strength_reports_the_estimated_sigma(tiny_model: Path) -> None:
    from denoiser_app.core.engine import load_denoiser
    from model.evaluate import model_denoise_fn

    denoise = model_denoise_fn(load_denoiser(tiny_model, device="cpu"), "auto")
    noisy = noisy_version(gradient_image(64, 64), 0, 25, "float")
    estimated = denoise(noisy, 25).estimated_sigma
    assert estimated is not None and 15 < estimated < 35


# ---------------------------------------------------------------- targets and the 12 MP photo


def report_with(default: float, cbm3d: float | None, auto_loss: float | None, photo_speed: float | None) -> dict:
    cell = {"Kodak24": {"15": {"psnr": default}}}
    report = {
        "sets": ["Kodak24"],
        "sigmas": [15.0],
        "results": {"default": {"float": cell}},
        "auto_strength": {} if auto_loss is None else {"float": {"Kodak24": {"15": {"psnr_loss_db": auto_loss}}}},
        "photo_speed": {} if photo_speed is None else {"default": {"slowest_megapixels_per_second": photo_speed}},
        "paper_reference": {"FFDNet": {"Kodak24": {"15": 34.63}}},
    }
    if cbm3d is not None:
        report["results"]["cbm3d"] = {"float": {"Kodak24": {"15": {"psnr": cbm3d}}}}
    return report


def test_must_checks_compare_with_cbm3d_speed_and_auto_loss() -> None:
    from model.targets import must_checks

    met = must_checks(report_with(34.5, 34.3, 0.1, 2.5))
    assert [check.passed for check in met] == [True, True, True, None]  # Kodak24 σ25 not in this run
    assert met[0].measured == "34.50 vs 34.30 dB (+0.20)"
    missed = must_checks(report_with(34.2, 34.3, 0.25, 0.9))
    assert [check.passed for check in missed[:3]] == [False, False, False]
    assert [check.verdict for check in must_checks(report_with(34.5, None, None, None))][:3] == ["not measured"] * 3


def test_aim_check_reports_the_distance_to_ffdnet() -> None:
    from model.targets import aim_checks

    (check,) = aim_checks(report_with(34.0, None, None, None))
    assert check.passed is False and check.measured == "34.00 vs 34.63 dB (-0.63)"


def test_rendered_report_lists_the_targets_and_the_photo_speed() -> None:
    report = sample_report()
    report["photo_speed"] = {"default": {"label": "ours: U-Net, auto strength", "tile": 512, "seconds": [6.0, 4.0], "slowest_megapixels_per_second": 2.0, "other_processes_cores": 0.02}}
    lines = render_markdown(report).splitlines()
    assert "| 12 MP photo end to end ≥ 1 MP/s (slowest round) | 2.00 MP/s | met |" in lines
    assert "| beat CBM3D, Kodak24 σ25, float | – | not measured |" in lines
    assert "| ours: U-Net, auto strength | 512 | 6.00 / 4.00 | 2 | 0.02 cores on average |" in lines
    assert any(line.startswith("- Our models run through the engine") and "in 2 orientations" in line for line in lines)


def test_photo_speed_times_whole_runs_of_the_batch_pipeline(tiny_model: Path, tmp_path: Path) -> None:
    from denoiser_app.core.engine import load_denoiser
    from model.photo_speed import make_noisy_photo, time_photo

    photo = make_noisy_photo(tmp_path / "büro photo.jpg", width=96, height=64)
    before = photo.read_bytes()
    speed = time_photo(load_denoiser(tiny_model, device="cpu"), photo, rounds=2, tile=64)
    assert len(speed.seconds) == 2 and all(s > 0 for s in speed.seconds)
    assert speed.megapixels == pytest.approx(96 * 64 / 1e6)
    assert speed.slowest_megapixels_per_second == pytest.approx(speed.megapixels / max(speed.seconds))
    assert photo.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == [photo.name]


def test_evaluate_command_scores_a_set_with_the_chosen_passes(tmp_path: Path, tiny_model: Path, monkeypatch, capsys) -> None:
    from model import evaluate

    for i in range(2):
        write_png(tmp_path / "data" / "test" / "Kodak24" / f"kodim{i:02d}.png", noisy_photo(32, 40, seed=i))
    monkeypatch.setenv("DENOISER_DATA", str(tmp_path / "data"))
    rows = {}
    for passes in ("1", "4"):
        evaluate.main(["--model", str(tiny_model), "--sets", "Kodak24", "--sigmas", "25", "--passes", passes])
        (row,) = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| tiny")]
        assert f"{passes} passes, float" in row
        rows[passes] = row.split("|")[2]
    assert float(rows["1"]) > 0 and rows["1"] != rows["4"]


def test_the_report_carries_the_real_noise_table_when_it_was_run() -> None:
    report = sample_report()
    assert "Real camera noise" not in render_markdown(report)
    report["real_noise"] = [
        {"set": "CC15", "method": "noisy input", "psnr": 33.41, "note": ""},
        {"set": "CC15", "method": "FFDNet colour", "psnr": None, "note": "", "strengths": [10.0, 15.0],
         "mean_by_strength": [37.5, 37.63], "best_fixed": 37.63, "best_fixed_strength": 15.0, "oracle": 38.02},
    ]
    lines = render_markdown(json.loads(json.dumps(report, allow_nan=False))).splitlines()
    assert "## Real camera noise" in lines
    assert "| CC15 | noisy input | 33.41 |  |  |  |" in lines
    assert "| CC15 | FFDNet colour |  | 37.63 (15) | 38.02 |  |" in lines
