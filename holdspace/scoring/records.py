"""Reading `holdspace score` input: reply records or saved `holdspace play` transcripts, with clear errors.

Input record: `{"id", "context": [{"speaker", "text"}...], "reply"}`; speakers are `facilitator` or a
member's name, with `helper`/`client` accepted for one-to-one conversations. A transcript (records with
`role`) is turned into one request per facilitator turn, with the utterances before it as context, so a
session can be re-scored without replaying it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

from holdspace.engine.types import Utterance
from holdspace.scoring import text as T
from holdspace.scoring.scorer import ScoreRequest

#: Lines longer than this are refused (a JSONL line is one record; this is far beyond any real reply).
MAX_LINE_CHARS = 2_000_000


@dataclass(frozen=True)
class InputError:
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.field}: {self.message}"


def _parse_lines(lines: Iterable[str]) -> tuple[list[tuple[int, dict]], list[InputError]]:
    rows: list[tuple[int, dict]] = []
    errors: list[InputError] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        if len(line) > MAX_LINE_CHARS:
            errors.append(InputError(number, "(line)", f"longer than {MAX_LINE_CHARS} characters"))
            continue
        try:
            raw = json.loads(line)
        except json.JSONDecodeError as exc:
            errors.append(InputError(number, "(json)", f"not valid JSON ({exc.msg} at column {exc.colno})"))
            continue
        if not isinstance(raw, dict):
            errors.append(InputError(number, "(record)", "each line must be a JSON object"))
            continue
        rows.append((number, raw))
    return rows, errors


def is_transcript(rows: list[tuple[int, dict]]) -> bool:
    """A `holdspace play` transcript: records carry `role` and no `reply`."""
    return bool(rows) and any("role" in r for _, r in rows) and not any("reply" in r for _, r in rows)


def _request(number: int, raw: dict) -> ScoreRequest | InputError:
    if "id" not in raw:
        return InputError(number, "id", "missing (every record needs an id)")
    rid = raw["id"]
    if not isinstance(rid, str | int) or isinstance(rid, bool) or (isinstance(rid, str) and not rid.strip()):
        return InputError(number, "id", "must be a non-empty string or a number")
    if "reply" not in raw:
        return InputError(number, "reply", "missing")
    reply = raw["reply"]
    if reply is None:
        reply = ""
    if not isinstance(reply, str):
        return InputError(number, "reply", f"must be a string, not {type(reply).__name__}")
    context = raw.get("context", [])
    if context is None:
        context = []
    if not isinstance(context, list):
        return InputError(
            number, "context", f"must be a list of {{speaker, text}} objects, not {type(context).__name__}"
        )
    turns = []
    for i, turn in enumerate(context):
        if not isinstance(turn, dict):
            return InputError(number, f"context[{i}]", "must be an object with speaker and text")
        speaker, text = turn.get("speaker"), turn.get("text")
        if not isinstance(speaker, str) or not speaker.strip():
            return InputError(number, f"context[{i}].speaker", "missing or not a string")
        if not isinstance(text, str):
            return InputError(number, f"context[{i}].text", "missing or not a string")
        turns.append({"speaker": speaker, "text": text})
    return ScoreRequest(str(rid), reply, T.to_utterances(turns))


def _transcript_requests(rows: list[tuple[int, dict]]) -> tuple[list[ScoreRequest], list[InputError]]:
    requests: list[ScoreRequest] = []
    errors: list[InputError] = []
    history: list[Utterance] = []
    for number, raw in rows:
        if raw.get("type") == "summary":
            continue
        role, text, speaker = raw.get("role"), raw.get("text"), raw.get("speaker")
        if role not in ("facilitator", "member", "system"):
            errors.append(InputError(number, "role", "must be facilitator, member or system"))
            continue
        if not isinstance(text, str):
            errors.append(InputError(number, "text", "missing or not a string"))
            continue
        if role == "system":
            continue
        if role == "facilitator":
            turn = raw.get("turn", len(requests) + 1)
            requests.append(ScoreRequest(f"turn-{turn}", text, list(history[-T.MAX_CONTEXT_TURNS :])))
            history.append(Utterance("facilitator", "facilitator", text))
        else:
            history.append(Utterance(str(speaker or "member"), "member", text))
    return requests, errors


def read_requests(lines: Iterable[str]) -> tuple[list[ScoreRequest], list[InputError], str]:
    """Requests and errors from JSONL lines; the third value is the detected format (`replies`/`transcript`)."""
    rows, errors = _parse_lines(lines)
    if is_transcript(rows):
        requests, more = _transcript_requests(rows)
        return requests, errors + more, "transcript"
    requests = []
    for number, raw in rows:
        parsed = _request(number, raw)
        if isinstance(parsed, InputError):
            errors.append(parsed)
        else:
            requests.append(parsed)
    return requests, sorted(errors, key=lambda e: e.line), "replies"
