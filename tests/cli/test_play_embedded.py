"""`holdspace play` on the embedded default: no key, no server started by hand, and the process exits."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.llm


def test_play_on_the_embedded_default_finishes_and_exits(tmp_path: Path) -> None:
    replies = tmp_path / "replies.txt"
    replies.write_text("Welcome, everyone. What brought you here tonight?\nThank you. Who else would like to share?\n")
    out = tmp_path / "t.jsonl"
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOLDSPACE_PERSONA")}
    env.pop("HOLDSPACE_OPENAI_BASE_URL", None)
    result = subprocess.run(
        [str(Path(sys.executable).parent / "holdspace"), "play", "silent-group", "--replies", str(replies),
         "--seed", "3", "--transcript", str(out)],
        env=env, capture_output=True, text=True, timeout=240,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert records[-1]["type"] == "summary"
    assert any(r["role"] == "member" and r["turn"] >= 1 for r in records[:-1])
