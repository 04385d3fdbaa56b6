"""The supervisor's side (值班主任), a blueprint of its own on the staff side: statistics, charts, CSV, follow-ups, the
calendar, the live overview (``/supervisor``, ``/api/v1/supervisor/*``)."""

from counter.supervisor.views import create_blueprint

__all__ = ["create_blueprint"]
