"""Hostile generated code: links out of its folder, other files on the host, host sockets."""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path

import pytest
from sandbox_helpers import needs_bwrap, run_script

from tinyml_autopilot.sandbox.folder import LinkFound, copy_regular, copy_tree_regular

_run = run_script


def test_a_link_out_of_the_folder_is_a_finding_and_not_kept(tmp_path, outside):
    host_file = outside / "host-secret.txt"
    host_file.write_text("host only\n")
    code = ("import os\nos.makedirs('plots')\nopen('plots/ok.png', 'wb').write(b'png')\n"
            f"os.symlink({str(host_file)!r}, 'plots/loss.png')\nos.symlink('/etc/hostname', 'model.keras')\n")
    result = _run(tmp_path, code)
    work = tmp_path / "attempt"
    assert not result.ok and "plots/loss.png" in result.describe() and "model.keras" in result.describe()
    assert "symbolic link" in result.describe()
    assert not (work / "plots" / "loss.png").is_symlink() and not (work / "plots" / "loss.png").exists()
    assert not (work / "model.keras").exists()
    assert (work / "plots" / "ok.png").read_bytes() == b"png"


def test_publishing_refuses_a_link(tmp_path, outside):
    (outside / "secret").write_text("host only")
    link = tmp_path / "plot.png"
    link.symlink_to(outside / "secret")
    with pytest.raises(LinkFound, match="plot.png is a symbolic link"):
        copy_regular(link, tmp_path / "artifacts.png")
    assert not (tmp_path / "artifacts.png").exists()
    (tmp_path / "real.png").write_bytes(b"x")
    assert copy_regular(tmp_path / "real.png", tmp_path / "copy.png").read_bytes() == b"x"
    tree = tmp_path / "sketch"
    (tree / "sub").mkdir(parents=True)
    (tree / "sub" / "a.h").write_text("int a;")
    (tree / "sub" / "b.h").symlink_to(outside / "secret")
    copy_tree_regular(tree, tmp_path / "published")
    assert (tmp_path / "published" / "sub" / "a.h").read_text() == "int a;"
    assert not (tmp_path / "published" / "sub" / "b.h").exists()


@needs_bwrap
def test_only_system_python_inputs_and_its_folder_are_visible(tmp_path, outside, monkeypatch):
    project, other, home = outside / "project", outside / "other-project", outside / "home"
    for folder in (project, other, home / ".config" / "gcloud", home / ".aws"):
        folder.mkdir(parents=True)
    secrets = {project / ".env.local": "A=1", project / ".env.production": "B=2", other / ".env": "C=3",
               home / ".netrc": "machine x password p", home / ".git-credentials": "https://u:p@host",
               home / ".config" / "gcloud" / "credentials.db": "g", home / ".aws" / "credentials": "k"}
    for path, text in secrets.items():
        path.write_text(text)
    data = outside / "inputs" / "data.csv"
    data.parent.mkdir()
    data.write_text("a\n1\n")
    monkeypatch.chdir(project)
    monkeypatch.setenv("HOME", str(home))
    paths = [*secrets, project, home]
    code = ("import os, sys, numpy, tinyml_autopilot\n"
            f"for p in {[str(p) for p in paths]!r}:\n"
            "    print('VISIBLE' if os.path.exists(p) else 'hidden', p)\n"
            f"print(open({str(data)!r}).read().split()[1])\n"
            "print('python', sys.prefix, numpy.__name__, tinyml_autopilot.__name__)\n")
    result = _run(tmp_path, code, readable=[data])
    assert result.ok, result.stderr
    assert "VISIBLE" not in result.stdout, result.stdout
    assert result.stdout.splitlines()[len(paths)] == "1"
    assert "python " + str(Path(sys.prefix).resolve()) in result.stdout  # started by its real folder


@needs_bwrap
def test_the_system_folders_show_no_root_only_file(tmp_path):
    code = ("for p in ('/etc/shadow', '/etc/gshadow'):\n    try:\n        print(repr(open(p).read()[:20]))\n"
            "    except OSError as e:\n        print('denied', e.errno)\n")
    result = _run(tmp_path, code)
    assert result.ok and "root:" not in result.stdout, result.stdout + result.stderr
    assert all(line in ("''", "denied 13") for line in result.stdout.splitlines()), result.stdout


@needs_bwrap
def test_no_host_unix_socket_is_reachable(tmp_path, outside):
    paths = [outside / "agent.sock", Path("/run") / f"tinyml-test-{os.getpid()}.sock"]
    servers = []
    for path in paths:
        server = socket.socket(socket.AF_UNIX)
        server.bind(str(path))
        server.listen()
        servers.append(server)
    abstract = socket.socket(socket.AF_UNIX)
    abstract.bind(f"\0tinyml-test-{os.getpid()}")
    abstract.listen()
    servers.append(abstract)
    targets = [*map(str, paths), f"\0tinyml-test-{os.getpid()}"]
    code = ("import socket, os\n"
            f"for t in {targets!r}:\n"
            "    s = socket.socket(socket.AF_UNIX)\n"
            "    try:\n        s.connect(t); print('CONNECTED', repr(t))\n"
            "    except OSError as e:\n        print('refused', e.errno)\n"
            "found = []\n"
            "for top in ('/etc', '/run', '/var', '/tmp', '/dev/shm', os.getcwd(), os.environ['HOME']):\n"
            "    for root, dirs, files in os.walk(top):\n"
            "        found += [os.path.join(root, f) for f in files\n"
            "                  if os.path.exists(os.path.join(root, f)) and\n"
            "                  __import__('stat').S_ISSOCK(os.lstat(os.path.join(root, f)).st_mode)]\n"
            "print('sockets', found)\n")
    try:
        result = _run(tmp_path, code)
    finally:
        for server in servers:
            server.close()
        paths[1].unlink(missing_ok=True)
    assert result.ok, result.stderr
    assert "CONNECTED" not in result.stdout and result.stdout.count("refused") == 3, result.stdout
    assert "sockets []" in result.stdout
