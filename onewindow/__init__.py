"""OneWindow's composition root, the one place that knows every part: :func:`create_app` (``app.py``) wires the
config, Redis, the hall handle and its web edge (``edge.py``, ``identity.py``, ``web.py``), the four blueprints and
the Socket.IO namespace; :func:`main` (``cli.py``) is the ``onewindow`` command, whose ``serve`` runs gunicorn under a
supervisor (``serving.py``). Nothing imports this package: each blueprint receives its :class:`~onewindow.edge.WebEdge`
when the root builds it.
"""
# ruff: noqa: E402

from __future__ import annotations

import sys


def _serving_with_gevent(argv: list[str]) -> bool:
    """Is this process gunicorn for `onewindow serve` (its ``--child``) with the (default) gevent worker?"""
    if argv[:1] != ["serve"] or "--child" not in argv:
        return False
    for i, arg in enumerate(argv):
        if arg == "--worker" and argv[i + 1:i + 2] == ["gthread"] or arg == "--worker=gthread":
            return False
    return True


# gevent must patch the standard library before redis, ssl and friends are imported (gunicorn's worker patches
# too late for modules the master already imported). Only for `onewindow serve`: the supervisor starts its gunicorn
# child as `python -m onewindow serve … --child` (while this package is imported on the way to __main__, argv[0] is
# "-m"); the console script's argv[0] ends with "onewindow". Importing this package never patches otherwise.
if sys.argv and (sys.argv[0] == "-m" or sys.argv[0].endswith("onewindow")) and _serving_with_gevent(sys.argv[1:]):
    from gevent import monkey

    monkey.patch_all()

from onewindow.app import create_app  # everything below imports after the gevent patch
from onewindow.cli import main

__all__ = ["create_app", "main"]
