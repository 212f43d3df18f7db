"""Per-call driver options, and how a call's keywords become them.

Every request hands the driver the same six options (timeout, execution profile, host, trace,
custom payload). Building an object for each call would cost an allocation per request on the
hot path, so a call that uses the session's defaults shares one :class:`CallOptions`, and
:func:`call_options` is the one place that decides when a fresh one is needed.
"""

from __future__ import annotations

from typing import Any

from cassandra.cluster import EXEC_PROFILE_DEFAULT

__all__ = ["CallOptions", "call_options"]


class CallOptions:
    """Per-call driver options, shared (not copied) when a call uses the defaults."""

    __slots__ = ("custom_payload", "execution_profile", "host", "timeout", "trace")

    def __init__(
        self,
        timeout: float,
        execution_profile: Any = EXEC_PROFILE_DEFAULT,
        host: Any = None,
        trace: bool = False,
        custom_payload: dict[str, bytes] | None = None,
    ) -> None:
        if not timeout > 0:
            raise ValueError(f"timeout={timeout!r}: must be a number of seconds > 0")
        self.timeout = float(timeout)
        self.execution_profile = execution_profile
        self.host = host
        self.trace = trace
        self.custom_payload = custom_payload

    def with_timeout(self, timeout: float) -> CallOptions:
        return CallOptions(
            timeout, self.execution_profile, self.host, self.trace, self.custom_payload
        )


def call_options(
    default: CallOptions,
    timeout: float | None,
    execution_profile: Any,
    host: Any,
    trace: bool,
    custom_payload: dict[str, bytes] | None,
) -> CallOptions:
    """The options of one call: ``default`` itself when the call changes nothing, else a new
    object whose unset timeout is the default's."""
    if (
        execution_profile is EXEC_PROFILE_DEFAULT
        and host is None
        and not trace
        and custom_payload is None
    ):
        if timeout is None:
            return default
        return CallOptions(timeout)
    return CallOptions(
        default.timeout if timeout is None else timeout,
        execution_profile,
        host,
        trace,
        custom_payload,
    )
