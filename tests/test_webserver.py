"""Start the Dagster webserver on loopback with workspace.yaml and find the project's
assets through its GraphQL API, then stop it."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
QUERY = "{ assetNodes { assetKey { path } } }"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _graphql(port: int, query: str) -> dict:
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=json.dumps({"query": query}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read())


def test_webserver_serves_the_assets(onegrid_env):
    exe = shutil.which("dagster-webserver")
    assert exe, "dagster-webserver is installed with the project"
    port = _free_port()
    env = dict(os.environ)
    proc = subprocess.Popen(
        [exe, "-w", str(ROOT / "workspace.yaml"), "-h", "127.0.0.1", "-p", str(port)],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        deadline = time.time() + 120
        paths: list[str] | None = None
        while time.time() < deadline and paths is None:
            if proc.poll() is not None:
                raise AssertionError(f"webserver exited: {proc.stderr.read().decode()[-2000:]}")
            try:
                doc = _graphql(port, QUERY)
            except OSError:
                time.sleep(1)
                continue
            nodes = (doc.get("data") or {}).get("assetNodes")
            if nodes is None:  # the code location is still loading
                time.sleep(1)
                continue
            paths = ["/".join(n["assetKey"]["path"]) for n in nodes]
        assert paths is not None, "webserver did not answer GraphQL within 120 s"
        print(f"webserver lists {len(paths)} assets")
        assert "bronze/household" in paths
        assert "marts/dim_grid" in paths
        assert any(p.startswith("publish/") for p in paths)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
