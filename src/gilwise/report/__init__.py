"""Renderers: turn a report into something to read or to load elsewhere.

Each output is one module; ``_outputs.py`` lists them. Nothing is imported here, so
that ``gilwise run`` loads rich, Plotly or Jinja only when it renders with them.
"""
