"""The staff side. This package is the counter's blueprint (staff sign-in, the window API, the evaluation tablet, the
``/counter`` and ``/rate/<window>`` pages); ``counter.supervisor`` is the supervisor's blueprint, a package of its own.
"""

from counter.views import create_blueprint

__all__ = ["create_blueprint"]
