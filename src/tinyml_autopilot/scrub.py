"""Every file kept in a run folder is scrubbed of every configured secret, whatever its size.

Generated code can write a key it was shown (or rebuilt) into any file of its folder, and a
sandbox's output can be gigabytes: files are read in chunks, rewritten only when they hold a
secret. Text is redacted in place; a binary file holding one cannot be redacted without breaking
it and is removed, its name returned so that the run can say so.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from .secrets import secret_values

CHUNK = 1 << 20
MASK = b"***"


def scrub_tree(root: Path, values: set[str] | None = None) -> list[Path]:
    """Redact secrets from the files under `root` (links not followed); return the binary files removed."""
    needles = sorted({v.encode() for v in (secret_values() if values is None else values) if v},
                     key=len, reverse=True)
    if not needles or not Path(root).is_dir():
        return []
    pattern = re.compile(b"|".join(re.escape(n) for n in needles))
    longest = len(needles[0])
    removed = []
    for folder, _dirs, files in os.walk(root, followlinks=False):
        for name in files:
            path = Path(folder) / name
            if path.is_symlink() or not path.is_file() or not _holds(path, pattern, longest):
                continue
            if _binary(path):
                path.unlink()
                removed.append(path)
            else:
                _rewrite(path, pattern, longest)
    return removed


def _chunks(path: Path, longest: int):
    """(buffer, final) pairs; consecutive buffers overlap by `longest - 1` bytes."""
    with path.open("rb") as fh:
        carry = b""
        while True:
            block = fh.read(CHUNK)
            if not block:
                yield carry, True
                return
            yield carry + block, False
            carry = (carry + block)[-(longest - 1):] if longest > 1 else b""


def _holds(path: Path, pattern: re.Pattern[bytes], longest: int) -> bool:
    try:
        return any(pattern.search(buf) for buf, _ in _chunks(path, longest))
    except OSError:
        return False


def _binary(path: Path) -> bool:
    with path.open("rb") as fh:
        return b"\x00" in fh.read(8192)


def _rewrite(path: Path, pattern: re.Pattern[bytes], longest: int) -> None:
    """Stream `path` into a sibling with every secret masked, then replace it."""
    tmp = path.with_name(f".{path.name}.scrub")
    with path.open("rb") as src, tmp.open("wb") as dst:
        carry = b""
        while True:
            block = src.read(CHUNK)
            final = not block
            buf = carry + block
            # a match starting before `cut` lies wholly in buf; later ones may continue in the next block
            cut = len(buf) if final else max(0, len(buf) - (longest - 1))
            pos = 0
            for match in pattern.finditer(buf):
                if match.start() >= cut:
                    break
                dst.write(buf[pos:match.start()] + MASK)
                pos = match.end()
            keep_from = max(pos, cut)
            dst.write(buf[pos:keep_from])
            carry = buf[keep_from:]
            if final:
                break
    os.replace(tmp, path)
