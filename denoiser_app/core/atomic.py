"""Atomic file replacement: a file either appears complete or not at all.

Writers get a temporary path next to the final one. Only after the body of
:func:`atomic_path` finishes without an exception is that file flushed to disk
and renamed onto the final name, so an interrupted batch never leaves a
half-written photo or model under its real name. Temporary names start with
``.`` and end with :data:`PARTIAL_SUFFIX`, so leftovers from a hard kill are
hidden and :func:`is_partial_file` lets a batch pass over them.
"""
from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

PARTIAL_SUFFIX = ".partial"

# Keeps the temporary name inside the usual 255-byte file-name limit even when
# the final name is already long (the random token and suffix need ~20 bytes).
# Counted in UTF-8 bytes.
_MAX_EMBEDDED_NAME_LENGTH = 100


def is_partial_file(path: Path | str) -> bool:
    """Whether ``path`` names a temporary file left by :func:`atomic_path`."""
    name = Path(path).name
    return name.startswith(".") and name.endswith(PARTIAL_SUFFIX)


def temporary_sibling(final_path: Path | str) -> Path:
    """A fresh, unused-looking temporary path in the same folder as ``final_path``.

    The file is not created: writers such as Pillow or tifffile create it
    themselves, with the usual permissions for new files.
    """
    final_path = Path(final_path)
    token = secrets.token_hex(_TOKEN_BYTES)
    return final_path.with_name(f".{_embedded_name(final_path)}.{token}{PARTIAL_SUFFIX}")


_TOKEN_BYTES = 4


def _embedded_name(final_path: Path) -> str:
    # Cut by UTF-8 bytes, the unit of the limit, without splitting a character.
    return final_path.name.encode("utf-8")[:_MAX_EMBEDDED_NAME_LENGTH].decode("utf-8", "ignore")


def leftover_partials(final_paths: list[Path]) -> list[Path]:
    """Temporary files a killed writer left for any of ``final_paths`` (one listing per folder)."""
    wanted: dict[Path, set[str]] = {}
    for final_path in final_paths:
        wanted.setdefault(final_path.parent, set()).add(_embedded_name(final_path))
    tail = 1 + 2 * _TOKEN_BYTES + len(PARTIAL_SUFFIX)  # ".<token>.partial"
    found = []
    for folder, names in wanted.items():
        if not folder.is_dir():
            continue
        for path in folder.iterdir():
            if is_partial_file(path) and len(path.name) > tail + 1 and path.name[1:-tail] in names:
                found.append(path)
    return found


@contextmanager
def atomic_path(final_path: Path | str) -> Iterator[Path]:
    """Yield a temporary path to write to; move it onto ``final_path`` on success.

    The temporary file lives in the same folder, so the final ``os.replace`` is
    a rename on one file system and therefore atomic. On any exception
    (including KeyboardInterrupt) the temporary file is deleted and
    ``final_path`` is left exactly as it was.

    Example::

        with atomic_path(output) as temporary:
            picture.save(temporary, "PNG")
    """
    final_path = Path(final_path)
    temporary_path = temporary_sibling(final_path)
    try:
        yield temporary_path
        _flush_to_disk(temporary_path)
        os.replace(temporary_path, final_path)
    except BaseException:
        _remove_quietly(temporary_path)
        raise


def _flush_to_disk(path: Path) -> None:
    # Without this, a power cut shortly after the rename can leave the final
    # name pointing at an empty file on some file systems.
    with open(path, "r+b") as stream:
        os.fsync(stream.fileno())


def _remove_quietly(path: Path) -> None:
    try:
        path.unlink(missing_ok=True)
    except OSError:
        pass
