"""Moving files between the host and a sandbox's size-capped folder without following links.

Inside bubblewrap the attempt folder is a tmpfs of the disk cap: the host seeds it with what the
folder already holds and copies it back after the run through a directory descriptor, so the
copy-back never resolves a path the code chose. What the code wrote is only ever regular files
and folders: a symbolic link is a finding (it could point at a host file), never copied or followed.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
from pathlib import Path

CHUNK = 1 << 20
_READ = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC
_DIR = _READ | os.O_DIRECTORY


class LinkFound(ValueError):
    """A file the generated code produced is a symbolic link."""

    def __init__(self, path: Path):
        super().__init__(f"{path} is a symbolic link: the code must write regular files, not links")
        self.path = path


def seed(source: Path, dest_fd: int, skip: tuple[str, ...] = (), rel: Path = Path()) -> list[Path]:
    """Copy the regular files and folders under `source` into the folder open as `dest_fd`;
    returns the files copied, relative to `source`."""
    seeded: list[Path] = []
    for entry in os.scandir(source):
        if entry.name in skip:
            continue
        if entry.is_dir(follow_symlinks=False):
            os.mkdir(entry.name, 0o755, dir_fd=dest_fd)
            sub = os.open(entry.name, _DIR, dir_fd=dest_fd)
            try:
                seeded += seed(Path(entry.path), sub, rel=rel / entry.name)
            finally:
                os.close(sub)
        elif entry.is_file(follow_symlinks=False):
            seeded.append(rel / entry.name)
            src = os.open(entry.path, _READ)
            # a program built in an earlier step keeps its execute bits (never set-id ones)
            mode = stat.S_IMODE(os.fstat(src).st_mode) & 0o755 | 0o600
            try:
                _copy_fd(src, os.open(entry.name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC,
                                      mode, dir_fd=dest_fd))
            finally:
                os.close(src)
    return seeded


def collect(source_fd: int, dest: Path, skip: tuple[str, ...] = (), seeded: list[Path] = ()) -> list[str]:
    """Copy regular files and folders from the folder open as `source_fd` to `dest`; a `seeded`
    file the code deleted is deleted in `dest` too.

    Returns the relative paths of what was not copied: links (with their target) and special
    files (sockets, pipes, devices)."""
    refused: list[str] = []
    copied: set[Path] = set()
    _collect(source_fd, dest, Path(), refused, skip, copied)
    for rel in set(seeded) - copied:
        target = dest / rel
        if target.is_file() and not target.is_symlink():
            target.unlink()
    return refused


def _collect(fd: int, dest: Path, rel: Path, refused: list[str], skip: tuple[str, ...],
             copied: set[Path]) -> None:
    dest.mkdir(parents=True, exist_ok=True)
    for entry in os.scandir(fd):
        if not rel.parts and entry.name in skip:
            continue
        mode = entry.stat(follow_symlinks=False).st_mode
        where = rel / entry.name
        if stat.S_ISLNK(mode):
            refused.append(f"{where} -> {os.readlink(entry.name, dir_fd=fd)}")
        elif stat.S_ISDIR(mode):
            sub = os.open(entry.name, _DIR, dir_fd=fd)
            try:
                _collect(sub, dest / entry.name, where, refused, skip, copied)
            finally:
                os.close(sub)
        elif stat.S_ISREG(mode):
            target = dest / entry.name
            if target.is_symlink() or target.is_dir():
                _remove(target)
            src = os.open(entry.name, _READ, dir_fd=fd)
            try:
                _copy_fd(src, os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW
                                      | os.O_CLOEXEC, 0o644))
            finally:
                os.close(src)
            os.chmod(target, stat.S_IMODE(mode) & 0o755 | 0o600)
            copied.add(where)
        else:
            refused.append(f"{where} (a {_kind(mode)}, not a regular file)")


def links_under(folder: Path) -> list[str]:
    """Symbolic links under `folder` (not descending into them), as "rel -> target"."""
    found = []
    for root, dirs, files in os.walk(folder):
        for name in dirs + files:
            path = Path(root, name)
            if path.is_symlink():
                found.append(f"{path.relative_to(folder)} -> {os.readlink(path)}")
    return found


def copy_regular(source: Path, dest: Path) -> Path:
    """shutil.copy2 for what generated code wrote: refuses a link instead of following it."""
    source, dest = Path(source), Path(dest)
    if source.is_symlink():
        raise LinkFound(source)
    if dest.is_dir():
        dest = dest / source.name
    fd = os.open(source, _READ)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ValueError(f"{source} is not a regular file")
        _copy_fd(fd, os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644))
    finally:
        os.close(fd)
    shutil.copystat(source, dest)
    return dest


def _copy_fd(src: int, dst: int) -> None:
    try:
        while chunk := os.read(src, CHUNK):
            view = memoryview(chunk)
            while view:
                view = view[os.write(dst, view):]
    finally:
        os.close(dst)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def _kind(mode: int) -> str:
    return ("socket" if stat.S_ISSOCK(mode) else "named pipe" if stat.S_ISFIFO(mode)
            else "device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "special file")


def copy_tree_regular(source: Path, dest: Path) -> None:
    """shutil.copytree for what generated code or a sandboxed tool wrote: links are left out."""
    shutil.copytree(source, dest, dirs_exist_ok=True, copy_function=copy_regular,
                    ignore=lambda folder, names: [n for n in names if Path(folder, n).is_symlink()])
