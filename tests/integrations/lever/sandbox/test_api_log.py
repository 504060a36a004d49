"""The sandbox's request log: what Lever would have seen, per key, for benches."""

from __future__ import annotations

import requests

from integrations.lever.sandbox import DEMO_API_KEY, SandboxServer
from integrations.lever.sandbox.server import key_id_for


def test_every_api_request_is_logged_with_its_key_and_status_and_reset_clears_it() -> None:
    with SandboxServer(port=0) as lever:
        other = lever.create_api_key(["stages:read:admin"])
        requests.get(lever.api_url + "/stages", auth=(DEMO_API_KEY, ""), timeout=5)
        requests.get(lever.api_url + "/users", auth=(other, ""), timeout=5)
        requests.get(lever.url + "/_control/health", timeout=5)

        log = lever.api_log()
        lever.app.reset_request_stats()

        assert [(r["method"], r["path"], r["status"]) for r in log] == [
            ("GET", "/v1/stages", 200),
            ("GET", "/v1/users", 403),
        ]
        assert [r["key"] for r in log] == [key_id_for(DEMO_API_KEY), key_id_for(other)]
        assert DEMO_API_KEY not in str(log)
        assert log[0]["at"] <= log[1]["at"]
        assert lever.api_log() == []
