from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from denoiser_app.core.engine import load_denoiser
from denoiser_app.core.tiling import plan_tiles, run_tiled, tile_weights
from tests.conftest import noisy_photo


@given(
    height=st.integers(1, 700),
    width=st.integers(1, 700),
    tile=st.sampled_from([64, 128, 256]),
    overlap=st.sampled_from([0, 8, 16]),
)
@settings(max_examples=200, deadline=None)
def test_tiles_cover_every_pixel_with_positive_weight(height: int, width: int, tile: int, overlap: int) -> None:
    coverage = np.zeros((height, width, 1), dtype=np.float32)
    for region in plan_tiles(height, width, tile, overlap):
        assert region.height <= tile and region.width <= tile
        assert region.top + region.height <= height and region.left + region.width <= width
        coverage[region.top : region.top + region.height, region.left : region.left + region.width] += tile_weights(
            region, height, width, overlap
        )
    assert coverage.min() > 0


def _box_blur(tile: np.ndarray) -> np.ndarray:
    """A process that reads its neighbours, as a network does: wrong wherever a tile saw written output."""
    padded = np.pad(tile, ((1, 1), (1, 1), (0, 0)), mode="edge")
    return sum(padded[r : r + tile.shape[0], c : c + tile.shape[1]] for r in range(3) for c in range(3)) / 9.0


@given(
    height=st.integers(1, 300),
    width=st.integers(1, 300),
    tile=st.sampled_from([32, 64, 128]),
    overlap=st.sampled_from([0, 4, 8]),
    margin=st.sampled_from([0, 4, 16]),
)
@settings(max_examples=60, deadline=None)
def test_in_place_tiling_equals_tiling_into_a_copy_and_a_copy_leaves_the_input_alone(
    height: int, width: int, tile: int, overlap: int, margin: int
) -> None:
    image = np.random.default_rng(height * 1000 + width).random((height, width, 3), dtype=np.float32)
    before = image.copy()
    mode = "reflect" if min(height, width) > margin else "edge"

    def finish(output: np.ndarray, noisy: np.ndarray) -> None:
        output += 0.25 * (noisy - output)

    copied = run_tiled(image, _box_blur, tile, overlap, margin=margin, margin_mode=mode, finish=finish)
    np.testing.assert_array_equal(image, before)
    same = run_tiled(image, lambda t: t, tile, overlap, margin=margin, margin_mode=mode, finish=finish)
    np.testing.assert_array_equal(image, before)  # a process that hands its tile back
    np.testing.assert_allclose(same, before, atol=1e-6)
    cleaned = run_tiled(image, _box_blur, tile, overlap, margin=margin, margin_mode=mode, finish=finish, in_place=True)
    assert cleaned is image
    np.testing.assert_array_equal(cleaned, copied)


def test_identity_survives_tiling_exactly() -> None:
    image = np.random.default_rng(0).random((300, 410, 3), dtype=np.float32)
    result = run_tiled(image, lambda t: t, tile=128, overlap=32)
    np.testing.assert_allclose(result, image, atol=1e-6)


def test_tile_larger_than_overlap_twice_is_required() -> None:
    with pytest.raises(ValueError):
        plan_tiles(100, 100, 64, 32)


def test_on_tile_reports_every_tile_and_can_stop() -> None:
    calls: list[tuple[int, int]] = []

    def on_tile(done: int, total: int) -> None:
        calls.append((done, total))
        if done == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_tiled(np.zeros((200, 200, 3), np.float32), lambda t: t, 128, 16, on_tile)
    assert calls == [(1, 4), (2, 4)]


def test_tiled_matches_whole_image_on_1024x768(tiny_model) -> None:
    denoiser = load_denoiser(tiny_model, "cpu")
    image = noisy_photo(768, 1024)
    whole = denoiser.denoise(image, 25.0, tile=2048).pixels
    tiled = denoiser.denoise(image, 25.0, tile=256, overlap=64).pixels
    assert np.abs(whole - tiled).max() < 1 / 255


def _tile_borders(size: int, tile: int, overlap: int) -> list[int]:
    tiles = plan_tiles(size, size, tile, overlap)
    return sorted({t.left for t in tiles if t.left} | {t.left + t.width for t in tiles if t.left + t.width < size})


def test_flat_grey_image_has_no_seam_against_untiled(tiny_model) -> None:
    # A random-weight network paints a fixed 2x2 pattern even on flat input, so
    # the seam is measured against the untiled result at every tile border.
    denoiser = load_denoiser(tiny_model, "cpu")
    flat = np.full((600, 600, 3), 0.5, dtype=np.float32)
    whole = denoiser.denoise(flat, 15.0, tile=1024).pixels
    tiled = denoiser.denoise(flat, 15.0, tile=256, overlap=64).pixels
    for border in _tile_borders(600, 256, 64):
        band = slice(border - 4, border + 4)
        assert np.abs(tiled[:, band] - whole[:, band]).max() < 1 / 255
        assert np.abs(tiled[band, :] - whole[band, :]).max() < 1 / 255


def test_bundled_model_shows_no_seam_on_flat_grey() -> None:
    # 640 is a multiple of the model's padding rule, so untiled and tiled runs
    # see the same image edges and differ only by the tiling itself.
    denoiser = load_denoiser(None, "cpu")
    flat = np.full((640, 640, 3), 0.5, dtype=np.float32)
    for strength in (0.0, 15.0):
        whole = denoiser.denoise(flat, strength, tile=1024).pixels
        tiled = denoiser.denoise(flat, strength, tile=256, overlap=64).pixels
        for border in _tile_borders(640, 256, 64):
            band = slice(border - 4, border + 4)
            assert np.abs(tiled[:, band] - whole[:, band]).max() < 1 / 255
            assert np.abs(tiled[band, :] - whole[band, :]).max() < 1 / 255
        assert np.ptp(tiled) < 6 / 255  # and no visible structure painted on flat grey


def test_a_rect_indexes_grows_within_the_image_and_knows_what_it_contains() -> None:
    from denoiser_app.core.tiling import Rect

    image = np.arange(20 * 30).reshape(20, 30)
    rect = Rect(top=2, left=5, height=4, width=6)
    assert image[rect.slices()].shape == (4, 6) and image[rect.slices()][0, 0] == image[2, 5]
    grown = rect.grown(3, height=20, width=30)
    assert grown == Rect(0, 2, 9, 12) and grown.contains(rect) and not rect.contains(grown)
    assert image[grown.slices()][rect.relative_to(grown).slices()].tolist() == image[rect.slices()].tolist()
    assert Rect(0, 0, 100, 50).central_window(10) == Rect(45, 20, 10, 10)


def test_mirrored_margins_are_added_tile_by_tile_as_padding_the_whole_image_would() -> None:
    image = np.random.default_rng(0).random((70, 90, 3), dtype=np.float32)
    padded = np.pad(image, ((16, 16), (16, 16), (0, 0)), mode="reflect")
    seen: list[np.ndarray] = []

    def record(tile: np.ndarray) -> np.ndarray:
        seen.append(tile.copy())
        return tile * 2

    result = run_tiled(image, record, tile=64, overlap=16, margin=16)
    tiles = plan_tiles(102, 122, 64, 16)
    assert len(seen) == len(tiles) > 1
    for region, tile in zip(tiles, seen):
        np.testing.assert_array_equal(tile, padded[region.slices()])
    np.testing.assert_allclose(result, image * 2, rtol=1e-6)


def test_tiling_needs_memory_for_the_result_and_a_band_of_tiles_only_and_none_in_place(tiny_model) -> None:
    import tracemalloc

    from denoiser_app.core.engine import load_denoiser

    denoiser = load_denoiser(tiny_model, "cpu", passes=1)
    image = np.random.default_rng(0).random((1200, 1200, 3), dtype=np.float32)
    denoiser.denoise(image[:200, :200], 10.0, tile=128)  # first-call allocations out of the way
    expected = denoiser.denoise(image, 10.0, tile=128, keep_grain=0.3).pixels

    def peak_of(call) -> tuple[int, np.ndarray]:
        tracemalloc.start()
        try:
            result = call()
            return tracemalloc.get_traced_memory()[1], result
        finally:
            tracemalloc.stop()

    copy_peak, copied = peak_of(lambda: denoiser.denoise(image, 10.0, tile=128, keep_grain=0.3).pixels)
    own = image.copy()
    own_peak, cleaned = peak_of(lambda: denoiser.denoise(own, 10.0, tile=128, keep_grain=0.3, in_place=True).pixels)
    # The result (1x) plus a band of tiles: 128 of the 1200 rows are 0.11x, their finishing scratch about
    # as much again. A weight per pixel would add 1/3x, a padded copy of the photo 1x. In place, the
    # result is the photo itself.
    assert copy_peak < 1.3 * image.nbytes, copy_peak / image.nbytes
    assert own_peak < 0.3 * image.nbytes, own_peak / image.nbytes
    assert cleaned is own, "cleaned where it lay"
    np.testing.assert_array_equal(copied, expected)
    np.testing.assert_array_equal(cleaned, expected)
