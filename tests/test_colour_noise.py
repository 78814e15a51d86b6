import numpy as np
import pytest

from denoiser_app.core.colour_noise import decorrelating_transform


def correlated_noise(rho: float, count: int = 200_000, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    common = rng.normal(size=(count, 1))
    return np.sqrt(rho) * common + np.sqrt(1 - rho) * rng.normal(size=(count, 3))


@pytest.mark.parametrize("rho", [0.3, 0.6, 0.9])
def test_the_transform_turns_correlated_noise_into_independent_noise_of_the_stated_level(rho: float) -> None:
    transform = decorrelating_transform(rho)
    covariance = transform.matrix @ ((1 - rho) * np.eye(3) + rho * np.ones((3, 3))) @ transform.matrix.T
    np.testing.assert_allclose(covariance, transform.noise_scale**2 * np.eye(3), atol=1e-12)
    samples = correlated_noise(rho) @ transform.matrix.T
    correlation = np.corrcoef(samples.T)[np.triu_indices(3, 1)]
    assert np.abs(correlation).max() < 0.01
    assert samples.std(axis=0) == pytest.approx([transform.noise_scale] * 3, rel=0.01)


def test_the_transform_keeps_volume_round_trips_and_is_the_identity_for_independent_noise() -> None:
    transform = decorrelating_transform(0.6)
    assert np.linalg.det(transform.matrix) == pytest.approx(1.0)
    image = np.random.default_rng(1).random((5, 7, 3)).astype(np.float32)
    moved = transform.forward(image)
    assert moved.dtype == np.float32 and not np.allclose(moved, image)
    np.testing.assert_allclose(transform.backward(moved), image, atol=1e-6)
    grey = np.full((2, 2, 3), 0.5, np.float32)
    np.testing.assert_allclose(transform.forward(grey), grey, atol=1e-7)  # mid-grey stays put
    identity = decorrelating_transform(0.0)
    np.testing.assert_allclose(identity.matrix, np.eye(3), atol=1e-12)
    assert identity.noise_scale == 1.0


def test_grey_noise_is_stretched_into_colour() -> None:
    transform = decorrelating_transform(0.6)
    grey_step = np.full((1, 1, 3), 0.6, np.float32)
    moved = transform.forward(grey_step)[0, 0]
    assert np.allclose(moved, moved[0]) and moved[0] - 0.5 < 0.1  # grey stays grey, shrunk toward mid-grey
    red_step = transform.forward(np.array([[[0.6, 0.5, 0.5]]], np.float32))[0, 0] - 0.5
    assert red_step[0] > 0.1 and red_step[1] < 0  # colour differences grow


def test_impossible_correlations_are_refused() -> None:
    for rho in (-0.1, 1.0):
        with pytest.raises(ValueError):
            decorrelating_transform(rho)
