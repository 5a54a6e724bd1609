"""Who is asking: the per-client bucket's key and the identity vouched for upstream."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.clients import ClientKeys

TRUSTED = ["10.9.0.0/16", "192.168.1.1"]


def scope(peer: str | None, *headers: tuple[str, str]) -> dict[str, Any]:
    return {
        "client": (peer, 5555) if peer else None,
        "headers": [(k.encode(), v.encode()) for k, v in headers],
    }


@pytest.mark.parametrize(
    ("peer", "headers", "key"),
    [
        # An untrusted peer is its address, whatever it writes.
        ("1.1.1.1", [("x-forwarded-for", "7.7.7.7")], "1.1.1.1"),
        ("1.1.1.1", [("x-authenticated-user", "alice")], "1.1.1.1"),
        # Behind a trusted proxy: the right-most hop that is not itself a trusted proxy.
        ("10.9.0.5", [("x-forwarded-for", "6.6.6.6, 2.2.2.2, 192.168.1.1")], "2.2.2.2"),
        ("10.9.0.5", [("x-forwarded-for", "192.168.1.1")], "10.9.0.5"),
        ("10.9.0.5", [], "10.9.0.5"),
        ("10.9.0.5", [("x-forwarded-for", "not-an-ip")], "not-an-ip"),
        # ...and the user a trusted proxy names, before any address.
        ("10.9.0.5", [("x-forwarded-for", "2.2.2.2"), ("x-authenticated-user", "bob")], "user:bob"),
        (None, [], ""),
    ],
)
def test_the_bucket_key(peer: str | None, headers: list[tuple[str, str]], key: str) -> None:
    assert ClientKeys(TRUSTED).key(scope(peer, *headers)) == key


def test_keys_are_bounded() -> None:
    clients = ClientKeys(TRUSTED)
    long_user = scope("10.9.0.5", ("x-authenticated-user", "u" * 1000))
    assert clients.key(long_user) == "user:" + "u" * 128
    long_hop = scope("10.9.0.5", ("x-forwarded-for", "h" * 1000))
    assert clients.key(long_hop) == "h" * 64


def test_without_trusted_proxies_every_client_is_its_address() -> None:
    clients = ClientKeys([])
    assert clients.key(scope("10.9.0.5", ("x-authenticated-user", "bob"))) == "10.9.0.5"
    assert clients.authenticated_user(scope("10.9.0.5", ("x-authenticated-user", "bob"))) is None


def test_the_authenticated_user_only_from_a_trusted_peer() -> None:
    clients = ClientKeys(TRUSTED)
    assert clients.authenticated_user(scope("10.9.0.5", ("x-authenticated-user", "bob"))) == "bob"
    assert clients.authenticated_user(scope("1.1.1.1", ("x-authenticated-user", "bob"))) is None
    assert clients.authenticated_user(scope("10.9.0.5", ("x-authenticated-user", ""))) is None
    assert clients.authenticated_user(scope(None, ("x-authenticated-user", "bob"))) is None


def test_an_unparsable_peer_is_not_trusted() -> None:
    assert not ClientKeys(TRUSTED).is_trusted("unix-socket")
