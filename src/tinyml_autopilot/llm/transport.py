"""Bounds on one HTTP exchange: a deadline for the whole request, and the server's own Retry-After.

httpx's timeout bounds each read, so a server trickling a byte a second never trips it; the
request runs in a daemon thread and the caller stops waiting at the deadline (the thread ends
with the connection, or with the process).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any

RETRY_AFTER_MAX_S = 60.0


class RequestTimeout(Exception):
    """The whole request took longer than llm_timeout."""


def call_within(fn: Callable[[], Any], timeout_s: float) -> Any:
    """fn()'s result, or RequestTimeout once `timeout_s` has passed; fn's own exceptions pass through."""
    box: dict[str, Any] = {}
    done = threading.Event()

    def target() -> None:
        try:
            box["value"] = fn()
        except BaseException as err:  # handed to the caller's thread
            box["error"] = err
        finally:
            done.set()

    threading.Thread(target=target, name="llm-request", daemon=True).start()
    if not done.wait(timeout_s):
        raise RequestTimeout(f"the request did not complete within {timeout_s:g}s (timed out)")
    if "error" in box:
        raise box["error"]
    return box["value"]


def retry_after(err: Exception) -> float | None:
    """Seconds the server asked to wait (Retry-After / retry-after-ms headers), or None."""
    headers = getattr(err, "litellm_response_headers", None)
    if headers is None:
        headers = getattr(getattr(err, "response", None), "headers", None)
    if not headers:
        return None
    try:
        millis = headers.get("retry-after-ms")
        if millis is not None:
            return max(0.0, float(millis) / 1000)
        value = headers.get("retry-after")
    except (AttributeError, TypeError, ValueError):
        return None
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:  # an HTTP date
        when = parsedate_to_datetime(str(value))
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


def remaining(deadline: float | None) -> float | None:
    """Seconds left before a time.monotonic() deadline (None: no deadline)."""
    return None if deadline is None else deadline - time.monotonic()
