"""Control page for Lever's rate limit (integrations/lever/README.md §6): see and change the
per-key limit the sandbox enforces (10/s, bursts up to 20 in any one second, like Lever), turn
it off, or make the next request answer 429 with a chosen Retry-After, so a client's pacing
and its handling of a 429 can be tried by hand."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

from integrations.lever.sandbox.faults import RETRY_AFTER_MAX
from integrations.lever.sandbox.state import SandboxError
from integrations.lever.sandbox.web import Request, Response

if TYPE_CHECKING:
    from integrations.lever.sandbox.control import Control

PATH = "/rate-limit"


def _number(req_value: str, name: str, *, low: float, high: float) -> float:
    try:
        value = float(req_value)
    except ValueError:
        raise SandboxError(400, "BadRequestError", f"{name} must be a number") from None
    if not low <= value <= high:
        raise SandboxError(400, "BadRequestError", f"{name} must be between {low:g} and {high:g}")
    return value


def register(control: Control) -> None:
    """Add the page and its forms to ``control``'s router."""
    app = control.app

    def page(req: Request) -> Response:
        limiter = app.limiter
        state = (
            "off (every request admitted)"
            if limiter.rate is None
            else f"{limiter.rate:g} requests/s per key, at most {limiter.burst} in any one second"
        )
        pending = app.faults.config.fail_next.count(429)
        body = (
            f"<p>Now: <b>{html.escape(state)}</b>. Over the limit the API answers 429 with "
            "<code>Retry-After</code> (whole seconds). Lever documents about 10 requests/s with "
            f"bursts up to 20.</p><p>Injected 429s waiting: {pending}.</p>"
            "<h2>Change the limit</h2><p>"
            + control._form(
                PATH,
                "Rate <input name='rate' value='10' size='4'> per second, burst "
                "<input name='burst' value='20' size='4'> ",
                "Set",
                back=PATH,
            )
            + " "
            + control._form(f"{PATH}/off", "", "Turn the limit off", back=PATH)
            + "</p><h2>Trigger a case by hand</h2><p>"
            + control._form(
                f"{PATH}/429",
                "Retry-After <input name='retry_after' value='1' size='4'> s ",
                "Answer the next API request with 429",
                back=PATH,
            )
            + "</p>"
        )
        return Response.html(control._layout("Rate limit", body, req.arg("msg")))

    def form_set(req: Request) -> Response:
        rate = _number(control._field(req, "rate"), "rate", low=0.1, high=10_000)
        burst = int(_number(control._field(req, "burst"), "burst", low=1, high=10_000))
        app.limiter.configure(rate, burst)
        return control._back(req, PATH)

    def form_off(req: Request) -> Response:
        app.limiter.configure(None, app.limiter.burst)
        return control._back(req, PATH)

    def form_429(req: Request) -> Response:
        seconds = int(
            _number(control._field(req, "retry_after"), "Retry-After", low=0, high=RETRY_AFTER_MAX)
        )
        config = app.faults.config
        config.fail_next.append(429)
        config.retry_after = seconds
        app.faults.set(config)
        return control._back(req, PATH)

    control.router.add("GET", PATH, page)
    control.router.add("POST", PATH, form_set)
    control.router.add("POST", f"{PATH}/off", form_off)
    control.router.add("POST", f"{PATH}/429", form_429)
