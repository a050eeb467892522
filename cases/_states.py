"""The state machine: which transition is allowed in which state, and where it leads.

    new ──dispatched──▶ dispatched ──acknowledged──▶ acknowledged ──started──▶ in_progress
                             ▲                                                    │
                             │ (reopened behaves as dispatched)                resolved
      reopened ◀──reopened── resolved ◀────────────────────────────────────────────┘
         ▲                      │ closed
         └──────reopened─────── closed

    any open state ──cancelled──▶ cancelled (duplicate or not responsible)
    any open state ──merged─────▶ merged (a duplicate; its survivor records merged_in)
    dispatched, acknowledged, in_progress, reopened ──redispatched/transferred──▶ dispatched
        (the new party acknowledges anew; see cases._policy for the SLA clock)

Records that leave the state as it is (a joined duplicate, an escalation, an action,
a rating, a note) are transitions too: they are checked here and they count in the
case's version.
"""

from __future__ import annotations

from cases._errors import IllegalTransition
from cases._model import OPEN_STATES, State, Transition

_ALL = frozenset(State)
_WORKING = frozenset({State.DISPATCHED, State.ACKNOWLEDGED, State.IN_PROGRESS, State.REOPENED})
_DONE = frozenset({State.RESOLVED, State.CLOSED})

# transition -> (states it is allowed in, state it leads to; None: unchanged)
_RULES: dict[Transition, tuple[frozenset[State], State | None]] = {
    Transition.DISPATCHED: (frozenset({State.NEW}), State.DISPATCHED),
    Transition.JOINED: (OPEN_STATES, None),
    Transition.ACKNOWLEDGED: (frozenset({State.DISPATCHED, State.REOPENED}), State.ACKNOWLEDGED),
    Transition.STARTED: (frozenset({State.ACKNOWLEDGED}), State.IN_PROGRESS),
    Transition.ACTION_RECORDED: (frozenset({State.ACKNOWLEDGED, State.IN_PROGRESS}), None),
    Transition.RESOLVED: (frozenset({State.IN_PROGRESS}), State.RESOLVED),
    Transition.REPORTER_INFORMED: (frozenset({State.RESOLVED}), None),
    Transition.RATED: (_DONE, None),
    Transition.CLOSED: (frozenset({State.RESOLVED}), State.CLOSED),
    Transition.REOPENED: (_DONE, State.REOPENED),
    Transition.CANCELLED: (OPEN_STATES, State.CANCELLED),
    Transition.ESCALATED: (_WORKING, None),
    Transition.ALARM_CLEARED: (_ALL, None),
    Transition.NOTE_ADDED: (_ALL, None),
    Transition.REDISPATCHED: (_WORKING, State.DISPATCHED),
    Transition.TRANSFERRED: (_WORKING, State.DISPATCHED),
    Transition.ASSIGNED: (_WORKING, None),
    Transition.CLAIMED: (_WORKING, None),
    Transition.PARTY_ADDED: (_WORKING, None),
    Transition.MERGED: (OPEN_STATES, State.MERGED),
    Transition.MERGED_IN: (OPEN_STATES, None),
}


def next_state(case_id: int, state: State, transition: Transition) -> State:
    """The state after `transition`; `IllegalTransition` if it is not allowed in `state`."""
    if transition is Transition.OPENED:
        raise IllegalTransition(case_id, state, "opened")  # only intake creates a case
    allowed, target = _RULES[transition]
    if state not in allowed:
        raise IllegalTransition(case_id, state, _verb(transition), transition.value)
    return state if target is None else target


def allowed_in(state: State) -> list[Transition]:
    """The transitions a case in `state` accepts (for an API to offer as buttons)."""
    return [t for t, (allowed, _) in _RULES.items() if state in allowed]


def _verb(transition: Transition) -> str:
    """The action's name in an error message: 'acknowledge', not 'acknowledged'."""
    return _VERBS.get(transition, transition.value)


_VERBS = {
    Transition.DISPATCHED: "dispatch",
    Transition.JOINED: "join a duplicate",
    Transition.ACKNOWLEDGED: "acknowledge",
    Transition.STARTED: "start",
    Transition.ACTION_RECORDED: "record an action",
    Transition.RESOLVED: "resolve",
    Transition.REPORTER_INFORMED: "inform the reporter",
    Transition.RATED: "rate",
    Transition.CLOSED: "close",
    Transition.REOPENED: "reopen",
    Transition.CANCELLED: "cancel",
    Transition.ESCALATED: "escalate",
    Transition.REDISPATCHED: "re-dispatch",
    Transition.TRANSFERRED: "transfer",
    Transition.ASSIGNED: "assign",
    Transition.CLAIMED: "claim",
    Transition.PARTY_ADDED: "add a party",
    Transition.MERGED: "merge",
    Transition.MERGED_IN: "merge into",
}
