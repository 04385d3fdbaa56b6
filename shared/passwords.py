"""Slow work off the event loop: a password hash (scrypt, ~100–200 ms of CPU) must never stall the worker that
serves every screen, kiosk and counter.

``onewindow serve`` runs gunicorn's gevent worker: one OS thread runs every greenlet, so a hash computed there
freezes them all. :func:`run_off_loop` runs the function on a real OS thread of a small bounded pool — gevent's
thread pool when the standard library is monkey-patched (the waiting greenlet yields to the others), else a
``concurrent.futures`` pool — and waits for its result. hashlib's scrypt releases the GIL, so the hash and the
event loop truly run side by side. At most :data:`MAX_THREADS` hashes run at once (a core stays free for the event
loop); more wait in the pool's queue. bench/bench_login.py measures /livez during a flood of bad logins.
"""

from __future__ import annotations

import os
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, TypeVar

T = TypeVar("T")

# hashes at once: all cores but one, which stays with the event loop (1 on the 2-core hall servers)
MAX_THREADS = max(1, (os.cpu_count() or 2) - 1)

_lock = threading.Lock()
_pools: dict[str, object] = {}


def gevent_patched() -> bool:
    """Is this process's standard library monkey-patched by gevent (``onewindow serve`` with the gevent worker)?"""
    if "gevent" not in sys.modules:
        return False
    from gevent import monkey

    return monkey.is_module_patched("threading")


def _gevent_pool():
    pool = _pools.get("gevent")
    if pool is None:
        from gevent.threadpool import ThreadPool

        pool = _pools["gevent"] = ThreadPool(MAX_THREADS)
    return pool


def _thread_pool() -> ThreadPoolExecutor:
    with _lock:
        pool = _pools.get("threads")
        if pool is None:
            pool = _pools["threads"] = ThreadPoolExecutor(MAX_THREADS, thread_name_prefix="onewindow-hash")
        return pool  # type: ignore[return-value]


def run_off_loop(fn: Callable[..., T], *args) -> T:
    """``fn(*args)`` on another OS thread (bounded pool); the caller waits without blocking the event loop."""
    if gevent_patched():
        return _gevent_pool().apply(fn, args)
    return _thread_pool().submit(fn, *args).result()
