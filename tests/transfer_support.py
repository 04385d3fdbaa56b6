"""A small known day of transfers (Friday 2026-11-27), driven through the HTTP API with the FixedClock, and its
hand-counted transfer figures (tests/test_transfer_figures.py, tests/test_transfers_browser.py)."""

from __future__ import annotations

from stats_support import FRI, at, issue, ok

REASONS = ["wrong_service", "other_department", "cannot_handle", "complaint", "leader", "other", "none"]
TARGETS = ["service:shichang", "service:bubancheng", "window:4", "window:5"]


def transfer(w, at_window: int, **body) -> dict:
    return ok(w.post(f"/api/v1/windows/{at_window}/transfer", json=body))["ticket"]


def call(w, window: int) -> str:
    return ok(w.post(f"/api/v1/windows/{window}/call-next"))["ticket"]["number"]


def script_transfers(clock, client, clerk_client) -> None:
    """Five tickets, five transfers:

    * T1 A001 window 1 (人社) → service 市场, 取错号;      T2 A001 window 4 (市场) → window 5, 需其他部门办理 (+ text);
    * T3 A003 window 1 (人社) → service 市场, 取错号;      T4 B001 window 4 (市场) → service 办不成事, 反映办不成事;
    * T5 B002 window 5 (市场) → window 4, no reason chosen (a text only).

    Endings: A002 办件 at 1, A001 办件 at 5, A003 咨询 at 4, B001 办件 at 7, B002 过号 at 4.
    """
    at(clock, FRI, "09:00")
    for service in ("renshe", "renshe", "renshe", "shichang", "shichang"):
        issue(client, service)
    w1, w4, w5, w7 = clerk_client(1), clerk_client(4), clerk_client(5), clerk_client(7)
    at(clock, FRI, "09:05")
    assert call(w1, 1) == "A001"
    at(clock, FRI, "09:10")
    transfer(w1, 1, service="shichang", reason="wrong_service")
    assert call(w1, 1) == "A002"
    at(clock, FRI, "09:15")
    ok(w1.post("/api/v1/windows/1/finish", json={"outcome": "handled"}))
    assert call(w4, 4) == "A001"  # a transferred ticket waits at the head of its new queue
    at(clock, FRI, "09:20")
    transfer(w4, 4, window=5, reason="other_department", reason_text="需公安窗口核验身份")
    assert call(w1, 1) == "A003"
    at(clock, FRI, "09:25")
    transfer(w1, 1, service="shichang", reason="wrong_service")
    assert call(w5, 5) == "A001"
    at(clock, FRI, "09:30")
    ok(w5.post("/api/v1/windows/5/finish", json={"outcome": "handled"}))
    assert call(w4, 4) == "A003"
    at(clock, FRI, "09:35")
    ok(w4.post("/api/v1/windows/4/finish", json={"outcome": "consulted"}))
    assert call(w4, 4) == "B001"
    at(clock, FRI, "09:40")
    transfer(w4, 4, service="bubancheng", reason="complaint")
    assert call(w7, 7) == "B001"
    at(clock, FRI, "09:45")
    ok(w7.post("/api/v1/windows/7/finish", json={"outcome": "handled"}))
    assert call(w5, 5) == "B002"
    at(clock, FRI, "09:50")
    transfer(w5, 5, window=4, reason_text="群众要求到4号窗口")
    assert call(w4, 4) == "B002"
    at(clock, FRI, "09:55")
    ok(w4.post("/api/v1/windows/4/no-show"))


def fig(transfers=0, tickets=0, ended=0, rate=None, called=None, ticket_rate=None, reasons=None, targets=None):
    """A transfer row's figures: ``ended`` = 办件 + 咨询 + 过号 of the row (visits = ended + transfers)."""
    return {"transfers": transfers, "tickets": tickets, "visits": ended + transfers, "rate": rate, "called": called,
            "ticket_rate": ticket_rate, "reasons": {c: (reasons or {}).get(c, 0) for c in REASONS},
            "targets": {k: (targets or {}).get(k, 0) for k in TARGETS}}


# Hand counts. Called: all 5 tickets; transferred at least once: A001, A003, B001, B002 (4 → 80 %).
# Visits: 5 endings + 5 transfers = 10 → 转办率 50 %.
TOTAL = fig(5, 4, 5, 50.0, 5, 80.0, {"wrong_service": 2, "other_department": 1, "complaint": 1, "none": 1},
            {"service:shichang": 2, "service:bubancheng": 1, "window:4": 1, "window:5": 1})
BY_WINDOW = {
    "1": fig(2, 2, 1, 66.7, reasons={"wrong_service": 2}, targets={"service:shichang": 2}),
    "2": fig(), "3": fig(),
    "4": fig(2, 2, 2, 50.0, reasons={"other_department": 1, "complaint": 1},
             targets={"window:5": 1, "service:bubancheng": 1}),
    "5": fig(1, 1, 1, 50.0, reasons={"none": 1}, targets={"window:4": 1}),
    "6": fig(),
    "7": fig(0, 0, 1, 0.0),
}
# from the service it left: A001 left 人社 (T1), then 市场 (T2); A002 ended in 人社; A001, A003, B002 in 市场.
BY_SERVICE = {
    "renshe": fig(2, 2, 1, 66.7, reasons={"wrong_service": 2}, targets={"service:shichang": 2}),
    "shichang": fig(3, 3, 3, 50.0, reasons={"other_department": 1, "complaint": 1, "none": 1},
                    targets={"window:5": 1, "service:bubancheng": 1, "window:4": 1}),
    "bubancheng": fig(0, 0, 1, 0.0),
    "lingdao": fig(),
}
ROUTES = [("1", "service:shichang", 2), ("4", "service:bubancheng", 1), ("4", "window:5", 1), ("5", "window:4", 1)]
