"""Field types shared by the TestRun spec, its status and the suite result.

They exist so every model speaks the same dialect: camelCase on the wire (Kubernetes style)
and snake_case in Python, unknown fields rejected, durations written the way people write them
(``90s``, ``15m``, ``1h30m``) and names that are valid wherever Kubernetes would put them.
The JSON-schema hints (patterns, lengths) are what the generated CRD enforces at admission.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    WithJsonSchema,
)
from pydantic.alias_generators import to_camel

DURATION_PATTERN = r"^(([0-9]+h)([0-9]+m)?([0-9]+s)?|([0-9]+m)([0-9]+s)?|([0-9]+s))$"
DURATION_RULE = "a duration such as 90s, 15m, 2h or 1h30m (hours, minutes, seconds, in that order)"
_DURATION_RE = re.compile(DURATION_PATTERN)
_DURATION_PART_RE = re.compile(r"([0-9]+)([hms])")
_UNIT_SECONDS = {"h": 3600, "m": 60, "s": 1}

DNS_LABEL_PATTERN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
DNS_LABEL_RULE = (
    "a DNS-1123 label: lower-case letters, digits and '-', starting and ending with a letter "
    "or digit, at most 63 characters"
)
_DNS_LABEL_RE = re.compile(DNS_LABEL_PATTERN)


class CamelModel(BaseModel):
    """Base of every manifest model: camelCase aliases, unknown fields are errors."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        frozen=True,
    )


def parse_duration(value: Any) -> timedelta:
    """Parse ``90s``, ``15m``, ``2h`` or combinations such as ``1h30m``; timedeltas pass through."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, str) and _DURATION_RE.fullmatch(value):
        return timedelta(
            seconds=sum(int(n) * _UNIT_SECONDS[u] for n, u in _DURATION_PART_RE.findall(value))
        )
    raise ValueError(f"{value!r} is not {DURATION_RULE}")


def format_duration(value: timedelta) -> str:
    """The canonical text of a duration: ``1h30m``, ``90s`` stays ``1m30s``, zero is ``0s``."""
    seconds = round(value.total_seconds())
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    text = "".join(f"{n}{u}" for n, u in ((hours, "h"), (minutes, "m"), (secs, "s")) if n)
    return text or "0s"


def _check_dns_label(value: str) -> str:
    if len(value) > 63 or not _DNS_LABEL_RE.fullmatch(value):
        raise ValueError(f"{value!r} is not {DNS_LABEL_RULE}")
    return value


Duration = Annotated[
    timedelta,
    BeforeValidator(parse_duration),
    PlainSerializer(format_duration, return_type=str),
    WithJsonSchema({"type": "string", "pattern": DURATION_PATTERN, "maxLength": 32}),
]
"""A non-negative duration written as text (``90s``, ``15m``, ``2h``, ``1h30m``)."""

DnsLabel = Annotated[
    str,
    AfterValidator(_check_dns_label),
    WithJsonSchema({"type": "string", "pattern": DNS_LABEL_PATTERN, "maxLength": 63}),
]
"""A name that can appear in Kubernetes object names, labels and keyspace-derived names."""

NonNegativeFloat = Annotated[float, Field(ge=0)]
