"""A fake provincial 好差评 system: a real HTTP server on 127.0.0.1 that speaks the field map of
``haocaiping_support.PROVINCE_FIELDS`` and misbehaves on purpose — it fails, answers late (after the client gave up),
accepts and then answers an error, answers "duplicate" (a 2xx) to what it already has — chosen at random from a seed.
Its store survives a restart of the server (a province does not forget what it accepted)."""

from __future__ import annotations

from fake_upstream import FakeUpstream


class FakeProvince(FakeUpstream):
    """``faults`` = probabilities of: ``error`` (500, nothing kept), ``accept_error`` (kept, then 500),
    ``late_accept`` (kept, answer after the client gave up), ``late`` (nothing kept, answer late), ``busy`` (503).
    ``refuse(record)`` → True answers 400 (refused for good)."""

    FAULTS = ("error", "accept_error", "late_accept", "late", "busy")
    path = "/evaluation/save"

    def __init__(self, seed: int, faults: dict[str, float] | None = None, stall_seconds: float = 2.0) -> None:
        super().__init__(seed, faults, stall_seconds)
        self.accepted: dict[str, dict] = {}
        self.log: list[tuple[str, str]] = []  # ("recv" | "accept", evalId), in the order it happened
        self.refuse = lambda record: False
        self.requests = 0

    def handle(self, record: dict, headers: dict) -> tuple[int, dict, bool]:
        """(status, answer, answer late?) for one request, keeping what it accepts."""
        eval_id = str(record.get("evalId"))
        with self.lock:
            self.requests += 1
            self.log.append(("recv", eval_id))
            if self.refuse(record):
                self.answers["refused"] += 1
                return 400, {"code": "400", "msg": "字段校验不通过"}, False
            mode = self._pick()
            self.answers[mode] += 1
            if mode in ("error", "late", "busy"):
                return (503 if mode == "busy" else 500), {"code": "500", "msg": "系统繁忙"}, mode == "late"
            if eval_id in self.accepted:
                self.answers["duplicate"] += 1
                return 200, {"code": "1001", "msg": "数据已存在"}, mode == "late_accept"
            self.accepted[eval_id] = record
            self.log.append(("accept", eval_id))
            if mode == "accept_error":
                return 500, {"code": "500", "msg": "入库后异常"}, False
            return 200, {"code": "0", "msg": "成功"}, mode == "late_accept"

    def order_violations(self, order: dict[str, list[str]]) -> list[str]:
        """Requests for an entry received before every earlier entry of its window was accepted
        (``order``: window → evalIds in the order the hall created them)."""
        position = {i: (w, n) for w, ids in order.items() for n, i in enumerate(ids)}
        accepted: set[str] = set()
        bad = []
        with self.lock:
            log = list(self.log)
        for kind, eval_id in log:
            if kind == "accept":
                accepted.add(eval_id)
                continue
            w, n = position[eval_id]
            missing = [x for x in order[w][:n] if x not in accepted]
            if missing:
                bad.append(f"{eval_id} sent before {missing[0]} was accepted")
        return bad
