"""A camera's noise measured from its noisy photos, and noise drawn from the measurement."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from model import noise_profile
from model.noise_profile import NoiseProfile, fit_profile, profile_noise

TRUE = NoiseProfile(shot=(60.0, 40.0, 80.0), read=(4.0, 3.0, 6.0), channel_correlation=0.45, spread=0.8)


def patchwork(seed: int, textured: bool = True) -> np.ndarray:
    """Flat squares of random colours (sky, walls), with a corner of texture (foliage, fabric) that is not noise."""
    rng = np.random.default_rng(seed)
    image = np.zeros((512, 768, 3), np.float32)
    for top in range(0, 512, 64):
        for left in range(0, 768, 64):
            image[top : top + 64, left : left + 64] = rng.uniform(0.05, 0.95, 3)
    if textured:
        blobs = cv2.GaussianBlur(rng.random((192, 192)).astype(np.float32) - 0.5, (0, 0), 1.5)
        image[:192, :192] += (blobs / blobs.std() * 0.08)[..., None]
    return np.clip(image, 0, 1)


def test_a_profile_fitted_to_noise_of_known_parameters_recovers_them(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(noise_profile, "LEVEL_VARIATION", (1.0, 1.0))
    noisy = [profile_noise(patchwork(seed), TRUE, np.random.default_rng(seed))[0] for seed in range(3)]
    fitted = fit_profile(noisy)
    np.testing.assert_allclose(fitted.shot, TRUE.shot, rtol=0.12)
    for brightness in (0.1, 0.3, 0.6, 0.9):  # the black level's variance is small beside the shot noise: judge the std
        for channel in range(3):
            assert fitted.std(brightness, channel) == pytest.approx(TRUE.std(brightness, channel), rel=0.12)
    assert fitted.channel_correlation == pytest.approx(TRUE.channel_correlation, abs=0.06)
    assert fitted.spread == pytest.approx(TRUE.spread, abs=0.12)


def test_white_grey_independent_noise_reads_as_such() -> None:
    rng = np.random.default_rng(1)
    image = patchwork(4, textured=False)
    noisy = image + rng.normal(0, 5 / 255, image.shape).astype(np.float32)
    fitted = fit_profile([noisy])
    assert fitted.spread < 0.3 and fitted.channel_correlation < 0.08
    assert all(abs(fitted.std(0.5, c) - 5.0) < 0.6 for c in range(3))


def test_profile_noise_is_repeatable_labelled_with_its_level_and_keeps_the_shape() -> None:
    clean = patchwork(2, textured=False)
    first, level = profile_noise(clean, TRUE, np.random.default_rng(7))
    again, _ = profile_noise(clean, TRUE, np.random.default_rng(7))
    other, _ = profile_noise(clean, TRUE, np.random.default_rng(8))
    assert np.array_equal(first, again) and not np.array_equal(first, other)
    assert first.shape == clean.shape and level.shape == clean.shape[:2]
    block = (slice(128, 192), slice(128, 192))  # one flat square
    measured = float(np.sqrt(np.mean(((first - clean)[block] * 255) ** 2)))
    assert measured == pytest.approx(float(level[block].mean()), rel=0.12)


def test_the_profile_survives_a_round_trip_through_a_dict() -> None:
    assert NoiseProfile.from_dict(TRUE.to_dict()) == TRUE


def test_photos_too_small_to_measure_are_refused_with_a_reason() -> None:
    with pytest.raises(ValueError, match="too few even areas"):
        fit_profile([np.full((20, 20, 3), 0.5, np.float32)])
