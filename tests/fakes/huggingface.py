"""A Hugging Face Hub fake for ``HF_ENDPOINT``: model info, tree, resolve (HEAD/GET), errors.

Faithful to what huggingface_hub 2.x needs: model info answers ``sha`` and ``siblings``
(``size``/``blobId``/``lfs`` only with ``?blobs=true``); resolve answers ``X-Repo-Commit``, ``ETag``
and ``Content-Length`` (HEAD without a body); errors carry ``X-Error-Code`` (``RepoNotFound`` 401,
``GatedRepo`` 403, ``RevisionNotFound`` 404, ``EntryNotFound`` 404) and ``X-Error-Message``, because
on a non-https endpoint the client maps errors by that header alone. Private and gated repos need
``Authorization: Bearer <token>``.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from tests.fakes.server import LoopbackServer, Request, Response


def git_blob_sha(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


@dataclass
class FakeRepo:
    repo_id: str
    files: dict[str, bytes]
    sha: str = ""
    refs: dict[str, str] = field(default_factory=dict)  # branch/tag -> sha
    gated: bool | str = False
    private: bool = False
    license: str | None = "apache-2.0"
    pipeline_tag: str | None = "text-generation"
    library_name: str | None = "transformers"
    parameters: dict[str, int] | None = None
    disabled: bool = False
    lfs_threshold: int = 1024

    def __post_init__(self) -> None:
        if not self.sha:
            h = hashlib.sha1(self.repo_id.encode())
            for name in sorted(self.files):
                h.update(name.encode() + self.files[name])
            self.sha = h.hexdigest()
        self.refs.setdefault("main", self.sha)


class FakeHub:
    """Serve ``repos`` at ``.url``; ``tokens`` are accepted bearer tokens; ``granted`` may read
    gated repos. ``rate_limit`` answers N requests with 429 first."""

    def __init__(
        self,
        repos: list[FakeRepo],
        *,
        tokens: set[str] | None = None,
        granted: set[str] | None = None,
        rate_limit: int = 0,
    ) -> None:
        self.repos = {r.repo_id: r for r in repos}
        self.tokens = tokens or set()
        self.granted = granted or set()
        self.rate_limit = rate_limit
        self.server = LoopbackServer(self.handle, max_requests=5000, max_seconds=300)

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def requests(self) -> list[Request]:
        return [r for r in self.server.requests if r.path != "/api/agent-harnesses"]

    def __enter__(self) -> FakeHub:
        self.server.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.stop()

    # ------------------------------------------------------------------ protocol

    @staticmethod
    def _error(status: int, code: str | None, message: str) -> Response:
        headers = {"X-Error-Message": message}
        if code:
            headers["X-Error-Code"] = code
        return Response(status, {"error": message}, headers=headers)

    def _token(self, req: Request) -> str | None:
        auth = req.headers.get("authorization", "")
        return auth[7:] if auth.lower().startswith("bearer ") else None

    def _access(self, req: Request, repo_id: str) -> FakeRepo | Response:
        repo = self.repos.get(repo_id)
        token = self._token(req)
        if repo is None or (repo.private and token not in self.tokens):
            return self._error(
                401,
                "RepoNotFound",
                "Repository Not Found for url: this repository does not exist or is private",
            )
        if repo.disabled:
            return self._error(403, None, "Access to this resource is disabled.")
        if repo.gated and token not in self.granted:
            return self._error(
                403,
                "GatedRepo",
                f"Access to model {repo_id} is restricted. You must have access to it "
                "and be authenticated to access it. Please log in.",
            )
        return repo

    def _revision(self, repo: FakeRepo, rev: str) -> str | Response:
        if rev in repo.refs:
            return repo.refs[rev]
        if re.fullmatch(r"[0-9a-f]{40}", rev) and rev in repo.refs.values():
            return rev
        return self._error(404, "RevisionNotFound", f"Invalid rev id: {rev}")

    def _info(self, repo: FakeRepo, sha: str, blobs: bool) -> dict[str, Any]:
        siblings = []
        for name in sorted(repo.files):
            data = repo.files[name]
            sib: dict[str, Any] = {"rfilename": name}
            if blobs:
                sib["size"] = len(data)
                sib["blobId"] = git_blob_sha(data)
                if len(data) >= repo.lfs_threshold:
                    sib["lfs"] = {
                        "size": len(data),
                        "sha256": hashlib.sha256(data).hexdigest(),
                        "pointerSize": 134,
                    }
            siblings.append(sib)
        body: dict[str, Any] = {
            "_id": hashlib.md5(repo.repo_id.encode()).hexdigest()[:24],
            "id": repo.repo_id,
            "modelId": repo.repo_id,
            "author": repo.repo_id.split("/")[0] if "/" in repo.repo_id else None,
            "sha": sha,
            "lastModified": "2026-10-01T12:00:00.000Z",
            "createdAt": "2026-09-01T12:00:00.000Z",
            "private": repo.private,
            "gated": repo.gated,
            "disabled": repo.disabled,
            "downloads": 42,
            "likes": 7,
            "library_name": repo.library_name,
            "pipeline_tag": repo.pipeline_tag,
            "tags": [
                t
                for t in [repo.library_name, f"license:{repo.license}" if repo.license else None]
                if t
            ],
            "cardData": {"license": repo.license} if repo.license else None,
            "siblings": siblings,
        }
        if repo.parameters:
            body["safetensors"] = {
                "parameters": repo.parameters,
                "total": sum(repo.parameters.values()),
            }
        return body

    def handle(self, req: Request) -> Response:
        if req.path == "/api/agent-harnesses":
            return self._error(404, None, "Not Found")
        if self.rate_limit > 0:
            self.rate_limit -= 1
            return Response(
                429, {"error": "You have been rate-limited"}, headers={"Retry-After": "1"}
            )
        path = unquote(req.path)
        blobs = req.query.get("blobs", ["false"])[0].lower() == "true"
        m = re.fullmatch(r"/api/models/(.+?)/revision/(.+)", req.path)
        if m:
            repo = self._access(req, unquote(m.group(1)))
            if isinstance(repo, Response):
                return repo
            sha = self._revision(repo, unquote(m.group(2)))
            return sha if isinstance(sha, Response) else Response(200, self._info(repo, sha, blobs))
        m = re.fullmatch(r"/api/models/(.+?)/tree/([^/]+)(/.*)?", path)
        if m:
            repo = self._access(req, m.group(1))
            if isinstance(repo, Response):
                return repo
            sha = self._revision(repo, m.group(2))
            if isinstance(sha, Response):
                return sha
            sub = (m.group(3) or "").strip("/")
            items = [
                {
                    "type": "file",
                    "path": name,
                    "size": len(data),
                    "oid": git_blob_sha(data),
                }
                for name, data in sorted(repo.files.items())
                if not sub or name.startswith(sub + "/")
            ]
            return Response(200, items)
        m = re.fullmatch(r"/api/models/(.+)", path)
        if m and req.method == "GET":
            repo = self._access(req, m.group(1))
            if isinstance(repo, Response):
                return repo
            return Response(200, self._info(repo, repo.sha, blobs))
        m = re.fullmatch(r"/(.+?)/resolve/([^/]+)/(.+)", path)
        if m and req.method in ("GET", "HEAD"):
            repo = self._access(req, m.group(1))
            if isinstance(repo, Response):
                return repo
            sha = self._revision(repo, m.group(2))
            if isinstance(sha, Response):
                return sha
            data = repo.files.get(m.group(3))
            if data is None:
                resp = self._error(404, "EntryNotFound", f"{m.group(3)} does not exist")
                resp.headers["X-Repo-Commit"] = sha
                return resp
            return Response(
                200,
                raw=data,
                headers={
                    "X-Repo-Commit": sha,
                    "ETag": f'"{git_blob_sha(data)}"',
                    "Content-Type": "application/octet-stream",
                },
            )
        return self._error(404, None, f"no route for {req.method} {req.path}")
