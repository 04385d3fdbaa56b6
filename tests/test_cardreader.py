"""The card-reader agent contract, served by the simulated reader on 127.0.0.1: status, the long poll for a card,
CORS for the hall's origin only (and Private Network Access), reads forgotten after a while, an unplugged reader —
and what the server makes of a read."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from datetime import date

import pytest
from reception_support import SENIOR

from shared.cardreader import CARD_PATH, STATUS_PATH, identify_card
from shared.cardreader_sim import DEMO_CARDS, SimulatedReader, make_number
from shared.embedded import free_port

HALL = "http://127.0.0.1:8000"


def get(url: str, origin: str | None = None, method: str = "GET", headers: dict | None = None):
    req = urllib.request.Request(url, method=method, headers={**({"Origin": origin} if origin else {}), **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            body = r.read()
            return r.status, dict(r.headers), json.loads(body) if body else None
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), json.loads(exc.read() or b"null")


def wait_until(predicate, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        threading.Event().wait(0.02)


@pytest.fixture
def reader():
    r = SimulatedReader(origins=[HALL], hold_seconds=600).start()
    yield r
    r.stop()


def test_a_card_placed_during_a_long_poll_is_read_once(reader, hall_config):
    status, headers, body = get(reader.url + STATUS_PATH, HALL)
    assert status == 200 and body["reader"] == "ready" and body["contract"] == 1 and not body["card_present"]
    assert headers["Access-Control-Allow-Origin"] == HALL
    assert reader._server.server_address[0] == "127.0.0.1"
    assert get(reader.url + CARD_PATH + "?after=0&wait=0")[0] == 204
    answer = {}
    poll = threading.Thread(target=lambda: answer.update(r=get(reader.url + CARD_PATH + "?after=0&wait=20", HALL)))
    poll.start()
    seq = reader.place(SENIOR, name="王秀英")  # while (or just before) the page polls
    poll.join(30)
    status, headers, body = answer["r"]
    assert status == 200 and body["seq"] == seq and headers["Access-Control-Allow-Origin"] == HALL
    card = body["card"]
    assert card == {"name": "王秀英", "id_number": SENIOR, "birth_date": "1956-11-27", "sex": "女", "nation": "汉"}
    who = identify_card(hall_config, card, today=date(2026, 11, 27))
    assert (who.age_on(date(2026, 11, 27)), who.masked) == (70, "3404**********" + SENIOR[-4:])
    assert get(reader.url + CARD_PATH + f"?after={seq}&wait=0")[0] == 204  # the same read is not offered twice


def test_only_the_halls_origin_may_read(reader):
    reader.place(SENIOR)
    status, headers, _ = get(reader.url + CARD_PATH + "?after=0&wait=0", "http://evil.example")
    assert "Access-Control-Allow-Origin" not in headers  # a browser on another origin cannot read the answer
    status, headers, _ = get(reader.url + CARD_PATH, HALL, "OPTIONS", {
        "Access-Control-Request-Method": "GET", "Access-Control-Request-Private-Network": "true"})
    assert status == 204 and headers["Access-Control-Allow-Origin"] == HALL
    assert headers["Access-Control-Allow-Private-Network"] == "true"


def test_reads_are_forgotten_and_an_unplugged_reader_says_so():
    with SimulatedReader(origins=[HALL], hold_seconds=0.2) as reader:
        reader.place(make_number(born=date(1990, 2, 2)))
        wait_until(lambda: not get(reader.url + STATUS_PATH)[2]["card_present"])
        assert get(reader.url + CARD_PATH + "?after=0&wait=0")[0] == 204
        reader.set_connected(False)
        status, _h, body = get(reader.url + CARD_PATH + "?after=0&wait=0")
        assert status == 503 and body["error"]["code"] == "reader_disconnected"
        assert get(reader.url + STATUS_PATH)[2]["reader"] == "disconnected"


def test_the_command_line_simulator(tmp_path):
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "shared.cardreader_sim", "--port", str(port), "--origin", HALL],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        url = f"http://127.0.0.1:{port}"

        def up() -> bool:
            try:
                return get(url + STATUS_PATH)[0] == 200
            except OSError:
                return False

        wait_until(up)
        proc.stdin.write("senior\n")
        proc.stdin.flush()
        status, _h, body = get(url + CARD_PATH + "?after=0&wait=20")
        assert status == 200 and body["card"]["id_number"] == DEMO_CARDS["senior"][1]
        proc.stdin.write("quit\n")
        proc.stdin.flush()
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0 and DEMO_CARDS["senior"][1] not in out + err  # it never prints a number
