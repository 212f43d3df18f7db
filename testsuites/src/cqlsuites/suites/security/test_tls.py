"""With client TLS on (the run gives a CA), only a connection that verifies it gets through."""

from __future__ import annotations

import ssl

import pytest
from cassandra.cluster import NoHostAvailable

from cqlsuites.env import SuiteEnv

from .conftest import auth_failure, login


@pytest.fixture
def tls_ca(suite_env: SuiteEnv) -> str:
    if suite_env.tls_ca is None:
        pytest.skip("client TLS is off for this run (no CQLTEST_TLS_CA): nothing to refuse")
    return str(suite_env.tls_ca)


async def test_plain_connection_is_refused(
    suite_env: SuiteEnv, credentials: tuple[str, str], tls_ca: str
) -> None:
    with pytest.raises(NoHostAvailable) as caught:
        async with login(suite_env, *credentials, ssl_context=None):
            pass
    assert auth_failure(caught.value) is None, (
        f"a plain connection got as far as authentication: {caught.value!r}"
    )


async def test_ca_verified_connection_works(
    suite_env: SuiteEnv, credentials: tuple[str, str], tls_ca: str
) -> None:
    context = ssl.create_default_context(cafile=tls_ca)
    context.check_hostname = False  # node certificates name the node, not the address dialled
    assert context.verify_mode == ssl.CERT_REQUIRED
    async with login(suite_env, *credentials, ssl_context=context) as session:
        clients = (
            await session.execute("SELECT username, ssl_enabled FROM system_views.clients")
        ).all()
        ours = [c for c in clients if c.username == credentials[0]]
        assert ours, f"the node lists no connection of {credentials[0]}: {clients}"
        assert all(c.ssl_enabled for c in ours), f"a connection of ours is not TLS: {ours}"


async def test_untrusted_certificate_is_refused(
    suite_env: SuiteEnv, credentials: tuple[str, str], tls_ca: str
) -> None:
    context = ssl.create_default_context()  # the system's CAs: they never signed the node
    context.check_hostname = False
    with pytest.raises(NoHostAvailable) as caught:
        async with login(suite_env, *credentials, ssl_context=context):
            pass
    assert "certificate" in str(caught.value).lower() or "ssl" in str(caught.value).lower(), (
        f"refused, but not for the certificate: {caught.value!r}"
    )
