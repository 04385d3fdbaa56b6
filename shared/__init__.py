"""OneWindow domain core: configuration, Redis keys and scripts, the queue engine, events.

Nothing in this package imports Flask; the web packages (kiosk, counter, display) are thin edges around it.
"""
