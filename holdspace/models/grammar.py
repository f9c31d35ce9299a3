"""A compact GBNF grammar (llama.cpp) from a pydantic JSON Schema, for small local models.

llama.cpp can turn a JSON Schema into a grammar itself, but that grammar allows free whitespace between
tokens, and a 135M model spends its whole budget on newlines and indentation before it closes the object
(measured: a judge verdict cut off mid-JSON after 30 s). This grammar allows none, bounds every string by
its `maxLength` and every array by `maxItems`, and writes the properties in the schema's order, so the
model's tokens all go to the values. It covers what our schemas use (objects, arrays, enums, booleans,
bounded integers, null, `anyOf`, strings, `$ref`); anything else raises `UnsupportedSchema` and the caller
falls back to llama.cpp's own conversion.
"""

from __future__ import annotations

import json
from typing import Any

#: longest string a grammar allows when the schema gives no `maxLength`
DEFAULT_MAX_STRING = 200
#: a bounded integer range is spelled out as alternatives up to this many values
MAX_ENUMERATED_INTS = 20


class UnsupportedSchema(ValueError):
    """The schema uses a construct this converter does not handle."""


def _literal(text: str) -> str:
    """A GBNF string literal for `text` (JSON text, so quotes and backslashes are escaped once more)."""
    return json.dumps(text)


class _Builder:
    def __init__(self, schema: dict[str, Any]) -> None:
        self.defs: dict[str, Any] = schema.get("$defs", {})
        self.rules: dict[str, str] = {}
        self.counter = 0

    def add(self, body: str, hint: str) -> str:
        for name, existing in self.rules.items():
            if existing == body:
                return name
        self.counter += 1
        name = f"{''.join(c for c in hint.lower() if c.isalpha()) or 'r'}{self.counter}"
        self.rules[name] = body
        return name

    def string(self, node: dict[str, Any]) -> str:
        longest = int(node.get("maxLength", DEFAULT_MAX_STRING))
        shortest = int(node.get("minLength", 0))
        return self.add(f'"\\"" char{{{shortest},{longest}}} "\\""', "str")

    def node(self, node: dict[str, Any], hint: str = "v") -> str:
        if "$ref" in node:
            ref = node["$ref"].rsplit("/", 1)[-1]
            if ref not in self.defs:
                raise UnsupportedSchema(f"unresolved $ref {node['$ref']}")
            return self.node(self.defs[ref], ref)
        if "enum" in node:
            return self.add(" | ".join(_literal(json.dumps(v)) for v in node["enum"]), hint)
        if "const" in node:
            return self.add(_literal(json.dumps(node["const"])), hint)
        if "anyOf" in node:
            return self.add(" | ".join(self.node(option, hint) for option in node["anyOf"]), hint)
        kind = node.get("type")
        if kind == "string":
            return self.string(node)
        if kind == "boolean":
            return self.add('"true" | "false"', "bool")
        if kind == "null":
            return self.add('"null"', "null")
        if kind == "integer":
            low, high = node.get("minimum"), node.get("maximum")
            if low is not None and high is not None and 0 <= high - low < MAX_ENUMERATED_INTS:
                return self.add(" | ".join(_literal(str(v)) for v in range(int(low), int(high) + 1)), hint)
            return self.add('"-"? [0-9]{1,15}', "int")
        if kind == "number":
            return self.add('"-"? [0-9]{1,15} ("." [0-9]{1,6})?', "num")
        if kind == "array":
            item = self.node(node.get("items", {}), hint + "item")
            least = int(node.get("minItems", 0))
            most = node.get("maxItems")
            if most is None:
                more = f'("," {item})*'
            else:
                more = f'("," {item}){{0,{max(0, int(most) - 1)}}}'
            inner = f"{item} {more}"
            body = f'"[" {inner} "]"' if least >= 1 else f'"[" ({inner})? "]"'
            return self.add(body, hint + "list")
        if kind == "object":
            properties = node.get("properties")
            if not properties or node.get("additionalProperties") not in (None, False):
                raise UnsupportedSchema("objects need declared properties")
            parts = []
            for i, (key, sub) in enumerate(properties.items()):
                parts.append(_literal(("," if i else "") + json.dumps(key) + ":"))
                parts.append(self.node(sub, key))
            return self.add('"{" ' + " ".join(parts) + ' "}"', hint)
        raise UnsupportedSchema(f"schema construct not handled: {sorted(node)}")


def compact_json_grammar(schema: dict[str, Any]) -> str:
    """GBNF for one JSON value of `schema`, with no whitespace anywhere outside strings."""
    builder = _Builder(schema)
    top = builder.node(schema, "root")
    lines = [f"root ::= {top}"]
    lines += [f"{name} ::= {body}" for name, body in builder.rules.items()]
    # any character but a quote, a backslash or a control character; escapes as JSON allows them
    lines.append(r'char ::= [^"\\\x00-\x1f] | "\\" ["\\/bfnrt]')
    return "\n".join(lines) + "\n"
