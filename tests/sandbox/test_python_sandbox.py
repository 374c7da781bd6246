"""Generated code that misbehaves is contained and reported."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from tinyml_autopilot.sandbox.python import isolation, run_python

needs_bwrap = pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap (bwrap) is not installed")


def _run(tmp_path: Path, code: str, **kwargs):
    work = tmp_path / "attempt"
    work.mkdir(exist_ok=True)
    script = work / "script.py"
    script.write_text(code)
    return run_python(script, work, **{"timeout_s": 20, "memory_mb": 512, **kwargs})


def test_infinite_loop_is_killed_at_the_time_limit(tmp_path):
    start = time.monotonic()
    result = _run(tmp_path, "while True:\n    pass\n", timeout_s=1.5)
    assert result.timed_out and not result.ok
    assert time.monotonic() - start < 10
    assert "time limit" in result.describe()


def test_children_die_with_the_timeout(tmp_path):
    marker = tmp_path / "attempt" / "child-survived"
    child = f"import time; time.sleep(2.5); open({str(marker)!r}, 'w').write('alive')"
    code = ("import os, subprocess, sys\n"
            f"subprocess.Popen([sys.executable, '-c', {child!r}], start_new_session=True)\n"
            "import time; time.sleep(60)\n")
    result = _run(tmp_path, code, timeout_s=1)
    assert result.timed_out
    time.sleep(3)  # the child would have written its marker by now
    assert not marker.exists()


def test_allocating_10_gb_fails_inside_the_limit(tmp_path):
    result = _run(tmp_path, "x = bytearray(10 * 1024**3)\nprint('allocated')\n", memory_mb=512)
    assert not result.ok and "allocated" not in result.stdout
    assert result.out_of_memory and "out of memory" in result.describe()


def test_fork_bomb_is_contained(tmp_path):
    code = ("import os, time\n"
            "n = 0\n"
            "try:\n"
            "    for _ in range(5000):\n"
            "        if os.fork() == 0:\n"
            "            time.sleep(30); os._exit(0)\n"
            "        n += 1\n"
            "except OSError as e:\n"
            "    print('fork refused after', n, type(e).__name__)\n")
    start = time.monotonic()
    result = _run(tmp_path, code, timeout_s=8)
    assert "fork refused after" in result.stdout
    refused_after = int(result.stdout.split("after")[1].split()[0])
    assert refused_after < 1000
    assert time.monotonic() - start < 20


def test_api_keys_are_not_in_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-secret-value")
    monkeypatch.setenv("MY_SERVICE_TOKEN", "tok-secret-value")
    code = "import os\nprint(sorted(k for k in os.environ if 'KEY' in k or 'TOKEN' in k))\n"
    result = _run(tmp_path, code)
    assert result.ok and result.stdout.strip() == "[]"


@needs_bwrap
def test_writes_outside_its_folder_fail(tmp_path):
    outside = tmp_path / "outside.txt"
    escapes = ["/etc/tinyml-escape", "/var/tmp/tinyml-escape", str(Path.cwd() / "tinyml-escape")]
    # a checkout under /tmp: its path lies in the sandbox's own, thrown-away /tmp, so the write may succeed there
    refused = escapes if not Path.cwd().is_relative_to("/tmp") else escapes[:2]
    code = "open('inside.txt', 'w').write('ok')\n" + f"open({str(outside)!r}, 'w').write('escaped')\n"
    for target in escapes:
        code += f"try:\n    open({target!r}, 'w')\nexcept OSError as e:\n    print('refused', e)\n"
    result = _run(tmp_path, code)
    assert isolation() == "bubblewrap"
    assert result.ok and result.stdout.count("refused") >= len(refused)
    assert all(("Read-only" in line or "No such file" in line) for line in result.stdout.splitlines())
    assert not outside.exists()  # /tmp inside the sandbox is its own, thrown away
    assert not any(Path(t).exists() for t in escapes)
    assert (tmp_path / "attempt" / "inside.txt").read_text() == "ok"


@needs_bwrap
def test_no_network(tmp_path, scripted):
    server = scripted(["unused"])
    port = server.url.split(":")[2].split("/")[0]
    code = ("import socket\ntry:\n"
            f"    socket.create_connection(('127.0.0.1', {port}), timeout=2)\n    print('connected')\n"
            "except OSError as e:\n    print('refused', e)\n")
    result = _run(tmp_path, code)
    assert result.ok and "refused" in result.stdout
    assert server.requests == []


@needs_bwrap
def test_readable_inputs_under_tmp_are_visible_read_only(tmp_path):
    data = tmp_path / "data.csv"
    data.write_text("a,b\n1,2\n")
    code = (f"print(open({str(data)!r}).read().splitlines()[1])\n"
            f"try:\n    open({str(data)!r}, 'a').write('x')\nexcept OSError:\n    print('read-only')\n")
    result = _run(tmp_path, code, readable=[data])
    assert result.ok and result.stdout.split() == ["1,2", "read-only"]
    assert data.read_text() == "a,b\n1,2\n"


@needs_bwrap
def test_a_python_installed_under_tmp_still_runs(tmp_path):
    import subprocess
    import sys

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    code = ("import sys\nfrom pathlib import Path\n"
            "from tinyml_autopilot.sandbox.python import run_python\n"
            "work = Path(sys.argv[1]); (work / 's.py').write_text('import sys; print(sys.prefix)')\n"
            "r = run_python(work / 's.py', work, timeout_s=30, memory_mb=512)\n"
            "print(r.returncode, r.stdout.strip(), r.stderr.strip())\n")
    work = tmp_path / "work"
    work.mkdir()
    env = {"PYTHONPATH": ":".join(sys.path[1:])}
    result = subprocess.run([str(venv / "bin" / "python"), "-c", code, str(work)], capture_output=True, text=True,
                            env=env)
    assert result.stdout.split()[:2] == ["0", str(venv)], result.stdout + result.stderr


def test_a_python_reached_through_a_linked_folder_still_runs(tmp_path):
    """A checkout whose .venv is a link to a venv elsewhere: its interpreter runs in the sandbox."""
    import subprocess
    import sys

    venv = tmp_path / "real-venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    (tmp_path / "checkout").mkdir()
    (tmp_path / "checkout/.venv").symlink_to(venv)
    work = tmp_path / "work"
    work.mkdir()
    (work / "s.py").write_text("import sys; print(sys.prefix)")
    code = ("import sys\nfrom pathlib import Path\n"
            "from tinyml_autopilot.sandbox.python import run_python\n"
            "work = Path(sys.argv[1])\n"
            "r = run_python(work / 's.py', work, timeout_s=30, memory_mb=512)\n"
            "print(r.returncode, r.stdout.strip(), r.stderr.strip())\n")
    python = tmp_path / "checkout/.venv/bin/python"
    result = subprocess.run([str(python), "-c", code, str(work)], capture_output=True, text=True,
                            env={"PYTHONPATH": ":".join(sys.path[1:])})
    assert result.stdout.split()[:2] == ["0", str(venv)], result.stdout + result.stderr


def test_without_bubblewrap_a_plain_subprocess_keeps_the_limits(tmp_path):
    """On a machine without bwrap (here: bwrap taken off PATH) the same limits hold, with a warning."""
    import subprocess
    import sys

    code = ("import logging, sys\nfrom pathlib import Path\nlogging.basicConfig()\n"
            "from tinyml_autopilot.sandbox.python import isolation, run_python\n"
            "work = Path(sys.argv[1])\n"
            "(work / 'loop.py').write_text('while True: pass')\n"
            "(work / 'big.py').write_text('x = bytearray(10 * 1024**3)')\n"
            "slow = run_python(work / 'loop.py', work, timeout_s=1)\n"
            "big = run_python(work / 'big.py', work, memory_mb=512)\n"
            "print(isolation(), slow.timed_out, big.out_of_memory)\n")
    result = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True,
                            env={"PATH": str(tmp_path / "empty")}, timeout=60)
    assert result.stdout.split() == ["subprocess", "True", "True"], result.stderr
    assert "bubblewrap is not usable here" in result.stderr


@needs_bwrap
def test_files_holding_keys_are_not_readable(tmp_path, monkeypatch):
    import tempfile

    from tinyml_autopilot.config import load_settings

    # outside /tmp: the sandbox's /tmp is its own, so files there are hidden anyway
    project = Path(tempfile.mkdtemp(dir="/var/tmp", prefix="tinyml-test-"))
    try:
        (project / ".env").write_text("OPENAI_API_KEY=sk-in-dotenv-123456\n")
        config = project / "conf" / "elsewhere.toml"
        config.parent.mkdir()
        config.write_text('api_key = "sk-in-config-123456"\n')
        (project / "data.csv").write_text("a\n1\n")
        monkeypatch.chdir(project)
        load_settings({}, config=config, cwd=project)
        files = (project / ".env", config, project / "data.csv")
        code = "".join(f"try:\n    print(repr(open({str(p)!r}).read()))\nexcept OSError:\n    print('denied')\n"
                       for p in files)
        result = _run(tmp_path, code, readable=[project])  # the folder is an input: its data shows, keys not
    finally:
        shutil.rmtree(project)
    hidden, readable = result.stdout.split()[:2], result.stdout.split()[2:]
    assert result.ok and all(h in ("''", "denied") for h in hidden), result.stdout + result.stderr
    assert readable == ["'a\\n1\\n'"]
    assert "sk-in" not in result.stdout


@needs_bwrap
def test_the_home_folder_is_out_of_sight(tmp_path):
    import subprocess
    import sys
    import tempfile

    home = Path(tempfile.mkdtemp(dir="/var/tmp", prefix="tinyml-home-"))
    try:
        (home / ".aws").mkdir()
        (home / ".aws" / "credentials").write_text("aws_secret_access_key = abc\n")
        code = ("import sys\nfrom pathlib import Path\nfrom tinyml_autopilot.sandbox.python import run_python\n"
                "work = Path(sys.argv[1]); creds = sys.argv[2]\n"
                "(work / 's.py').write_text(f'import os; print(os.path.exists({creds!r}))')\n"
                "r = run_python(work / 's.py', work, timeout_s=30, memory_mb=512)\n"
                "print(r.returncode, r.stdout.strip())\n")
        result = subprocess.run([sys.executable, "-c", code, str(tmp_path), str(home / ".aws" / "credentials")],
                                capture_output=True, text=True, env={"HOME": str(home), "PATH": "/usr/bin:/bin"})
    finally:
        shutil.rmtree(home)
    assert result.stdout.split() == ["0", "False"], result.stdout + result.stderr


@needs_bwrap
def test_files_in_its_tmp_count_against_the_memory_limit(tmp_path):
    code = ("chunk = b'x' * (16 << 20)\nwritten = 0\ntry:\n    with open('/tmp/fill', 'wb') as f:\n"
            "        for _ in range(16):\n            f.write(chunk); f.flush(); written += 16\n"
            "except OSError as e:\n    print('stopped at', written, 'MB:', e.strerror)\n")
    result = _run(tmp_path, code, memory_mb=128)
    assert result.ok and "No space left on device" in result.stdout, result.stdout + result.stderr
    assert int(result.stdout.split()[2]) <= 128


def test_without_bubblewrap_output_keeps_no_key(tmp_path):
    """Outside bubblewrap the code can read the tool's environment from /proc: what it prints is redacted."""
    import subprocess
    import sys

    code = ("import sys\nfrom pathlib import Path\nfrom tinyml_autopilot.sandbox.python import run_python\n"
            "work = Path(sys.argv[1])\n"
            "(work / 's.py').write_text('import os; print(open(f\"/proc/{os.getppid()}/environ\").read())')\n"
            "r = run_python(work / 's.py', work, timeout_s=30, memory_mb=512)\n"
            "print(r.isolation, 'sk-leak-me-123456' in r.stdout, '***' in r.stdout)\n")
    env = {"PATH": str(tmp_path / "empty"), "OPENAI_API_KEY": "sk-leak-me-123456"}
    result = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, env=env,
                            timeout=60)
    assert result.stdout.split() == ["subprocess", "False", "True"], result.stdout + result.stderr
    assert "sk-leak-me" not in (tmp_path / ".stdout").read_text()
