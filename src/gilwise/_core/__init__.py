"""The foundation layer: one table per extension point, read by every package above it.

Modules here import the standard library only, never another gilwise package, so
any layer (the pool, the advisor, the tour, the docs' generators) can read them.
"""
