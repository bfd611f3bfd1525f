"""A small vast.ai REST client over httpx (no vastai SDK), for the endpoints listed in docs/gpu.md.

- Canonical paths with trailing slashes; ``Authorization: Bearer <key>`` (never ``?api_key=``);
  JSON bodies with ``Content-Type: application/json``; a timeout on every call.
- Reads, searches and destroys are retried under the one policy of :mod:`shifty_ent.core.retry`
  (connection errors, timeouts, 408, 429, 5xx; exponential backoff with full jitter, at least
  ``Retry-After`` in either form). A daily ``search_quota_exceeded`` is not retried.
- A create (``PUT /api/v0/asks/{id}/``) is never retried blindly: only when the request provably
  was not processed (connection refused, 429). Any other failure (timeout, lost answer, 408, 5xx)
  raises :class:`AmbiguousCreate` so the caller looks for the instance by label before renting
  again.
- The API key never appears in a message: every error text goes through :meth:`VastClient.scrub`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import httpx

from shifty_ent.core import retry
from shifty_ent.core.errors import ExternalServiceError, InvalidInput, Refused
from shifty_ent.core.storable import escape_unstorable

USER_AGENT = "shifty-ent"
LIST_PAGE_LIMIT = 25  # the v1 list's maximum
CHARGES_PAGE_LIMIT = 500  # the charges endpoint's maximum
BACKOFF = 0.5  # seconds: the first retry waits up to this, each later one up to twice as long
MAX_RETRY_AFTER = 60.0  # a longer wait than this fails instead of blocking a command


class VastError(ExternalServiceError):
    """vast.ai answered with an error (exit 6), carrying its status and error code."""

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None):
        super().__init__(message)
        self.status = status
        self.code = code


class VastRefused(Refused):
    """vast.ai refused for a reason retrying cannot fix (billing, permission): exit 4."""

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None):
        super().__init__(message)
        self.status = status
        self.code = code


class OfferGone(VastError):
    """The offer was taken or cannot start now (404/410 ``no_such_ask``)."""


class AmbiguousCreate(VastError):
    """The create request may or may not have rented a machine (lost response, timeout, 5xx)."""


def _dec(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except ArithmeticError:
        return None


@dataclass
class Offer:
    """One rentable machine from ``POST /api/v0/bundles/``; unknown fields kept in ``raw``."""

    id: int
    gpu_name: str | None
    num_gpus: int
    gpu_ram: float | None
    dph_base: Decimal | None
    dph_total: Decimal | None
    storage_cost: Decimal | None  # $/GB/month
    geolocation: str | None
    disk_space: float | None
    reliability: float | None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> Offer:
        return cls(
            id=int(data["id"]),
            gpu_name=data.get("gpu_name"),
            num_gpus=int(data.get("num_gpus") or 0),
            gpu_ram=data.get("gpu_ram"),
            dph_base=_dec(data.get("dph_base")),
            dph_total=_dec(data.get("dph_total")),
            storage_cost=_dec(data.get("storage_cost")),
            geolocation=data.get("geolocation"),
            disk_space=data.get("disk_space"),
            reliability=data.get("reliability2", data.get("reliability")),
            raw=data,
        )

    def storage_per_hour(self, disk_gb: int) -> Decimal:
        """vast.ai: storage_cost $/GB/month x disk GB / 720 hours."""
        return (self.storage_cost or Decimal(0)) * Decimal(disk_gb) / Decimal(720)

    def total_per_hour(self, disk_gb: int) -> Decimal:
        """GPU price plus the storage share for ``disk_gb`` (what ``--max-price`` caps)."""
        if self.dph_base is None:
            return self.dph_total or Decimal(0)
        return self.dph_base + self.storage_per_hour(disk_gb)

    def public(self, disk_gb: int = 0) -> dict[str, Any]:
        micro = Decimal("0.000001")
        return {
            "offer_id": self.id,
            "gpu_name": self.gpu_name,
            "num_gpus": self.num_gpus,
            "gpu_ram_mb": self.gpu_ram,
            "gpu_price_per_hour": self.dph_base,
            "storage_price_per_hour": self.storage_per_hour(disk_gb).quantize(micro),
            "price_per_hour": self.total_per_hour(disk_gb).quantize(micro),
            "geolocation": self.geolocation,
            "disk_space_gb": self.disk_space,
            "reliability": self.reliability,
        }


@dataclass
class ProviderInstance:
    """An instance as vast.ai reports it (``GET /api/v0/instances/{id}/`` or the v1 list)."""

    id: int
    label: str | None
    actual_status: str | None
    intended_status: str | None
    cur_state: str | None
    status_msg: str | None
    gpu_name: str | None
    num_gpus: int | None
    gpu_util: float | None
    dph_base: Decimal | None
    dph_total: Decimal | None
    storage_total_cost: Decimal | None
    public_ipaddr: str | None
    ports: dict[str, Any] | None
    geolocation: str | None
    disk_space: float | None
    start_date: float | None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> ProviderInstance:
        util = data.get("gpu_util")
        return cls(
            id=int(data["id"]),
            label=data.get("label"),
            actual_status=data.get("actual_status"),
            intended_status=data.get("intended_status"),
            cur_state=data.get("cur_state"),
            status_msg=(data.get("status_msg") or None),
            gpu_name=data.get("gpu_name"),
            num_gpus=data.get("num_gpus"),
            gpu_util=float(util) if isinstance(util, int | float) else None,
            dph_base=_dec(data.get("dph_base")),
            dph_total=_dec(data.get("dph_total")),
            storage_total_cost=_dec(data.get("storage_total_cost")),
            public_ipaddr=(data.get("public_ipaddr") or "").strip() or None,
            ports=data.get("ports") if isinstance(data.get("ports"), dict) else None,
            geolocation=data.get("geolocation"),
            disk_space=data.get("disk_space"),
            start_date=data.get("start_date"),
            raw=data,
        )

    def host_port(self, container_port: int) -> str | None:
        """The public port mapped to ``container_port`` (``HostPort`` is a string)."""
        if not self.ports:
            return None
        for key in (f"{container_port}/tcp", str(container_port)):
            entries = self.ports.get(key)
            if isinstance(entries, list) and entries and isinstance(entries[0], dict):
                port = entries[0].get("HostPort")
                if port:
                    return str(port)
        return None


@dataclass
class CreateResult:
    instance_id: int | None
    success: bool
    message: str | None = None


def _env_float(name: str, default: float) -> float:
    try:
        return float(os.environ.get(name, "") or default)
    except ValueError:
        return default


class VastClient:
    """One client per command; construct with :func:`client_from_settings`."""

    def __init__(
        self,
        base_url: str,
        api_key: str | None,
        *,
        timeout: float | None = None,
        max_retries: int | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._key = api_key or ""
        self.timeout = timeout if timeout is not None else _env_float("VASTAI_TIMEOUT", 30.0)
        self.max_retries = int(
            max_retries if max_retries is not None else _env_float("VASTAI_MAX_RETRIES", 4)
        )
        self.request_count = 0
        headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        if self._key:
            headers["Authorization"] = f"Bearer {self._key}"
        self._http = httpx.Client(
            base_url=self.base_url,
            headers=headers,
            timeout=httpx.Timeout(self.timeout, connect=min(self.timeout, 10.0)),
            follow_redirects=False,
        )

    # ------------------------------------------------------------------ plumbing

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> VastClient:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def scrub(self, text: str) -> str:
        """Remove the API key from any text that may reach a person or a log."""
        if self._key and self._key in text:
            text = text.replace(self._key, "****")
        return text

    def _require_key(self) -> None:
        if not self._key:
            raise InvalidInput("no vast.ai API key: set VASTAI_API_KEY")

    def _error(self, method: str, path: str, resp: httpx.Response) -> VastError | VastRefused:
        code, msg = _error_fields(resp)
        text = f"vast.ai {method} {path} failed: HTTP {resp.status_code}"
        if code:
            text += f" {code}"
        if msg:
            text += f": {msg}"
        text = self.scrub(text)
        if resp.status_code in (403,) or code in ("missing_billing",):
            return VastRefused(text, status=resp.status_code, code=code)
        if code == "no_such_ask" or (
            path.startswith("/api/v0/asks/") and resp.status_code in (404, 410)
        ):
            return OfferGone(text, status=resp.status_code, code=code)
        return VastError(text, status=resp.status_code, code=code)

    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        body: Any = None,
        idempotent: bool = True,
    ) -> Any:
        """Send one call (with retries when ``idempotent``) and return the decoded JSON body.

        ``params`` values that are not strings are JSON-encoded (vast.ai's convention).
        """
        query = None
        if params:
            query = {
                k: (v if isinstance(v, str) else json.dumps(v, separators=(",", ":")))
                for k, v in params.items()
                if v is not None
            }
        kwargs: dict[str, Any] = {"params": query}
        if body is not None:
            kwargs["content"] = json.dumps(body).encode()
            kwargs["headers"] = {"Content-Type": "application/json"}
        policy = retry.Policy(
            attempts=self.max_retries + 1, base=BACKOFF, max_retry_after=MAX_RETRY_AFTER
        )

        def attempt(n: int) -> Any:
            self.request_count += 1
            try:
                resp = self._http.request(method, path, **kwargs)
            except httpx.HTTPError as exc:
                raise self._no_answer(method, path, exc, n, idempotent) from None
            status = resp.status_code
            if retry.transient_status(status):
                raise self._refusal(method, path, resp, idempotent)
            if status >= 400:
                raise self._error(method, path, resp)
            if not resp.content:
                return {}
            try:
                # vast.ai's text (status messages, labels) is kept, NUL and the like escaped
                return escape_unstorable(resp.json())
            except ValueError:
                raise VastError(
                    f"vast.ai {method} {path}: answer is not JSON (HTTP {status})"
                ) from None

        return retry.call(attempt, policy)

    def _no_answer(
        self, method: str, path: str, exc: httpx.HTTPError, tries: int, idempotent: bool
    ) -> Exception:
        """A transport failure: another try, an ambiguous create, or a final error."""
        if isinstance(exc, httpx.ConnectError):
            # never connected: the request was not processed, safe to retry even a create
            text = f"vast.ai {method} {path} failed: cannot connect ({exc})"
            return retry.TryAgain(VastError(self.scrub(text)))
        detail = str(exc) or type(exc).__name__
        if not idempotent:
            return AmbiguousCreate(self.scrub(f"vast.ai {method} {path}: no answer ({detail})"))
        error = VastError(
            self.scrub(f"vast.ai {method} {path} failed after {tries} tries: {detail}")
        )
        return retry.TryAgain(error) if retry.may_resend(True, error=exc) else error

    def _refusal(self, method: str, path: str, resp: httpx.Response, idempotent: bool) -> Exception:
        """A 429 or 5xx: another try (after ``Retry-After``), an ambiguous create, or final."""
        err = self._error(method, path, resp)
        if err.code == "search_quota_exceeded":  # a daily quota: waiting minutes will not help
            return err
        if not retry.may_resend(idempotent, status=resp.status_code):
            return AmbiguousCreate(err.message, status=resp.status_code, code=err.code)
        return retry.TryAgain(err, retry_after=retry.retry_after(resp.headers))

    # ------------------------------------------------------------------ offers

    def search_offers(self, query: dict[str, Any]) -> list[Offer]:
        """``POST /api/v0/bundles/``: the body is the query object."""
        data = self.request("POST", "/api/v0/bundles/", body=query)
        offers = data.get("offers") if isinstance(data, dict) else None
        if not isinstance(offers, list):
            raise VastError("vast.ai POST /api/v0/bundles/: answer has no 'offers' list")
        out = []
        for item in offers:
            if isinstance(item, dict) and "id" in item:
                out.append(Offer.from_api(item))
        return out

    # ------------------------------------------------------------------ instances

    def create_instance(self, offer_id: int, body: dict[str, Any]) -> CreateResult:
        """``PUT /api/v0/asks/{offer_id}/``. Never blindly retried; see the module docstring."""
        self._require_key()
        data = self.request("PUT", f"/api/v0/asks/{int(offer_id)}/", body=body, idempotent=False)
        contract = data.get("new_contract") if isinstance(data, dict) else None
        success = bool(data.get("success")) if isinstance(data, dict) else False
        msg = data.get("msg") if isinstance(data, dict) else None
        if contract is None and not success:
            code, text = data.get("error"), msg
            raise VastError(
                self.scrub(
                    f"vast.ai PUT /api/v0/asks/{offer_id}/ failed: {code or ''} {text or ''}"
                )
            )
        return CreateResult(
            instance_id=int(contract) if contract is not None else None,
            success=success,
            message=msg,
        )

    def get_instance(self, instance_id: int | str) -> ProviderInstance | None:
        """``GET /api/v0/instances/{id}/?owner=me``; ``None`` when vast.ai answers ``null``."""
        self._require_key()
        data = self.request("GET", f"/api/v0/instances/{int(instance_id)}/", params={"owner": "me"})
        item = data.get("instances") if isinstance(data, dict) else None
        if isinstance(item, list):  # tolerate a list-shaped answer
            item = item[0] if item else None
        if not isinstance(item, dict):
            return None
        return ProviderInstance.from_api(item)

    def iter_instances(
        self, select_filters: dict[str, Any] | None = None
    ) -> Iterator[ProviderInstance]:
        """``GET /api/v1/instances/`` page by page until ``next_token`` is null."""
        self._require_key()
        params = {
            "select_filters": select_filters or {},
            "order_by": [{"col": "id", "dir": "asc"}],
            "limit": LIST_PAGE_LIMIT,
        }
        for item in self._pages("/api/v1/instances/", params, "instances"):
            if "id" in item:
                yield ProviderInstance.from_api(item)

    def _pages(self, path: str, params: dict[str, Any], key: str) -> Iterator[dict[str, Any]]:
        """The objects of a paginated GET (``after_token`` in, ``next_token`` out)."""
        token: str | None = None
        seen_tokens: set[str] = set()
        while True:
            data = self.request("GET", path, params={**params, "after_token": token})
            items = data.get(key) if isinstance(data, dict) else None
            if not isinstance(items, list):
                raise VastError(f"vast.ai GET {path}: answer has no '{key}' list")
            yield from (item for item in items if isinstance(item, dict))
            token = data.get("next_token")
            if not token:
                return
            if token in seen_tokens:  # a server that repeats itself must not loop us forever
                raise VastError(f"vast.ai GET {path}: pagination repeated a token")
            seen_tokens.add(token)

    def list_instances(
        self, select_filters: dict[str, Any] | None = None
    ) -> list[ProviderInstance]:
        return list(self.iter_instances(select_filters))

    def find_by_label(self, label: str) -> list[ProviderInstance]:
        return self.list_instances({"label": {"eq": label}})

    def destroy_instance(self, instance_id: int | str) -> bool:
        """``DELETE /api/v0/instances/{id}/``; False when vast.ai says it does not exist."""
        self._require_key()
        try:
            self.request("DELETE", f"/api/v0/instances/{int(instance_id)}/", body={})
        except VastError as exc:
            if exc.status == 404 or exc.code == "no_such_instance":
                return False
            raise
        return True

    def set_label(self, instance_id: int | str, label: str) -> None:
        self._require_key()
        self.request("PUT", f"/api/v0/instances/{int(instance_id)}/", body={"label": label})

    def iter_charges(self, first_day: int, last_second: int) -> Iterator[dict[str, Any]]:
        """``GET /api/v0/charges/``: per-instance charges of the days from the midnight
        ``first_day`` to the one holding ``last_second`` (unix seconds, UTC; a day's charges are
        stamped at its last billed second, so ``last_second`` must be that day's last second, not
        its midnight), page by page until ``next_token`` is null.

        Each result names its instance as ``source: "instance-<id>"`` and splits ``amount`` into
        ``items`` (``gpu``, ``disk``, ``bwd``, ``bwu``). ``select_filters`` is required."""
        self._require_key()
        params = {
            "select_filters": {
                "day": {"gte": first_day, "lte": last_second},
                "type": {"in": ["instance"]},
            },
            "limit": CHARGES_PAGE_LIMIT,
        }
        yield from self._pages("/api/v0/charges/", params, "results")

    def current_user(self) -> dict[str, Any]:
        """``GET /api/v0/users/current/`` without the ``api_key`` field it echoes."""
        self._require_key()
        data = self.request("GET", "/api/v0/users/current/")
        if isinstance(data, dict):
            data = {k: v for k, v in data.items() if k != "api_key"}
        return data


def _error_fields(resp: httpx.Response) -> tuple[str | None, str | None]:
    """vast.ai's ``error`` code and ``msg`` (or ``message``/``detail``/plain text)."""
    try:
        data = resp.json()
    except ValueError:
        text = resp.text.strip().splitlines()[0][:200] if resp.text.strip() else None
        if text is None:
            text = "Please log in or sign up" if resp.status_code == 401 else None
        return None, text or "(no detail message supplied)"
    if not isinstance(data, dict):
        return None, str(data)[:200]
    code = data.get("error") if isinstance(data.get("error"), str) else None
    msg = data.get("msg") or data.get("message") or data.get("detail")
    return code, (str(msg)[:300] if msg else None)


def client_from_settings(settings: Any) -> VastClient:
    return VastClient(settings.vastai_url, settings.vastai_api_key)
