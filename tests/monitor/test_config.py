"""The monitor's settings and where the sampler gets its readings."""

from __future__ import annotations

import pytest

from gilwise.monitor import MonitorConfig, Sources
from gilwise.monitor import _config as config


@pytest.mark.parametrize(("interval", "stall"), [(0.0, 100.0), (0.01, 0.0), (-1.0, 100.0)])
def test_config_rejects_bad_values(interval: float, stall: float) -> None:
    from gilwise import InvalidOption

    with pytest.raises(InvalidOption, match="try"):
        MonitorConfig(interval_s=interval, stall_ms=stall)


def test_the_kernels_readers_are_found_on_first_use_not_when_the_monitor_is_made(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Setting them up imports ctypes: a program that ends at once should not pay for it.
    found: list[str] = []
    monkeypatch.setattr(config, "_kernel_states", lambda: found.append("kernel"))
    monkeypatch.setattr(config, "_schedstat_reader", lambda: found.append("schedstat"))
    sources = Sources()
    assert found == []
    assert sources.kernel_if_found is None
    sources.kernel  # noqa: B018  (the first use finds it)
    sources.schedstat  # noqa: B018
    sources.kernel  # noqa: B018  (found once)
    assert found == ["kernel", "schedstat"]


def test_a_reader_that_cannot_be_set_up_is_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    # Found in the sampler's own thread, where an exception would end the sampling.
    def broken(*args: object, **kwargs: object) -> None:
        raise OSError("no /proc here")

    monkeypatch.setattr(config, "KernelStates", broken)
    monkeypatch.setattr(config, "SchedStatReader", broken)
    assert Sources().kernel is None
    assert Sources().schedstat is None
