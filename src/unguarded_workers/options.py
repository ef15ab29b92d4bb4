"""The analysis options, and parsing them from the strings a config file holds."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from .codes import SpawnKind
from .violation import CONFIDENCE_CHOICES, Confidence

# The kinds a configured spawner may name, and the code each maps to.
SPAWNER_KINDS: Mapping[str, SpawnKind] = {
    "thread": SpawnKind.THREAD,
    "executor": SpawnKind.EXECUTOR,
    "task": SpawnKind.TASK,
    "group": SpawnKind.GROUP,
}
UNRESOLVED_CHOICES = ("report", "skip")
# `unresolved`, the setting `min-confidence` replaced, in its terms: the targets that could
# not be inspected are exactly the low-confidence reports.
UNRESOLVED_ALIAS = {"report": "low", "skip": "medium"}
DEFAULT_MIN_CONFIDENCE = "high"
# `serving`: only the group children whose failure takes down a long-lived group.
GROUP_CHILDREN_CHOICES = ("serving", "all")

# A dotted name, optionally with a leading dot meaning "a method of that name on
# any receiver" (".create_task").
_DOTTED = re.compile(r"\.?[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")


class OptionError(ValueError):
    """A configured value that cannot be used; the message names option and value."""


class SettingError(OptionError):
    """A bad value of one setting, named as the pyproject table names it ("unresolved");
    where it was read adds the file and the key as that file spells it."""

    def __init__(self, setting: str, detail: str) -> None:
        super().__init__(f"{setting}: {detail}")
        self.setting = setting
        self.detail = detail


@dataclass(frozen=True)
class Options:
    """Everything a team can configure about the analysis."""

    guards: frozenset[str] = frozenset()
    spawners: Mapping[str, SpawnKind] = field(default_factory=dict)
    harmless_calls: frozenset[str] = frozenset()
    # The lowest confidence reported.
    min_confidence: Confidence = Confidence.HIGH
    # Functions that return a coroutine without being an `async def` the analysis sees.
    coroutine_functions: frozenset[str] = frozenset()
    all_group_children: bool = False  # group-children = "all"


def _dotted_names(option: str, values: Iterable[str]) -> frozenset[str]:
    names = set()
    for raw in values:
        value = raw.strip()
        if not value:
            continue
        if not _DOTTED.fullmatch(value):
            raise SettingError(option, f"{value!r} is not a dotted name like 'myapp.concurrency.safe'")
        names.add(value)
    return frozenset(names)


def _spawners(values: Iterable[str]) -> dict[str, SpawnKind]:
    spawners = {}
    kinds = "|".join(SPAWNER_KINDS)
    for raw in values:
        value = raw.strip()
        if not value:
            continue
        name, sep, kind = value.rpartition(":")
        if not sep or not _DOTTED.fullmatch(name) or kind not in SPAWNER_KINDS:
            raise SettingError(
                "spawners", f"{value!r} is not NAME:KIND with KIND one of {kinds}, like 'myapp.tasks.fire:task'"
            )
        spawners[name] = SPAWNER_KINDS[kind]
    return spawners


def parse_options(
    *,
    guards: Iterable[str] = (),
    spawners: Iterable[str] = (),
    harmless_calls: Iterable[str] = (),
    min_confidence: str | None = None,
    unresolved: str | None = None,
    coroutine_functions: Iterable[str] = (),
    group_children: str = "serving",
) -> Options:
    """Build :class:`Options` from raw option strings, raising :class:`OptionError`.

    `unresolved` is the old spelling of `min_confidence` (`report` = low, `skip` = medium)."""
    if unresolved is not None:
        choice("unresolved", unresolved, UNRESOLVED_CHOICES)
    if min_confidence is None:
        min_confidence = UNRESOLVED_ALIAS[unresolved] if unresolved is not None else DEFAULT_MIN_CONFIDENCE
    choice("min-confidence", min_confidence, CONFIDENCE_CHOICES)
    choice("group-children", group_children, GROUP_CHILDREN_CHOICES)
    return Options(
        guards=_dotted_names("guards", guards),
        spawners=_spawners(spawners),
        harmless_calls=_dotted_names("harmless-calls", harmless_calls),
        min_confidence=Confidence.parse(min_confidence),
        coroutine_functions=_dotted_names("coroutine-functions", coroutine_functions),
        all_group_children=group_children == "all",
    )


def choice(setting: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise SettingError(setting, f"{value!r} is not one of {', '.join(choices)}")
