"""What a file given as a model really is, from its first bytes (a renamed image, a CSV, an archive)."""

from __future__ import annotations

from pathlib import Path

# (offset, magic bytes, what the file is)
SIGNATURES: tuple[tuple[int, bytes, str], ...] = (
    (4, b"TFL3", "a TFLite model"),
    (0, b"\x89HDF\r\n\x1a\n", "a Keras HDF5 (.h5) file"),
    (0, b"PK\x03\x04", "a zip archive"),
    (0, b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (0, b"\xff\xd8\xff", "a JPEG image"),
    (0, b"GIF8", "a GIF image"),
    (0, b"%PDF", "a PDF document"),
    (0, b"\x1f\x8b", "a gzip archive"),
    (0, b"\x7fELF", "an executable (ELF)"),
    (0, b"\x93NUMPY", "a NumPy .npy array"),
    (0, b"\x80", "a Python pickle"),
    (0, b"\x08", "a protocol buffer (perhaps a SavedModel's saved_model.pb: pass its folder)"),
)


def looks_like(path: Path) -> str:
    """A few words naming the file's kind: 'a PNG image', 'a text file (CSV?)', 'an empty file'."""
    try:
        with Path(path).open("rb") as fh:
            head = fh.read(4096)
    except OSError as err:
        return f"an unreadable file ({err.strerror})"
    if not head:
        return "an empty file"
    for offset, magic, kind in SIGNATURES:
        if head[offset:offset + len(magic)] == magic:
            return kind
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        return "a binary file of unknown kind"
    first = text.lstrip()[:1]
    if first in "{[":
        return "a JSON text file"
    return "a CSV file" if "," in text.splitlines()[0] else "a text file"


def is_tflite(path: Path) -> bool:
    return looks_like(path) == "a TFLite model"


def is_keras(path: Path) -> bool:
    return looks_like(path) in ("a Keras HDF5 (.h5) file", "a zip archive")  # a .keras file is a zip
