"""Config objects: defaults written once, validation naming the field, the old keyword arguments
as aliases, and what AsyncCluster builds from them (no server needed: nothing connects)."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable

import pytest
from aiocql import (
    AsyncCluster,
    AsyncSession,
    IdempotentRetryPolicy,
    Limits,
    Rate,
    RateLimiter,
    Retry,
    Settings,
    Timeouts,
    cached_named_tuple_factory,
)
from aiocql.config import resolve
from cassandra.cluster import EXEC_PROFILE_DEFAULT, ExecutionProfile
from cassandra.policies import FallthroughRetryPolicy
from cassandra.query import dict_factory
from fakes import FakeDriverSession

Make = Callable[..., tuple[AsyncSession, FakeDriverSession]]


def test_config_objects_are_immutable_and_validate_naming_the_field() -> None:
    timeouts = Timeouts(request=2)
    with pytest.raises(dataclasses.FrozenInstanceError):
        timeouts.request = 3  # type: ignore[misc]
    bad = [
        (lambda: Timeouts(request=0), "Timeouts.request=0: must be a number > 0"),
        (lambda: Timeouts(grace=-1), "Timeouts.grace=-1: must be a number >= 0"),
        (lambda: Timeouts(connect="5"), "Timeouts.connect='5': must be a number > 0"),
        (lambda: Limits(max_in_flight=0), "Limits.max_in_flight=0: must be an integer >= 1"),
        (lambda: Limits(executor_threads=1.5), "Limits.executor_threads=1.5: must be an"),
        (lambda: Retry(max_retries=-1), "Retry.max_retries=-1: must be an integer >= 0"),
        (lambda: Rate(per_second=0), "Rate.per_second=0: must be a number > 0"),
        (lambda: Rate(per_second=10, burst=True), "Rate.burst=True: must be an integer >= 1"),
    ]
    for build, message in bad:
        with pytest.raises(ValueError, match=f"^{re.escape(message)}"):
            build()


def test_old_keyword_arguments_are_aliases_of_the_config_fields() -> None:
    settings = resolve(default_timeout=3, grace=0.25, max_in_flight=8, executor_threads=2)
    assert settings.timeouts == Timeouts(request=3, grace=0.25)
    assert settings.limits == Limits(max_in_flight=8, executor_threads=2)
    limiter = RateLimiter(10)
    assert resolve(rate_limiter=limiter).rate_limiter is limiter
    built = resolve(rate=Rate(per_second=20, burst=4)).rate_limiter
    assert built is not None
    assert (built.rate, built.burst) == (20, 4)
    # an inherited base keeps what the call does not say
    base = Settings(Timeouts(request=4), Limits(max_in_flight=16), limiter)
    derived = resolve(base=base, max_in_flight=2)
    assert derived == Settings(Timeouts(request=4), Limits(max_in_flight=2), limiter)


def test_a_setting_given_twice_or_unknown_is_refused() -> None:
    with pytest.raises(ValueError, match="default_timeout=3: give timeouts= or default_timeout="):
        resolve(Timeouts(), default_timeout=3)
    with pytest.raises(ValueError, match="give rate= or rate_limiter="):
        resolve(rate=Rate(5), rate_limiter=RateLimiter(5))
    with pytest.raises(ValueError, match="max_in_flight=0: must be an integer >= 1"):
        resolve(max_in_flight=0)
    with pytest.raises(TypeError, match=r"rate=5: must be an aiocql\.Rate"):
        resolve(rate=5)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="max_inflight=: not an aiocql setting"):
        resolve(max_inflight=3)


async def test_cluster_default_profile_comes_from_the_config() -> None:
    cluster = AsyncCluster(["127.0.0.1"], timeouts=Timeouts(request=7), retry=Retry(3))
    try:
        profile = cluster.driver_cluster.profile_manager.profiles[EXEC_PROFILE_DEFAULT]
        assert profile.request_timeout == 7
        assert isinstance(profile.retry_policy, IdempotentRetryPolicy)
        assert profile.retry_policy.max_retries == 3
        assert profile.row_factory is cached_named_tuple_factory
        assert cluster.settings.limits == Limits()
    finally:
        await cluster.close()

    # the driver's own factories and policies stay selectable
    cluster = AsyncCluster(
        ["127.0.0.1"], row_factory=dict_factory, retry_policy=FallthroughRetryPolicy()
    )
    try:
        profile = cluster.driver_cluster.profile_manager.profiles[EXEC_PROFILE_DEFAULT]
        assert profile.row_factory is dict_factory
        assert isinstance(profile.retry_policy, FallthroughRetryPolicy)
    finally:
        await cluster.close()


def test_cluster_refuses_settings_that_contradict_each_other() -> None:
    with pytest.raises(ValueError, match="give retry=Retry"):
        AsyncCluster(["127.0.0.1"], retry=Retry(), retry_policy=FallthroughRetryPolicy())
    with pytest.raises(ValueError, match="execution_profiles or row_factory"):
        AsyncCluster(
            ["127.0.0.1"],
            execution_profiles={EXEC_PROFILE_DEFAULT: ExecutionProfile()},
            row_factory=dict_factory,
        )
    with pytest.raises(ValueError, match="connect_timeout=0: must be a number > 0"):
        AsyncCluster(["127.0.0.1"], connect_timeout=0)


async def test_session_takes_its_settings_from_config_or_aliases(make_session: Make) -> None:
    session, _ = make_session(
        timeouts=Timeouts(request=2, grace=0.1), limits=Limits(max_in_flight=5)
    )
    assert session.default_timeout == 2
    assert session.settings.limits.max_in_flight == 5
    assert session.settings.timeouts.close == Timeouts().close
    await session.close()
