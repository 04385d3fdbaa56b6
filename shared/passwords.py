"""Slow work off the event loop: a password hash (scrypt, ~100–200 ms of CPU) must never stall the worker that
serves every screen, kiosk and counter.

``onewindow serve`` runs gunicorn's gevent worker: one OS thread runs every greenlet, so a hash computed there
freezes them all. :func:`run_off_loop` runs the function on a real OS thread of a small bounded pool — gevent's
thread pool when the standard library is monkey-patched (the waiting greenlet yields to the others), else a
``concurrent.futures`` pool — and waits for its result. hashlib's scrypt releases the GIL, so the hash and the
event loop truly run side by side. At most :data:`MAX_THREADS` hashes run at once; more wait in the pool's queue.
"""

from __future__ import annotations

import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, TypeVar

T = TypeVar("T")

MAX_THREADS = 2  # the machine's cores: more parallel hashes would only slow each other (and the loop) down

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
