"""Tracking tokens: GET /api/v1/track/<token> and the /t/<token> page reveal one ticket, and only to its token."""

from __future__ import annotations

import json
import re

import pytest


def issue(client, service="renshe", **extra):
    r = client.post("/api/v1/tickets", json={"service": service, **extra})
    assert r.status_code == 201, r.get_json()
    return r.get_json()["ticket"]


def test_track_shows_its_own_ticket_and_nothing_else(client):
    first = issue(client)
    second = issue(client)
    other = issue(client, "shichang")
    r = client.get(f"/api/v1/track/{second['token']}")
    assert r.status_code == 200
    assert r.headers["Cache-Control"] == "no-store"
    body = r.get_json()
    assert set(body) == {"seq", "entry", "ticket", "expired"}
    t = body["ticket"]
    assert t["id"] == second["id"] and t["number"] == "A002"
    assert t["status"] == "waiting" and t["ahead"] == 1
    assert t["wait"] == {"state": "no_window", "minutes": None} and t["estimated_wait_minutes"] is None  # nobody signed in
    assert body["expired"] is False and body["seq"] >= 3
    # the token itself and any other ticket's data never appear
    text = r.get_data(as_text=True)
    for secret in (second["token"], first["token"], other["token"], first["id"], other["id"], "B001"):
        assert secret not in text
    assert "token" not in t and "clerk" not in t and "lang" not in t
    # each token shows its own ticket
    assert client.get(f"/api/v1/track/{first['token']}").get_json()["ticket"]["id"] == first["id"]
    assert client.get(f"/api/v1/track/{other['token']}").get_json()["ticket"]["number"] == "B001"


@pytest.mark.parametrize("token", [
    "abc",
    "20261127",
    "20261127" + "A" * 21,            # one character short
    "20261127" + "A" * 23,            # one character long
    "20261127" + "A" * 21 + "!",      # not url-safe
    "2026112X" + "A" * 22,            # not a date
    "x" * 300,
    "%2e%2e%2fapi",
])
def test_malformed_tokens_are_not_found(client, token):
    issue(client)
    r = client.get(f"/api/v1/track/{token}")
    assert r.status_code == 404
    assert r.get_json()["error"]["code"] == "not_found"
    page = client.get(f"/t/{token}")
    assert page.status_code == 404
    assert page.mimetype == "text/html"
    assert "未找到这张号票" in page.get_data(as_text=True)


def test_unknown_token_gets_the_same_answer_as_a_malformed_one(client):
    real = issue(client)["token"]
    forged = real[:8] + ("B" if real[8] != "B" else "C") + real[9:]
    unknown = client.get(f"/api/v1/track/{forged}")
    malformed = client.get("/api/v1/track/nonsense")
    assert unknown.status_code == malformed.status_code == 404
    assert unknown.get_json() == malformed.get_json()
    assert client.get(f"/t/{forged}?lang=en").status_code == 404
    page = client.get(f"/t/{forged}?lang=en").get_data(as_text=True)   # the words follow in the browser
    assert '<html lang="en">' in page and 'data-i18n="not_found_ticket"' in page


def test_tokens_are_unguessable(client):
    tokens = [issue(client)["token"] for _ in range(20)]
    assert len(set(tokens)) == 20
    for token in tokens:
        assert len(token) == 30 and token[:8] == "20261127"
    # 22 url-safe base64 characters of randomness (132 bits) after the date; no two alike
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{22}", t[8:]) for t in tokens)
    assert len({t[8:12] for t in tokens}) > 15


def test_track_follows_the_ticket_through_its_life(client, clerk_client):
    mine = issue(client)
    token = mine["token"]
    clerk = clerk_client(1)
    clerk.post("/api/v1/windows/1/call-next", json={})
    called = client.get(f"/api/v1/track/{token}").get_json()["ticket"]
    assert called["status"] == "called" and called["window"] == 1 and called["ahead"] is None
    clerk.post("/api/v1/windows/1/finish", json={"outcome": "handled"})
    done = client.get(f"/api/v1/track/{token}").get_json()["ticket"]
    assert done["status"] == "done" and done["outcome"] == "handled"


def test_yesterdays_ticket_is_expired(client, clock):
    old = issue(client)
    clock.advance(days=1)
    body = client.get(f"/api/v1/track/{old['token']}").get_json()
    assert body["expired"] is True and body["ticket"]["id"] == old["id"]
    page = client.get(f"/t/{old['token']}")
    assert page.status_code == 200
    clock.advance(days=-1)


def test_tracking_page_carries_only_its_ticket(client):
    first = issue(client)
    mine = issue(client)
    r = client.get(f"/t/{mine['token']}")
    assert r.status_code == 200 and r.mimetype == "text/html"
    assert r.headers["Referrer-Policy"] == "no-referrer"
    assert r.headers["Cache-Control"] == "no-store"
    html = r.get_data(as_text=True)
    assert "A002" in html and "开启声音与振动提醒" in html
    assert first["token"] not in html and first["id"] not in html
    cfg = json.loads(html.split('<script type="application/json" id="boot">', 1)[1].split("</script>", 1)[0])
    assert cfg["initial"]["ticket"]["id"] == mine["id"]
    assert "token" not in cfg["initial"]["ticket"]
    assert cfg["track_url"] == f"/api/v1/track/{mine['token']}"
    assert cfg["namespace"] == "/display"
    english = client.get(f"/t/{mine['token']}?lang=en").get_data(as_text=True)
    assert json.loads(english.split('id="boot">', 1)[1].split("</script>", 1)[0])["lang"] == "en"
    assert '<html lang="en">' in english   # the English words: the page's catalogue (test_tracking_live.py)


def test_track_seq_is_not_ahead_of_the_ticket(client, app, engine):
    """The seq is read before the ticket: an event racing the read is applied again, never missed."""
    mine = issue(client)
    body = client.get(f"/api/v1/track/{mine['token']}").get_json()
    assert body["seq"] == engine.last_seq()
