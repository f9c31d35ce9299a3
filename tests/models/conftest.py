"""The real llama.cpp server for `llm`-marked tests: started once per test session, on loopback."""

from __future__ import annotations

import pytest

from holdspace.models.embedded import EmbeddedServer


@pytest.fixture(scope="session")
def llama_server() -> EmbeddedServer:
    """The process-wide embedded server (the same one the app uses), with the bundled SmolLM2 model."""
    from holdspace.models.embedded import get_server

    return get_server(threads=1, port=0)
