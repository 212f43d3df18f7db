"""Each data model on its own, briefly: its rows round-trip and it has the shape it claims."""

from __future__ import annotations

import random

import pytest
from aiocql import AsyncSession

from cqlsuites.suites.load.workload import PROFILES, SERIES_TTL, WIDE_ROWS, Workload, prepare

ROWS = 300


@pytest.fixture(params=sorted(PROFILES))
def profile_workload(request: pytest.FixtureRequest, workload: Workload) -> Workload:
    # few partitions, so reads of written keys are likely and wide partitions really grow
    return Workload(
        profile=PROFILES[request.param],
        duration=0,
        consistency=workload.consistency,
        row_size=workload.row_size,
        partitions=3,
    )


async def test_profile_rows_round_trip(cql: AsyncSession, profile_workload: Workload) -> None:
    write, read = await prepare(cql, profile_workload)
    profile, rng = profile_workload.profile, random.Random(7)
    rows = [profile.write_args(rng, 3, profile_workload.row_size) for _ in range(ROWS)]
    await cql.execute_concurrent([(write, args) for args in rows], concurrency=16)
    checked = 0
    for args in sorted({profile.partition_read(written) for written in rows}):
        found = list((await cql.execute(read, args)).rows)
        assert found, f"{profile.name}: nothing read back from partition {args}"
        wrong = profile.check(args, found, profile_workload.row_size)
        assert not wrong, wrong
        checked += len(found)
    assert checked >= 3


async def test_profile_has_its_shape(cql: AsyncSession, profile_workload: Workload) -> None:
    write, _ = await prepare(cql, profile_workload)
    profile, rng = profile_workload.profile, random.Random(11)
    rows = [profile.write_args(rng, 3, profile_workload.row_size) for _ in range(ROWS)]
    await cql.execute_concurrent([(write, args) for args in rows], concurrency=16)
    key = "k" if profile.name == "kv" else "p"
    count = (
        await cql.execute(
            f"SELECT COUNT(*) AS n FROM {profile.table} WHERE {key} = 0 ALLOW FILTERING"
        )
    ).one()
    assert count is not None
    if profile.name == "kv":
        assert count.n == 1, f"kv: {count.n} rows under one key"
    elif profile.name == "wide-row":
        assert count.n > WIDE_ROWS // 2, f"wide-row: partition 0 holds only {count.n} rows"
    else:
        ttl = (await cql.execute(f"SELECT TTL(v) AS t FROM {profile.table} LIMIT 1")).one()
        assert ttl is not None
        assert 0 < ttl.t <= SERIES_TTL, f"time-series rows carry TTL {ttl.t}, not {SERIES_TTL}"
        assert count.n > 1, "time-series: one sensor's partition holds a single row"
