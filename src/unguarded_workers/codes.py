"""The lint codes: one per kind of worker spawn, with the words its messages use."""

from __future__ import annotations

import enum
from dataclasses import dataclass

# The project's home; reports link to the docs pages under it.
HOMEPAGE = "https://github.com/unguarded-workers/unguarded-workers"
# Where each code is documented, relative to the project root.
DOCS_PATH = "docs/rules/{code}.md"


class SpawnKind(enum.Enum):
    """How a worker is started; each kind has its own code and failure mode."""

    THREAD = "thread"  # Thread/Timer/Process target, _thread.start_new_thread
    THREAD_RUN = "thread-run"  # run() of a Thread/Process subclass
    EXECUTOR = "executor"  # a Future-returning submission
    TASK = "task"  # an asyncio Task
    GROUP = "group"  # a child of a task group or nursery


@dataclass(frozen=True)
class Code:
    code: str
    name: str
    kind: SpawnKind
    what: str  # how a message names the target: "thread target 'f'"
    consequence: str  # what happens to its exception
    # Whether `fix` applies its guard by default: a guard changes behaviour only where
    # something consumed the failure, which for UW401 is the group cancelling siblings.
    safe_fix: bool = True

    @property
    def docs_path(self) -> str:
        return DOCS_PATH.format(code=self.code)

    @property
    def docs_url(self) -> str:
        """The rule's page, as reports and editors link to it."""
        return f"{HOMEPAGE}/blob/main/{self.docs_path}"


# What really happens: threading.excepthook prints the traceback; nothing else learns of it.
THREAD_DIES = "the thread dies (its traceback goes to stderr): nothing in the program learns of it and its work stops"

UW101 = Code(
    "UW101",
    "unguarded-thread-target",
    SpawnKind.THREAD,
    "thread target",
    THREAD_DIES,
)
UW102 = Code(
    "UW102",
    "unguarded-thread-run",
    SpawnKind.THREAD_RUN,
    "run() of thread class",
    THREAD_DIES,
)
UW201 = Code(
    "UW201",
    "unguarded-executor-submission",
    SpawnKind.EXECUTOR,
    "submitted callable",
    "its exception is stored in a future that nothing reads, and is lost",
)
UW301 = Code(
    "UW301",
    "unguarded-task",
    SpawnKind.TASK,
    "task coroutine",
    "its exception is stored in a task that nothing awaits, and is lost",
)
UW401 = Code(
    "UW401",
    "unguarded-group-child",
    SpawnKind.GROUP,
    "task-group child",
    "its exception cancels every sibling task",
    safe_fix=False,
)

# Not a rule: the code of the one line a file gets when the check itself failed on it
# (please report it), so that flake8 goes on with the other files.
INTERNAL_ERROR = "UW900"


def internal_error_text(error: BaseException) -> str:
    what = "unguarded-workers could not check this file (internal error, please report)"
    return f"{what}: {type(error).__name__}: {error}"


# Why the fix of a UW401 site changes what working code does.
GROUP_UNSAFE_REASON = "a guarded child no longer cancels its siblings"

ALL_CODES: tuple[Code, ...] = (UW101, UW102, UW201, UW301, UW401)
BY_KIND: dict[SpawnKind, Code] = {code.kind: code for code in ALL_CODES}
