"""The stream of transitions: the `case_events` table (durable, ordered, NOTIFY'd) and
its MQTT copy for integrations, `dayuan/v1/<compound>/cases/<case_id>/<transition>`.

The table is the stream of record: the API's live feed resumes from it by id. MQTT is
published after commit through the small `Publisher` protocol (the entry point gives
`broker.publisher`); a failed publish is logged by the publisher and never undoes a
transition.
"""

from __future__ import annotations

from typing import Any, Protocol

import orjson

from cases._model import CaseEvent
from domain import PREFIX

# LISTEN on this channel to be woken when transitions commit; the payload is the
# newest case_events id of the transaction (read the rows after your cursor).
NOTIFY_CHANNEL = "dayuan_case_events"


class Publisher(Protocol):
    def publish(self, topic: str, payload: bytes) -> None:
        """Send one message; must not raise (log instead): the transition is committed."""
        ...


class NoPublisher:
    """For processes without a broker (tests of the workflow alone, batch tools)."""

    def publish(self, topic: str, payload: bytes) -> None:
        return None


def topic_for(event: CaseEvent) -> str:
    return f"{PREFIX}/{event.compound}/cases/{event.case_id}/{event.transition.value}"


def payload_for(event: CaseEvent) -> bytes:
    return orjson.dumps(event_document(event))


def event_document(event: CaseEvent) -> dict[str, Any]:
    """The JSON form of a transition, shared by MQTT and the API's live feed."""
    return {
        "id": event.id,
        "case_id": event.case_id,
        "version": event.version,
        "compound": event.compound,
        "at": event.at.isoformat(),
        "actor": event.actor,
        "transition": event.transition.value,
        "from": None if event.from_state is None else event.from_state.value,
        "to": event.to_state.value,
        "detail": dict(event.detail),
    }
