"""The scripted days of the statistics tests, driven through the HTTP API with a FixedClock: a weekday (Friday
2026-11-27) and a weekend day (Saturday 2026-11-28), and the small HTTP helpers they use."""

from __future__ import annotations

from datetime import datetime

from hall_support import SUPER_PASSWORD, tablet

FRI = "2026-11-27"
SAT = "2026-11-28"


# ------------------------------------------------------------------------------------------------ the script
def at(clock, day: str, hhmm: str) -> None:
    clock.set(datetime.fromisoformat(f"{day}T{hhmm}:00").replace(tzinfo=clock.tz))


def ok(r, status=200):
    assert r.status_code == status, r.get_json()
    return r.get_json()


def issue(client, service: str) -> dict:
    return ok(client.post("/api/v1/tickets", json={"service": service}), 201)["ticket"]


def supervisor(app):
    c = app.test_client()
    r = ok(c.post("/api/v1/login", json={"username": "supervisor", "password": SUPER_PASSWORD}))
    c.environ_base["HTTP_X_CSRF_TOKEN"] = r["csrf_token"]
    return c


def script_weekday(clock, client, clerk_client) -> dict:
    """Friday 2026-11-27 (hand-counted figures in WEEKDAY below)."""
    at(clock, FRI, "09:00")
    a1, a2, b1 = issue(client, "renshe"), issue(client, "renshe"), issue(client, "shichang")
    w1, w4, w7 = clerk_client(1), clerk_client(4), clerk_client(7)
    at(clock, FRI, "09:05")
    f1, a3 = issue(client, "bubancheng"), issue(client, "renshe")
    at(clock, FRI, "09:10")
    assert ok(w1.post("/api/v1/windows/1/call-next"))["ticket"]["number"] == "A001"
    at(clock, FRI, "09:15")
    assert ok(w4.post("/api/v1/windows/4/call-next"))["ticket"]["number"] == "B001"
    at(clock, FRI, "09:20")
    ok(w1.post("/api/v1/windows/1/finish", json={"outcome": "handled"}))
    ok(client.post("/api/v1/windows/1/rating", json={"ticket_id": a1["id"], "level": 5}, headers=tablet(1)), 201)
    assert ok(w1.post("/api/v1/windows/1/call-next"))["ticket"]["number"] == "A002"
    at(clock, FRI, "09:25")
    ok(w4.post("/api/v1/windows/4/transfer", json={"service": "bubancheng", "reason": "complaint"}))
    at(clock, FRI, "09:30")
    ok(w1.post("/api/v1/windows/1/no-show"))
    assert ok(w7.post("/api/v1/windows/7/call-next"))["ticket"]["number"] == "B001"
    at(clock, FRI, "09:35")
    ok(w7.post("/api/v1/windows/7/case", json={"department": "市场监管局", "problem": "营业执照变更需法定代表人到场",
                                                "action": "已联系部门预约办理", "resolved": False}), 201)
    ok(client.post(f"/api/v1/tickets/{a3['id']}/cancel", json={"token": a3["token"]}))
    at(clock, FRI, "09:40")
    ok(w7.post("/api/v1/windows/7/finish", json={"outcome": "consulted"}))
    ok(client.post("/api/v1/windows/7/rating", json={"ticket_id": b1["id"], "level": 2}, headers=tablet(7)), 201)
    at(clock, FRI, "09:45")
    assert ok(w7.post("/api/v1/windows/7/call-next"))["ticket"]["number"] == "F001"
    at(clock, FRI, "10:00")
    ok(w7.post("/api/v1/windows/7/finish", json={"outcome": "handled"}))
    ok(w7.post("/api/v1/windows/7/case", json={"department": "公安分局", "problem": "户籍迁移材料不全",
                                                "action": "现场协调，当场办结", "resolved": True}), 201)
    ok(client.post("/api/v1/windows/7/rating", json={"ticket_id": f1["id"], "level": 4}, headers=tablet(7)), 201)
    issue(client, "renshe")  # A004: still waiting at the end of the day
    return {"a1": a1, "a2": a2, "b1": b1, "f1": f1}


def script_weekend(clock, client, clerk_client) -> dict:
    """Saturday 2026-11-28 (周末延时服务)."""
    at(clock, SAT, "09:00")
    a1, b1 = issue(client, "renshe"), issue(client, "shichang")
    w2, w3 = clerk_client(2), clerk_client(3)
    at(clock, SAT, "09:05")
    assert ok(w2.post("/api/v1/windows/2/call-next"))["ticket"]["number"] == "A001"
    at(clock, SAT, "09:10")
    assert ok(w3.post("/api/v1/windows/3/call-next"))["ticket"]["number"] == "B001"
    at(clock, SAT, "09:15")
    ok(w2.post("/api/v1/windows/2/finish", json={"outcome": "handled"}))
    ok(client.post("/api/v1/windows/2/rating", json={"ticket_id": a1["id"], "level": 3}, headers=tablet(2)), 201)
    at(clock, SAT, "09:20")
    ok(w3.post("/api/v1/windows/3/finish", json={"outcome": "consulted"}))
    ok(client.post("/api/v1/windows/3/rating", json={"ticket_id": b1["id"], "level": 1}, headers=tablet(3)), 201)
    return {"a1": a1, "b1": b1}
