"""The compact JSON grammar for small local models: the schema's shape, no free whitespace, bounds kept."""

from __future__ import annotations

import re
from typing import Literal

import pytest
from pydantic import BaseModel, Field

from holdspace.models.grammar import UnsupportedSchema, compact_json_grammar


class Verdict(BaseModel):
    dimension: Literal["empathy", "focus"]
    applies: bool
    score: int | None = Field(default=None, ge=1, le=5)
    reason: str = Field(max_length=40)


class Verdicts(BaseModel):
    items: list[Verdict] = Field(min_length=1, max_length=3)
    note: str


def test_grammar_follows_the_schema_without_free_whitespace() -> None:
    grammar = compact_json_grammar(Verdicts.model_json_schema())
    rules = dict(line.split(" ::= ", 1) for line in grammar.strip().splitlines())
    assert "root" in rules and "char" in rules
    body = "\n".join(rules.values())
    # keys in the schema's order, each glued to its value
    assert body.index('"\\"dimension\\":"') < body.index('",\\"applies\\":"') < body.index('",\\"reason\\":"')
    assert '"\\"empathy\\"" | "\\"focus\\""' in body
    assert '"1" | "2" | "3" | "4" | "5"' in body and '"null"' in body
    assert "char{0,40}" in body and "char{0,200}" in body  # maxLength, and the default bound
    assert '("," verdict' in body and "{0,2}" in body  # at most three items, at least one
    structure = "\n".join(body for name, body in rules.items() if name != "char")  # char holds string content
    literals = re.findall(r'"((?:[^"\\]|\\.)*)"', structure)
    assert literals and not any(" " in lit or "\\n" in lit or "\\t" in lit for lit in literals)
    assert "space" not in grammar


def test_unsupported_constructs_are_refused() -> None:
    with pytest.raises(UnsupportedSchema):
        compact_json_grammar({"type": "object", "additionalProperties": {"type": "string"}})
    with pytest.raises(UnsupportedSchema):
        compact_json_grammar({"$ref": "#/$defs/Missing"})
