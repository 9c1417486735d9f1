"""Rules as data: a deadline kind's owner, window, setting and audiences, and the one outcome of
a deadline. Each record type declares its own in its `rules` module; the engine reads them.

A `DeadlineRule` registers itself by kind when its record type's rules are imported, as a button
action does (`procedures.rules` imports every record type's rules), so the deadline sweep finds
the audience of any kind without the kernel importing a record type.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any, ClassVar, Final, Generic, Protocol, TypeVar

from procedures.kernel.errors import WrongState

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from procedures.kernel.actions import CallbackAction
    from storage.models import Deadline, User

Buttons = list[list[dict[str, Any]]]


@dataclass(frozen=True)
class Recipients:
    """Some of a deadline's audience, and the buttons their message carries."""

    users: list[User]
    buttons: Buttons | None = None


# People tied to one subject (a defect's vendor staff and reporter); `overdue` tells the audience
# whether it is answering a reminder or an overdue alert, for the buttons it offers.
SubjectAudience = Callable[["AsyncSession", "Deadline", bool], Awaitable[list[Recipients]]]


@dataclass(frozen=True)
class Audience:
    """Who hears of a deadline: its owner (the responsible role, or the equipment system's staff
    standing in for it), the owner's head, other roles, and people tied to the subject."""

    owner: bool = True
    owner_head: bool = False
    roles: tuple[str, ...] = ()
    subject: SubjectAudience | None = None


# The action that takes a deadline's step (its subject id is the record's), offered on its
# reminder and alert.
StepAction = Callable[["Deadline"], "CallbackAction"]

# the seed's "remind the owner; alert the owner and their head"
OWNER: Final = Audience()
OWNER_AND_HEAD: Final = Audience(owner_head=True)


@dataclass(frozen=True)
class DeadlineRule:
    """One kind of deadline, as the procedure gives it."""

    kind: StrEnum
    owner: str  # the role that answers for it
    # how long after the step opens it falls due; None where the procedure names a time of its
    # own (12:00 the next day, the end of a month's due day, a contract's hours)
    window: dt.timedelta | None
    # the environment variable that changes the window, where one does
    setting: str | None = None
    reminded: Audience = OWNER
    alerted: Audience = OWNER_AND_HEAD
    # company-internal: shown to staff, never on what the customer reads
    internal: bool = False
    # when the reminder goes, as a share of the window: late enough to matter, early enough to
    # act on (the sweep drops a reminder it finds with less than half of the rest left)
    remind_share: float = 0.75
    # the button on its reminder and alert that takes the step, where one button does
    step: StepAction | None = None
    # its reminder cannot wait for working hours (goods on hold, sales to stop)
    urgent: bool = False
    # one deadline of the kind for each party of the record (each other buyer told to stop
    # selling): its messages name it by its own label, which says which party
    per_party: bool = False

    registry: ClassVar[dict[str, DeadlineRule]] = {}

    def __post_init__(self) -> None:
        if not 0 < self.remind_share < 1:
            raise ValueError(f"{self.kind}: a reminder falls inside the window")
        known = DeadlineRule.registry.get(self.kind)
        if known is not None and known != self:
            raise TypeError(f"two rules for the deadline kind {self.kind!r}")
        DeadlineRule.registry[self.kind] = self

    def due(self, opened_at: dt.datetime) -> dt.datetime:
        """When a step opened at `opened_at` falls due, for a rule with a fixed window."""
        if self.window is None:
            raise ValueError(f"{self.kind}: the due time is the procedure's, not a window")
        return opened_at + self.window


def rule_of(kind: str) -> DeadlineRule | None:
    """The rule of a stored deadline's kind; None for a kind no record type declares."""
    return DeadlineRule.registry.get(kind)


def deadline_table(*rules: DeadlineRule) -> Mapping[str, DeadlineRule]:
    """A record type's deadline rules by kind: every member of its kind enum exactly once."""
    table = {str(rule.kind): rule for rule in rules}
    if len(table) != len(rules):
        raise TypeError("a deadline kind is declared twice")
    enums = {type(rule.kind) for rule in rules}
    missing = {str(member) for enum in enums for member in enum} - set(table)
    if missing:
        raise TypeError(f"deadline kinds without a rule: {', '.join(sorted(missing))}")
    return table


class Outcome(StrEnum):
    """How a deadline ended, or that it has not: the one answer every report and record uses."""

    ON_TIME = "on_time"
    LATE = "late"
    WAIVED = "waived"  # decided unnecessary: neither met nor late
    OPEN = "open"


def outcome_of(
    met_at: dt.datetime | bool | None,
    met_late: bool | None,
    closed_as: str | None,
    *,
    as_of: dt.datetime | None = None,
) -> Outcome:
    """The outcome from a deadline's stored columns (`met_at` may be a bool from a grouped
    query). With `as_of`, one closed at or after it was still open then."""
    if not met_at or (as_of is not None and isinstance(met_at, dt.datetime) and met_at >= as_of):
        return Outcome.OPEN
    if closed_as == Outcome.WAIVED:
        return Outcome.WAIVED
    return Outcome.LATE if met_late else Outcome.ON_TIME


def outcome(deadline: Deadline, *, as_of: dt.datetime | None = None) -> Outcome:
    return outcome_of(deadline.met_at, deadline.met_late, deadline.closed_as, as_of=as_of)


def met_in_time(deadline: Deadline | None) -> bool | None:
    """Met in time or late; None while open (or never opened), and for a waived one, which was
    neither."""
    found = outcome(deadline) if deadline is not None else Outcome.OPEN
    return None if found in (Outcome.OPEN, Outcome.WAIVED) else found == Outcome.ON_TIME


S = TypeVar("S", bound=StrEnum)


class HasStatus(Protocol):
    status: Any


@dataclass(frozen=True)
class Lifecycle(Generic[S]):
    """A record type's statuses and the moves its procedure allows between them: one table, and
    one guard that every status change goes through. `refusal` is the record type's answer to a
    step taken out of turn (its catalogue key, given the record)."""

    moves: Mapping[S, frozenset[S]]
    refusal: Callable[[Any], WrongState]

    def __post_init__(self) -> None:
        statuses = {member for status in self.moves for member in type(status)}
        missing = statuses - set(self.moves)
        if missing:
            raise TypeError(f"statuses without their moves: {', '.join(sorted(missing))}")

    def require(self, record: HasStatus, *statuses: S) -> None:
        """Refuse unless the record stands at one of `statuses`."""
        if record.status not in statuses:
            raise self.refusal(record)

    def may_move(self, record: HasStatus, target: S) -> bool:
        return target in self.moves.get(record.status, frozenset())

    def move(self, record: HasStatus, target: S) -> None:
        """Change the record's status as the table allows; any other move is refused."""
        if not self.may_move(record, target):
            raise self.refusal(record)
        record.status = target

    def final(self) -> frozenset[S]:
        """The statuses from which the procedure goes nowhere."""
        return frozenset(status for status, targets in self.moves.items() if not targets)
