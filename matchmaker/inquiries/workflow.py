"""How an inquiry moves, stated once: who may take each step, from which states, and where it leads.

    pending ──quote──▶ answered ──quote──▶ answered (a new quote replaces none: both stay in the thread)
       │                  │
       ├──decline──▶ declined ◀──decline──┤
       │                  │               │
       └──────close (lost)┴──close (won or lost)──▶ closed

A question back from the vendor, and a message from either side, leave the state as it is. Only a
quote can be won: closing as won needs the thread to be answered.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Side = Literal["buyer", "vendor"]
Status = Literal["pending", "answered", "declined", "closed"]
StepKind = Literal["message", "question", "quote", "decline", "close"]
Outcome = Literal["won", "lost"]
STATUSES: tuple[Status, ...] = ("pending", "answered", "declined", "closed")


@dataclass(frozen=True, slots=True)
class Step:
    by: frozenset[Side]
    allowed_from: frozenset[Status]
    leads_to: Status | None  # None: the state stays


_OPEN: frozenset[Status] = frozenset({"pending", "answered"})
# In the order a side is offered them: what moves the inquiry on first.
STEPS: dict[StepKind, Step] = {
    "quote": Step(frozenset({"vendor"}), _OPEN, "answered"),
    "question": Step(frozenset({"vendor"}), _OPEN, None),
    "decline": Step(frozenset({"vendor"}), _OPEN, "declined"),
    "close": Step(frozenset({"buyer"}), frozenset({"pending", "answered", "declined"}), "closed"),
    "message": Step(frozenset({"buyer", "vendor"}), frozenset({"pending", "answered", "declined"}), None),
}


class StepRefused(ValueError):
    """The step is not one this side may take in this state."""


def check(kind: StepKind, *, side: Side, status: str, outcome: Outcome | None = None) -> Status | None:
    """The state the step leads to (None: unchanged), or StepRefused saying why not."""
    step = STEPS[kind]
    if side not in step.by:
        raise StepRefused(f"only the {' or '.join(sorted(step.by))} may {kind} in an inquiry")
    if status not in step.allowed_from:
        raise StepRefused(f"an inquiry that is {status} cannot take a {kind}")
    if kind == "close" and outcome == "won" and status != "answered":
        raise StepRefused("only an answered inquiry (one with a quote) can be closed as won")
    return step.leads_to


def next_steps(*, side: Side, status: str) -> list[StepKind]:
    """The steps this side may take now, in a fixed order."""
    return [kind for kind, step in STEPS.items() if side in step.by and status in step.allowed_from]
