"""The foundation layer: what several packages need and none of them owns.

The backends' table, CPU clocks and the core budget, every report's JSON form, how a
place in the source is written, the calibration probe, atomic writes (docs/design.md
lists them). Modules here import the standard library only, never another gilwise
package, so any layer can read them. There is no face here: each module is imported
directly, so that the monitor's start-up path loads only the light ones.
"""
