"""Workers do not listen to the world: ``rnnkit launch``'s gRPC servers are on loopback.

TensorFlow's runtime listens on every interface whatever TF_CONFIG says;
``rnnkit.loopback`` moves a wildcard ``bind()`` to loopback. Checked on
real sockets: a plain one, and two launched workers' servers, read from
``/proc/net``.
"""

import ipaddress
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from rnnkit import loopback

RNNKIT = [sys.executable, "-m", "rnnkit.cli"]
WORKER = [sys.executable, str(Path(__file__).parent / "listen_worker.py")]
BIND = (
    "import socket, sys; family = socket.AF_INET6 if sys.argv[1] == '6' else socket.AF_INET; "
    "s = socket.socket(family); s.bind(('::' if family == socket.AF_INET6 else '0.0.0.0', 0)); "
    "print(s.getsockname()[0])"
)


def _is_loopback(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    mapped = getattr(ip, "ipv4_mapped", None)
    return (mapped or ip).is_loopback


@pytest.mark.parametrize("family", ["4", "6"])
def test_a_wildcard_bind_lands_on_loopback(tmp_path, family):
    if family == "6" and not socket.has_ipv6:
        pytest.skip("no IPv6 in this kernel")
    library = loopback.build(tmp_path)
    assert library is not None, "a C compiler is part of the build (make venv)"
    plain = subprocess.run([sys.executable, "-c", BIND, family], capture_output=True, text=True)
    assert plain.stdout.strip() in ("0.0.0.0", "::")  # what TF's server asks for
    env = loopback.environment(dict(os.environ), library)
    guarded = subprocess.run(
        [sys.executable, "-c", BIND, family], capture_output=True, text=True, env=env
    )
    assert guarded.returncode == 0, guarded.stderr
    assert _is_loopback(guarded.stdout.strip()), guarded.stdout


@pytest.mark.slow
def test_launched_workers_listen_on_loopback_only():
    done = subprocess.run(
        [*RNNKIT, "launch", "--workers", "2", "--", *WORKER],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    reports = [
        json.loads(line.partition("] ")[2])
        for line in done.stdout.splitlines()
        if line.startswith("[worker") and '"listening"' in line
    ]
    assert len(reports) == 2 and all(r["workers"] == 2.0 for r in reports), done.stdout
    for report in reports:
        assert report["listening"], report  # the server was found on its port
        assert all(_is_loopback(a) for a in report["listening"]), report
