from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest
import torch

from denoiser_app.core.engine import CorrelatedNoise, load_denoiser
from denoiser_app.core.modelfile import read_metadata
from denoiser_app.core.progress import Progress
from model import data, noise
from model.export import export, network_from_checkpoint
from model.train import (
    BEFORE_IT_EXISTED,
    CHECKPOINT_NAME,
    LOG_NAME,
    TrainConfig,
    learning_rate_at,
    parse_validation,
    sample_weights,
    train,
    weighted_loss,
)
from tests.conftest import noisy_photo, write_png


@pytest.fixture()
def clean_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "my clean photos"
    for i in range(10):
        write_png(folder / f"img{i:02d}.png", noisy_photo(48, 56, seed=i))
    return folder


def _config(folder: Path, **changes) -> TrainConfig:
    settings = dict(
        arch="nm_unet",
        arch_options={"widths": [8, 16], "blocks": 1},
        train_dirs=[str(folder)],
        total_steps=6,
        batch_size=2,
        patch_size=32,
        warmup_steps=2,
        validate_every=3,
        bf16=False,
        synthetic_share=0.0,
    )
    settings.update(changes)
    return TrainConfig(**settings)


class StopAfter(Progress):
    def __init__(self, steps: int) -> None:
        super().__init__()
        self.steps = steps

    def on_update(self, update) -> None:
        if update.done >= self.steps:
            self.cancel()


def test_runs_saved_before_a_setting_existed_resume_without_it(clean_folder: Path, tmp_path: Path) -> None:
    import json

    run = tmp_path / "old run"
    train(_config(clean_folder), run, progress=StopAfter(2), echo=False)
    saved = json.loads((run / "config.json").read_text())
    for key in BEFORE_IT_EXISTED:
        del saved[key]
    (run / "config.json").write_text(json.dumps(saved))
    resumed = train(_config(clean_folder), run, echo=False).config
    assert resumed.augmentation() == data.Augmentation()  # nothing beyond crops, flips and rotations
    assert resumed.loss_weighting == "flat"
    assert TrainConfig().augmentation() != data.Augmentation()


def test_resumed_run_matches_uninterrupted_run(clean_folder: Path, tmp_path: Path) -> None:
    straight = train(_config(clean_folder), tmp_path / "straight", echo=False)
    first = train(_config(clean_folder), tmp_path / "split", progress=StopAfter(3), echo=False)
    assert first.step == 3 and first.stopped_by == "cancelled"
    second = train(_config(clean_folder), tmp_path / "split", echo=False)
    assert second.step == 6 and second.stopped_by == "finished"
    for a, b in zip(straight.ema.state_dict().values(), second.ema.state_dict().values()):
        torch.testing.assert_close(a, b)
    log = (tmp_path / "split" / LOG_NAME).read_text()
    assert "resumed at step 3" in log
    validations = [parsed for line in log.splitlines() if (parsed := parse_validation(line))]
    assert [step for step, _ in validations] == [3, 6]
    assert validations[-1][1] == pytest.approx(second.scores, abs=1e-3)


def test_checkpoint_exports_to_a_loadable_model(clean_folder: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    train(_config(clean_folder, bf16=True), run, echo=False)
    network, config, step, scores = network_from_checkpoint(run / CHECKPOINT_NAME)
    assert step == 6 and set(scores) == {"gauss25", "camera", "gauss15", "isp"}
    out = tmp_path / "exported.pt"
    export(network, out, config["arch"], config["arch_options"], recipe=config, steps=step)
    denoiser = load_denoiser(out, "cpu")
    assert denoiser.info.extra["recipe"]["total_steps"] == 6
    assert denoiser.denoise(noisy_photo(40, 40), 10.0).pixels.shape == (40, 40, 3)


def test_a_run_with_a_cameras_noise_profile_trains_on_it_and_keeps_it_in_the_recipe(clean_folder: Path, tmp_path: Path) -> None:
    from model.noise_profile import NoiseProfile

    profile = NoiseProfile(shot=(50.0, 30.0, 60.0), read=(2.0, 2.0, 3.0), channel_correlation=0.4, spread=0.7)
    run = tmp_path / "run"
    train(_config(clean_folder, noise_mix="profile:0.7,gaussian:0.3", noise_profile=profile.to_dict()), run, echo=False)
    _, config, step, _ = network_from_checkpoint(run / CHECKPOINT_NAME)
    assert step == 6 and NoiseProfile.from_dict(config["noise_profile"]) == profile
    with pytest.raises(ValueError, match="no.*profile|none"):
        train(_config(clean_folder, noise_mix="profile:1"), tmp_path / "without", echo=False)


def test_profile_noise_in_a_batch_is_labelled_per_pixel_with_its_level() -> None:
    from model.noise_profile import NoiseProfile

    profile = NoiseProfile(shot=(80.0, 80.0, 80.0), read=(1.0, 1.0, 1.0), channel_correlation=0.5, spread=0.0)
    clean = torch.cat([torch.full((1, 3, 64, 32), 0.1), torch.full((1, 3, 64, 32), 0.9)], dim=3).repeat(4, 1, 1, 1)
    batch = noise.add_noise(clean, torch.Generator().manual_seed(0), {"profile": 1.0}, quantise_probability=0.0, profile=profile)
    residual = (batch.noisy - clean) * 255
    dark, bright = batch.level[..., :32].mean(), batch.level[..., 32:].mean()
    assert bright > 2 * dark, "brighter areas carry more shot noise"
    assert float(residual[..., :32].std()) == pytest.approx(float(dark), rel=0.15)
    assert float(residual[..., 32:].std()) == pytest.approx(float(bright), rel=0.15)


def test_the_best_measured_weights_are_kept_when_later_steps_measure_worse(
    clean_folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from model import train as train_module

    measured = iter([{"gauss25": 30.0}, {"gauss25": 29.0}, {"gauss25": 28.5}, {"gauss25": 28.0}])
    snapshots: list[dict[str, torch.Tensor]] = []

    def score(self, ema: torch.nn.Module) -> dict[str, float]:
        snapshots.append({k: v.clone() for k, v in ema.state_dict().items()})
        return next(measured)

    monkeypatch.setattr(train_module.Validator, "score", score)
    run = tmp_path / "run"
    result = train(_config(clean_folder, total_steps=4, validate_every=2), run, echo=False)
    assert result.step == 4 and result.scores == {"gauss25": 29.0}
    assert result.best is not None and result.best.step == 2 and result.best.scores == {"gauss25": 30.0}
    assert all(torch.equal(result.best.weights[k], snapshots[0][k]) for k in snapshots[0])
    assert (run / train_module.BEST_NAME).exists()

    resumed = train(_config(clean_folder, total_steps=6, validate_every=2), run, echo=False)
    assert resumed.best is not None and resumed.best.step == 2, "a resumed run remembers its best"


def test_fine_tuning_starts_from_the_given_model(clean_folder: Path, tmp_path: Path, tiny_model: Path) -> None:
    result = train(_config(clean_folder, init_from=str(tiny_model), total_steps=0), tmp_path / "ft", echo=False)
    base = load_denoiser(tiny_model, "cpu")
    tuned = tmp_path / "tuned.pt"
    export(result.ema, tuned, "nm_unet", {"widths": [8, 16], "blocks": 1}, recipe=asdict(result.config))
    image = noisy_photo(32, 32)
    tuned_denoiser = load_denoiser(tuned, "cpu")
    np.testing.assert_allclose(tuned_denoiser.denoise(image, 10.0).pixels, base.denoise(image, 10.0).pixels, atol=1e-5)
    # the exported file says what it grew from
    warm_start = tuned_denoiser.info.extra["warm_start"]
    assert warm_start["file"] == tiny_model.name
    assert warm_start["name"] == read_metadata(tiny_model)["name"]


def test_a_fine_tune_measures_its_starting_model_first_and_a_resume_keeps_that_before(
    clean_folder: Path, tmp_path: Path, tiny_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from model import train as train_module

    measured: list[dict[str, torch.Tensor]] = []
    scores = iter([{"gauss25": 27.0}, {"gauss25": 28.0}, {"gauss25": 28.5}])

    def score(self, ema: torch.nn.Module) -> dict[str, float]:
        measured.append({k: v.clone() for k, v in ema.state_dict().items()})
        return next(scores)

    monkeypatch.setattr(train_module.Validator, "score", score)
    run = tmp_path / "ft"
    first = train(_config(clean_folder, init_from=str(tiny_model), total_steps=2, validate_every=2), run, echo=False)
    assert first.base_scores == {"gauss25": 27.0} and first.scores == {"gauss25": 28.0}
    start = torch.jit.load(str(tiny_model)).state_dict()
    assert all(torch.equal(measured[0][k], start[k]) for k in start), "the before is the starting model itself"
    assert train_module.RunState.read(run).base_scores == {"gauss25": 27.0}

    resumed = train(_config(clean_folder, init_from=str(tiny_model), total_steps=2, validate_every=2), run, echo=False)
    assert resumed.base_scores == {"gauss25": 27.0} and len(measured) == 2, "measured once, not again on resume"
    scratch = train(_config(clean_folder, total_steps=0), tmp_path / "scratch", echo=False)
    assert scratch.base_scores == {}


def test_time_budget_stops_and_checkpoints(clean_folder: Path, tmp_path: Path) -> None:
    result = train(_config(clean_folder, total_steps=10_000), tmp_path / "budget", time_budget=0.0, echo=False)
    assert result.stopped_by == "time budget"
    assert (tmp_path / "budget" / CHECKPOINT_NAME).exists()


def test_inverse_sigma_weighting_leans_towards_light_noise_and_keeps_the_scale() -> None:
    sigma = torch.tensor([0.0, 15.0, 25.0, 50.0])
    assert torch.equal(sample_weights(sigma, "flat"), torch.ones(4))
    weights = sample_weights(sigma, "inverse_sigma")
    assert weights.mean().item() == pytest.approx(1.0)
    assert all(a > b for a, b in zip(weights, weights[1:]))
    assert (weights[1] / weights[3]).item() == pytest.approx(55 / 20)  # (50 + 5) / (15 + 5)
    with pytest.raises(ValueError, match="unknown loss weighting"):
        sample_weights(sigma, "by_colour")


def test_weighted_loss_is_each_images_error_times_its_weight() -> None:
    clean = torch.zeros(2, 3, 4, 4)
    denoised = torch.stack([torch.full((3, 4, 4), 0.1), torch.full((3, 4, 4), -0.2)])
    flat = torch.ones(2)
    assert weighted_loss(denoised, clean, flat, "l1").item() == pytest.approx(0.15)
    assert weighted_loss(denoised, clean, flat, "l2").item() == pytest.approx((0.01 + 0.04) / 2)
    assert weighted_loss(denoised, clean, torch.tensor([2.0, 0.0]), "l1").item() == pytest.approx(0.1)


def test_learning_rate_warms_up_then_decays() -> None:
    config = TrainConfig(total_steps=1000, warmup_steps=100, learning_rate=1e-3, min_learning_rate=1e-6)
    rates = [learning_rate_at(s, config) for s in range(0, 1001, 50)]
    assert rates[0] < rates[2] == pytest.approx(1e-3, rel=0.02)
    assert all(a >= b for a, b in zip(rates[2:], rates[3:]))
    assert rates[-1] == pytest.approx(1e-6)


@pytest.mark.parametrize("name", sorted(noise.NOISE_MODELS))
def test_noise_models_report_the_level_they_added(name: str) -> None:
    gen = torch.Generator().manual_seed(0)
    clean = torch.rand(6, 3, 48, 48) * 0.8 + 0.1
    noisy, sigma = noise.NOISE_MODELS[name](clean, gen)
    assert noisy.shape == clean.shape and sigma.shape == (6,)
    assert (sigma >= 0).all() and (sigma <= noise.MAX_SIGMA + 1e-3).all()
    measured = (noisy - clean).flatten(1).std(dim=1) * 255
    torch.testing.assert_close(measured, sigma, rtol=0.15, atol=1.0)


def test_camera_noise_is_spatially_correlated_unlike_gaussian() -> None:
    gen = torch.Generator().manual_seed(1)
    clean = torch.full((8, 3, 64, 64), 0.4)

    def neighbour_correlation(noisy: torch.Tensor) -> float:
        residual = (noisy - clean)[..., :-1] , (noisy - clean)[..., 1:]
        return float(torch.corrcoef(torch.stack([residual[0].flatten(), residual[1].flatten()]))[0, 1])

    camera_noisy, _ = noise.camera(clean, gen, jpeg_probability=0.0)
    gauss_noisy, _ = noise.gaussian(clean, gen)
    assert neighbour_correlation(camera_noisy) > 0.2
    assert abs(neighbour_correlation(gauss_noisy)) < 0.05


def test_correlated_gaussian_shares_noise_between_channels_and_is_labelled_with_its_true_level() -> None:
    clean = torch.full((64, 3, 32, 32), 0.5)
    batch = noise.add_noise(clean, torch.Generator().manual_seed(3), {"correlated_gaussian": 1.0}, quantise_probability=0.0)
    residual = batch.noisy - clean
    per_image = [torch.corrcoef(r.flatten(1))[[0, 1, 0], [1, 2, 2]].mean() for r in residual]
    correlations = torch.stack(per_image)
    assert correlations.min() > -0.15 and correlations.max() > 0.6, "channel correlation spans none to strong"
    assert correlations.mean() > 0.3
    sigma = batch.level[:, 0, 0, 0]
    torch.testing.assert_close(sigma, residual.flatten(1).std(dim=1) * 255, rtol=0.25, atol=1.0)


def test_grain_correlates_neighbours_not_channels_at_camera_levels_with_its_true_label() -> None:
    clean = torch.full((96, 3, 48, 48), 0.5)
    batch = noise.add_noise(clean, torch.Generator().manual_seed(5), {"grain": 1.0}, quantise_probability=0.0)
    residual = batch.noisy - clean
    channel = torch.stack([torch.corrcoef(r.flatten(1))[[0, 1, 0], [1, 2, 2]].mean() for r in residual])
    assert channel.max() < 0.45 and channel.mean() < 0.25, "channels stay nearly independent"
    neighbours = torch.stack([torch.corrcoef(torch.stack([r[..., :-1].flatten(), r[..., 1:].flatten()]))[0, 1] for r in residual])
    assert neighbours.min() < 0.1 and neighbours.max() > 0.6, "from white noise to demosaic-like grain"
    sigma = batch.level[:, 0, 0, 0]
    assert sigma.min() >= 1.5 and sigma.max() <= 30.0
    torch.testing.assert_close(sigma, residual.flatten(1).std(dim=1) * 255, rtol=0.2, atol=0.5)


def test_mix_parsing() -> None:
    assert noise.parse_mix("gaussian:1,camera:3") == {"gaussian": 0.25, "camera": 0.75}
    with pytest.raises(ValueError, match="unknown noise model"):
        noise.parse_mix("speckle:1")


def test_gaussian_keeps_its_true_sigma_and_camera_noise_gets_the_estimate() -> None:
    from denoiser_app.core.noise_level import estimate_sigma_batch

    clean = torch.rand(8, 3, 64, 64) * 0.1 + 0.45
    batch = noise.add_noise(clean, torch.Generator().manual_seed(0), {"gaussian": 1.0}, quantise_probability=0.0)
    sigma = batch.level[:, 0, 0, 0]
    assert (batch.level == sigma.view(-1, 1, 1, 1)).all(), "Gaussian noise is labelled with one level per image"
    torch.testing.assert_close(sigma, (batch.noisy - clean).flatten(1).std(dim=1) * 255, rtol=0.1, atol=0.5)
    assert torch.equal(batch.clean, clean)
    batch = noise.add_noise(clean, torch.Generator().manual_seed(0), {"camera": 1.0})
    torch.testing.assert_close(batch.level[:, 0, 0, 0], estimate_sigma_batch(batch.noisy))


def test_isp_noise_brings_its_own_targets_and_per_pixel_labels() -> None:
    from model.camera_noise import local_noise_level

    clean = torch.rand(6, 3, 48, 48) * 0.6 + 0.2
    batch = noise.add_noise(clean, torch.Generator().manual_seed(3), {"isp": 1.0}, quantise_probability=0.0)
    assert batch.level.shape == (6, 1, 48, 48)
    assert not torch.equal(batch.clean, clean), "the target went through the camera pipeline"
    for noisy, target, level in zip(batch.noisy, batch.clean, batch.level):
        expected = local_noise_level(noisy.permute(1, 2, 0).numpy(), target.permute(1, 2, 0).numpy())
        np.testing.assert_allclose(level[0].numpy(), expected, rtol=1e-4, atol=1e-3)
    assert (batch.level.mean(dim=(1, 2, 3)) <= noise.MAX_SIGMA + 0.5).all()


def test_mixes_without_isp_draw_the_same_noise_as_before() -> None:
    """A resumed run of an older mix must see exactly the noise it saw before isp existed.

    The figures were computed with the add_noise of before isp (commit 954b368).
    """
    clean = torch.linspace(0, 1, 4 * 3 * 32 * 32).reshape(4, 3, 32, 32)
    mix = noise.parse_mix("gaussian:0.5,poisson_gaussian:0.15,camera:0.35")
    batch = noise.add_noise(clean, torch.Generator().manual_seed(5), mix)
    assert float(batch.noisy.double().sum()) == pytest.approx(6095.88449220499, abs=1e-6)
    np.testing.assert_allclose(batch.level[:, 0, 0, 0].numpy(), [12.760795, 1.829555, 54.680161, 33.353573], rtol=1e-6)


def test_small_folders_keep_most_photos_for_training_and_hidden_files_are_not_photos(tmp_path: Path) -> None:
    from model import data

    folder = tmp_path / "mine"
    for i in range(7):
        write_png(folder / f"p{i}.png", noisy_photo(8, 8, seed=i))
    (folder / "._p0.png").write_bytes(b"macOS resource fork")
    (folder / ".hidden.png").write_bytes(b"not a photo")
    fit, held_out = data.split_training_files(folder)
    assert [p.name for p in fit] == [f"p{i}.png" for i in range(6)]
    assert [p.name for p in held_out] == ["p6.png"]
    assert data.validation_count(4) == 0 and data.validation_count(10_000) == data.VALIDATION_COUNT


def test_colour_augmentation_reorders_channels_and_raises_saturation_without_changing_grey() -> None:
    from model import data

    rng = np.random.default_rng(0)
    warm = np.array([170, 110, 60], dtype=np.int64)  # red above green above blue everywhere
    colourful = (warm + rng.integers(-20, 20, size=(40, 40, 3))).astype(np.uint8)
    grey = np.repeat(rng.integers(0, 256, size=(40, 40, 1), dtype=np.uint8), 3, axis=2)
    plain = data.PatchSampler([colourful], 32).sample(64, np.random.default_rng(1))
    augmented = data.PatchSampler(
        [colourful], 32, data.Augmentation(colour_augment=True, saturate_probability=1.0)
    ).sample(64, np.random.default_rng(1))
    assert augmented.shape == plain.shape and augmented.min() >= 0 and augmented.max() <= 1

    def spread(batch: torch.Tensor) -> float:  # how far pixels sit from their own grey
        return float((batch - batch.mean(dim=1, keepdim=True)).abs().mean())

    assert spread(augmented) > 1.3 * spread(plain)
    assert {tuple(row.argsort().tolist()) for row in plain.mean(dim=(2, 3))} == {(2, 1, 0)}
    assert len({tuple(row.argsort().tolist()) for row in augmented.mean(dim=(2, 3))}) == 6
    grey_batch = data.PatchSampler(
        [grey], 32, data.Augmentation(colour_augment=True, saturate_probability=1.0)
    ).sample(8, np.random.default_rng(2))
    torch.testing.assert_close(grey_batch[:, 0], grey_batch[:, 2])


def test_training_reads_photos_the_app_reads_as_8_bit_rgb(tmp_path: Path) -> None:
    import tifffile

    from model import data

    grey16 = (np.arange(12 * 10, dtype=np.uint16).reshape(12, 10) * 500).astype(np.uint16)
    tifffile.imwrite(tmp_path / "grey 16-bit.tif", grey16)
    rgb = data.load_rgb8(tmp_path / "grey 16-bit.tif")
    assert rgb.shape == (12, 10, 3) and rgb.dtype == np.uint8
    np.testing.assert_array_equal(rgb[..., 0], np.round(grey16 / 257.0).astype(np.uint8))
    np.testing.assert_array_equal(rgb[..., 0], rgb[..., 2])


def test_pareto_table_reads_validation_at_a_step_and_times_the_architecture(clean_folder: Path, tmp_path: Path) -> None:
    from model.pareto import measure, table

    train(_config(clean_folder), tmp_path / "narrow run", echo=False)
    train(_config(clean_folder, arch_options={"widths": [16, 32], "blocks": 1}), tmp_path / "wide run", echo=False)
    narrow = measure("narrow", tmp_path / "narrow run", 3, threads=1, size=(96, 64))
    wide = measure("wide", tmp_path / "wide run", 3, threads=1, size=(96, 64))
    assert set(narrow.validation) == {"gauss25", "camera", "gauss15", "isp"} and narrow.megapixels_per_second > 0
    assert wide.parameters > 3 * narrow.parameters and wide.flops_per_pixel > 3 * narrow.flops_per_pixel
    assert measure("narrow", tmp_path / "narrow run", 4, threads=1, size=(96, 64)).validation == {}  # not logged at 4
    rows = table([narrow, wide], 3).splitlines()
    assert rows[0] == "| variant | parameters | kFLOP / px | MP/s (12 MP, engine) | camera PSNR at step 3 | gauss15 PSNR at step 3 | gauss25 PSNR at step 3 | isp PSNR at step 3 |"
    assert rows[2].startswith('| narrow (nm_unet {"widths":[8,16],"blocks":1}) |')


def test_dead_leaves_are_repeatable_saturated_and_full_of_edges() -> None:
    from model.synthetic import dead_leaves_set

    first, second = dead_leaves_set(2, 96, seed=5), dead_leaves_set(2, 96, seed=5)
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first[0], dead_leaves_set(1, 96, seed=6)[0])
    image = first[0].astype(np.float32)
    assert image.shape == (96, 96, 3) and first[0].dtype == np.uint8
    # channels drawn independently: far from grey on average, unlike muted photos
    assert np.abs(image - image.mean(axis=2, keepdims=True)).mean() > 25
    steps = np.abs(np.diff(image, axis=1)).max(axis=2)
    assert (steps > 40).mean() > 0.01  # sharp disc borders
    assert np.median(steps) < 12  # smooth shading inside the discs


def test_hue_rotation_keeps_brightness_and_colourfulness_and_a_third_turn_cycles_channels() -> None:
    from model.data import _rotate_about_grey

    chroma = torch.randn(3, 3, 4, 4)
    turned = _rotate_about_grey(chroma, np.array([0.7, 2.5, 2 * np.pi / 3]))
    torch.testing.assert_close(turned.sum(dim=1), chroma.sum(dim=1))
    torch.testing.assert_close(turned.norm(dim=1), chroma.norm(dim=1))
    assert not torch.allclose(turned[0], chroma[0], atol=0.1)
    torch.testing.assert_close(turned[2], chroma[2][[2, 0, 1]])


def test_synthetic_share_decides_where_patches_come_from() -> None:
    from model import data

    photo = np.full((40, 40, 3), 128, dtype=np.uint8)
    leaves = np.full((40, 40, 3), 7, dtype=np.uint8)
    rng = np.random.default_rng(0)
    only_synthetic = data.PatchSampler([photo], 32, data.Augmentation(synthetic_share=1.0), [leaves]).sample(8, rng)
    assert torch.all(only_synthetic == 7 / 255)
    half = data.PatchSampler([photo], 32, data.Augmentation(synthetic_share=0.5), [leaves]).sample(64, rng)
    from_leaves = (half[:, 0, 0, 0] == 7 / 255).float().mean()
    assert 0.3 < from_leaves < 0.7
    with pytest.raises(ValueError, match="synthetic"):
        data.PatchSampler([photo], 32, data.Augmentation(synthetic_share=0.5), [])


def test_run_with_synthetic_images_and_hue_rotation_resumes_exactly(
    clean_folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import model.train

    monkeypatch.setattr(model.train, "SYNTHETIC_COUNT", 3)
    monkeypatch.setattr(model.train, "SYNTHETIC_SIZE", 48)
    config = _config(clean_folder, synthetic_share=0.5)
    straight = train(config, tmp_path / "straight", echo=False)
    train(config, tmp_path / "split", progress=StopAfter(3), echo=False)
    resumed = train(config, tmp_path / "split", echo=False)
    for a, b in zip(straight.ema.state_dict().values(), resumed.ema.state_dict().values()):
        torch.testing.assert_close(a, b)
    assert resumed.config.synthetic_share == 0.5 and resumed.config.hue_rotate


def test_zoomed_patches_are_enlarged_crops_and_smoother() -> None:
    from model import data

    rng = np.random.default_rng(0)
    texture = rng.integers(0, 256, size=(64, 64, 3), dtype=np.uint8)

    def roughness(batch: torch.Tensor) -> float:
        return float(batch.diff(dim=3).abs().mean())

    plain = data.PatchSampler([texture], 32).sample(16, np.random.default_rng(1))
    zoomed = data.PatchSampler([texture], 32, data.Augmentation(zoom_probability=1.0, max_zoom=3.0)).sample(16, np.random.default_rng(1))
    assert zoomed.shape == plain.shape and zoomed.min() >= 0 and zoomed.max() <= 1
    assert roughness(zoomed) < 0.7 * roughness(plain)


def test_validation_reaches_progress_as_typed_updates_and_a_short_run_is_measured_at_the_end(
    clean_folder: Path, tmp_path: Path
) -> None:
    from model.train import VALIDATION_STAGE, RunState, StopReason

    class Recording(Progress):
        def __init__(self) -> None:
            super().__init__()
            self.validations: list[tuple[int, dict]] = []

        def on_update(self, update) -> None:
            if update.stage == VALIDATION_STAGE:
                self.validations.append((int(update.done), update.data))

    progress = Recording()
    result = train(_config(clean_folder, validate_every=1000, total_steps=1000), tmp_path / "short", 0.5,
                   progress=progress, echo=False)
    assert result.stopped_by == StopReason.TIME_BUDGET and 0 < result.step < 1000
    # No regular check came (every 1000 steps), yet the run has a score, measured at its last step.
    assert progress.validations == [(result.step, result.scores)] and result.scores
    state = RunState.read(tmp_path / "short")
    assert state == RunState(result.step, 1000, StopReason.TIME_BUDGET, result.scores, result.step)


def test_resumable_step_comes_from_the_state_file_not_the_log(clean_folder: Path, tmp_path: Path) -> None:
    from denoiser_app.gui.training_setup import resumable_step

    run = tmp_path / "run"
    assert resumable_step(run) is None
    train(_config(clean_folder), run, progress=StopAfter(2), echo=False)
    (run / LOG_NAME).write_text("garbled")  # the log is for people; nothing reads it back
    assert resumable_step(run) == 2


def test_an_exported_model_gets_its_real_noise_calibration_in_place_and_keeps_its_weights(tiny_model: Path, tmp_path: Path) -> None:
    import shutil

    from model import export as export_module

    model = shutil.copy(tiny_model, tmp_path / "calibrated.pt")
    image = noisy_photo(40, 40)
    before = load_denoiser(model, "cpu").denoise(image, 10.0).pixels
    export_module.main(["--update", str(model), "--correlated-noise-gain", "1.5", "--channel-correlation", "0.45"])
    denoiser = load_denoiser(model, "cpu")
    assert denoiser.correlated_noise == CorrelatedNoise(gain=1.5, channel_correlation=0.45)
    rest = {key: value for key, value in read_metadata(model).items() if key != "correlated_noise"}
    assert rest == read_metadata(tiny_model), "the rest of the record stays"
    np.testing.assert_array_equal(denoiser.denoise(image, 10.0).pixels, before)  # no estimator: the colours stay


def test_the_best_is_judged_at_the_noise_trained_for_not_at_every_case_checked() -> None:
    from model.train import BestSoFar, cases_for_mix, mean_score

    assert cases_for_mix("isp") == ("isp",)
    assert cases_for_mix("gaussian:0.5,camera:0.5") == ("gauss25", "gauss15", "camera")
    assert cases_for_mix("profile:0.7,correlated_gaussian:0.15,gaussian:0.15") == ("gauss25", "gauss15")
    assert cases_for_mix("grain") == ()  # no case measures it: judged on all
    scores = {"gauss25": 29.0, "camera": 28.0, "gauss15": 32.0, "isp": 31.0}
    assert mean_score(scores, ("isp",)) == 31.0
    assert mean_score(scores, ()) == mean_score(scores, ("profile",)) == 30.0
    assert BestSoFar(10, scores, {}).mean(("gauss25", "gauss15")) == 30.5


def test_a_camera_noise_run_keeps_the_step_best_at_camera_noise_though_other_cases_fell(
    clean_folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from model import train as train_module

    measured = iter([{"gauss25": 30.0, "isp": 28.0}, {"gauss25": 27.0, "isp": 29.0}])
    monkeypatch.setattr(train_module.Validator, "score", lambda self, ema: next(measured))
    result = train(_config(clean_folder, noise_mix="isp", total_steps=4, validate_every=2), tmp_path / "run", echo=False)
    assert result.best is None or result.best.step == 4, "step 4 is better at the noise trained for, though its mean is lower"
