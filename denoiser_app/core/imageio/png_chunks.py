"""PNG chunks: walking them, making them, and splicing new ones into an encoded file.

A PNG file is the 8-byte signature followed by chunks, each stored as
length (4 bytes, big-endian), type (4 ASCII letters), payload, and the CRC-32
of type and payload. IHDR always comes first and IEND last.
"""
from __future__ import annotations

import struct
import zlib
from collections.abc import Iterable, Iterator
from typing import NamedTuple

from denoiser_app.core.imageio.errors import TRUNCATED, Unreadable

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


class Chunk(NamedTuple):
    """One chunk of a PNG file, as views into its data."""

    kind: bytes
    payload: memoryview
    stored_crc: int
    raw: memoryview  # the whole chunk as stored: length, type, payload and CRC

    @property
    def crc_matches(self) -> bool:
        return chunk_crc(self.kind, self.payload) == self.stored_crc


def chunk_crc(kind: bytes, payload: bytes | memoryview) -> int:
    return zlib.crc32(payload, zlib.crc32(kind))


def iterate_chunks(data: bytes | memoryview) -> Iterator[Chunk]:
    """Each chunk after the signature, up to and including IEND; raises if the data ends early."""
    view = memoryview(data)
    position = len(PNG_SIGNATURE)
    while True:
        if position + 12 > len(view):
            raise Unreadable(TRUNCATED)
        length, kind = struct.unpack_from(">I4s", view, position)
        payload_end = position + 8 + length
        if payload_end + 4 > len(view):
            raise Unreadable(TRUNCATED)
        (stored_crc,) = struct.unpack_from(">I", view, payload_end)
        yield Chunk(kind, view[position + 8 : payload_end], stored_crc, view[position : payload_end + 4])
        if kind == b"IEND":
            return
        position = payload_end + 4


def make_chunk(kind: bytes, payload: bytes) -> bytes:
    """A complete chunk, ready to be written."""
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", chunk_crc(kind, payload))


def splice_after_header(
    encoded: bytes | memoryview, chunks: Iterable[tuple[bytes, bytes]], header_payload: bytes | None = None
) -> list[bytes | memoryview]:
    """The pieces of the PNG ``encoded`` with ``chunks`` (type, payload) inserted right after IHDR.

    Writing the pieces in order gives the new file; the encoder's chunks are
    kept as they are, without copying, except that ``header_payload`` (if given)
    replaces IHDR's payload and chunks of the inserted types that the encoder
    wrote itself are dropped, so that none appears twice.
    """
    encoded_chunks = iterate_chunks(encoded)
    header_chunk = next(encoded_chunks) if bytes(encoded[: len(PNG_SIGNATURE)]) == PNG_SIGNATURE else None
    if header_chunk is None or header_chunk.kind != b"IHDR":
        raise ValueError("the encoder's output is not a PNG file starting with IHDR")
    chunks = list(chunks)
    inserted_kinds = {kind for kind, _ in chunks}
    pieces: list[bytes | memoryview] = [PNG_SIGNATURE]
    pieces.append(header_chunk.raw if header_payload is None else make_chunk(b"IHDR", header_payload))
    pieces.extend(make_chunk(kind, payload) for kind, payload in chunks)
    pieces.extend(chunk.raw for chunk in encoded_chunks if chunk.kind not in inserted_kinds)
    return pieces
