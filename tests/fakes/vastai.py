"""A vast.ai fake on a LoopbackServer, answering as vast.ai's REST API does for the calls we make.

Faithful where a client can notice: canonical paths with trailing slashes (a slashless path gets a
301 to the canonical one, which httpx does not follow), ``Authorization: Bearer`` on everything but
offer search, ``Content-Type: application/json`` required on bodies (else 400), error bodies
``{"success": false, "error": ..., "msg": ...}``, the query-object search with its operators and
virtual fields, ``new_contract`` on create, ``{"instances": null}`` for a gone instance, the
paginated v1 list (max 25, opaque ``next_token``, 400 on computed filter columns), the status
progression ``loading -> running`` and billing while running (GPU) or existing (storage), read
back per instance from ``GET /api/v0/charges/`` (required ``select_filters`` day range, ``gpu``,
``disk`` and bandwidth items, pages of up to 500).

Fault injection: :meth:`FakeVast.fail_next` queues 500/429 answers (with ``Retry-After`` as
seconds or as an HTTP-date), a
create whose response is lost after the machine was rented (``drop_after``), offers taken between
search and rent (:attr:`take_on_search`), instances that go offline or disappear.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.fakes.server import LoopbackServer, Request, Response

API_KEY = "vast-test-key-6f1d2c9ab0e4"
_OPS = ("eq", "neq", "gt", "gte", "lt", "lte", "in", "notin")
_V1_COMPUTED = {"dph_total", "num_gpus", "dph_base", "gpu_util", "duration"}


def err(status: int, code: str | None, msg: str, **extra: Any) -> Response:
    body: dict[str, Any] = {"success": False, "msg": msg}
    if code:
        body["error"] = code
    body.update(extra)
    return Response(status, body)


@dataclass
class Fault:
    method: str
    path_re: str
    kind: str  # "500" | "429" | "drop" | "drop_after" | "502"
    retry_after: str | None = None
    times: int = 1
    retry_in: float | None = None  # sent as an HTTP-date this many seconds after the answer

    def headers(self) -> dict[str, str]:
        if self.retry_in is not None:
            from email.utils import formatdate

            return {"Retry-After": formatdate(time.time() + self.retry_in, usegmt=True)}
        return {"Retry-After": self.retry_after} if self.retry_after is not None else {}


@dataclass
class FakeInstance:
    id: int
    offer: dict[str, Any]
    label: str | None
    image: str
    disk: float
    env: dict[str, Any]
    created: float
    actual_status: str | None = "loading"
    intended_status: str = "running"
    cur_state: str = "running"
    polls: int = 0
    gpu_util: float | None = 0.0
    status_msg: str = ""
    billed: float = 0.0  # dollars charged so far
    billed_until: float = 0.0
    foreign: bool = False
    extra: dict[str, Any] = field(default_factory=dict)
    # (start, end, gpu $, disk $) per billed interval, and (at, kind, $) bandwidth charges
    segments: list[tuple[float, float, float, float]] = field(default_factory=list)
    traffic: list[tuple[float, str, float]] = field(default_factory=list)

    def storage_per_hour(self) -> float:
        return float(self.offer["storage_cost"]) * self.disk / 720.0

    def gpu_per_hour(self) -> float:
        return float(self.offer["dph_base"])


class FakeVast:
    """State plus handler; ``with FakeVast() as fake: ...`` serves on ``fake.url``."""

    def __init__(
        self,
        *,
        api_key: str = API_KEY,
        boot_polls: int = 1,
        clock: Callable[[], float] | None = None,
        max_requests: int = 20_000,
    ) -> None:
        self.api_key = api_key
        self.boot_polls = boot_polls
        self.clock = clock or time.time
        self.offers: dict[int, dict[str, Any]] = {}
        self.instances: dict[int, FakeInstance] = {}
        self.destroyed: dict[int, FakeInstance] = {}
        self.faults: list[Fault] = []
        self.take_on_search: set[int] = set()
        self.endpoint_port: int | None = None
        self.public_ip = "127.0.0.1"
        # what instances report as their SSH proxy (a test points it at a real sshd)
        self.ssh_host = "ssh4.vast.ai"
        self.ssh_port = 11610
        self.credit = 1000.0
        self.rents: list[dict[str, Any]] = []  # every successful rent (id, offer, label)
        # instance id -> host port of its service, for instances with a server of their own
        self.endpoint_ports: dict[int, int] = {}
        self._next_id = 7_000_001
        self._lock = threading.RLock()
        self.server = LoopbackServer(self.handle, max_requests=max_requests)

    # --------------------------------------------------------------- lifecycle

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def requests(self) -> list[Request]:
        return self.server.requests

    def __enter__(self) -> FakeVast:
        self.server.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.stop()

    # --------------------------------------------------------------- test controls

    def add_offer(
        self,
        offer_id: int,
        *,
        gpu_name: str = "RTX 4090",
        num_gpus: int = 1,
        gpu_ram: int = 24564,
        dph_base: float = 0.40,
        storage_cost: float = 0.15,
        geolocation: str = "Virginia, US",
        disk_space: float = 500.0,
        reliability: float = 0.99,
        verified: bool = True,
        unavailable: bool = False,
        **extra: Any,
    ) -> dict[str, Any]:
        offer = {
            "id": offer_id,
            "ask_contract_id": offer_id,
            "machine_id": offer_id % 100_000,
            "gpu_name": gpu_name,
            "num_gpus": num_gpus,
            "gpu_ram": gpu_ram,
            "gpu_total_ram": gpu_ram * num_gpus,
            "dph_base": dph_base,
            "storage_cost": storage_cost,
            "geolocation": geolocation,
            "disk_space": disk_space,
            "reliability2": reliability,
            "vericode": 1 if verified else 0,
            "rentable": True,
            "rented": False,
            "external": False,
            "hosting_type": 0,
            "inet_up": 500.0,
            "inet_down": 800.0,
            "_unavailable": unavailable,
            **extra,
        }
        with self._lock:
            self.offers[offer_id] = offer
        return offer

    def fail_next(
        self,
        method: str,
        path_re: str,
        kind: str,
        *,
        retry_after: str | None = None,
        retry_in: float | None = None,
        times: int = 1,
    ) -> None:
        """Answer the next ``times`` matching calls with fault ``kind``; ``retry_after`` is sent
        as is, ``retry_in`` as the HTTP-date that many seconds ahead (RFC 9110's other form)."""
        with self._lock:
            self.faults.append(Fault(method, path_re, kind, retry_after, times, retry_in))

    def set_status(self, instance_id: int, actual: str, *, intended: str | None = None) -> None:
        with self._lock:
            inst = self.instances[instance_id]
            self._bill(inst)
            inst.actual_status = actual
            if intended:
                inst.intended_status = intended
                inst.cur_state = "stopped" if intended == "stopped" else "running"

    def set_util(self, instance_id: int, util: float) -> None:
        with self._lock:
            self.instances[instance_id].gpu_util = util

    def vanish(self, instance_id: int) -> None:
        """Destroyed outside the tool (web console, another script, host gone)."""
        with self._lock:
            inst = self.instances.pop(instance_id)
            self._bill(inst)
            self.destroyed[instance_id] = inst

    def add_traffic(self, instance_id: int, kind: str, amount: float) -> None:
        """A bandwidth charge (``bwd`` down, ``bwu`` up) at the current time."""
        with self._lock:
            inst = self.instances.get(instance_id) or self.destroyed[instance_id]
            inst.traffic.append((self.clock(), kind, amount))
            inst.billed += amount
            self.credit -= amount

    def add_foreign_instance(
        self, *, label: str | None, offer: dict[str, Any] | None = None, status: str = "running"
    ) -> int:
        """An instance rented outside this tool (an orphan when it carries our label)."""
        with self._lock:
            iid = self._new_id()
            offer = offer or {
                "id": 0,
                "gpu_name": "RTX 4090",
                "num_gpus": 1,
                "gpu_ram": 24564,
                "dph_base": 0.5,
                "storage_cost": 0.1,
                "geolocation": "Oregon, US",
            }
            inst = FakeInstance(
                id=iid,
                offer=offer,
                label=label,
                image="vastai/base-image",
                disk=20,
                env={},
                created=self.clock(),
                actual_status=status,
                foreign=True,
            )
            inst.billed_until = inst.created
            self.instances[iid] = inst
            return iid

    def method_count(self, method: str, path_prefix: str) -> int:
        return sum(
            1 for r in self.requests if r.method == method and r.path.startswith(path_prefix)
        )

    # --------------------------------------------------------------- internals

    def _new_id(self) -> int:
        iid = self._next_id
        self._next_id += 1
        return iid

    def _bill(self, inst: FakeInstance) -> None:
        now = self.clock()
        if now <= inst.billed_until:
            return
        hours = (now - inst.billed_until) / 3600.0
        disk = inst.storage_per_hour() * hours
        gpu = inst.gpu_per_hour() * hours if inst.actual_status in ("running", "frozen") else 0.0
        inst.segments.append((inst.billed_until, now, gpu, disk))
        inst.billed += gpu + disk
        self.credit -= gpu + disk
        inst.billed_until = now

    def _take_fault(self, req: Request) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.method == req.method and re.search(fault.path_re, req.path):
                    fault.times -= 1
                    if fault.times <= 0:
                        self.faults.remove(fault)
                    return fault
        return None

    def _observe(self, inst: FakeInstance) -> None:
        """Each observation moves a loading machine one step towards running."""
        self._bill(inst)
        if inst.actual_status == "loading" and inst.intended_status == "running":
            inst.polls += 1
            if inst.polls > self.boot_polls:
                inst.actual_status = "running"
                inst.status_msg = f"success, running {inst.image}"

    def _instance_json(self, inst: FakeInstance) -> dict[str, Any]:
        running = inst.actual_status == "running"
        ports = None
        if running:
            ports = {}
            for key in inst.env:
                m = re.match(r"-p\s+(\d+):(\d+)", key)
                if m:
                    host = (
                        self.endpoint_ports.get(inst.id)
                        or self.endpoint_port
                        or 20000 + int(m.group(1)) % 1000
                    )
                    ports[f"{m.group(2)}/tcp"] = [{"HostIp": "0.0.0.0", "HostPort": str(host)}]
        offer = inst.offer
        storage = inst.storage_per_hour()
        gpu_now = inst.gpu_per_hour() if inst.actual_status in ("running", "frozen") else 0.0
        return {
            "id": inst.id,
            "machine_id": offer.get("machine_id", 1),
            "host_id": 42,
            "label": inst.label,
            "actual_status": inst.actual_status,
            "intended_status": inst.intended_status,
            "cur_state": inst.cur_state,
            "next_state": inst.cur_state,
            "status_msg": inst.status_msg,
            "image_uuid": inst.image,
            "image_runtype": "args",
            "extra_env": [[k, v] for k, v in inst.env.items()],
            "gpu_name": offer.get("gpu_name"),
            "num_gpus": offer.get("num_gpus", 1),
            "gpu_ram": offer.get("gpu_ram"),
            "gpu_util": inst.gpu_util if running else None,
            "gpu_temp": 55.0 if running else None,
            "disk_space": inst.disk,
            "disk_usage": -1,
            "public_ipaddr": self.public_ip + "\n",
            "ports": ports,
            "ssh_host": self.ssh_host,
            "ssh_port": self.ssh_port,
            "geolocation": offer.get("geolocation"),
            "dph_base": offer.get("dph_base"),
            "storage_cost": offer.get("storage_cost"),
            "storage_total_cost": storage,
            "dph_total": float(offer.get("dph_base", 0)) + storage,
            "start_date": inst.created,
            "end_date": inst.created + 30 * 86400,
            "uptime_mins": None,
            "is_bid": False,
            "instance": {
                "gpuCostPerHour": gpu_now,
                "diskHour": storage,
                "totalHour": gpu_now + storage,
            },
            "future_field": {"tolerate": "me"},
        }

    # --------------------------------------------------------------- HTTP

    def handle(self, req: Request) -> Response:
        if not req.path.endswith("/"):
            return Response(301, None, headers={"Location": req.path + "/"})
        fault = self._take_fault(req)
        if fault is not None and fault.kind in ("500", "502", "503"):
            failed = err(int(fault.kind), None, "Internal Server Error")
            failed.headers.update(fault.headers())
            return failed
        if fault is not None and fault.kind == "429":
            headers = fault.headers()
            return Response(
                429,
                {
                    "success": False,
                    "error": "rate_limit_exceeded",
                    "msg": "API requests too frequent endpoint threshold=2.0",
                },
                headers=headers,
            )
        if fault is not None and fault.kind == "drop":
            return Response(drop=True)
        public = req.method == "POST" and req.path == "/api/v0/bundles/"
        if not public:
            auth = req.headers.get("authorization", "")
            if auth != f"Bearer {self.api_key}":
                return err(401, "auth_error", "Invalid user key")
        if "api_key" in req.query:
            return err(400, "invalid_args", "api_key in the query string is not accepted here")
        if req.body and "application/json" not in req.headers.get("content-type", ""):
            return err(400, "invalid_request", "body must be JSON")
        try:
            payload = json.loads(req.body) if req.body else None
        except json.JSONDecodeError:
            return err(400, "invalid_request", "malformed JSON body")
        with self._lock:
            resp = self._route(req, payload)
        if fault is not None and fault.kind == "drop_after":
            return Response(drop=True)  # processed, but the answer never arrives
        return resp

    def _route(self, req: Request, payload: Any) -> Response:
        path, method = req.path, req.method
        if path == "/api/v0/bundles/" and method == "POST":
            return self._search(payload or {})
        m = re.fullmatch(r"/api/v0/asks/([^/]+)/", path)
        if m and method == "PUT":
            return self._create(m.group(1), payload or {})
        if path == "/api/v1/instances/" and method == "GET":
            return self._list(req)
        m = re.fullmatch(r"/api/v0/instances/([^/]+)/", path)
        if m:
            if not m.group(1).isdigit():
                return err(400, "invalid_args", "invalid instance_id")
            iid = int(m.group(1))
            if method == "GET":
                inst = self.instances.get(iid)
                if inst is None:
                    return Response(200, {"instances": None})
                self._observe(inst)
                return Response(200, {"instances": self._instance_json(inst)})
            if method == "DELETE":
                inst = self.instances.pop(iid, None)
                if inst is None:
                    return err(404, "no_such_instance", f"Instance {iid} not found.")
                self._bill(inst)
                inst.cur_state = "unloaded"
                self.destroyed[iid] = inst
                return Response(200, {"success": True})
            if method == "PUT":
                inst = self.instances.get(iid)
                if inst is None:
                    return err(404, "no_such_instance", f"Instance {iid} not found.")
                body = payload or {}
                if "label" in body:
                    if len(str(body["label"])) > 1024:
                        return err(400, "invalid_args", "label_too_long")
                    inst.label = body["label"]
                if "state" in body:
                    if body["state"] not in ("running", "stopped"):
                        return Response(400, {"success": False, "msg": "Invalid target state"})
                    self.set_status(
                        iid,
                        "loading" if body["state"] == "running" else "exited",
                        intended=body["state"],
                    )
                return Response(200, {"success": True})
        if path == "/api/v0/charges/" and method == "GET":
            return self._charges(req)
        if path == "/api/v0/users/current/" and method == "GET":
            return Response(
                200,
                {
                    "id": 1,
                    "email": "ops@example.com",
                    "credit": round(self.credit, 6),
                    "balance": 0,
                    "api_key": self.api_key,
                },
            )
        return err(404, "not_found", f"no route {method} {path}")

    # search ----------------------------------------------------------------

    def _search(self, query: dict[str, Any]) -> Response:
        storage_gb = float(query.get("allocated_storage", 8.0))
        rows = []
        for offer in self.offers.values():
            row = dict(offer)
            row["dph_total"] = (
                float(offer["dph_base"]) + float(offer["storage_cost"]) * storage_gb / 720.0
            )
            if self._matches(row, query, storage_gb):
                rows.append({k: v for k, v in row.items() if not k.startswith("_")})
        for key, direction in query.get("order") or [["score", "desc"]]:
            key = {"dph": "dph_total"}.get(key, key)
            rows.sort(key=lambda r, k=key: r.get(k) or 0, reverse=direction == "desc")
        limit = query.get("limit")
        if isinstance(limit, int) and limit > 0:
            rows = rows[:limit]
        for oid in list(self.take_on_search):
            if oid in self.offers:
                self.offers[oid]["rented"] = True  # someone else rents it right now
            self.take_on_search.discard(oid)
        return Response(200, {"offers": rows})

    def _matches(self, row: dict[str, Any], query: dict[str, Any], storage_gb: float) -> bool:
        if row.get("disk_space", 0) < storage_gb:
            return False
        for key, cond in query.items():
            if key in ("order", "type", "limit", "allocated_storage", "disable_bundling"):
                continue
            if not isinstance(cond, dict):
                continue
            if key == "verified":
                value: Any = row.get("vericode") == 1
            elif key == "geolocation":
                value = str(row.get("geolocation", "")).split(",")[-1].strip()
            else:
                value = row.get(key)
            for op, want in cond.items():
                if op not in _OPS:
                    continue
                if isinstance(want, str) and isinstance(value, int | float):
                    want = float(want)
                if not _compare(value, op, want):
                    return False
        return True

    # create ----------------------------------------------------------------

    def _create(self, raw_id: str, body: dict[str, Any]) -> Response:
        if not raw_id.isdigit():
            return err(400, "invalid_args", "invalid ask id")
        oid = int(raw_id)
        offer = self.offers.get(oid)
        if offer is None or offer.get("rented"):
            return err(404, "no_such_ask", f"No ask by id {oid} is available.", ask_id=oid)
        if not body.get("image"):
            return err(400, "invalid_args", "image is required", ask_id=oid)
        if offer.get("_unavailable") and body.get("cancel_unavail", True):
            return err(
                410, "no_such_ask", f"Instance type {oid} is no longer available.", ask_id=oid
            )
        env = body.get("env") or {}
        if not isinstance(env, dict):
            return err(400, "invalid_args", "env must be an object", ask_id=oid)
        offer["rented"] = True
        iid = self._new_id()
        inst = FakeInstance(
            id=iid,
            offer=dict(offer),
            label=body.get("label"),
            image=body["image"],
            disk=float(body.get("disk") or 10),
            env=env,
            created=self.clock(),
            extra={"onstart": body.get("onstart"), "args": body.get("args")},
        )
        inst.billed_until = inst.created
        self.instances[iid] = inst
        self.rents.append({"instance_id": iid, "offer_id": oid, "label": inst.label, "body": body})
        return Response(
            200, {"success": True, "new_contract": iid, "instance_api_key": "inst-key-" + str(iid)}
        )

    # list ------------------------------------------------------------------

    def _list(self, req: Request) -> Response:
        def param(name: str, default: Any) -> Any:
            return _param(req, name, default)

        filters = param("select_filters", {})
        if not isinstance(filters, dict):
            return err(400, "invalid_request", "select_filters must be an object")
        for col in filters:
            if col in _V1_COMPUTED:
                return err(
                    400,
                    "invalid_request",
                    f"Error in query parameters: {col} is not a valid search key",
                )
        limit = param("limit", 25)
        limit = 5 if not isinstance(limit, int) or limit <= 0 else min(limit, 25)
        after = 0
        token = param("after_token", None)
        if token:
            try:
                after = int(base64.urlsafe_b64decode(str(token).encode()).decode().split(":")[1])
            except (ValueError, IndexError, UnicodeDecodeError):
                return err(400, "invalid_token", "invalid after_token")
        matching = []
        for iid in sorted(self.instances):
            inst = self.instances[iid]
            data = self._instance_json(inst)
            ok = True
            for col, cond in filters.items():
                for op, want in (cond or {}).items():
                    if not _compare(data.get(col), op, want):
                        ok = False
            if ok:
                matching.append(inst)
        page_all = [i for i in matching if i.id > after]
        page = page_all[:limit]
        for inst in page:
            self._observe(inst)
        next_token = None
        if len(page_all) > limit:
            next_token = base64.urlsafe_b64encode(f"after:{page[-1].id}".encode()).decode()
        labels: dict[str, int] = {}
        for inst in matching:
            labels[inst.label or ""] = labels.get(inst.label or "", 0) + 1
        return Response(
            200,
            {
                "success": True,
                "instances_found": len(page),
                "total_instances": len(matching),
                "label_counts": labels,
                "next_token": next_token,
                "instances": [self._instance_json(i) for i in page],
            },
        )

    # charges -------------------------------------------------------------

    def _charges(self, req: Request) -> Response:
        """Per-instance charges of the days stamped within ``select_filters.day`` (a day is
        stamped at its last billed second);
        ``limit`` up to 500, an opaque ``after_token``; the current interval billed first."""
        filters = _param(req, "select_filters", None)
        if not isinstance(filters, dict) or not isinstance(filters.get("day"), dict):
            return err(400, "invalid_args", "select_filters with a day range is required")
        day = filters["day"]
        try:
            low, high = float(day["gte"]), float(day["lte"])
        except (KeyError, TypeError, ValueError):
            return err(400, "invalid_args", "day needs numeric gte and lte")
        kinds = (filters.get("type") or {}).get("in")
        limit = _param(req, "limit", 100)
        limit = 100 if not isinstance(limit, int) or limit <= 0 else min(limit, 500)
        after = 0
        token = _param(req, "after_token", None)
        if token:
            try:
                after = int(base64.urlsafe_b64decode(str(token).encode()).decode().split(":")[1])
            except (ValueError, IndexError, UnicodeDecodeError):
                return err(400, "invalid_token", "invalid after_token")
        # a day's charges are stamped at its last billed second (its end, or now for today):
        # ``lte`` at a day's midnight leaves that day out
        first = -(-low // 86400) * 86400  # the first midnight at or after gte
        last = (high // 86400) * 86400
        if min(last + 86399, self.clock()) > high:
            last -= 86400
        start, end = first, last + 86400
        results = []
        everyone = {**self.destroyed, **self.instances}
        for iid in sorted(everyone):
            inst = everyone[iid]
            if iid in self.instances:
                self._bill(inst)
            gpu = disk = 0.0
            lo, hi = None, None
            for a, b, g, d in inst.segments:
                share = _overlap(a, b, start, end)
                if share > 0:
                    gpu, disk = gpu + g * share, disk + d * share
                    lo = max(a, start) if lo is None else min(lo, max(a, start))
                    hi = min(b, end) if hi is None else max(hi, min(b, end))
            items = [
                {"type": "gpu", "description": "GPU time", "amount": round(gpu, 6)},
                {"type": "disk", "description": "storage", "amount": round(disk, 6)},
            ]
            for at, kind, amount in inst.traffic:
                if start <= at < end:
                    items.append({"type": kind, "description": "bandwidth", "amount": amount})
            total = sum(i["amount"] for i in items)
            if total <= 0 or (kinds is not None and "instance" not in kinds):
                continue
            days = max(1, round(((hi or end) - (lo or start)) / 86400))
            results.append(
                {
                    "start": lo or start,
                    "end": hi or end,
                    "type": "instance",
                    "source": f"instance-{iid}",
                    "description": f"Instance {iid} Charges - {days} days",
                    "amount": round(total, 6),
                    "metadata": {"label": inst.label},
                    "items": items,
                    "_id": iid,
                }
            )
        rest = [r for r in results if r["_id"] > after]
        page = rest[:limit]
        next_token = None
        if len(rest) > limit:
            next_token = base64.urlsafe_b64encode(f"after:{page[-1]['_id']}".encode()).decode()
        return Response(
            200,
            {
                "success": True,
                "count": len(page),
                "total": len(results),
                "next_token": next_token,
                "results": [{k: v for k, v in r.items() if k != "_id"} for r in page],
            },
        )


def _param(req: Request, name: str, default: Any) -> Any:
    values = req.query.get(name)
    if not values:
        return default
    try:
        return json.loads(values[0])
    except json.JSONDecodeError:
        return values[0]


def _overlap(a: float, b: float, start: float, end: float) -> float:
    """The share of [a, b) that lies in [start, end)."""
    if b <= a:
        return 0.0
    return max(0.0, min(b, end) - max(a, start)) / (b - a)


def _compare(value: Any, op: str, want: Any) -> bool:
    try:
        if op == "eq":
            return value == want
        if op == "neq":
            return value != want
        if op == "in":
            return value in want
        if op == "notin":
            return value not in want
        if value is None:
            return False
        if op == "gt":
            return value > want
        if op == "gte":
            return value >= want
        if op == "lt":
            return value < want
        if op == "lte":
            return value <= want
    except TypeError:
        return False
    return True


def cli_clock() -> float:
    """The CLI's clock (it follows SHIFTY_NOW), for a fake that bills in the CLI's time."""
    from shifty_ent.core.clock import now

    return now().timestamp()


@contextmanager
def serving(fake: FakeVast, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeVast]:
    """Start ``fake`` and point the CLI at it (URL, API key, a 5 s timeout) until the block ends."""
    with fake:
        monkeypatch.setenv("VASTAI_URL", fake.url)
        monkeypatch.setenv("VASTAI_API_KEY", API_KEY)
        monkeypatch.setenv("VASTAI_TIMEOUT", "5")
        yield fake
