"""The raw /api/ proxy over a fake upstream: what is forwarded, the identity it vouches
for, the answers it learns from, and the 503/400/413 it gives instead of forwarding."""

from __future__ import annotations

import pytest
from starlette.types import Message

from gateway.ports import UpstreamDown, UpstreamReply
from gateway.proxy import Dispatch
from tests.unit.gateway.fakes import CountingApp, FakeUpstream, api_proxy, asgi_call, tally

ORDERS = "/api/sales/s1/orders"


async def through_proxy(
    trusted: list[str], peer: str, user: str
) -> tuple[dict[str, str], str | None]:
    upstream = FakeUpstream()
    await asgi_call(
        api_proxy(upstream, trusted),
        peer=peer,
        body=b"{}",
        x_authenticated_user=user,
        idempotency_key="k",
    )
    [(_, _, _, headers, forwarded_user)] = upstream.sent
    return headers, forwarded_user


async def test_the_identity_is_vouched_for_only_when_a_trusted_proxy_set_it() -> None:
    headers, user = await through_proxy(["10.9.0.0/16"], "10.9.0.5", "alice")
    assert user == "alice" and headers == {"idempotency-key": "k"}
    # Anyone else's header is dropped: never forwarded, whatever it says.
    for trusted in (["10.9.0.0/16"], []):
        headers, user = await through_proxy(trusted, "1.1.1.1", "alice")
        assert user is None and "x-authenticated-user" not in headers


async def test_the_request_and_the_reply_pass_through() -> None:
    reply = UpstreamReply(404, b'{"error":"x"}', {"content-type": "application/json"})
    upstream = FakeUpstream(reply)
    status, headers, body = await asgi_call(
        api_proxy(upstream),
        method="GET",
        path="/api/orders/o%2F1",
        query=b"a=1",
        content_type="application/json",
        user_agent="curl",
    )
    assert upstream.sent == [
        ("GET", "/api/orders/o%2F1?a=1", b"", {"content-type": "application/json"}, None)
    ]
    assert (status, body) == (404, b'{"error":"x"}')
    assert headers == {b"content-length": b"13", b"content-type": b"application/json"}


async def test_answers_teach_the_edge_about_stock() -> None:
    upstream = FakeUpstream(UpstreamReply(409, b'{"error":"sold_out"}', {}))
    api = api_proxy(upstream)
    assert (await asgi_call(api))[0] == 409
    assert api.admission.sold_out.is_sold_out("s1")
    upstream.reply = UpstreamReply(202, b"{}", {})
    await asgi_call(api)
    assert not api.admission.sold_out.is_sold_out("s1")


@pytest.mark.parametrize(
    ("error", "status"),
    [(UpstreamDown("refused"), 503), (ValueError("bad path"), 400), (KeyError("bug"), 503)],
)
async def test_what_goes_wrong_upstream_is_a_fixed_answer(error: Exception, status: int) -> None:
    answer_status, headers, _ = await asgi_call(api_proxy(FakeUpstream(error=error)))
    assert answer_status == status
    if status == 503:
        assert headers[b"retry-after"] == b"2"


async def test_a_body_over_the_limit_is_413_and_not_forwarded() -> None:
    upstream = FakeUpstream()
    assert (await asgi_call(api_proxy(upstream), body=b"x" * 4097))[0] == 413
    assert upstream.sent == []


async def test_dispatch_sends_api_to_the_proxy_and_the_rest_to_the_app() -> None:
    api, pages = CountingApp(), CountingApp()
    dispatch = Dispatch(api, pages)
    await asgi_call(dispatch, path=ORDERS)
    await asgi_call(dispatch, method="GET", path="/waiting-room")

    async def no_messages() -> Message:
        return {"type": "lifespan.startup"}

    async def ignore(message: Message) -> None:
        pass

    await dispatch({"type": "lifespan"}, no_messages, ignore)  # no path: to the app
    assert (api.calls, pages.calls) == (1, 2)


async def test_each_outcome_is_counted_once() -> None:
    api = api_proxy(FakeUpstream(UpstreamReply(409, b'{"error":"sold_out"}', {})))
    await asgi_call(api)  # any answer of the order service is forwarded
    await asgi_call(api, body=b"x" * 4097)
    assert tally(api.outcomes) == {"forwarded": 1, "too_large": 1}
    down = api_proxy(FakeUpstream(error=UpstreamDown("refused")))
    await asgi_call(down)
    assert tally(down.outcomes) == {"upstream_error": 1}
