"""Property-based fuzzing of every route, driven by the OpenAPI document (issue 9, item 9).

For every operation in ``shared/static/openapi.json`` (a test below proves it lists every route of the app),
Hypothesis sends requests built from the operation's own description — path parameters, query parameters, the JSON
body's fields — mixed with hostile values: lone surrogates, non-ASCII digits, trailing newlines, dates at the ends of
time, huge numbers, deep nesting, wrong types, unknown fields, bodies that are not JSON, bogus credentials. Each
request is sent as an anonymous client, a signed-in clerk, a supervisor, a keypad, a kiosk or a tablet. The
properties: **never a 5xx**, and **a 4xx changes nothing in Redis** (a digest of every key and value before and
after; only the abuse counters under ``:limit:`` and the runner's remembered answers under ``:op:`` may move).

Bounded for CI: a fixed number of examples per operation, derandomized (the same inputs every run), no deadline.
Plain Hypothesis rather than schemathesis: schemathesis generates schema-valid data well but brings its own
dependency tree and release churn, and the inputs that matter here are the hostile ones outside the schema, which
we would write as our own strategies anyway; a direct loop over the Flask test client also lets each example compare
the Redis digest around exactly one request.
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hall_support import KEYPAD_TOKEN, KIOSK_TOKEN, SUPER_PASSWORD, TABLET_TOKENS, login

SPEC = json.loads((Path(__file__).resolve().parent.parent / "shared" / "static" / "openapi.json")
                  .read_text(encoding="utf-8"))
EXAMPLES_PER_OPERATION = 10

HOSTILE = ["", " ", "²", "١٢٣", "٢٠٢٦١١٢٧-A001", "1\n", "A001\n", "lobby-1\n", "\ud800", "\udfff", "a\ud800b",
           "\x00", "%00", "../../etc/passwd", "x" * 300, "<script>alert(1)</script>", "-1", "0", "9" * 30,
           "9999-12-31", "0001-01-01", "2026-02-30", "1e999", "NaN", "true", "null", "[]", "{}", "\u202e", "Ａ００１",
           "A0001", "20261127-A001", "20261127-A999", "20261127" + "A" * 22, "renshe", "lingdao", "supervisor",
           "clerk1", "demo-clerk", "09:00-12:00", "24:00-25:00", "day", "week", "year", "service", "en", "zh"]
hostile_text = st.sampled_from(HOSTILE)
any_text = st.one_of(hostile_text, st.text(max_size=24), st.text(alphabet=st.characters(codec="utf-8"), max_size=8))
json_scalar = st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70), st.floats(allow_nan=False), any_text)
json_value = st.recursive(json_scalar, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                                st.dictionaries(any_text, inner, max_size=4)),
                          max_leaves=8)


def _resolve(obj: dict) -> dict:
    while "$ref" in obj:
        node = SPEC
        for part in obj["$ref"].lstrip("#/").split("/"):
            node = node[part]
        obj = node
    return obj


def _value_for(schema: dict) -> st.SearchStrategy:
    """Mostly values of the schema's shape, often hostile ones, sometimes any JSON value (a wrong type)."""
    schema = _resolve(schema)
    if "enum" in schema:
        fitting = st.sampled_from(schema["enum"])
    elif schema.get("type") == "integer":
        fitting = st.one_of(st.integers(-3, 12), st.integers(-2**64, 2**64))
    elif schema.get("type") == "boolean":
        fitting = st.booleans()
    elif schema.get("type") == "array":
        fitting = st.lists(st.one_of(any_text, st.integers(-3, 12)), max_size=4)
    elif schema.get("format") == "date":
        fitting = st.one_of(st.dates().map(str), hostile_text)
    else:
        fitting = any_text
    return st.one_of(fitting, fitting, json_value)


def _body_for(op: dict) -> st.SearchStrategy:
    content = op.get("requestBody", {}).get("content", {}).get("application/json")
    if not content:
        schema: dict = {"type": "object", "properties": {}}
    else:
        schema = _resolve(content["schema"])
    props = schema.get("properties", {})

    @st.composite
    def body(draw) -> tuple[str | bytes, str]:
        shape = draw(st.sampled_from(["fields"] * 6 + ["raw", "any"]))
        if shape == "raw":
            depth = draw(st.integers(1, 9000))
            return draw(st.sampled_from([
                "[" * depth + "]" * depth, '{"a":' * min(depth, 2000) + "1" + "}" * min(depth, 2000),
                "{not json", '{"service": NaN}', '{"level": 1e999}', "\xff\xfe", "", "   ", "null", "[]", '"x"',
                '{"service": "\\ud800"}', '{"\\udfff": 1}', '{"a": "\\u0000"}',
            ])), draw(st.sampled_from(["application/json", "text/plain", "application/x-www-form-urlencoded"]))
        if shape == "any":
            return json.dumps(draw(json_value)), "application/json"
        data = {}
        for name, sub in props.items():
            if draw(st.integers(0, 4)):  # most fields present, each sometimes missing
                data[name] = draw(_value_for(sub))
        if draw(st.integers(0, 5)) == 0:
            data[draw(any_text)] = draw(json_value)  # an unknown field
        return json.dumps(data), "application/json"

    return body()


def _path_value(param: dict) -> st.SearchStrategy:
    schema = _resolve(param).get("schema", {})
    if schema.get("type") == "integer":
        return st.one_of(st.integers(-2, 12).map(str), st.integers(-2**40, 2**40).map(str), hostile_text)
    return st.one_of(hostile_text, any_text.filter(lambda s: s not in (".", "..")),
                     st.sampled_from(["1", "7", "A001", "case", "rating", "C000001", "20261127-A001", "trend",
                                      "load", "satisfaction", "2026-12-05", "2026-11-27", "manifest.json",
                                      "kiosk.js", "lobby-1", "lobby-2"]))


def _encode(value: str) -> str:
    return quote(value.encode("utf-8", "surrogatepass"), safe="")


OPERATIONS = [(path, method, op) for path, item in SPEC["paths"].items() for method, op in item.items()]
CONTEXTS = ["anonymous", "clerk", "supervisor", "keypad", "kiosk", "tablet", "bogus_bearer", "foreign_cookie"]


@pytest.fixture
def digest(redis_client, redis_server):
    """``digest()``: every key and its serialized value (DUMP; TTLs are not part of it), in two round trips. Keys
    under ``:limit:`` are left out: they count refused requests on purpose; so are the runner's remembered answers
    under ``:op:`` (a refusal is remembered so that a resent copy is refused the same way: not hall state)."""
    import redis

    raw = redis.Redis.from_url(redis_server.url)

    def take() -> list[tuple[bytes, bytes]]:
        keys = sorted(k for k in raw.scan_iter(count=1000) if b":limit:" not in k and b":op:" not in k)
        pipe = raw.pipeline(transaction=False)
        for k in keys:
            pipe.dump(k)
        return list(zip(keys, pipe.execute()))

    yield take
    raw.close()


@pytest.fixture
def fuzz_app(redis_client, redis_server, hall_config, clock, tmp_path):
    """The test hall printing raw bytes to a file (the preview backend renders a PNG per ticket: slow for fuzzing)."""
    from dataclasses import replace

    from onewindow import create_app

    config = replace(hall_config, printer={"backend": "file", "file_path": str(tmp_path / "printer.bin")})
    return create_app({"TESTING": True, "CONFIG": config, "REDIS_URL": redis_server.url, "CLOCK": clock,
                       "START_RELAY": False})


@pytest.fixture
def actors(fuzz_app):
    """The clients each example may act as (the hall has a few tickets and window 1 is serving one)."""
    app = fuzz_app
    kiosk = {"Authorization": f"Bearer {KIOSK_TOKEN}"}
    for service in ("renshe", "renshe", "shichang", "bubancheng"):
        app.test_client().post("/api/v1/tickets", json={"service": service})
    clerk = app.test_client()
    r = login(clerk, "clerk1", 1)
    clerk.environ_base["HTTP_X_CSRF_TOKEN"] = r.get_json()["csrf_token"]
    clerk.post("/api/v1/windows/1/call-next")
    supervisor = app.test_client()
    r = login(supervisor, "supervisor", None, SUPER_PASSWORD)
    supervisor.environ_base["HTTP_X_CSRF_TOKEN"] = r.get_json()["csrf_token"]
    out = {"anonymous": (app.test_client(), {}), "clerk": (clerk, {}), "supervisor": (supervisor, {}),
           "keypad": (app.test_client(), {"Authorization": f"Bearer {KEYPAD_TOKEN}"}),
           "kiosk": (app.test_client(), kiosk),
           "tablet": (app.test_client(), {"Authorization": f"Bearer {TABLET_TOKENS[1]}"}),
           "bogus_bearer": (app.test_client(), {"Authorization": "Bearer ÿ-not-a-token"}),
           "foreign_cookie": (app.test_client(), {"Cookie": "onewindow_session=eyJzaWQiOiJ4In0.forged.sig"})}
    return out


@pytest.mark.parametrize("path,method,op", OPERATIONS, ids=[f"{m.upper()} {p}" for p, m, _ in OPERATIONS])
def test_no_input_gives_a_5xx_and_a_refusal_changes_nothing(path, method, op, actors, digest, caplog):
    caplog.set_level(logging.ERROR, logger="onewindow")
    params = [_resolve(p) for p in op.get("parameters", [])]
    path_params = [p for p in params if p["in"] == "path"]
    query_params = [p for p in params if p["in"] == "query"]

    @st.composite
    def requests(draw):
        url = path
        for p in path_params:
            url = url.replace("{" + p["name"] + "}", _encode(draw(_path_value(p))))
        query = []
        for p in query_params:
            if draw(st.booleans()):
                query.append((p["name"], draw(_value_for(p.get("schema", {})).map(
                    lambda v: v if isinstance(v, str) else json.dumps(v)))))
        if draw(st.integers(0, 6)) == 0:
            query.append((draw(any_text), draw(any_text)))
        if query:
            url += "?" + "&".join(f"{_encode(k)}={_encode(v)}" for k, v in query)
        body, mimetype = draw(_body_for(op)) if method in ("post", "put", "delete") else ("", None)
        return draw(st.sampled_from(CONTEXTS)), url, body, mimetype

    @settings(max_examples=EXAMPLES_PER_OPERATION, derandomize=True, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(requests())
    def check(request):
        context, url, body, mimetype = request
        client, headers = actors[context]
        before = digest()
        kwargs = {"headers": headers}
        if mimetype:
            kwargs.update(data=body.encode("utf-8", "surrogatepass") if isinstance(body, str) else body,
                          content_type=mimetype)
        r = client.open(url, method=method.upper(), **kwargs)
        assert r.status_code < 500, (context, method, url, body[:200] if body else "", r.get_data(as_text=True)[:300])
        if 400 <= r.status_code < 500:
            assert digest() == before, (context, method, url, r.status_code)
            if r.mimetype == "application/json":
                err = r.get_json()["error"]
                assert err["code"] and err["message"]

    check()
    assert "unhandled" not in caplog.text


# ------------------------------------------------------------------------------------------------ hostile sweep
# Random examples find the unexpected; the sweep makes sure every known-bad class reaches every parameter and field
# of every route, with the other fields valid so the hostile one gets past the first checks.
SWEEP_TEXT = ["\ud800", "a\udfffb", "²", "١٢", "1\n", "lobby-1\n", "9999-12-31", "0001-01-01", "x" * 300, "-1",
              "99999999999999999999", "", " ", "../x", "\x00", "Ａ００１", "A001\n"]
SWEEP_JSON = SWEEP_TEXT + [-1, 0, 2**63, -(2**80), 1.5, 1e308, True, None, [], ["\ud800"], {"a": "\ud800"},
                           [[[[[[[[[[[]]]]]]]]]]]]
BENIGN_FIELDS = {
    "service": "renshe", "priority": False, "lang": "zh", "request_id": "sweep-0001", "kiosk": "lobby-1",
    "token": "20261127" + "A" * 22, "username": "clerk1", "password": "not-the-password", "window": 2,
    "number": "A002", "outcome": "handled", "reason": "午间休息", "ticket_id": "20261127-A001", "level": 5,
    "department": "人社", "problem": "p", "action": "a", "resolved": True, "note": "n", "kind": "rota",
    "services": ["renshe"], "windows": [2], "hours": ["09:00-12:00"],
}
BENIGN_PATH = {"number": "1", "ticket_id": "20261127-A001", "token": "20261127" + "A" * 22, "kiosk_id": "lobby-1",
               "name": "load", "kind": "case", "ref": "C000001", "day": "2026-12-05", "filename": "x.js",
               "code": "K7M2-9QXD", "service": "renshe"}


def _context_for(path: str) -> str:
    if path.startswith("/api/v1/supervisor") or path.endswith(("/release", "/holders")):
        return "supervisor"
    if path.endswith("/rating"):
        return "tablet"
    if path.startswith("/api/v1/windows"):
        return "clerk"
    if path.startswith(("/api/v1/kiosks", "/api/v1/tickets")):
        return "kiosk"
    return "anonymous"


def _sweep(path: str, method: str, op: dict) -> list[tuple[str, str, str]]:
    """(url, body, why) for every hostile value in every place of one operation."""
    params = [_resolve(p) for p in op.get("parameters", [])]

    def url(path_values: dict, query: list) -> str:
        out = path
        for name, value in path_values.items():
            out = out.replace("{" + name + "}", _encode(value))
        return out + ("?" + "&".join(f"{_encode(k)}={_encode(v)}" for k, v in query) if query else "")

    benign_path = {p["name"]: BENIGN_PATH.get(p["name"], "1") for p in params if p["in"] == "path"}
    content = op.get("requestBody", {}).get("content", {}).get("application/json")
    props = _resolve(content["schema"]).get("properties", {}) if content else {}
    benign_body = {k: BENIGN_FIELDS[k] for k in props if k in BENIGN_FIELDS}
    body = json.dumps(benign_body) if method in ("post", "put", "delete") else ""
    cases = []
    for p in params:
        for value in SWEEP_TEXT:
            if p["in"] == "path":
                cases.append((url({**benign_path, p["name"]: value}, []), body, f"path {p['name']}={value!r}"))
            else:
                cases.append((url(benign_path, [(p["name"], value)]), body, f"query {p['name']}={value!r}"))
                if p["name"] == "date":
                    for period in ("day", "week", "month", "year"):
                        cases.append((url(benign_path, [("period", period), ("date", value)]), body,
                                      f"period={period}&date={value!r}"))
    for name in props:
        for value in SWEEP_JSON:
            cases.append((url(benign_path, []), json.dumps({**benign_body, name: value}), f"field {name}={value!r}"))
    if method in ("post", "put", "delete"):
        for raw in ("[" * 8000 + "]" * 8000, '{"a":' * 2500 + "1" + "}" * 2500, "{not json", '{"x": NaN}'):
            cases.append((url(benign_path, []), raw, f"raw body {raw[:12]!r}"))
    return cases


@pytest.mark.parametrize("path,method,op", OPERATIONS, ids=[f"{m.upper()} {p}" for p, m, _ in OPERATIONS])
def test_every_hostile_value_in_every_place(path, method, op, actors, digest, caplog):
    caplog.set_level(logging.ERROR, logger="onewindow")
    context = _context_for(path)
    client, headers = actors[context]
    before = digest()
    for url, body, why in _sweep(path, method, op):
        kwargs: dict = {"headers": headers}
        if body:
            kwargs.update(data=body.encode("utf-8", "surrogatepass"), content_type="application/json")
        r = client.open(url, method=method.upper(), **kwargs)
        assert r.status_code < 500, (context, method, url, why, r.get_data(as_text=True)[:300])
        after = digest()
        if 400 <= r.status_code < 500:
            assert after == before, (context, method, url, why, r.status_code)
        before = after
    assert "unhandled" not in caplog.text


def _openapi_path(rule: str, endpoint: str = "") -> str:
    path = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule)
    if "@" in endpoint.split(".")[0]:  # a hall's blueprint mounted under /h/<hall id>: the same route as at /
        path = re.sub(r"^/h/[^/{]+", "", path)
    return {"/display/static/{filename}": "/display/static/{filename}"}.get(path, path)


def test_the_openapi_document_lists_every_route(app):
    documented = {(p, m.upper()) for p, item in SPEC["paths"].items() for m in item}
    served = set()
    for rule in app.url_map.iter_rules():
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            served.add((_openapi_path(rule.rule, rule.endpoint), method))
    assert served - documented == set(), "routes missing from shared/static/openapi.json"
    assert documented - served == set(), "documented routes the app does not serve"
