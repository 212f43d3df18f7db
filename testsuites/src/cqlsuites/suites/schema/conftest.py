"""The suite's traffic generator, run around schema changes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
from aiocql import AsyncSession

from .traffic import Traffic


@pytest.fixture
def traffic(cql: AsyncSession, suite_params: Mapping[str, Any]) -> Traffic:
    return Traffic(cql, int(suite_params["workers"]))
