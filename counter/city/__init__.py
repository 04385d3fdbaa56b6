"""The city supervisors' page (全市监管, ``/city``): every hall's live overview and the figures summed and compared
across halls. A blueprint of its own inside ``counter/`` (like ``counter/supervisor/``): it imports no other
blueprint and reaches the halls only through the core (:mod:`shared.stats.city`)."""

from counter.city.views import create_blueprint

__all__ = ["create_blueprint"]
