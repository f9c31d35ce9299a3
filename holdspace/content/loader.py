"""Load YAML content into the pydantic models and report every problem as `file:line: message`.

YAML is composed node by node so each key keeps its line number; a pydantic error's location is mapped
back to the closest line in the file. Cross-file checks (persona references, duplicate ids, events naming
members who are not in the scenario, unreachable end conditions) run after every file loaded on its own.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from holdspace.content.models import Persona, Rubric, Scenario

M = TypeVar("M", bound=BaseModel)

MIN_LINES_PER_INTENT = 5


@dataclass(frozen=True, order=True)
class Problem:
    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


class ContentError(Exception):
    """Content failed to load; `problems` lists each one with its file and line."""

    def __init__(self, problems: list[Problem]):
        self.problems = sorted(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


# ----------------------------------------------------------------------------------------- YAML + lines
def _build(node: yaml.Node, path: tuple[Any, ...], lines: dict[tuple[Any, ...], int]) -> Any:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = _scalar(key_node)
            if key in out:
                raise _DuplicateKey(key, key_node.start_mark.line + 1)
            lines[path + (key,)] = key_node.start_mark.line + 1
            out[key] = _build(value_node, path + (key,), lines)
            lines[path + (key,)] = key_node.start_mark.line + 1  # the key's line, not its value's
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_build(item, path + (i,), lines) for i, item in enumerate(node.value)]
    return _scalar(node)


def _scalar(node: yaml.Node) -> Any:
    return yaml.safe_load(yaml.serialize(node))


class _DuplicateKey(Exception):
    def __init__(self, key: Any, line: int):
        self.key, self.line = key, line


@dataclass
class LoadedYaml:
    path: Path
    data: Any
    lines: dict[tuple[Any, ...], int] = field(default_factory=dict)

    def line_of(self, loc: Iterable[Any]) -> int:
        """The line of the deepest part of `loc` that exists in the file (1 if none)."""
        parts = tuple(loc)
        for end in range(len(parts), -1, -1):
            if parts[:end] in self.lines:
                return self.lines[parts[:end]]
        return 1


def read_yaml(path: Path) -> LoadedYaml:
    """Parse one YAML file keeping line numbers; raises ContentError on a syntax error."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ContentError([Problem(str(path), 1, f"cannot read file: {exc}")]) from exc
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else 1
        raise ContentError([Problem(str(path), line, f"YAML syntax error: {getattr(exc, 'problem', exc)}")]) from exc
    if node is None:
        raise ContentError([Problem(str(path), 1, "file is empty")])
    lines: dict[tuple[Any, ...], int] = {}
    try:
        data = _build(node, (), lines)
    except _DuplicateKey as dup:
        raise ContentError([Problem(str(path), dup.line, f"duplicate key {dup.key!r}")]) from None
    return LoadedYaml(path, data, lines)


def _describe(error: dict[str, Any]) -> str:
    loc = ".".join(str(p) for p in error["loc"] if not str(p).startswith("function-"))
    kind = error["type"]
    if kind == "missing":
        return f"missing field `{loc}`"
    if kind == "extra_forbidden":
        return f"unknown field `{loc}` (not allowed here)"
    if kind == "literal_error":
        return f"`{loc}`: {error['msg']} (got {error.get('input')!r})"
    message = error["msg"].removeprefix("Value error, ")
    return f"`{loc}`: {message}" if loc else message


def load_model(loaded: LoadedYaml, model: type[M]) -> M:
    try:
        return model.model_validate(loaded.data)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            loc = [p for p in error["loc"] if not str(p).startswith("function-")]
            # literal/enum errors on dict keys carry `[key]` suffixes; strip them for the line lookup
            clean = [p.split("[", 1)[0] if isinstance(p, str) else p for p in loc]
            problems.append(Problem(str(loaded.path), loaded.line_of(clean), _describe(error)))
        raise ContentError(problems) from None


# ----------------------------------------------------------------------------------------- the library
@dataclass
class Library:
    """Everything the engine needs, loaded and cross-checked."""

    personas: dict[str, Persona]
    scenarios: dict[str, Scenario]
    rubric: Rubric | None
    sources: dict[str, LoadedYaml] = field(default_factory=dict)  # "persona:id" / "scenario:id" -> file

    def scenario(self, scenario_id: str) -> Scenario:
        try:
            return self.scenarios[scenario_id]
        except KeyError:
            known = ", ".join(sorted(self.scenarios)) or "none"
            raise KeyError(f"unknown scenario {scenario_id!r}; known scenarios: {known}") from None

    def personas_for(self, scenario: Scenario) -> dict[str, Persona]:
        """Member name -> persona."""
        return {m.name: self.personas[m.persona] for m in scenario.members}


def _yaml_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob("*.y*ml") if p.suffix in {".yaml", ".yml"})


def classify(path: Path) -> str:
    """Which model a file holds, from the folder it lives in."""
    parent = path.parent.name
    if path.name == "rubric.yaml":
        return "rubric"
    if parent == "personas":
        return "persona"
    if parent == "scenarios":
        return "scenario"
    return "unknown"


def load_library(root: Path, extra_paths: Iterable[Path] = ()) -> tuple[Library, list[Problem]]:
    """Load personas/, scenarios/ and evaluation/rubric.yaml under `root` (plus any extra files),
    returning the library of everything valid and the list of every problem found."""
    problems: list[Problem] = []
    files = _yaml_files(root / "personas") + _yaml_files(root / "scenarios")
    rubric_path = root / "evaluation" / "rubric.yaml"
    if rubric_path.exists():
        files.append(rubric_path)
    for extra in extra_paths:
        if extra.resolve() not in {f.resolve() for f in files}:
            files.append(extra)

    personas: dict[str, Persona] = {}
    scenarios: dict[str, Scenario] = {}
    rubric: Rubric | None = None
    sources: dict[str, LoadedYaml] = {}
    seen_ids: dict[tuple[str, str], Path] = {}

    for path in files:
        kind = classify(path)
        if kind == "unknown":
            problems.append(Problem(str(path), 1, "not a persona, scenario or rubric file (put it in personas/ "
                                    "or scenarios/, or name it rubric.yaml)"))
            continue
        try:
            loaded = read_yaml(path)
            model = {"persona": Persona, "scenario": Scenario, "rubric": Rubric}[kind]
            item = load_model(loaded, model)
        except ContentError as exc:
            problems.extend(exc.problems)
            continue
        if isinstance(item, Rubric):
            rubric = item
            sources["rubric"] = loaded
            continue
        key = (kind, item.id)
        if key in seen_ids:
            problems.append(Problem(str(path), loaded.line_of(["id"]),
                                    f"duplicate {kind} id {item.id!r} (also in {seen_ids[key]})"))
            continue
        seen_ids[key] = path
        sources[f"{kind}:{item.id}"] = loaded
        if isinstance(item, Persona):
            problems.extend(_check_persona(item, loaded))
            personas[item.id] = item
        else:
            scenarios[item.id] = item

    for scenario_id, scenario in list(scenarios.items()):
        found = _check_scenario(scenario, sources[f"scenario:{scenario_id}"], personas)
        if found:
            problems.extend(found)
            del scenarios[scenario_id]  # an inconsistent scenario must not be playable
    return Library(personas, scenarios, rubric, sources), sorted(problems)


def _check_persona(persona: Persona, loaded: LoadedYaml) -> list[Problem]:
    problems = []
    if "answer" not in persona.lines:
        problems.append(Problem(str(loaded.path), loaded.line_of(["lines"]), "persona needs `lines.answer`"))
    for intent, lines in persona.lines.items():
        if len(lines) < MIN_LINES_PER_INTENT:
            problems.append(Problem(str(loaded.path), loaded.line_of(["lines", intent]),
                                    f"`lines.{intent}` has {len(lines)} lines; at least {MIN_LINES_PER_INTENT} "
                                    "are needed so the fallback does not repeat itself"))
        if len(set(lines)) != len(lines):
            problems.append(Problem(str(loaded.path), loaded.line_of(["lines", intent]),
                                    f"`lines.{intent}` repeats a line"))
    return problems


def _check_scenario(scenario: Scenario, loaded: LoadedYaml, personas: dict[str, Persona]) -> list[Problem]:
    file = str(loaded.path)
    problems = []
    names = scenario.member_names()
    if len(set(names)) != len(names):
        problems.append(Problem(file, loaded.line_of(["members"]), "two members share a name"))
    for i, member in enumerate(scenario.members):
        if member.persona not in personas:
            problems.append(Problem(file, loaded.line_of(["members", i, "persona"]),
                                    f"unknown persona {member.persona!r} (no personas/{member.persona}.yaml)"))
    for i, line in enumerate(scenario.opening):
        if line.speaker not in names:
            problems.append(Problem(file, loaded.line_of(["opening", i, "speaker"]),
                                    f"opening line by {line.speaker!r}, who is not a member of this scenario"))
    event_ids = set()
    for i, event in enumerate(scenario.events):
        if event.id in event_ids:
            problems.append(Problem(file, loaded.line_of(["events", i, "id"]), f"duplicate event id {event.id!r}"))
        event_ids.add(event.id)
        if event.speaker not in names:
            problems.append(Problem(file, loaded.line_of(["events", i, "speaker"]),
                                    f"event {event.id!r} names {event.speaker!r}, who is not a member of this "
                                    f"scenario (members: {', '.join(names)})"))
        if event.at_turn is not None and event.at_turn > scenario.max_turns:
            problems.append(Problem(file, loaded.line_of(["events", i, "at_turn"]),
                                    f"event {event.id!r} at turn {event.at_turn} can never happen: the scenario "
                                    f"ends after {scenario.max_turns} turns"))
        if event.when is not None:
            problems.extend(_check_condition(event.when, file, loaded.line_of(["events", i, "when"]), names,
                                             scenario.max_turns, f"event {event.id!r}"))
    for i, objective in enumerate(scenario.objectives):
        line = loaded.line_of(["objectives", i, "check"])
        if objective.check.startswith("need:"):
            target = objective.check.removeprefix("need:")
            event = next((e for e in scenario.events if e.id == target), None)
            if event is None or event.need is None:
                problems.append(Problem(file, line, f"objective {objective.id!r} checks {objective.check!r} but "
                                        "no event with that id creates a need"))
        elif objective.check.startswith("moved:"):
            pass
        else:
            from holdspace.content.models import Condition

            problems.extend(_check_condition(Condition.parse(objective.check), file, line, names,
                                             scenario.max_turns, f"objective {objective.id!r}"))
    for i, end in enumerate(scenario.end_conditions):
        if end.when is not None:
            problems.extend(_check_condition(end.when, file, loaded.line_of(["end_conditions", i, "when"]), names,
                                             scenario.max_turns, "end condition"))
    return problems


def _check_condition(cond: Any, file: str, line: int, names: list[str], max_turns: int, what: str) -> list[Problem]:
    problems = []
    if cond.member is not None and cond.member not in names:
        problems.append(Problem(file, line, f"{what} refers to {cond.member!r}, who is not a member of this "
                                f"scenario (members: {', '.join(names)})"))
    if not cond.satisfiable(max_turns):
        bound = f"turn runs 0..{max_turns}" if cond.metric == "turn" else f"{cond.metric} runs 0..1"
        problems.append(Problem(file, line, f"{what} `{cond.text}` is unreachable: {bound}"))
    return problems
