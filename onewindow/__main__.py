"""``python -m onewindow …``: the ``onewindow`` command (how `onewindow serve` starts its gunicorn child)."""

from onewindow.cli import main

raise SystemExit(main())
