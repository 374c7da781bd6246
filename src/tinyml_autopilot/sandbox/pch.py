"""The sketch's leading block of #include lines, precompiled (a GCC .gch): most of a TFLite Micro sketch's
compile time is parsing the library's headers (schema_generated.h alone takes seconds).

The block is the sketch's first lines up to the first one that is not an #include of a header outside the
sketch folder. The precompiled header holds `#include <Arduino.h>` and those lines, in the sketch's order,
and replaces them at the top of the translation unit, so the compiler sees the same tokens (GCC falls back to
the header's text when it rejects the .gch). It is built the second time a block is seen (a one-off sketch
costs no extra build), in the sandbox, and kept in the cache keyed by target, compiler, flags, include folders
and the block's text; it is rebuilt when one of the headers it holds changed, and not used when a file in the
sketch folder has the name of one of them (that file would have been included instead).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
import time
from pathlib import Path

HEADER = "tinyml_include_block.h"
KEPT = 6  # precompiled headers (~100-250 MB each) kept in the cache
SEEN_KEPT = 2000
IDLE_S = 600  # a header used in the last minutes is never evicted (another build may be reading it)
_INCLUDE = re.compile(r'#\s*include\s*([<"])([^<>"\s]+)[>"]')
_NOISE = re.compile(r"//[^\n]*|/\*.*?\*/|\"(?:\\.|[^\"\\\n])*\"|'(?:\\.|[^'\\\n])*'", re.S)


def blank_comments(text: str, literals: bool = True) -> str:
    """Comments (and literals, unless told) replaced by spaces, newlines kept (line numbers stay)."""
    return _NOISE.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)) if literals or m.group(0)[0] == "/"
                      else m.group(0), text)


def include_block(ino: str, sketch_dir: Path) -> tuple[list[str], int]:
    """(the block's #include lines, the number of .ino lines it spans)."""
    lines, end = [], 0
    for i, line in enumerate(blank_comments(ino, literals=False).split("\n")):
        s = line.strip()
        if not s:
            continue
        m = _INCLUDE.fullmatch(s)
        if m is None or m.group(2).startswith("/") or ".." in m.group(2) or (sketch_dir / m.group(2)).exists():
            break
        close = ">" if m.group(1) == "<" else '"'
        lines.append(f"#include {m.group(1)}{m.group(2)}{close}")
        end = i + 1
    return lines, end


def _stamp(path: str) -> list[int]:
    st = os.stat(path)
    return [st.st_mtime_ns, st.st_size]


def _valid(folder: Path, sketch_dir: Path) -> bool:
    """The .gch exists, none of its headers changed, and the sketch folder shadows none of them."""
    try:
        deps = json.loads((folder / "deps.json").read_text())
        if any(_stamp(p) != stamp for p, stamp in deps.items()):
            return False
    except (OSError, ValueError):
        return False
    names = {Path(p).name for p in deps}
    return not any(p.name in names for p in sketch_dir.rglob("*"))


def _read_deps(make_deps: Path) -> dict[str, list[int]]:
    text = make_deps.read_text().replace("\\\n", " ")
    paths = text.partition(":")[2].split()
    return {p: _stamp(p) for p in paths if not p.endswith(HEADER)}


def _evict(root: Path) -> None:
    now = time.time()
    built = sorted((p for p in root.glob("*/deps.json")), key=lambda p: p.stat().st_mtime, reverse=True)
    for deps in built[KEPT:]:
        if now - deps.stat().st_mtime > IDLE_S:
            shutil.rmtree(deps.parent, ignore_errors=True)
    seen = sorted(root.glob("seen/*"), key=lambda p: p.stat().st_mtime, reverse=True)
    for p in seen[SEEN_KEPT:]:
        p.unlink(missing_ok=True)


def precompiled(root: Path | None, sketch_dir: Path, ino: str, compile_cmd: list[str], tool_id: str,
                build) -> tuple[Path, int] | None:
    """(folder holding the precompiled block, .ino lines it replaces), or None: compile the sketch as it is.
    `compile_cmd`: compiler, flags and -I folders (no sources); `build(cmd, workdir)` runs a compile in the
    sandbox and returns its exit code. No `root`: no precompiled header."""
    lines, end = include_block(ino, sketch_dir) if root is not None else ([], 0)
    if not lines:
        return None
    key = hashlib.sha256("\n".join([tool_id, *compile_cmd, *lines]).encode()).hexdigest()[:16]
    folder = root / key
    if _valid(folder, sketch_dir):
        os.utime(folder / "deps.json")
        return folder, end
    seen = root / "seen" / key
    if not seen.exists() and not folder.exists():
        seen.parent.mkdir(parents=True, exist_ok=True)
        seen.touch()
        return None
    root.mkdir(parents=True, exist_ok=True)
    with (root / f".{key}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # the same block built by another process: wait for it
        if _valid(folder, sketch_dir):
            return folder, end
        if (root / f".{key}.failed").exists():  # the block does not compile: the sketch's compile says why
            return None
        work = root / f".{key}.partial"
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir()
        (work / HEADER).write_text("#include <Arduino.h>\n" + "\n".join(lines) + "\n")
        cmd = [*compile_cmd, "-x", "c++-header", str(work / HEADER), "-o", str(work / f"{HEADER}.gch"),
               "-MD", "-MF", str(work / "deps.d")]
        if build(cmd, work) != 0 or not (work / f"{HEADER}.gch").is_file():
            (root / f".{key}.failed").touch()
            shutil.rmtree(work, ignore_errors=True)
            return None
        (work / "deps.json").write_text(json.dumps(_read_deps(work / "deps.d")))
        shutil.rmtree(folder, ignore_errors=True)
        work.rename(folder)
        seen.unlink(missing_ok=True)
    with contextlib.suppress(OSError):
        _evict(root)
    return (folder, end) if _valid(folder, sketch_dir) else None
