"""The sandbox's limits against hostile code: disk, memory shared with its tmpfs, huge output,
low memory limits, groups of dead runs, and what `doctor` says of them."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time

import pytest
from sandbox_helpers import memory_cgroup, needs_bwrap, needs_memory_cgroup, run_script

from tinyml_autopilot.sandbox import cgroups

_run = run_script
_memory_cgroup = memory_cgroup


@needs_bwrap
def test_the_attempt_folder_has_a_total_disk_cap(tmp_path):
    code = ("import os\nchunk = b'x' * (1 << 20)\n"
            "for i in range(3):\n"
            "    with open(f'part{i}.bin', 'wb') as f:\n"
            "        for _ in range(100):\n            f.write(chunk)\n"
            "print('all written')\n")
    result = _run(tmp_path, code, memory_mb=1024)  # the folder holds a quarter: 256 MB
    kept = sum(p.stat().st_size for p in (tmp_path / "attempt").glob("part*.bin"))
    assert not result.ok and "all written" not in result.stdout
    assert result.disk_full and "disk limit" in result.describe() and "256 MB" in result.describe()
    assert 200 << 20 < kept <= 256 << 20


@needs_bwrap
@needs_memory_cgroup
def test_tmpfs_files_and_the_process_share_one_memory_budget(tmp_path):
    code = ("chunk = b'x' * (1 << 20)\n"
            "for path in ('/tmp/fill', '/dev/shm/fill'):\n"
            "    try:\n"
            "        with open(path, 'wb') as f:\n"
            "            for _ in range(200):\n                f.write(chunk)\n"
            "    except OSError as e:\n        print(path, e.strerror)\n"
            "print('wrote both')\n"
            "keep = bytearray(150 << 20)\nprint('and allocated')\n")
    start = time.monotonic()
    result = _run(tmp_path, code, memory_mb=256)
    assert "and allocated" not in result.stdout, result.stdout
    assert result.out_of_memory and "memory limit (256 MB" in result.describe()
    assert result.peak_memory_mb is not None and result.peak_memory_mb <= 257
    assert time.monotonic() - start < 15


def test_huge_output_is_read_bounded_and_scrubbed(tmp_path):
    key = "sk-echoed-key-123456"
    code = ("import sys\nw = sys.stdout.buffer.write\n"
            f"w(b'{key} at the start\\n')\n"
            "chunk = b'y' * (1 << 20)\nfor _ in range(400):\n    w(chunk)\n"
            f"w(b'\\n{key} at the end\\n')\n")
    probe = ("import resource, sys\nfrom pathlib import Path\nfrom tinyml_autopilot.sandbox.python import run_python\n"
             "work = Path(sys.argv[1])\n"
             "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
             "r = run_python(work / 's.py', work, timeout_s=60, memory_mb=512)\n"
             "grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before\n"
             "print(r.returncode, grown // 1024, len(r.stdout))\n")
    work = tmp_path / "attempt"
    work.mkdir()
    (work / "s.py").write_text(code)
    env = {**os.environ, "OPENAI_API_KEY": key}
    done = subprocess.run([sys.executable, "-c", probe, str(work)], capture_output=True, text=True, env=env,
                          timeout=120)
    code_rc, grown_mb, kept = done.stdout.split()
    assert code_rc == "0", done.stderr
    assert int(grown_mb) < 64 and int(kept) <= 20_100
    saved = (work / ".stdout").read_text()
    assert len(saved) < 1 << 20 and "bytes of output not kept" in saved
    assert key not in saved and saved.startswith("*** at the start") and "*** at the end" in saved


def test_a_secret_cut_by_the_trimming_is_not_kept_in_pieces(monkeypatch):
    from tinyml_autopilot.sandbox import capture

    key = "sk-cut-in-two-123456"
    monkeypatch.setenv("OPENAI_API_KEY", key)
    monkeypatch.setattr(capture, "HEAD", 10)
    monkeypatch.setattr(capture, "TAIL", 10)
    read, write = os.pipe()
    os.write(write, b"abcde" + key.encode() + b"z" * 100 + key.encode() + b"12345")
    os.close(write)
    kept = capture.Capture(read)
    kept.wait()
    text = kept.text()
    assert all(key[i:i + 5] not in text for i in range(len(key) - 4)), text
    assert "not kept" in text


@needs_memory_cgroup
def test_at_the_lowest_accepted_limit_scikit_learn_imports(tmp_path):
    from tinyml_autopilot.config import Settings

    lowest = Settings.model_fields["sandbox_memory_mb"].metadata[0].ge
    start = time.monotonic()
    result = _run(tmp_path, "import sklearn.model_selection, pandas\nprint('imported')\n",
                  memory_mb=lowest, timeout_s=60)
    assert result.ok and "imported" in result.stdout, result.describe()
    assert time.monotonic() - start < 30


@needs_memory_cgroup
def test_running_out_of_memory_is_one_named_failure_within_seconds(tmp_path):
    start = time.monotonic()
    result = _run(tmp_path, "import numpy\nx = numpy.ones(1 << 28)\nprint('allocated')\n", memory_mb=512,
                  timeout_s=300)
    assert result.out_of_memory and not result.timed_out and "allocated" not in result.stdout
    assert result.describe().startswith("ran out of memory: the sandbox's memory limit (512 MB")
    assert time.monotonic() - start < 10


def test_groups_of_dead_runs_are_removed():
    group = cgroups.create(64, 64)
    if not group.folders:
        pytest.skip("no cgroup may be created here (needs root or delegation)")
    dead = subprocess.Popen(["true"])
    dead.wait()
    stale = [f.parent / f"{cgroups.PREFIX}{dead.pid}-deadbeef" for f in group.folders]
    group.remove()
    for folder in stale:
        folder.mkdir()
    removed = cgroups.remove_stale()
    assert all(not f.exists() for f in stale) and set(stale) <= set(removed)


def test_doctor_states_the_active_isolation_and_limits():
    from tinyml_autopilot.commands.doctor import items

    found = {i.name: i for i in items() if i.group == "sandbox"}
    assert {"isolation", "visible", "memory", "disk", "processes", "output"} <= set(found)
    if _memory_cgroup():
        assert found["memory"].ok and "cgroup" in found["memory"].detail and "6144 MB" in found["memory"].detail
    if shutil.which("bwrap"):
        assert found["disk"].ok and "1536 MB tmpfs" in found["disk"].detail


def test_without_bubblewrap_links_are_findings_and_the_disk_cap_is_watched(tmp_path):
    """bwrap taken off PATH: the plain subprocess still refuses links and stops at the folder's total."""
    code = ("import sys\nfrom pathlib import Path\nfrom tinyml_autopilot.sandbox.python import run_python\n"
            "work = Path(sys.argv[1])\n"
            "(work / 'link.py').write_text('import os; os.symlink(\"/etc/hostname\", \"plot.png\")')\n"
            "(work / 'fill.py').write_text('import time\\nfor i in range(3):\\n'\n"
            "    '    open(f\"p{i}\", \"wb\").write(b\"x\" * (100 << 20)); time.sleep(0.6)\\n')\n"
            "a = run_python(work / 'link.py', work, timeout_s=30, memory_mb=512)\n"
            "b = run_python(work / 'fill.py', work, timeout_s=30, memory_mb=512)\n"
            "print(a.isolation, a.ok, a.links, (work / 'plot.png').exists())\n"
            "print(b.ok, b.disk_full, sorted(p.name for p in work.glob('p?')))\n")
    result = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True,
                            env={**os.environ, "PATH": str(tmp_path / "empty")}, timeout=60)
    first, second = result.stdout.splitlines()[:2]
    assert first == "subprocess False ['plot.png -> /etc/hostname'] False", result.stdout + result.stderr
    assert second == "False True []", result.stdout + result.stderr


@needs_bwrap
def test_the_capped_folder_behaves_like_the_real_one(tmp_path):
    work = tmp_path / "attempt"
    (work / "sub").mkdir(parents=True)
    (work / "keep.txt").write_text("old")
    (work / "sub" / "gone.txt").write_text("delete me")
    code = ("import os\nprint(open('keep.txt').read())\nopen('keep.txt', 'w').write('new')\n"
            "os.remove('sub/gone.txt')\nos.makedirs('out/deep')\nopen('out/deep/x.csv', 'w').write('1')\n")
    result = _run(tmp_path, code)
    assert result.ok and result.stdout.strip() == "old", result.stderr
    assert (work / "keep.txt").read_text() == "new" and not (work / "sub" / "gone.txt").exists()
    assert (work / "out" / "deep" / "x.csv").read_text() == "1"
