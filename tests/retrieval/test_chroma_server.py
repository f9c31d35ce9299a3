"""With HOLDSPACE_CHROMA_URL set, the index lives in a Chroma server (the multi-instance setup)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from holdspace.retrieval import Retriever
from holdspace.settings import Settings


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def chroma_server(tmp_path: Path) -> Iterator[str]:
    """A `chroma run` server (shipped with the chromadb package) on a free loopback port."""
    binary = shutil.which("chroma") or str(Path(sys.executable).parent / "chroma")
    if not Path(binary).exists():
        pytest.skip("the `chroma` server command from the chromadb package is not installed")
    port = _free_port()
    env = {**os.environ, "ANONYMIZED_TELEMETRY": "False"}
    proc = subprocess.Popen(
        [binary, "run", "--path", str(tmp_path / "server"), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if proc.poll() is not None:
                pytest.skip("the chroma server did not start")
            time.sleep(0.1)
        else:
            pytest.skip("the chroma server did not open its port in 20 s")
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_index_in_a_chroma_server_is_shared_between_instances(
    small_corpus: Settings, chroma_server: str
) -> None:
    settings = small_corpus.model_copy(update={"chroma_url": chroma_server})
    first = Retriever(settings).load()
    assert first.built_index
    assert not (settings.chroma_path).exists()  # nothing stored locally
    # A second app instance with its own data dir reuses the server's index.
    other = settings.model_copy(update={"data_dir": settings.data_dir.parent / "other"})
    second = Retriever(other).load()
    assert not second.built_index
    assert second.search("someone used again", k=1)[0].source == "relapse"
