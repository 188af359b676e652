"""``gilwise tour``: the lessons of a concurrency talk, measured live on this machine."""
