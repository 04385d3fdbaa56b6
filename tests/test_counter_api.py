"""Counter API beyond the basic actions: concurrent call-next, the queue preview, today's counts, the pages."""

from __future__ import annotations

import threading
from collections import Counter

from hall_support import login, tablet


def test_two_clerks_pressing_call_next_at_once_never_get_the_same_ticket(client, clerk_client):
    a, b = clerk_client(2), clerk_client(3)
    for _round in range(15):
        client.post("/api/v1/tickets", json={"service": "renshe"})
        barrier = threading.Barrier(2)
        results = {}

        def press(name, c, window):
            barrier.wait()
            results[name] = c.post(f"/api/v1/windows/{window}/call-next")

        threads = [threading.Thread(target=press, args=("a", a, 2)), threading.Thread(target=press, args=("b", b, 3))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        codes = sorted(r.status_code for r in results.values())
        assert codes == [200, 409], [r.get_json() for r in results.values()]
        assert "queue_empty" in [r.get_json().get("error", {}).get("code") for r in results.values()]
        for c, window in ((a, 2), (b, 3)):
            c.post(f"/api/v1/windows/{window}/finish", json={"outcome": "handled"})


def test_four_windows_draining_one_queue_call_each_ticket_once(client, clerk_client):
    for i in range(40):
        client.post("/api/v1/tickets", json={"service": "renshe" if i % 2 else "shichang"})
    clerks = {w: clerk_client(w) for w in (2, 3, 5, 6)}
    called: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(len(clerks))

    def work(window, c):
        barrier.wait()
        while True:
            r = c.post(f"/api/v1/windows/{window}/call-next")
            if r.status_code == 409:
                assert r.get_json()["error"]["code"] == "queue_empty"
                return
            assert r.status_code == 200, r.get_json()
            with lock:
                called.append(r.get_json()["ticket"]["id"])
            assert c.post(f"/api/v1/windows/{window}/finish", json={"outcome": "handled"}).status_code == 200

    threads = [threading.Thread(target=work, args=item) for item in clerks.items()]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(called) == 40 and not [i for i, n in Counter(called).items() if n > 1]


def test_overview_previews_the_windows_queues(client, clerk_client, clock):
    for service in ("renshe", "shichang", "renshe", "renshe"):
        client.post("/api/v1/tickets", json={"service": service})
        clock.advance(minutes=2)
    c2 = clerk_client(2)
    c2.post("/api/v1/windows/2/call-next")  # A001
    c2.post("/api/v1/windows/2/transfer", json={"window": 3, "reason": "other"})
    c = clerk_client(3)
    o = c.get("/api/v1/windows/3/overview").get_json()
    assert o["window"]["number"] == 3 and o["window"]["current"] is None and o["complaint"] is False
    assert o["holder"]["clerk"] == "clerk3" and "hold_id" not in o["holder"]
    q = o["queues"]
    assert [e["number"] for e in q["transferred_in"]["next"]] == ["A001"]
    assert [s["code"] for s in q["services"]] == ["shichang", "renshe"]
    shichang, renshe = q["services"]
    assert [e["number"] for e in shichang["next"]] == ["B001"] and shichang["longest_wait_minutes"] == 6
    assert [e["number"] for e in renshe["next"]] == ["A002", "A003"] and renshe["waiting"] == 2
    assert q["total_waiting"] == 4
    assert c.get("/api/v1/windows/2/overview").status_code == 403
    assert client.get("/api/v1/windows/3/overview").status_code == 401


def test_today_counts_for_the_window(client, clerk_client, clock):
    for _ in range(5):
        client.post("/api/v1/tickets", json={"service": "renshe"})
    c = clerk_client(1)
    c.post("/api/v1/windows/1/call-next")
    c.post("/api/v1/windows/1/recall")
    clock.advance(minutes=4)
    c.post("/api/v1/windows/1/finish", json={"outcome": "handled"})
    last = c.post("/api/v1/windows/1/call-next").get_json()["ticket"]
    clock.advance(minutes=2)
    c.post("/api/v1/windows/1/finish", json={"outcome": "consulted"})
    client.post("/api/v1/windows/1/rating", json={"ticket_id": last["id"], "level": 2}, headers=tablet(1))
    c.post("/api/v1/windows/1/call-next")
    c.post("/api/v1/windows/1/no-show")
    c.post("/api/v1/windows/1/call-next")
    c.post("/api/v1/windows/1/transfer", json={"service": "bubancheng", "reason": "complaint"})
    clerk_client(2).post("/api/v1/windows/2/call-next")  # another window: not counted
    counts = c.get("/api/v1/windows/1/today").get_json()["counts"]
    assert counts == {"called": 4, "recalled": 1, "handled": 1, "consulted": 1, "no_show": 1, "transferred": 1,
                      "rated": 1, "follow_up": 1, "cases": 0, "finished": 2, "mean_service_minutes": 3.0}
    clock.advance(days=1)  # a new day starts from zero
    counts = c.get("/api/v1/windows/1/today").get_json()["counts"]
    assert counts["called"] == 0 and counts["mean_service_minutes"] is None


def test_pages_are_served_with_a_strict_policy(client):
    for path in ("/counter", "/rate/1"):
        r = client.get(path)
        assert r.status_code == 200 and r.mimetype == "text/html"
        csp = r.headers["Content-Security-Policy"]
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
        html = r.get_data(as_text=True)
        assert "/assets/vendor/socket.io/socket.io.min.js" in html and "http://" not in html.replace(
            "http://www.w3.org", "")
    assert "呼叫下一位" in client.get("/counter").get_data(as_text=True)
    assert "非常满意" in client.get("/rate/1").get_data(as_text=True)


def test_me_returns_the_csrf_token_and_window(app):
    c = app.test_client()
    token = login(c, "clerk4", 4).get_json()["csrf_token"]
    me = c.get("/api/v1/me").get_json()
    assert me == {"id": "clerk4", "name": "赵磊", "role": "clerk", "window": 4, "csrf_token": token}
