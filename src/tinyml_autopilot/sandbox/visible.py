"""What a sandboxed program may see: default-deny.

Visible, read-only: the system folders, the Python environment (its prefixes, the interpreter's
import path, this package and its editable source) and the stage's inputs. Everything else (the
working directory, the home folder, other projects, /run with its sockets, /var) is absent. Files
in /etc that a normal user could not read (/etc/shadow, host keys) are masked: the tool may run
as root, its sandbox reads like nobody.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from functools import cache
from pathlib import Path

SYSTEM = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc", "/opt", "/sys")
SECRET_NAMES = (".env", ".netrc", ".git-credentials", ".pgpass", ".npmrc", ".pypirc")


def system_args() -> list[str]:
    """bubblewrap arguments showing the system folders read-only."""
    args: list[str] = []
    for top in SYSTEM:
        path = Path(top)
        if path.is_symlink():  # merged /usr: /bin -> usr/bin
            args += ["--symlink", os.readlink(path), top]
        elif path.is_dir():
            args += ["--ro-bind", top, top]
    for masked in _etc_unreadable():
        args += ["--tmpfs", str(masked)] if masked.is_dir() else ["--ro-bind", "/dev/null", str(masked)]
    return args


def extra_args(readable: list[Path], python: str | None = None) -> list[str]:
    """bubblewrap arguments showing the Python environment and the inputs read-only (after the
    fresh /tmp, so that what lies under the host's /tmp shows through)."""
    args: list[str] = []
    extra = [p for p in (*python_paths(python or sys.executable), *readable)]
    bound: list[Path] = []
    for path in sorted({Path(p).resolve() for p in extra}, key=lambda p: len(p.parts)):
        if path.exists() and not any(inside(path, b) for b in bound) and not _under_system(path):
            args += ["--ro-bind", str(path), str(path)]
            bound.append(path)
    for secret in _secrets_in(bound):
        args += ["--ro-bind", "/dev/null", str(secret)]
    return args


def python_paths(python: str) -> list[Path]:
    """Where the interpreter and its packages are, minus folders that would show a whole project."""
    found = {Path(sys.prefix), Path(sys.base_prefix), _package_dir()}
    probe = _probe(python)
    found |= {Path(p) for p in probe.get("path", []) if p}
    found |= {Path(p) for p in probe.get("prefixes", []) if p}
    if probe.get("package"):
        found.add(Path(probe["package"]))
    broad = {Path.cwd().resolve(), Path.home().resolve(), Path("/").resolve()}
    result = []
    for path in found:
        path = path.resolve()
        if path.exists() and not any(inside(b, path) for b in broad):
            result.append(path)
    return sorted(result)


def program(name: str) -> list[Path]:
    """The program a command runs, when it lies outside the system folders: its folder (a tool's
    bin/ may hold what it needs), or the file alone where the folder would show a whole project."""
    found = shutil.which(name)
    if not found:
        return []
    path = Path(found).resolve()
    if _under_system(path):
        return []
    broad = {Path.cwd().resolve(), Path.home().resolve(), Path("/")}
    return [path] if path.parent in broad else [path.parent]


@cache
def _package_dir() -> Path:
    return Path(__file__).resolve().parents[1]


@cache
def _probe(python: str) -> dict:
    """The import path the sandboxed interpreter will use (editable installs add their source)."""
    code = ("import sys, json, importlib.util as u\n"
            "s = u.find_spec('tinyml_autopilot')\n"
            "print(json.dumps({'path': sys.path, 'prefixes': [sys.prefix, sys.base_prefix],\n"
            "  'package': (s.submodule_search_locations or [None])[0] if s else None}))")
    try:
        out = subprocess.run([python, "-I", "-c", code], capture_output=True, text=True, timeout=60,
                             env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")}).stdout
        return json.loads(out.strip().splitlines()[-1])
    except (OSError, ValueError, IndexError, subprocess.TimeoutExpired):
        return {}


@cache
def _etc_unreadable() -> tuple[Path, ...]:
    """Files and folders under /etc that other users may not read."""
    found: list[Path] = []
    for root, dirs, files in os.walk("/etc"):
        for name in list(dirs):
            path = Path(root, name)
            if not path.is_symlink() and not _world_readable(path, folder=True):
                found.append(path)
                dirs.remove(name)
        found += [Path(root, n) for n in files
                  if not Path(root, n).is_symlink() and not _world_readable(Path(root, n))]
    return tuple(found)


def _world_readable(path: Path, folder: bool = False) -> bool:
    try:
        mode = path.lstat().st_mode
    except OSError:
        return True
    need = stat.S_IROTH | (stat.S_IXOTH if folder else 0)
    return mode & need == need


def _secrets_in(folders: list[Path]) -> list[Path]:
    """Credential files lying at the top of a visible input or source folder, and config files."""
    from ..config import loaded_files

    found = [p.resolve() for p in loaded_files()
             if p.is_file() and any(inside(p.resolve(), f) for f in folders)]
    for folder in folders:
        if not folder.is_dir():
            continue
        try:
            names = os.listdir(folder)
        except OSError:
            continue
        found += [folder / n for n in names
                  if (n.startswith(".env") or n in SECRET_NAMES) and (folder / n).is_file()]
    return found


def _under_system(path: Path) -> bool:
    return any(inside(path, Path(top).resolve()) for top in SYSTEM if Path(top).is_dir())


def inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents
