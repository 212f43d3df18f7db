"""The reset's one rule (what a pooled cluster loses between runs), shared by both backends."""

from __future__ import annotations

from cqlsuites.reset import SYSTEM_KEYSPACES, quote, to_drop


def test_drops_what_the_baseline_does_not_name() -> None:
    keyspaces = {"system", "system_auth", "base_ks", "suite_ks", "Mixed"}
    roles = {"cassandra", "admin", "suite_role"}
    kept = {"keyspaces": ["base_ks"], "roles": ["cassandra"]}
    assert to_drop(keyspaces, roles, kept, "admin") == (["Mixed", "suite_ks"], ["suite_role"])


def test_system_keyspaces_and_the_login_survive_an_empty_baseline() -> None:
    keyspaces = set(SYSTEM_KEYSPACES) | {"suite_ks"}
    dropped, dropped_roles = to_drop(keyspaces, {"admin", "other"}, {}, "admin")
    assert dropped == ["suite_ks"]
    assert dropped_roles == ["other"]


def test_without_a_login_every_role_outside_the_baseline_goes() -> None:
    assert to_drop(set(), {"a", "b"}, {"roles": ["a"]}, None) == ([], ["b"])


def test_quoted_names_keep_case_and_escape_quotes() -> None:
    assert quote('We"ird') == '"We""ird"'
