"""The HTTP API of a live server as a kiosk and as the clerks of some windows (for tests of live screens)."""

from __future__ import annotations

import requests

from hall_support import DEMO_PASSWORD

class Api:
    """The HTTP API of the live server, as a kiosk and as the clerks of some windows."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.clerks: dict[int, requests.Session] = {}

    def issue(self, service: str = "renshe") -> dict:
        r = requests.post(self.base + "/api/v1/tickets", json={"service": service}, timeout=5)
        assert r.status_code == 201, r.text
        return r.json()["ticket"]

    def clerk(self, window: int) -> requests.Session:
        if window not in self.clerks:
            s = requests.Session()
            r = s.post(self.base + "/api/v1/login", timeout=5,
                       json={"username": f"clerk{window}", "password": DEMO_PASSWORD, "window": window})
            assert r.status_code == 200, r.text
            s.headers["X-CSRF-Token"] = r.json()["csrf_token"]
            self.clerks[window] = s
        return self.clerks[window]

    def call_next(self, window: int) -> dict:
        r = self.clerk(window).post(f"{self.base}/api/v1/windows/{window}/call-next", json={}, timeout=5)
        assert r.status_code == 200, r.text
        return r.json()["ticket"]
