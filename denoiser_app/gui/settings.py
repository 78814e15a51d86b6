"""Typed, persistent settings over QSettings, in two groups.

``preferences`` are choices the user makes about how photos are cleaned
(strength, model, output format...). ``state`` is what the window remembers
about itself (geometry, splitters, last folders). Keeping them apart means a
"reset layout" never loses a user's preferences and vice versa.

Tests pass an explicit file path, so they never touch the user's settings.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Generic, TypeVar, cast

from PySide6.QtCore import QByteArray, QSettings

from denoiser_app.core.engine import DEFAULT_PASSES, DEFAULT_TILE, DEVICES, MAX_STRENGTH, PASS_CHOICES
from denoiser_app.core.imageio import DEFAULT_MAX_MEGAPIXELS, OUTPUT_FORMATS

ORGANIZATION = "Denoiser"
APPLICATION = "Denoiser"

T = TypeVar("T")


def _to_bool(value: Any) -> bool:
    # INI files hand every value back as a string.
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes")
    return bool(value)


def _to_finite_float(value: Any) -> float:
    number = float(value)
    if not math.isfinite(number):  # "nan" and "inf" parse, but no widget can show them
        raise ValueError(f"not a finite number: {value!r}")
    return number


def _to_bytes(value: Any) -> QByteArray:
    return value if isinstance(value, QByteArray) else QByteArray()


_CONVERTERS: dict[type, Any] = {bool: _to_bool, int: int, float: _to_finite_float, str: str, QByteArray: _to_bytes}


class Option(Generic[T]):
    """One typed setting, stored under ``<group>/<key>``; falls back to its default if unreadable."""

    def __init__(self, key: str, default: T, kind: type, choices: tuple[T, ...] | None = None) -> None:
        self.key = key
        self.default = default
        self.kind = kind
        self.choices = choices

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, group: _Group | None, owner: type | None = None) -> T:
        if group is None:
            return cast(T, self)
        raw = group.store.value(f"{group.prefix}/{self.key}")
        if raw is None:
            return self.default
        try:
            value = _CONVERTERS[self.kind](raw)
        except (TypeError, ValueError):
            return self.default
        if self.choices is not None and value not in self.choices:
            return self.default
        return cast(T, value)

    def __set__(self, group: _Group, value: T) -> None:
        group.store.setValue(f"{group.prefix}/{self.key}", value)


class _Group:
    prefix = ""

    def __init__(self, store: QSettings, prefix: str | None = None) -> None:
        self.store = store
        if prefix is not None:
            self.prefix = prefix

    def reset(self) -> None:
        self.store.remove(self.prefix)


class Preferences(_Group):
    """How photos are cleaned and where they go."""

    prefix = "preferences"
    strength = Option("strength", 15.0, float)
    auto_strength = Option("auto_strength", True, bool)
    auto_percent = Option("auto_percent", 100.0, float)  # the share of Auto's reading removed
    keep_grain = Option("keep_grain", 0.0, float)  # per cent of the removed noise blended back
    model = Option("model", "", str)  # a model name, or a .pt file path; "" is the default model
    device = Option("device", "auto", str, DEVICES)
    recursive = Option("recursive", False, bool)
    format = Option("format", "same", str, OUTPUT_FORMATS)
    jpeg_quality = Option("jpeg_quality", 95, int)
    name_suffix = Option("name_suffix", "", str)
    overwrite = Option("overwrite", False, bool)
    open_when_done = Option("open_when_done", False, bool)
    tile = Option("tile", DEFAULT_TILE, int)
    passes = Option("passes", DEFAULT_PASSES, int, PASS_CHOICES)
    max_megapixels = Option("max_megapixels", DEFAULT_MAX_MEGAPIXELS, float)

    def clamped_strength(self) -> float:
        return min(max(self.strength, 0.0), MAX_STRENGTH)


class UiState(_Group):
    """What the windows remember about themselves and the last choices made in them."""

    prefix = "state"
    geometry = Option("geometry", QByteArray(), QByteArray)
    window_state = Option("window_state", QByteArray(), QByteArray)
    main_splitter = Option("main_splitter", QByteArray(), QByteArray)
    last_input_dir = Option("last_input_dir", "", str)
    last_output_dir = Option("last_output_dir", "", str)
    output_dir = Option("output_dir", "", str)  # "" means beside the input, in <folder>-denoised
    output_dir_for = Option("output_dir_for", "", str)  # the photo folder a typed output folder was meant for
    advanced_open = Option("advanced_open", False, bool)
    # The last choices in Tools > Train on My Photos.
    training_folder = Option("training_folder", "", str)
    training_minutes = Option("training_minutes", 30, int)
    training_noise = Option("training_noise", "camera", str, ("camera", "my_camera", "gaussian", "mixed"))
    training_camera_folder = Option("training_camera_folder", "", str)


PRESETS = "presets"


class Presets:
    """Named sets of preferences (strength, keep grain, model, output...), each a Preferences under ``presets/<name>``."""

    def __init__(self, store: QSettings) -> None:
        self.store = store

    def names(self) -> list[str]:
        self.store.beginGroup(PRESETS)
        try:
            return sorted(self.store.childGroups(), key=str.casefold)
        finally:
            self.store.endGroup()

    def get(self, name: str) -> Preferences:
        """The preset ``name`` (to fill from the panel, or to load it from)."""
        if not name.strip() or any(c in name for c in "/\\"):
            raise ValueError("a preset name may not be empty or hold / or \\")
        return Preferences(self.store, f"{PRESETS}/{name.strip()}")

    def delete(self, name: str) -> None:
        self.get(name).reset()


class Settings:
    """The app's settings file: ``preferences`` and ``state``.

    With no ``path``, the user's own INI file in the platform's config folder.
    """

    def __init__(self, path: Path | None = None) -> None:
        if path is None:
            self.store = QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, ORGANIZATION, APPLICATION)
        else:
            self.store = QSettings(str(path), QSettings.Format.IniFormat)
        self.preferences = Preferences(self.store)
        self.state = UiState(self.store)
        self.presets = Presets(self.store)

    @property
    def path(self) -> Path:
        return Path(self.store.fileName())

    def sync(self) -> None:
        self.store.sync()
