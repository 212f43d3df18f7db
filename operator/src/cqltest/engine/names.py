"""Deterministic names for the children of a run, so re-deciding never duplicates work.

A backend that restarts (or decides twice) computes the same name for the same attempt and
finds the child it already created instead of creating another.
"""

from __future__ import annotations

import hashlib
import re

MAX_NAME = 63
_INVALID = re.compile(r"[^a-z0-9-]+")


def child_name(run: str, suite: str, attempt: int) -> str:
    """``<run>-<suite>-a<attempt>``, a DNS-1123 label; long names keep a hash of the full one."""
    suffix = f"-a{attempt}"
    base = _INVALID.sub("-", f"{run}-{suite}".lower()).strip("-") or "run"
    if len(base) + len(suffix) <= MAX_NAME:
        return base + suffix
    digest = hashlib.sha256(f"{run}/{suite}".encode()).hexdigest()[:8]
    keep = MAX_NAME - len(suffix) - len(digest) - 1
    return f"{base[:keep].rstrip('-')}-{digest}{suffix}"
