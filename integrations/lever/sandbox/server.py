"""SandboxServer: the threaded HTTP server, the /v1 request pipeline and the Python control API."""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import json
import logging
import secrets
import socket
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import quote, urlencode

from integrations.lever.sandbox import api
from integrations.lever.sandbox.delivery import MAX_RETRIES, Dispatcher
from integrations.lever.sandbox.demo import CANDIDATE_HOSTS, DEMO_SEED
from integrations.lever.sandbox.faults import FaultConfig, Faults, TokenBucket
from integrations.lever.sandbox.permissions import expand
from integrations.lever.sandbox.state import Sandbox, SandboxError
from integrations.lever.sandbox.store import Store
from integrations.lever.sandbox.web import MAX_BODY, Request, Response, Router

logger = logging.getLogger(__name__)

_ERROR_CODES = {
    400: "BadRequestError",
    401: "UnauthorizedError",
    403: "ForbiddenError",
    404: "ResourceNotFound",
    408: "RequestTimeout",
    409: "ConflictError",
    422: "UnprocessableEntity",
    429: "TooManyRequests",
    500: "InternalServerError",
    502: "BadGateway",
    503: "ServiceUnavailable",
    504: "GatewayTimeout",
}


API_LOG_MAX = 200_000
# One API root per region under the same host (``regional_api_url``).
REGIONAL_API_PATH = "/{region}/v1"


def request_key_id(authorization: str) -> str:
    """A short, non-reversible id of the key a request used (its Authorization header);
    ``request_key_id("Basic " + base64(key + ":"))`` names a key in ``api_log()``."""
    return hashlib.sha256(authorization.encode()).hexdigest()[:12] if authorization else ""


def key_id_for(api_key: str) -> str:
    """``request_key_id`` of an API key sent the way Lever clients send it (Basic auth)."""
    return request_key_id("Basic " + base64.b64encode(f"{api_key}:".encode()).decode("ascii"))


class SandboxApp:
    """Everything behind the socket: routing, auth, permissions, rate limit, faults."""

    def __init__(
        self,
        sandbox: Sandbox,
        dispatcher: Dispatcher,
        *,
        limiter: TokenBucket,
        faults: Faults,
        stopping: threading.Event,
    ) -> None:
        from integrations.lever.sandbox.control import Control  # control imports this module

        self.sandbox = sandbox
        self.dispatcher = dispatcher
        self.limiter = limiter
        self.faults = faults
        self.stopping = stopping
        self.form_token = secrets.token_urlsafe(24)
        self.base_url = ""
        self._stats_lock = threading.Lock()
        self._stats: Counter[str] = Counter()
        # Every /v1 request's arrival and end (wall clock), method, path, status and key
        # (hashed), in the order they ended, for benches that measure rates per key as Lever
        # would see them and tests that ask what Lever saw when. Bounded.
        self._api_log: deque[dict[str, Any]] = deque(maxlen=API_LOG_MAX)
        # /v1 requests being handled (a hung write counts until it is applied).
        self._in_flight = 0
        self._in_flight_methods: list[str] = []
        self._idle = threading.Condition()
        self.api_router: Router[api.ApiRoute] = Router()
        for route in api.ROUTES:
            self.api_router.add(route.method, route.pattern, route)
        self.control = Control(self)

    @property
    def api_url(self) -> str:
        return self.base_url + "/v1"

    @property
    def regional_api_url(self) -> str:
        return self.base_url + REGIONAL_API_PATH

    def handle(self, req: Request) -> Response:
        arrived = time.time()
        # /<region>/v1/…: that region's own API root. Only the sandbox's region knows its keys.
        region, _, rest = req.path.lstrip("/").partition("/")
        if region in CANDIDATE_HOSTS and (rest == "v1" or rest.startswith("v1/")):
            req.path = "/" + rest
            req.context["region"] = region
        try:
            if req.path == "/v1" or req.path.startswith("/v1/"):
                with self._idle:
                    self._in_flight += 1
                    self._in_flight_methods.append(req.method)
                    self._idle.notify_all()
                try:
                    response = self._handle_api(req)
                finally:
                    with self._idle:
                        self._in_flight -= 1
                        self._in_flight_methods.remove(req.method)
                        self._idle.notify_all()
                self._api_log.append(
                    {
                        "at": arrived,
                        # Handled (a write applied) by then: after any injected hang.
                        "done": time.time(),
                        "method": req.method,
                        "path": req.path,
                        "status": "dropped" if response.drop else response.status,
                        "key": request_key_id(req.headers.get("authorization", "")),
                    }
                )
            else:
                response = self.control.handle(req)
        except Exception:
            logger.exception("lever sandbox: error handling %s %s", req.method, req.path)
            response = Response.error(500, "InternalServerError", "sandbox error")
        with self._stats_lock:
            self._stats[str(response.status) if not response.drop else "dropped"] += 1
        return response

    def _handle_api(self, req: Request) -> Response:
        is_write = req.method != "GET"
        decision = self.faults.decide(req.method, req.path, is_write=is_write)
        if decision.delay:
            # Interruptible, so stop() never waits out a long hang.
            self.stopping.wait(decision.delay)
        if decision.redirect is not None:
            status, base = decision.redirect
            query = urlencode(req.query, doseq=True, quote_via=quote)
            location = base + quote(req.path) + ("?" + query if query else "")
            return Response(status, b"", [("Location", location)])
        if decision.status is not None:
            headers = [("Retry-After", decision.retry_after)] if decision.status == 429 else []
            return Response.error(
                decision.status, _ERROR_CODES[decision.status], "injected fault", headers
            )
        try:
            if req.context.get("region", self.sandbox.region) != self.sandbox.region:
                # Another region's Lever has no account for any key of this one.
                raise SandboxError(401, "UnauthorizedError", "Invalid API key")
            key = self._authenticate(req)
            wait = self.limiter.take(key["id"])
            if wait is not None:
                return Response.error(
                    429,
                    "TooManyRequests",
                    "Rate limit exceeded: about 10 requests per second per API key",
                    [("Retry-After", str(wait))],
                )
            route = self.api_router.resolve(req)
            # Handlers read it for Lever's confidential-data rules (api.may_see_confidential).
            req.context["permissions"] = key["permissions"]
            if route.permission not in key["permissions"]:
                raise SandboxError(
                    403,
                    "ForbiddenError",
                    f"This API key does not have the {route.permission} permission",
                )
            api.check_query(route, req)
            response = route.handler(self.sandbox, req)
        except SandboxError as exc:
            return Response.error(exc.status, exc.code, exc.message)
        if decision.drop_after_apply and response.status < 300:
            response.drop = True
        if req.method == "GET" and response.status == 200 and self.faults.breaks_pages:
            response = self._page_fault(req, response)
        if req.method == "GET" and response.status == 200:
            response = self._expand_fault(req, response)
        return response

    def _expand_fault(self, req: Request, response: Response) -> Response:
        """The user expansions (``owner``, ``hiringManager``, ``followers``) broken the way the
        ``bad_expand`` knob says: ``ids`` puts the user ids back (Lever ignored ``expand``),
        ``malformed`` puts values that are no user at all (else ``response``)."""
        kind = self.faults.bad_expand(req.method, req.path)
        if not kind:
            return response
        try:
            body = json.loads(response.body)
        except ValueError:
            return response
        data = body.get("data") if isinstance(body, dict) else None
        items = data if isinstance(data, list) else [data] if isinstance(data, dict) else []
        for item in items:
            if not isinstance(item, dict):
                continue
            for name in ("owner", "hiringManager"):
                value = item.get(name)
                if isinstance(value, dict):
                    item[name] = value.get("id") if kind == "ids" else 42
            followers = item.get("followers")
            if isinstance(followers, list):
                item["followers"] = (
                    [f.get("id") if isinstance(f, dict) else f for f in followers]
                    if kind == "ids"
                    else {"unexpected": True}
                )
        headers = [h for h in response.headers if h[0].lower() != "content-type"]
        return Response.json(body, response.status, headers)

    def _page_fault(self, req: Request, response: Response) -> Response:
        """A list page broken the way the ``bad_page`` knob says (else ``response``)."""
        try:
            body = json.loads(response.body)
        except ValueError:
            return response
        if not (isinstance(body, dict) and isinstance(body.get("data"), list)):
            return response
        if "hasNext" not in body:
            return response
        offset = req.arg("offset") or ""
        kind = self.faults.bad_page(req.method, req.path, has_offset=bool(offset))
        if kind == "no_next":
            body["hasNext"] = True
            body.pop("next", None)
        elif kind == "no_has_next":
            del body["hasNext"]
            # A token Lever never issued when this was the last page.
            body.setdefault("next", "%5B0%2C0%2C%22%22%5D")
        elif kind == "same_next":
            body["hasNext"] = True
            # As the client sent it: Lever's tokens are URL-encoded (decoded once on the way in).
            body["next"] = offset if offset.startswith("%") else quote(offset, safe="")
        elif kind == "not_a_list":
            body["data"] = {str(i): item for i, item in enumerate(body["data"])}
        else:
            return response
        headers = [h for h in response.headers if h[0].lower() != "content-type"]
        return Response.json(body, response.status, headers)

    def _authenticate(self, req: Request) -> dict[str, Any]:
        header = req.headers.get("authorization", "")
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic" or not encoded.strip():
            raise SandboxError(
                401, "UnauthorizedError", "Missing API key (HTTP Basic, key as username)"
            )
        try:
            decoded = base64.b64decode(encoded.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise SandboxError(401, "UnauthorizedError", "Malformed Authorization header") from None
        key = decoded.partition(":")[0]
        row = self.sandbox.store.key_by_secret(key) if key else None
        if row is None:
            raise SandboxError(401, "UnauthorizedError", "Invalid API key")
        return {"id": row["id"], "permissions": expand(json.loads(row["permissions"]))}

    def request_stats(self) -> dict[str, int]:
        with self._stats_lock:
            return dict(self._stats)

    def reset_request_stats(self) -> None:
        with self._stats_lock:
            self._stats.clear()
        self._api_log.clear()

    def api_log(self) -> list[dict[str, Any]]:
        """The recorded /v1 requests, oldest first (see ``request_key_id`` for ``key``)."""
        return list(self._api_log)

    def wait_idle(self, timeout: float) -> bool:
        """Wait until no /v1 request is being handled; False if one still is after ``timeout``."""
        with self._idle:
            return self._idle.wait_for(lambda: self._in_flight == 0, timeout)

    def wait_busy(self, timeout: float, method: str = "") -> bool:
        """Wait until a /v1 request (of ``method``, when given) is being handled, e.g. held by
        a hang fault; False if none arrives within ``timeout`` seconds."""
        with self._idle:
            return self._idle.wait_for(
                lambda: any(m == method or not method for m in self._in_flight_methods), timeout
            )

    def reset_all(self) -> None:
        self.sandbox.reset()
        self.faults.reset()
        self.reset_request_stats()
        self.limiter.configure(self.limiter.rate, self.limiter.burst)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "lever-sandbox"
    sys_version = ""
    server: _HTTPServer
    # Idle keep-alive connections are closed after this many seconds.
    timeout = 30
    # Headers and body go out in two writes; without this, Nagle + delayed ACK add ~40 ms.
    disable_nagle_algorithm = True

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection, add=True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.track(self.connection, add=False)

    def _serve(self) -> None:
        length_header = self.headers.get("Content-Length") or "0"
        try:
            length = int(length_header)
        except ValueError:
            length = -1
        if length < 0 or length > MAX_BODY:
            self._write(
                Response.error(
                    413 if length > 0 else 400,
                    "BadRequestError",
                    "body too large or bad Content-Length",
                )
            )
            self.close_connection = True
            return
        body = self.rfile.read(length) if length else b""
        req = Request.build(self.command, self.path, dict(self.headers.items()), body)
        response = self.server.app.handle(req)
        if response.drop:
            # Fault injection: the write happened, the client never hears about it.
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        try:
            self._write(response)
        except ConnectionError:
            # The client stopped waiting (a hang outlasted its timeout): nobody to answer.
            self.close_connection = True

    def _write(self, response: Response) -> None:
        self.send_response(response.status)
        for name, value in response.headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.send_header("x-lever-region", "sandbox")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _serve

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("lever sandbox: %s", format % args)


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], app: SandboxApp) -> None:
        self.app = app
        self._connections: set[socket.socket] = set()
        self._conn_lock = threading.Lock()
        super().__init__(address, _Handler)

    def track(self, conn: socket.socket, *, add: bool) -> None:
        with self._conn_lock:
            (self._connections.add if add else self._connections.discard)(conn)

    def close_connections(self) -> None:
        with self._conn_lock:
            conns = list(self._connections)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)


class SandboxServer:
    """A local stand-in Lever: Data API under ``/v1``, control pages, webhook deliveries.

    Pure stdlib (no Django), so tests and benches can run it in a thread::

        with SandboxServer(port=0) as lever:
            requests.get(lever.api_url + "/stages", auth=(DEMO_API_KEY, ""))

    State lives in SQLite at ``db_path`` (``":memory:"`` by default, gone on stop; a file
    keeps it across restarts). The demo data is seeded on first start when ``seed`` is true.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        db_path: str | Path = ":memory:",
        seed: bool = True,
        *,
        seed_value: int = DEMO_SEED,
        reset: bool = False,
        region: str = "us",
        rate_per_second: float | None = 10.0,
        rate_burst: int = 20,
        webhook_retry_base: float = 2.0,
        webhook_max_retries: int = MAX_RETRIES,
        webhook_timeout: float = 10.0,
        delivery_workers: int = 2,
    ) -> None:
        self.host = host
        self.port = port
        self.db_path = str(db_path)
        self.seed = seed
        self.seed_value = seed_value
        self.reset = reset
        self.region = region
        self.limiter = TokenBucket(rate_per_second, rate_burst)
        self.faults_holder = Faults()
        self.webhook_retry_base = webhook_retry_base
        self.webhook_max_retries = webhook_max_retries
        self.webhook_timeout = webhook_timeout
        self.delivery_workers = delivery_workers
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._app: SandboxApp | None = None
        self._stopping = threading.Event()

    def __repr__(self) -> str:
        return f"SandboxServer(url={self.url if self._httpd else None!r}, db_path={self.db_path!r})"

    # --- lifecycle ------------------------------------------------------------------------

    def _open(self) -> _HTTPServer:
        if self._httpd is not None:
            raise RuntimeError("sandbox already started")
        self._stopping.clear()
        store = Store(self.db_path)
        sandbox = Sandbox(
            store, region=self.region, seed=self.seed and not self.reset, seed_value=self.seed_value
        )
        if self.reset:
            sandbox.reset()
        dispatcher = Dispatcher(
            store,
            retry_base=self.webhook_retry_base,
            max_retries=self.webhook_max_retries,
            timeout=self.webhook_timeout,
            workers=self.delivery_workers,
        )
        sandbox.on_delivery = dispatcher.notify
        app = SandboxApp(
            sandbox,
            dispatcher,
            limiter=self.limiter,
            faults=self.faults_holder,
            stopping=self._stopping,
        )
        try:
            self._httpd = _HTTPServer((self.host, self.port), app)
        except OSError:
            store.close()
            raise
        host, port = self._httpd.server_address[:2]
        if isinstance(host, bytes):  # only for AF_UNIX, which this server never binds
            host = host.decode()
        self.port = int(port)
        app.base_url = f"http://{host}:{self.port}"
        self._app = app
        dispatcher.start()
        return self._httpd

    def start(self) -> SandboxServer:
        """Bind, then serve from a background thread. Returns self."""
        httpd = self._open()
        self._thread = threading.Thread(
            target=httpd.serve_forever,
            kwargs={"poll_interval": 0.02},
            name="lever-sandbox-http",
            daemon=True,
        )
        self._thread.start()
        return self

    def serve_forever(self, ready: Callable[[], None] | None = None) -> None:
        """Serve in the calling thread until ``stop()`` or KeyboardInterrupt (Ctrl-C).

        ``ready`` is called once the socket is bound (``url`` is then final).
        """
        httpd = self._open()
        try:
            if ready is not None:
                ready()
            httpd.serve_forever(poll_interval=0.2)
        except KeyboardInterrupt:
            pass
        finally:
            self._close()

    def stop(self) -> None:
        """Stop serving, close open connections and delivery threads, close the database."""
        if self._httpd is None:
            return
        self._stopping.set()
        self._httpd.shutdown()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        self._close()

    def _close(self) -> None:
        if self._httpd is None or self._app is None:
            return
        self._stopping.set()
        httpd, app = self._httpd, self._app
        self._httpd = None
        httpd.server_close()
        httpd.close_connections()
        app.dispatcher.stop()
        app.sandbox.store.close()

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # --- addresses ------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def api_url(self) -> str:
        """The API root that serves every region (Karat's ``LEVER_API_BASE_URL``)."""
        return self.url + "/v1"

    @property
    def regional_api_url(self) -> str:
        """``…/{region}/v1``: one API root per region, as on Lever; only the sandbox's own
        ``region`` accepts its keys (the others answer 401). As ``LEVER_API_BASE_URL``, Karat
        puts each integration's region in place of ``{region}``."""
        return self.url + REGIONAL_API_PATH

    @property
    def app(self) -> SandboxApp:
        if self._app is None:
            raise RuntimeError("sandbox not started")
        return self._app

    @property
    def sandbox(self) -> Sandbox:
        return self.app.sandbox

    # --- Python control API (same effects as /_control and the pages) ---------------------

    def set_faults(self, config: dict[str, Any] | None = None, **knobs: Any) -> FaultConfig:
        """Replace the fault knobs (see ``FaultConfig``); ``set_faults()`` clears them."""
        fault_config = FaultConfig.from_json({**(config or {}), **knobs})
        self.faults_holder.set(fault_config)
        return fault_config

    def reset_faults(self) -> None:
        self.faults_holder.reset()

    @property
    def faults(self) -> dict[str, Any]:
        return self.faults_holder.config.to_json()

    def set_rate_limit(self, rate_per_second: float | None, burst: int = 20) -> None:
        """Change the per-key token bucket (``None`` turns rate limiting off)."""
        self.limiter.configure(rate_per_second, burst)

    def counters(self, opportunity_id: str | None = None) -> dict[str, Any]:
        """API writes applied: ``{"total": {kind: n}, "opportunities": {id: {kind: n}}}``,
        or one opportunity's ``{kind: n}``. Kinds: ``state.COUNTER_KINDS``."""
        return self.sandbox.counters(opportunity_id)

    def reset_counters(self) -> None:
        self.sandbox.reset_counters()

    def request_stats(self) -> dict[str, int]:
        return self.app.request_stats()

    def api_log(self) -> list[dict[str, Any]]:
        """Every /v1 request since the last reset, in the order they ended:
        ``{at, done, method, path, status, key}``."""
        return self.app.api_log()

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Wait until every /v1 request that arrived has been handled (a hung write applied);
        False if one is still being handled after ``timeout`` seconds."""
        return self.app.wait_idle(timeout)

    def wait_busy(self, timeout: float = 10.0, method: str = "") -> bool:
        """Wait until a /v1 request (of ``method``, when given) is being handled, e.g. a write
        held by a hang fault (a test kills its sender then, while the request is surely in
        flight); False if none arrives within ``timeout`` seconds."""
        return self.app.wait_busy(timeout, method)

    def create_api_key(
        self, permissions: list[str] | tuple[str, ...], label: str = "test key"
    ) -> str:
        return self.sandbox.create_key(label=label, permissions=permissions)[1]

    def opportunity(self, opportunity_id: str, expand: tuple[str, ...] = ()) -> dict[str, Any]:
        return self.sandbox.public(self.sandbox.opportunity(opportunity_id), expand)

    def notes(self, opportunity_id: str) -> list[dict[str, Any]]:
        return [api.public_note(n) for n in self.sandbox.notes(opportunity_id)]

    def move_stage(self, opportunity_id: str, stage_id: str) -> dict[str, Any]:
        return self.sandbox.public(self.sandbox.move_stage(opportunity_id, stage_id, count=False))

    def archive(self, opportunity_id: str, reason_id: str) -> dict[str, Any]:
        return self.sandbox.public(
            self.sandbox.set_archived(opportunity_id, reason_id, count=False)
        )

    def unarchive(self, opportunity_id: str) -> dict[str, Any]:
        return self.sandbox.public(self.sandbox.set_archived(opportunity_id, None, count=False))

    def hire(self, opportunity_id: str, reason_id: str | None = None) -> dict[str, Any]:
        return self.sandbox.public(self.sandbox.hire(opportunity_id, reason_id))

    def set_confidential(self, opportunity_id: str, confidential: bool = True) -> dict[str, Any]:
        """Make an opportunity confidential (or not again); its updatedAt moves, no webhook."""
        return self.sandbox.public(self.sandbox.set_confidentiality(opportunity_id, confidential))

    def snooze(self, opportunity_id: str, until: int | None) -> dict[str, Any]:
        """Snooze an opportunity until ``until`` (ms, UTC) or wake it (None); no webhook."""
        return self.sandbox.public(self.sandbox.set_snoozed(opportunity_id, until))

    def set_emails(self, opportunity_id: str, emails: list[str]) -> dict[str, Any]:
        """Replace an opportunity's emails with any text (Lever checks none); no webhook."""
        return self.sandbox.public(self.sandbox.set_emails(opportunity_id, emails))

    def merge_contact(self, opportunity_id: str, into_contact: str | None = None) -> str:
        """Lever's profile merge: the opportunity's contact (all its opportunities) becomes
        ``into_contact`` (a new contact id when None); updatedAt moves, no webhook. Returns
        the surviving contact id."""
        return self.sandbox.merge_contact(opportunity_id, into_contact)

    def delete_candidate(self, opportunity_id: str, *, user_id: str | None = None) -> int:
        """Delete the opportunity as Lever does: 404 on reads, listed by
        ``/opportunities/deleted``, ``candidateDeleted`` fired. Returns deletedAt (ms)."""
        return self.sandbox.delete_opportunity(opportunity_id, user_id=user_id)

    def anonymize(self, opportunity_id: str) -> dict[str, Any]:
        """Lever's anonymisation: personal data erased, ``isAnonymized`` true; no webhook."""
        return self.sandbox.public(self.sandbox.anonymize_opportunity(opportunity_id))

    def add_postings(
        self, count: int, *, confidential_every: int = 0, title: str = "Generated Engineer"
    ) -> list[str]:
        """Create ``count`` postings in every state at once (see ``Sandbox.add_postings``)."""
        return self.sandbox.add_postings(count, confidential_every=confidential_every, title=title)

    def update_posting(self, posting_id: str, **changes: Any) -> dict[str, Any]:
        """Change a posting's text/state/requisitionCodes/confidentiality; updatedAt moves."""
        return self.sandbox.update_posting(posting_id, changes)

    def delete_posting(self, posting_id: str) -> None:
        self.sandbox.delete_posting(posting_id)

    def set_event_enabled(self, event: str, enabled: bool) -> None:
        self.sandbox.set_event_enabled(event, enabled)

    def deliveries(self, event: str | None = None, limit: int = 200) -> list[dict[str, Any]]:
        """Recorded webhook deliveries, newest first, each with its attempts."""
        return self.sandbox.deliveries(event=event, limit=limit)

    def wait_for_deliveries(self, timeout: float = 10.0) -> bool:
        """Block until no delivery is pending or being sent; False on timeout."""
        return self.app.dispatcher.wait_idle(timeout)

    def reset_data(self) -> None:
        """Wipe and reseed (keys, webhooks, deliveries and counters too); clear faults."""
        self.app.reset_all()
