"""One Stop button per visitor: long streamed work (Gatys, the deep image prior) checks an event
that only the same browser session can set."""

from __future__ import annotations

import threading

import gradio as gr


def session_key(request: gr.Request | None) -> str:
    return request.session_hash if request is not None else "local"


class SessionStops:
    """The running job's stop event per session. A new job stops the session's old one, so a
    second click on Run does not wait behind the first."""

    def __init__(self) -> None:
        self._events: dict[str, threading.Event] = {}
        self._lock = threading.Lock()

    def begin(self, request: gr.Request | None) -> threading.Event:
        event = threading.Event()
        with self._lock:
            old = self._events.get(session_key(request))
            if old is not None:
                old.set()
            self._events[session_key(request)] = event
        return event

    def end(self, request: gr.Request | None, event: threading.Event) -> None:
        with self._lock:
            if self._events.get(session_key(request)) is event:
                del self._events[session_key(request)]

    def stop(self, request: gr.Request | None = None) -> str:
        """Ask this visitor's job to end after its current step."""
        with self._lock:
            event = self._events.get(session_key(request))
        if event is None:
            return "Nothing is running."
        event.set()
        return "Stopping…"

    def stop_quietly(self, request: gr.Request | None = None) -> None:
        """`stop` for a Run button's first event: the new job follows, so nothing to say."""
        self.stop(request)
