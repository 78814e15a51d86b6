from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from denoiser_app.core import engine
from denoiser_app.core.engine import load_denoiser, parse_strength, pick_device
from denoiser_app.core.modelfile import ModelFileError
from denoiser_app.core.noise_level import estimate_sigma
from denoiser_app.core.progress import Cancelled, Progress
from tests.conftest import noisy_photo


def test_output_shape_range_and_dtype(tiny_model) -> None:
    image = noisy_photo(70, 90)
    result = load_denoiser(tiny_model, "cpu").denoise(image, 20.0)
    assert result.pixels.shape == image.shape and result.pixels.dtype == np.float32
    assert 0.0 <= result.pixels.min() and result.pixels.max() <= 1.0
    assert result.sigma == 20.0 and not result.estimated


def test_grey_in_grey_out(tiny_model) -> None:
    grey = noisy_photo(40, 50, channels=1)
    result = load_denoiser(tiny_model, "cpu").denoise(grey, 10.0)
    assert result.pixels.shape == (40, 50, 1)


def test_auto_strength_reports_the_estimate(tiny_model) -> None:
    image = noisy_photo(128, 128)
    result = load_denoiser(tiny_model, "cpu").denoise(image, "auto")
    assert result.estimated
    assert result.sigma == pytest.approx(estimate_sigma(image))


@pytest.mark.parametrize("sigma", [5, 15, 30, 50])
def test_noise_estimate_is_close_on_smooth_images(sigma: float) -> None:
    rng = np.random.default_rng(sigma)
    clean = noisy_photo(256, 256)  # noise of 0.05 baked in; smooth it away
    clean = np.full_like(clean, 0.45) + 0.1 * np.linspace(0, 1, 256, dtype=np.float32)[None, :, None]
    noisy = clean + rng.normal(0, sigma / 255, clean.shape)
    assert estimate_sigma(noisy) == pytest.approx(sigma, rel=0.08)


def eight_bit(image: np.ndarray) -> np.ndarray:
    return (np.round(np.clip(image, 0, 1) * 255) / 255).astype(np.float32)


@pytest.mark.parametrize("sigma", [10, 25])
def test_blown_and_crushed_areas_do_not_hide_the_noise(sigma: float, monkeypatch) -> None:
    from denoiser_app.core import noise_level

    rng = np.random.default_rng(sigma)
    noisy = 0.5 + rng.normal(0, sigma / 255, (240, 240, 3)).astype(np.float32)
    noisy[:, :60] = 1.0  # a blown sky: flat, clipped, no visible noise
    noisy[:, 180:] = 0.0  # and a crushed shadow
    photo = eight_bit(noisy)
    assert estimate_sigma(photo) == pytest.approx(sigma, rel=0.08)
    # Counting the clipped half as well, the flat areas dilute the noise.
    monkeypatch.setattr(noise_level, "unclipped_patches", lambda p: torch.ones(p.shape[:2], dtype=torch.bool))
    assert estimate_sigma(photo) < 0.8 * sigma


def test_unclipped_float_input_uses_every_patch_and_a_mostly_clipped_image_still_reads() -> None:
    from denoiser_app.core.noise_level import unclipped_patches

    rng = np.random.default_rng(0)
    noisy = np.full((1, 1, 64, 64), 127.5) + rng.normal(0, 40, (1, 1, 64, 64))  # far past 0 and 255, unclipped
    patches = torch.nn.functional.unfold(torch.from_numpy(noisy).float(), 7).transpose(1, 2)
    assert bool(unclipped_patches(patches).all())
    mostly_white = np.ones((64, 64, 3), np.float32)
    mostly_white[:8] = eight_bit(0.5 + rng.normal(0, 0.05, (8, 64, 3)))
    assert 0.0 < estimate_sigma(mostly_white) < 15.0


def test_strength_drives_a_noise_map_model(tiny_model) -> None:
    denoiser = load_denoiser(tiny_model, "cpu")
    image = noisy_photo(64, 64)
    assert not np.allclose(denoiser.denoise(image, 5.0).pixels, denoiser.denoise(image, 40.0).pixels)


def test_strength_blends_for_a_model_without_noise_input(tiny_seed_model) -> None:
    denoiser = load_denoiser(tiny_seed_model, "cpu")
    image = noisy_photo(64, 64)
    np.testing.assert_allclose(denoiser.denoise(image, 0.0).pixels, image, atol=1e-6)
    full = denoiser.denoise(image, 55.0).pixels
    half = denoiser.denoise(image, 55.0 / 4).pixels
    np.testing.assert_allclose(half, image + 0.5 * (full - image), atol=1e-5)


def test_cancel_between_tiles(tiny_model) -> None:
    class CancelAfterFirstTile(Progress):
        def on_update(self, update) -> None:
            if update.stage == "tile":
                self.cancel()

    with pytest.raises(Cancelled):
        load_denoiser(tiny_model, "cpu").denoise(noisy_photo(300, 300), 10.0, tile=128, overlap=16, progress=CancelAfterFirstTile())


def test_out_of_memory_halves_tiles_then_falls_back_to_cpu(tiny_model, monkeypatch) -> None:
    denoiser = load_denoiser(tiny_model, "cpu")
    notices: list[str] = []
    denoiser.notify = notices.append
    denoiser.device = torch.device("cuda")  # pretend; every model call "runs out of memory" until the CPU
    real_run = engine.Denoiser._run_model
    seen_tiles: list[int] = []

    def fake_run(self, tile, *args):
        seen_tiles.append(max(tile.shape[:2]))
        if self.device.type == "cuda":
            raise torch.cuda.OutOfMemoryError("CUDA out of memory")
        return real_run(self, tile, *args)

    monkeypatch.setattr(engine.Denoiser, "_run_model", fake_run)
    result = denoiser.denoise(noisy_photo(600, 600), 10.0, tile=512)
    assert result.pixels.shape == (600, 600, 3)
    assert seen_tiles[:3] == [512, 256, 128]
    assert denoiser.device.type == "cpu"
    assert "256px" in notices[0] and "CPU" in notices[-1]


def test_parse_strength() -> None:
    assert parse_strength("auto") == "auto"
    assert parse_strength(" AUTO ") == "auto"
    assert parse_strength("12.5") == 12.5
    with pytest.raises(ValueError):
        parse_strength("80")
    with pytest.raises(ValueError):
        parse_strength("-1")
    assert parse_strength("150%") == "150%"
    assert parse_strength(" 70.0 % ".replace(" ", "")) == "70%"
    assert engine.auto_share("150%") == 1.5 and engine.auto_share("auto") == 1.0 and engine.auto_share(12.0) is None
    with pytest.raises(ValueError, match="0% and 200%"):
        parse_strength("250%")


def test_devices() -> None:
    assert pick_device("cpu").type == "cpu"
    expected = "cuda" if torch.cuda.is_available() else "mps" if torch.backends.mps.is_available() else "cpu"
    assert pick_device("auto").type == expected
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError, match="CUDA"):
            pick_device("cuda")
    with pytest.raises(ValueError):
        pick_device("tpu")


def test_apple_silicon_gpu_is_chosen_by_auto_when_there_is_no_cuda(monkeypatch) -> None:
    from denoiser_app.core import engine

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(engine, "_mps_available", lambda: True)
    assert pick_device("auto").type == "mps" and "mps" in engine.available_devices()
    monkeypatch.setattr(engine, "_mps_available", lambda: False)
    assert pick_device("auto").type == "cpu" and "mps" not in engine.available_devices()
    with pytest.raises(RuntimeError, match="MPS"):
        pick_device("mps")


def test_unknown_model_name_lists_the_available(tmp_path) -> None:
    with pytest.raises(ModelFileError, match="No model named 'nonexistent'"):
        load_denoiser("nonexistent", "cpu")


def test_bf16_runs_only_the_network_in_reduced_precision(tmp_path) -> None:
    from model.archs import build
    from model.export import export

    network = build("nm_unet", widths=(8, 16), blocks=1)
    torch.nn.init.zeros_(network.tail.weight)
    torch.nn.init.zeros_(network.tail.bias)  # predicts zero noise: output must equal input exactly
    path = tmp_path / "zero.pt"
    export(network, path, "nm_unet", {"widths": [8, 16], "blocks": 1})
    image = noisy_photo(50, 70)
    result = load_denoiser(path, "cpu", precision="bf16").denoise(image, 20.0)
    np.testing.assert_array_equal(result.pixels, image)


def test_bf16_and_fp32_agree(tiny_model) -> None:
    image = noisy_photo(96, 96)
    fp32 = load_denoiser(tiny_model, "cpu", precision="fp32").denoise(image, 20.0).pixels
    bf16 = load_denoiser(tiny_model, "cpu", precision="bf16").denoise(image, 20.0).pixels
    assert np.abs(fp32 - bf16).max() < 4 / 255


def test_precision_choice() -> None:
    cpu = torch.device("cpu")
    assert engine.pick_dtype("fp32", cpu) == torch.float32
    assert engine.pick_dtype("bf16", cpu) == torch.bfloat16
    assert engine.pick_dtype("auto", torch.device("cuda")) == torch.float32
    with pytest.raises(ValueError):
        engine.pick_dtype("int4", cpu)


def test_auto_precision_is_bf16_only_where_this_cpu_measures_it_clearly_faster(monkeypatch) -> None:
    from denoiser_app.core import hardware

    cpu = torch.device("cpu")
    with_bf16 = "model name\t: Example\nflags\t\t: avx2 avx512f avx512_bf16\n"
    monkeypatch.setattr(hardware, "_cpuinfo", lambda: with_bf16)
    monkeypatch.setattr(engine, "bf16_conv_speedup", lambda: 2.2)
    assert engine.pick_dtype("auto", cpu) == torch.bfloat16
    monkeypatch.setattr(engine, "bf16_conv_speedup", lambda: 0.5)  # bf16 instructions, yet slower
    assert engine.pick_dtype("auto", cpu) == torch.float32
    monkeypatch.setattr(hardware, "_cpuinfo", lambda: with_bf16.replace(" avx512_bf16", ""))
    monkeypatch.setattr(engine, "bf16_conv_speedup", lambda: pytest.fail("no bf16 instructions: nothing to measure"))
    assert engine.pick_dtype("auto", cpu) == torch.float32


def test_the_bf16_speed_measurement_returns_a_ratio() -> None:
    engine.bf16_conv_speedup.cache_clear()
    speedup = engine.bf16_conv_speedup()
    assert 0.01 < speedup < 100
    assert engine.bf16_conv_speedup() == speedup, "measured once per process"


def test_batch_and_single_image_estimates_agree() -> None:
    from denoiser_app.core.noise_level import estimate_sigma_batch

    rng = np.random.default_rng(3)
    images = [np.clip(0.5 + rng.normal(0, s / 255, (96, 96, 3)), 0, 1) for s in (5, 20, 40)]
    batch = torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).float()
    together = estimate_sigma_batch(batch)
    for image, sigma in zip(images, together.tolist()):
        assert sigma == pytest.approx(estimate_sigma(image.astype(np.float32)), rel=0.05)



@pytest.mark.parametrize(("height", "width", "channels"), [(96, 96, 3), (301, 517, 3), (130, 77, 1), (3000, 4000, 3)])
def test_the_single_image_estimate_takes_the_batch_estimates_patches_and_copies_only_them(height, width, channels) -> None:
    import math
    import tracemalloc

    from denoiser_app.core.noise_level import MAX_PATCHES, PATCH, estimate_sigma_batch

    image = np.clip(0.5 + np.random.default_rng(height).normal(0, 12 / 255, (height, width, channels)), 0, 1).astype(np.float32)
    stride = max(1, math.ceil(math.sqrt((height - PATCH + 1) * (width - PATCH + 1) / MAX_PATCHES)))
    batch = torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1)))[None]
    tracemalloc.start()
    try:
        single = estimate_sigma(image)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert single == pytest.approx(float(estimate_sigma_batch(batch, stride)[0]), rel=1e-5)
    if height * width >= 3000 * 4000:  # a copy of the photo (channel-first, or times 255) would be 1x
        assert peak < 0.5 * image.nbytes, peak / image.nbytes


def test_passes_average_the_network_over_turned_and_mirrored_views(tiny_model) -> None:
    # One tile; with the edge context both sides are multiples of 16, so the
    # network pads nothing that turning would move.
    image = 0.4 + 0.2 * noisy_photo(48, 64)
    single = load_denoiser(tiny_model, "cpu", precision="fp32", passes=1)
    orientations = [  # (view, undo) for identity, quarter turn, mirror, half turn
        (lambda x: x, lambda y: y),
        (lambda x: np.rot90(x), lambda y: np.rot90(y, -1)),
        (lambda x: x[:, ::-1], lambda y: y[:, ::-1]),
        (lambda x: np.rot90(x, 2), lambda y: np.rot90(y, -2)),
    ]
    views = [undo(single.denoise(np.ascontiguousarray(view(image)), 20.0).pixels) for view, undo in orientations]
    # The untrained network overshoots [0, 1] here and there; where no view was
    # clipped, the average of the passes must match exactly.
    unclipped = np.all([(v > 0.0) & (v < 1.0) for v in views], axis=0)
    assert unclipped.mean() > 0.5
    for passes in (2, 4):
        averaged = load_denoiser(tiny_model, "cpu", precision="fp32", passes=passes).denoise(image, 20.0).pixels
        np.testing.assert_allclose(averaged[unclipped], np.mean(views[:passes], axis=0)[unclipped], atol=1e-5)
    assert not np.allclose(views[0], views[1], atol=1e-4)


def test_passes_keep_grey_grey_and_only_the_offered_counts_load(tiny_model) -> None:
    grey = noisy_photo(40, 50, channels=1)
    assert load_denoiser(tiny_model, "cpu", passes=8).denoise(grey, 10.0).pixels.shape == (40, 50, 1)
    with pytest.raises(ValueError, match="passes must be one of 1, 2, 4, 8"):
        load_denoiser(tiny_model, "cpu", passes=3)


def test_keep_grain_blends_back_a_share_of_the_removed_noise(tiny_model) -> None:
    denoiser = load_denoiser(tiny_model, "cpu")
    image = noisy_photo(48, 64)
    clean = denoiser.denoise(image, 20.0).pixels
    half = denoiser.denoise(image, 20.0, keep_grain=0.5).pixels
    np.testing.assert_allclose(half, np.clip(clean + 0.5 * (image - clean), 0, 1), atol=1e-5)
    np.testing.assert_allclose(denoiser.denoise(image, 20.0, keep_grain=1.0).pixels, image, atol=1e-6)
    with pytest.raises(ValueError, match="keep_grain"):
        denoiser.denoise(image, 20.0, keep_grain=1.5)


def test_a_share_of_auto_scales_the_estimated_level(tiny_model) -> None:
    denoiser = load_denoiser(tiny_model, "cpu")
    image = noisy_photo(96, 96)
    auto = denoiser.denoise(image, "auto")
    half = denoiser.denoise(image, "50%")
    assert half.estimated and half.sigma == pytest.approx(0.5 * auto.sigma)
    np.testing.assert_allclose(half.pixels, denoiser.denoise(image, 0.5 * auto.sigma).pixels, atol=1e-6)


def test_a_learned_estimator_gives_each_tile_its_own_level_map(tiny_auto_model, monkeypatch) -> None:
    denoiser = load_denoiser(tiny_auto_model, "cpu")
    assert denoiser.reads_local_levels
    image = noisy_photo(80, 96)
    image[:, :48] *= 0.3  # a dark half: a random estimator still reads the halves differently
    maps: list[np.ndarray] = []
    real_network = engine.Denoiser._run_network

    def spy(self, tile, level_map, network):
        maps.append(level_map.copy())
        return real_network(self, tile, level_map, network)

    monkeypatch.setattr(engine.Denoiser, "_run_network", spy)
    padded = np.pad(image, ((16, 16), (16, 16), (0, 0)), mode="reflect")
    raw = denoiser._level_map(padded)
    percent = round(2000 / raw.max(), 1)  # a share that keeps the random estimator's map inside the model's range
    result = denoiser.denoise(image, f"{percent}%")
    low, high = denoiser.info.noise_range
    np.testing.assert_allclose(maps[0], np.clip(raw * percent / 100, low, high), rtol=1e-5, atol=1e-4)
    assert maps[0].std() > 0, "the map varies over the photo"
    assert result.sigma == pytest.approx(percent / 100 * denoiser.estimate(image))
    maps.clear()
    denoiser.denoise(image, 7.0)
    assert (maps[0] == 7.0).all(), "a fixed strength is one level everywhere"


def test_estimator_files_are_not_offered_as_models(tiny_auto_model, monkeypatch) -> None:
    from denoiser_app.core import models

    monkeypatch.setattr(models, "bundled_models_dir", lambda: tiny_auto_model.parent)
    monkeypatch.setattr(models, "user_models_dir", lambda: tiny_auto_model.parent / "none")
    names = [entry.name for entry in models.list_models()]
    assert "tiny-auto" in names and "tiny-estimator" not in names


def test_the_compute_line_names_the_cpu_its_instruction_sets_and_the_precision(monkeypatch) -> None:
    from denoiser_app.core import hardware

    cpuinfo = "model name\t: Example CPU 9000\nflags\t\t: fpu avx2 avx512f avx512_bf16 sse4_2\n"
    monkeypatch.setattr(hardware, "_cpuinfo", lambda: cpuinfo)
    monkeypatch.setattr(hardware.platform, "machine", lambda: "x86_64")
    line = hardware.describe_compute(torch.device("cpu"), torch.bfloat16)
    assert line.startswith("Example CPU 9000 (AVX-512 BF16, AVX-512, AVX2, no AMX), bfloat16, ")
    monkeypatch.setattr(hardware, "_cpuinfo", lambda: cpuinfo.replace("sse4_2", "amx_tile"))
    assert "(AMX, AVX-512 BF16, AVX-512, AVX2)" in hardware.describe_compute(torch.device("cpu"), torch.float32)


def test_correlated_noise_weighs_in_only_when_the_white_noise_estimate_reads_far_lower() -> None:
    calibration = engine.CorrelatedNoise(gain=2.0, white_ratio=0.8, correlated_ratio=0.4)
    assert calibration.weight(white_noise_reading=10.0, learned_reading=10.0) == 0.0  # both read white noise alike
    assert calibration.weight(white_noise_reading=2.0, learned_reading=10.0) == 1.0  # patch-PCA reads a fifth: correlated
    assert calibration.weight(white_noise_reading=6.0, learned_reading=10.0) == pytest.approx(0.5)
    assert calibration.weight(white_noise_reading=0.1, learned_reading=0.0) == pytest.approx(1.0)  # no division by zero


def camera_like_noise(shape: tuple[int, int], sigma: float, rho: float, seed: int = 0) -> np.ndarray:
    """Noise of level ``sigma`` (8-bit) whose channels correlate by ``rho`` and whose neighbours correlate too."""
    import cv2

    rng = np.random.default_rng(seed)
    field = np.sqrt(rho) * rng.normal(size=shape + (1,)) + np.sqrt(1 - rho) * rng.normal(size=shape + (3,))
    field = cv2.GaussianBlur(field.astype(np.float32), (0, 0), 1.0)
    return field / field.std() * sigma / 255


@pytest.fixture
def camera_calibrated_model(tiny_auto_model, tmp_path) -> object:
    from tests.conftest import rewrite_metadata

    # Beside the estimator it names; the name is unique to this test.
    target = tiny_auto_model.parent / f"tiny-camera-{tmp_path.name}.pt"
    calibration = {"gain": 1.5, "channel_correlation": 0.6}
    return load_denoiser(rewrite_metadata(tiny_auto_model, target, {"correlated_noise": calibration}), "cpu")


def test_camera_noise_gets_the_gain_and_the_colour_transform_and_white_noise_neither(camera_calibrated_model, monkeypatch) -> None:
    denoiser = camera_calibrated_model
    monkeypatch.setattr(engine.Denoiser, "_level_map", lambda self, tile: np.full(tile.shape[:2], 10.0, np.float32))
    flat = np.full((192, 192, 3), 0.5, np.float32)
    white_photo = flat + np.random.default_rng(0).normal(0, 12 / 255, flat.shape).astype(np.float32)
    white = denoiser.read_noise(white_photo)
    assert (white.gain, white.channel_correlation) == (1.0, 0.0)
    camera = denoiser.read_noise(flat + camera_like_noise((192, 192), 10, 0.6))
    assert (camera.gain, camera.channel_correlation) == (1.5, 0.6)
    assert camera.auto_level == 15.0
    grey = denoiser.read_noise(flat[..., :1] + camera_like_noise((192, 192), 10, 0.6)[..., :1])
    assert grey.channel_correlation == 0.0, "a grey photo has no colours to transform"


def test_the_network_sees_camera_noise_decorrelated_and_its_output_comes_back_in_the_photos_colours(
    camera_calibrated_model, monkeypatch
) -> None:
    denoiser = camera_calibrated_model
    monkeypatch.setattr(engine.Denoiser, "_level_map", lambda self, tile: np.full(tile.shape[:2], 10.0, np.float32))
    seen: list[tuple[np.ndarray, np.ndarray]] = []

    def identity_network(self, tile, level_map, network):
        seen.append((tile.copy(), level_map.copy()))
        return tile.copy()

    monkeypatch.setattr(engine.Denoiser, "_run_network", identity_network)
    denoiser.passes = 1
    photo = 0.5 + camera_like_noise((192, 192), 10, 0.6)
    result = denoiser.denoise(photo, 8.0)
    np.testing.assert_allclose(result.pixels, np.clip(photo, 0, 1), atol=1e-5)  # transformed back exactly
    tile, level_map = seen[0]
    inside = (tile[16:-16, 16:-16] - 0.5).reshape(-1, 3)
    assert np.abs(np.corrcoef(inside.T)[np.triu_indices(3, 1)]).max() < 0.1
    scale = engine.decorrelating_transform(0.6).noise_scale
    assert np.allclose(level_map, 8.0 * scale), "the level is the noise's level in the network's colours"


def test_denoise_settings_are_checked_when_made_and_load_the_model_they_name(tiny_model) -> None:
    settings = engine.DenoiseSettings(model=tiny_model, device="cpu", precision="fp32", passes=1, strength="150%")
    denoiser = settings.load()
    assert (denoiser.path, denoiser.passes, denoiser.dtype) == (tiny_model, 1, torch.float32)
    for bad in ({"passes": 3}, {"strength": "300%"}, {"strength": 80.0}, {"keep_grain": 1.5}, {"tile": 16},
                {"device": "gpu"}, {"precision": "fp16"}):
        with pytest.raises(ValueError):
            engine.DenoiseSettings(**bad)
    assert settings.gives_the_same_pixels_as(dataclasses.replace(settings, tile=256))
    assert not settings.gives_the_same_pixels_as(dataclasses.replace(settings, strength=10.0))
    with pytest.raises(ValueError):
        denoiser.passes = 3  # the preview changes passes on a loaded model: checked there too


@pytest.fixture
def model_with_camera_network(tiny_auto_model, tmp_path) -> engine.Denoiser:
    from tests.conftest import make_model_file, rewrite_metadata

    folder = tiny_auto_model.parent  # beside the estimator the tiny model names; the names are this test's own
    camera_name = f"tiny-camera-network-{tmp_path.name}"
    make_model_file(folder / f"{camera_name}.pt", "nm_unet", {"widths": [8, 16], "blocks": 1}, seed=1,
                    correlated_noise={"gain": 1.2, "channel_correlation": 0.3})
    change = {"correlated_noise": {"gain": 1.5, "channel_correlation": 0.6}, "camera_model": camera_name}
    return load_denoiser(rewrite_metadata(tiny_auto_model, folder / f"tiny-with-{camera_name}.pt", change), "cpu")


def test_camera_noise_goes_to_the_camera_network_with_its_own_calibration_and_white_noise_stays(
    model_with_camera_network, monkeypatch
) -> None:
    denoiser = model_with_camera_network
    monkeypatch.setattr(engine.Denoiser, "_level_map", lambda self, tile: np.full(tile.shape[:2], 10.0, np.float32))
    ran: list[object] = []
    real_network = engine.Denoiser._run_network

    def which(self, tile, level_map, network):
        ran.append(network)
        return real_network(self, tile, level_map, network)

    monkeypatch.setattr(engine.Denoiser, "_run_network", which)
    flat = np.full((96, 96, 3), 0.5, np.float32)
    white_photo = flat + np.random.default_rng(0).normal(0, 12 / 255, flat.shape).astype(np.float32)
    camera_photo = flat + camera_like_noise((96, 96), 10, 0.6)

    white = denoiser.read_noise(white_photo)
    camera = denoiser.read_noise(camera_photo)
    assert not white.camera_network and (white.gain, white.channel_correlation) == (1.0, 0.0)
    assert camera.camera_network and (camera.gain, camera.channel_correlation) == (1.2, 0.3), "the camera network's own"
    denoiser.denoise(white_photo)
    assert ran and all(network is denoiser.module for network in ran)
    ran.clear()
    denoiser.denoise(camera_photo)
    assert ran and all(network is denoiser.camera_network.module for network in ran)


def test_a_missing_or_unfit_camera_network_is_a_clear_model_error(tiny_auto_model, tiny_seed_model, tmp_path) -> None:
    import shutil

    from denoiser_app.core.modelfile import ModelFileError
    from tests.conftest import rewrite_metadata

    calibration = {"correlated_noise": {"gain": 1.5, "channel_correlation": 0.6}}
    missing = rewrite_metadata(tiny_auto_model, tiny_auto_model.parent / f"missing-{tmp_path.name}.pt",
                               {**calibration, "camera_model": "nowhere"})
    with pytest.raises(ModelFileError, match="camera-noise network 'nowhere'"):
        load_denoiser(missing, "cpu")
    shutil.copy(tiny_seed_model, tiny_auto_model.parent / f"seed-{tmp_path.name}.pt")
    unfit = rewrite_metadata(tiny_auto_model, tiny_auto_model.parent / f"unfit-{tmp_path.name}.pt",
                             {**calibration, "camera_model": f"seed-{tmp_path.name}"})
    with pytest.raises(ModelFileError, match="does not fit"):
        load_denoiser(unfit, "cpu")
