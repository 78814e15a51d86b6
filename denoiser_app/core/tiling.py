"""Overlapping tiles with blended seams. Pure numpy: knows nothing about models or torch.

``run_tiled`` cuts an image into overlapping tiles, passes each to a callback
and blends the results with raised-cosine ramps across every overlap, so the
peak memory of the callback is bounded by the tile size.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

TileFn = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Rect:
    """A rectangle of an image in pixels: rows ``top:top+height``, columns ``left:left+width``.

    The one rectangle type of the app: the tiles here, and the preview's region
    of the photo (the GUI converts to and from QRect at its edge).
    """

    top: int
    left: int
    height: int
    width: int

    @property
    def bottom(self) -> int:
        return self.top + self.height

    @property
    def right(self) -> int:
        return self.left + self.width

    def slices(self) -> tuple[slice, slice]:
        """Index an H x W (x C) array with this: ``image[rect.slices()]``."""
        return slice(self.top, self.bottom), slice(self.left, self.right)

    def contains(self, other: Rect) -> bool:
        return self.top <= other.top and self.left <= other.left and other.bottom <= self.bottom and other.right <= self.right

    def central_window(self, side: int) -> Rect:
        """At most ``side`` x ``side`` pixels from the middle of this rectangle."""
        height, width = min(self.height, side), min(self.width, side)
        return Rect(self.top + (self.height - height) // 2, self.left + (self.width - width) // 2, height, width)

    def grown(self, margin: int, height: int, width: int) -> Rect:
        """This rectangle with ``margin`` pixels more on each side, kept inside an image of ``height`` x ``width``."""
        top, left = max(0, self.top - margin), max(0, self.left - margin)
        return Rect(top, left, min(height, self.bottom + margin) - top, min(width, self.right + margin) - left)

    def intersection(self, other: Rect) -> Rect | None:
        """The part both rectangles cover, or None if they do not meet."""
        top, left = max(self.top, other.top), max(self.left, other.left)
        bottom, right = min(self.bottom, other.bottom), min(self.right, other.right)
        return Rect(top, left, bottom - top, right - left) if bottom > top and right > left else None

    def relative_to(self, outer: Rect) -> Rect:
        """This rectangle in the coordinates of ``outer``'s crop."""
        return Rect(self.top - outer.top, self.left - outer.left, self.height, self.width)


def _starts(length: int, tile: int, overlap: int) -> list[int]:
    if length <= tile:
        return [0]
    stride = tile - overlap
    starts = list(range(0, length - tile, stride))
    starts.append(length - tile)
    return starts


def plan_tiles(height: int, width: int, tile: int, overlap: int) -> list[Rect]:
    """Tiles of at most ``tile`` pixels a side covering the image, neighbours sharing ``overlap`` or more."""
    if tile <= 2 * overlap:
        raise ValueError(f"tile size {tile} must be more than twice the overlap {overlap}")
    return [
        Rect(top, left, min(tile, height), min(tile, width))
        for top in _starts(height, tile, overlap)
        for left in _starts(width, tile, overlap)
    ]


def _ramp(length: int, overlap: int, fade_start: bool, fade_end: bool) -> np.ndarray:
    """1 in the middle, a half-cosine from near 0 to 1 over ``overlap`` at faded ends."""
    weights = np.ones(length, dtype=np.float32)
    if overlap <= 0:
        return weights
    steps = (np.arange(overlap, dtype=np.float32) + 0.5) / overlap
    rise = 0.5 - 0.5 * np.cos(np.pi * steps)
    if fade_start:
        weights[:overlap] = rise
    if fade_end:
        weights[length - overlap :] = np.minimum(weights[length - overlap :], rise[::-1])
    return weights


def _band_ramp(start: int, band: int, length: int, overlap: int) -> np.ndarray:
    """The ramp along one axis of a band of ``band`` pixels from ``start``: faded only where a neighbour is."""
    return _ramp(band, overlap, start > 0, start + band < length)


def tile_weights(tile: Rect, height: int, width: int, overlap: int) -> np.ndarray:
    """Blending weights for ``tile``: ramps only on sides that have a neighbour."""
    rows = _band_ramp(tile.top, tile.height, height, overlap)
    return np.outer(rows, _band_ramp(tile.left, tile.width, width, overlap))[..., None]


def _summed_ramps(starts: list[int], band: int, length: int, overlap: int) -> np.ndarray:
    """Summed blending weight along one axis, over every band of tiles on it.

    Each tile's weights are a row ramp times a column ramp, and the tiles are
    every row band crossed with every column band, so the sum over tiles is
    (sum of the row bands' ramps) times (sum of the column bands' ramps): two
    vectors instead of a weight per pixel (for a 100 MP photo, 400 MB less).
    """
    sums = np.zeros(length, np.float32)
    for start in starts:
        sums[start : start + band] += _band_ramp(start, band, length, overlap)
    return sums


def _with_margin(image: np.ndarray, region: Rect, margin: int, mode: str) -> np.ndarray:
    """The pixels of ``region``, given in the coordinates of ``image`` padded by ``margin`` with ``np.pad(mode)``.

    Only the tile is padded, never a copy of the whole image: where the
    region crosses an edge, the tile is mirrored about that edge as the
    padded image would be.
    """
    height, width = image.shape[:2]
    top, left = region.top - margin, region.left - margin
    bottom, right = top + region.height, left + region.width
    rows, cols = slice(max(top, 0), min(bottom, height)), slice(max(left, 0), min(right, width))
    pads = ((rows.start - top, bottom - rows.stop), (cols.start - left, right - cols.stop), (0, 0))
    inside = image[rows, cols]
    return np.pad(inside, pads, mode=mode) if any(any(pad) for pad in pads) else inside


FinishFn = Callable[[np.ndarray, np.ndarray], None]
"""(blended output rows, the same rows of the input) -> None: finishes the output rows in place."""


def run_tiled(
    image: np.ndarray,
    process: TileFn,
    tile: int,
    overlap: int,
    on_tile: Callable[[int, int], None] | None = None,
    margin: int = 0,
    margin_mode: str = "reflect",
    finish: FinishFn | None = None,
    in_place: bool = False,
) -> np.ndarray:
    """Apply ``process`` tile by tile to an H x W x C image and blend the results.

    ``margin`` pixels of context are added around the image's edges as
    ``np.pad(margin_mode)`` would add them, tile by tile, so the network sees
    mirrored content there rather than a border; the result has the image's
    size.

    Tiles go band by band, top to bottom. Once a band is done, the rows above
    the next band's context are final and no later tile reads them: they are
    divided by their blending weight, handed to ``finish`` with the input's
    same rows (the engine clips and blends grain back there), and written
    out. So the memory beyond the image is one band of tiles; with
    ``in_place`` the output is written over ``image`` itself and there is no
    second copy of the photo at all (a 100 MP photo: 1.2 GB less).

    ``on_tile(done, total)`` is called after every tile; it may raise to stop
    (cancellation), and nothing partial is returned then; with ``in_place``
    the image is then part input, part output, and only fit to be dropped.
    """
    height, width = image.shape[:2]
    padded_height, padded_width = height + 2 * margin, width + 2 * margin
    tiles = plan_tiles(padded_height, padded_width, tile, overlap)
    inner = Rect(margin, margin, height, width)  # the image, in padded coordinates
    output = image if in_place else np.empty(image.shape, dtype=np.float32)
    if len(tiles) == 1:
        result = process(_with_margin(image, tiles[0], margin, margin_mode))
        result = result if margin == 0 else result[inner.slices()]
        if on_tile:
            on_tile(1, 1)
        if np.shares_memory(result, image):  # a process that hands its tile back: finish must not touch the input
            result = result.copy()
        if finish:
            finish(result, image)
        output[...] = result
        return output
    # plan_tiles' tiles, as the row bands they cross with the column bands
    band_height, band_width = min(tile, padded_height), min(tile, padded_width)
    tops, lefts = _starts(padded_height, tile, overlap), _starts(padded_width, tile, overlap)
    row_sums = _summed_ramps(tops, band_height, padded_height, overlap)
    column_sums = _summed_ramps(lefts, band_width, padded_width, overlap)[inner.left : inner.right]
    # The blend of the rows not yet written: image rows from pending_top, at most a band's height.
    buffer = np.zeros((min(tile, height), width, image.shape[2]), np.float32)
    pending_top, carried = 0, 0
    done = 0
    for band_index, top in enumerate(tops):
        band_bottom = min(top + band_height - margin, height)
        pending = buffer[: max(band_bottom - pending_top, carried)]
        pending[carried:] = 0.0
        pending_rect = Rect(inner.top + pending_top, inner.left, len(pending), width)  # in padded coordinates
        for left in lefts:
            region = Rect(top, left, band_height, band_width)
            weights = tile_weights(region, padded_height, padded_width, overlap)
            result = process(_with_margin(image, region, margin, margin_mode))
            kept = region.intersection(inner)
            if kept is not None:
                within_tile = kept.relative_to(region).slices()
                pending[kept.relative_to(pending_rect).slices()] += result[within_tile] * weights[within_tile]
            done += 1
            if on_tile:
                on_tile(done, len(tiles))
        is_last = band_index == len(tops) - 1
        # Rows above the next band's first input row are final, and no later tile reads them.
        final_bottom = height if is_last else min(max(tops[band_index + 1] - margin, pending_top), height)
        count = max(final_bottom - pending_top, 0)
        if count > 0:
            rows = slice(pending_top, final_bottom)
            finished = pending[:count]
            finished /= row_sums[inner.top + pending_top : inner.top + final_bottom, None, None]
            finished /= column_sums[None, :, None]
            if finish:
                finish(finished, image[rows])
            output[rows] = finished
            buffer[: len(pending) - count] = pending[count:].copy()  # a few rows; the copy keeps overlaps apart
            pending_top = final_bottom
        carried = len(pending) - count  # the rows the next band adds to (all of them, on a tiny image)
    return output
