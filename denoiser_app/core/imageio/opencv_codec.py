"""OpenCV's encoders and decoders, in RGB(A) order (OpenCV itself works in BGR(A))."""
from __future__ import annotations

import cv2
import numpy as np


def encoded_with_opencv(suffix: str, samples: np.ndarray, options: list[int]) -> np.ndarray:
    """The file bytes (a uint8 array) OpenCV makes from H x W x C grey, RGB or RGBA samples.

    Encoding to memory rather than with ``cv2.imwrite`` keeps non-ASCII paths
    working on Windows, where OpenCV cannot open them.
    """
    channels = samples.shape[2]
    if channels == 1:
        stored = samples[..., 0]
    else:
        stored = cv2.cvtColor(samples, cv2.COLOR_RGBA2BGRA if channels == 4 else cv2.COLOR_RGB2BGR)
    ok, encoded = cv2.imencode(suffix, stored, options)
    if not ok:
        raise RuntimeError(f"OpenCV could not encode {suffix} data")
    return encoded.reshape(-1)


def decoded_with_opencv(data: bytes | bytearray) -> np.ndarray | None:
    """OpenCV's decoding of a whole file, unchanged: grey, BGR or BGRA; None if it fails."""
    return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)


def rgb_from_bgr(decoded: np.ndarray) -> np.ndarray:
    """BGR or BGRA pixels from OpenCV as RGB or RGBA."""
    return cv2.cvtColor(decoded, cv2.COLOR_BGRA2RGBA if decoded.shape[2] == 4 else cv2.COLOR_BGR2RGB)
