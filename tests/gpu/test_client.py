"""The vast.ai client against the fake: retries, backoff honouring Retry-After, no blind create
retry, pagination, error lines with vast.ai's code and message.

Waits are not slept: the autouse ``retry_waits`` fixture (``shifty_ent.core.retry.testing``)
records each wait the policy chose."""

from __future__ import annotations

import pytest

from shifty_ent.core.errors import ExternalServiceError, InvalidInput, Refused
from shifty_ent.gpu.vastai import (
    BACKOFF,
    MAX_RETRY_AFTER,
    AmbiguousCreate,
    OfferGone,
    VastClient,
)
from tests.fakes.vastai import API_KEY, FakeVast


@pytest.fixture
def fake():
    with FakeVast() as f:
        yield f


def _client(fake: FakeVast, key: str = API_KEY) -> VastClient:
    return VastClient(fake.url, key, timeout=5, max_retries=3)


def test_backoff_honours_retry_after_and_jitters(fake, retry_waits):
    fake.fail_next("GET", r"^/api/v0/users/current/", "429", retry_after="7")
    fake.fail_next("GET", r"^/api/v0/users/current/", "503")
    fake.fail_next("GET", r"^/api/v0/users/current/", "500")
    user = _client(fake).current_user()
    assert "credit" in user and "api_key" not in user
    assert len(retry_waits) == 3
    assert retry_waits[0] >= 7  # Retry-After is a floor
    assert 0 <= retry_waits[1] <= BACKOFF * 2 and 0 <= retry_waits[2] <= BACKOFF * 4  # jittered


def test_retry_after_as_http_date_is_honoured(fake, retry_waits):
    """RFC 9110 lets ``Retry-After`` be an HTTP-date; a 429 and a 503 sending one are waited out
    (measured against the answer's own ``Date``), not retried at once."""
    fake.fail_next("GET", r"^/api/v0/users/current/", "429", retry_in=9)
    fake.fail_next("GET", r"^/api/v0/users/current/", "503", retry_in=5)
    assert "credit" in _client(fake).current_user()
    assert len(retry_waits) == 2
    assert 8 <= retry_waits[0] <= 9 and 4 <= retry_waits[1] <= 5  # whole seconds on the wire


def test_retry_after_beyond_the_cap_fails_at_once(fake, retry_waits):
    fake.fail_next("GET", r"^/api/v0/users/current/", "429", retry_in=MAX_RETRY_AFTER + 30)
    with pytest.raises(ExternalServiceError) as exc:
        _client(fake).current_user()
    assert "HTTP 429" in exc.value.message
    assert retry_waits == [] and fake.method_count("GET", "/api/v0/users/current/") == 1


def test_gives_up_after_retries_with_one_line(fake):
    fake.fail_next("GET", r"^/api/v1/instances/", "500", times=10)
    with pytest.raises(ExternalServiceError) as exc:
        _client(fake).list_instances()
    assert exc.value.exit_code == 6
    assert "HTTP 500" in exc.value.message and "\n" not in exc.value.message
    assert fake.method_count("GET", "/api/v1/instances/") == 4


def test_search_quota_is_not_retried(fake):
    from tests.fakes.server import Response

    original = fake.handle
    calls = []

    def quota(req):
        if req.path == "/api/v0/bundles/":
            calls.append(1)
            return Response(
                429,
                {
                    "success": False,
                    "error": "search_quota_exceeded",
                    "msg": "daily search quota exceeded",
                },
                headers={"X-RateLimit-Reset": "1999999999"},
            )
        return original(req)

    fake.server.handler = quota
    with pytest.raises(ExternalServiceError) as exc:
        _client(fake).search_offers({})
    assert len(calls) == 1
    assert "search_quota_exceeded" in exc.value.message


def test_create_is_never_blindly_retried(fake):
    fake.add_offer(5)
    fake.fail_next("PUT", r"^/api/v0/asks/", "502")
    with pytest.raises(AmbiguousCreate):
        _client(fake).create_instance(5, {"image": "x", "label": "l"})
    assert fake.method_count("PUT", "/api/v0/asks/") == 1
    fake.fail_next("PUT", r"^/api/v0/asks/", "drop_after")
    with pytest.raises(AmbiguousCreate):
        _client(fake).create_instance(5, {"image": "x", "label": "l2"})
    assert len(fake.rents) == 1  # the dropped one did rent


def test_create_not_retried_after_an_ambiguous_failure_even_when_told_to_wait(fake, retry_waits):
    """A 503 with ``Retry-After`` on a create may have rented a machine: no second PUT, however
    politely the server asks for one; the caller looks the instance up by label instead."""
    fake.add_offer(5)
    fake.fail_next("PUT", r"^/api/v0/asks/", "503", retry_in=2)
    with pytest.raises(AmbiguousCreate):
        _client(fake).create_instance(5, {"image": "x", "label": "l"})
    assert fake.method_count("PUT", "/api/v0/asks/") == 1 and retry_waits == []


def test_create_is_retried_when_never_connected(retry_waits):
    """Nothing listens: the PUT never left, so trying again cannot rent twice."""
    with pytest.raises(ExternalServiceError) as exc:
        VastClient("http://127.0.0.1:9", API_KEY, max_retries=2).create_instance(5, {"image": "x"})
    assert "cannot connect" in exc.value.message and not isinstance(exc.value, AmbiguousCreate)
    assert len(retry_waits) == 2


def test_create_429_is_retried_since_not_processed(fake):
    fake.add_offer(5)
    fake.fail_next("PUT", r"^/api/v0/asks/", "429", retry_after="0")
    result = _client(fake).create_instance(5, {"image": "x", "label": "l"})
    assert result.instance_id == fake.rents[0]["instance_id"] and result.success


def test_taken_offer_and_error_fields(fake):
    with pytest.raises(OfferGone) as exc:
        _client(fake).create_instance(99, {"image": "x"})
    assert "HTTP 404 no_such_ask: No ask by id 99 is available." in exc.value.message


def test_pagination_walks_every_page(fake):
    for i in range(60):
        fake.add_foreign_instance(label=f"l{i}")
    c = _client(fake)
    items = c.list_instances()
    assert len(items) == 60 and len({i.id for i in items}) == 60
    assert fake.method_count("GET", "/api/v1/instances/") == 3  # 25 + 25 + 10
    assert c.find_by_label("l7")[0].label == "l7"


def test_gone_instance_is_none_and_destroy_404_is_false(fake):
    c = _client(fake)
    assert c.get_instance(123) is None
    assert c.destroy_instance(123) is False


def test_bad_key_is_one_line_without_the_key(fake):
    wrong = "totally-secret-wrong-key-123"
    with pytest.raises(ExternalServiceError) as exc:
        _client(fake, key=wrong).list_instances()
    assert "401 auth_error: Invalid user key" in exc.value.message
    assert wrong not in exc.value.message


def test_missing_key_is_invalid_input(fake):
    with pytest.raises(InvalidInput):
        VastClient(fake.url, None).list_instances()


def test_billing_refusal_maps_to_refused(fake):
    from tests.fakes.server import Response

    fake.server.handler = lambda req: Response(
        400,
        {
            "success": False,
            "error": "missing_billing",
            "msg": "You lack credit, see the billing page.",
        },
    )
    with pytest.raises(Refused):
        _client(fake).create_instance(1, {"image": "x"})


def test_unknown_fields_tolerated_and_typed(fake):
    fake.add_offer(5, dph_base=0.4333, storage_cost=0.2, brand_new_field=[1, 2])
    c = _client(fake)
    offers = c.search_offers({"allocated_storage": 20})
    assert offers[0].dph_base is not None and str(offers[0].dph_base) == "0.4333"
    iid = c.create_instance(
        5, {"image": "x", "label": "t", "env": {"-p 8000:8000": "1"}}
    ).instance_id
    inst = c.get_instance(iid)
    assert inst is not None and inst.actual_status == "loading"
    assert inst.raw["future_field"] == {"tolerate": "me"}


def test_fake_is_strict_like_vast(fake):
    import httpx

    with httpx.Client(base_url=fake.url) as http:
        assert http.get("/api/v1/instances/").status_code == 401  # no bearer
        assert http.post("/api/v0/bundles/", json={}).status_code == 200  # search is public
        assert (
            http.get(
                "/api/v1/instances", headers={"Authorization": f"Bearer {API_KEY}"}
            ).status_code
            == 301
        )  # slashless path: a redirect httpx does not follow
        form = http.put(
            "/api/v0/asks/1/",
            content=b"image=x",
            headers={
                "Authorization": f"Bearer {API_KEY}",
                "Content-Type": "application/x-www-form-urlencoded",
            },
        )
        assert form.status_code == 400
        bad_filter = http.get(
            "/api/v1/instances/",
            params={"select_filters": '{"dph_total": {"lt": 1}}'},
            headers={"Authorization": f"Bearer {API_KEY}"},
        )
        assert bad_filter.status_code == 400 and bad_filter.json()["error"] == "invalid_request"
        token = http.get(
            "/api/v1/instances/",
            params={"after_token": "garbage!"},
            headers={"Authorization": f"Bearer {API_KEY}"},
        )
        assert token.status_code == 400 and token.json()["error"] == "invalid_token"
