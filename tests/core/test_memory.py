"""The collector pause around bulk jobs."""

from __future__ import annotations

import gc

from core.memory import cyclic_gc_paused


def test_the_collector_is_paused_inside_and_resumes_after_even_on_error() -> None:
    assert gc.isenabled()
    try:
        with cyclic_gc_paused():
            assert not gc.isenabled()
            raise RuntimeError("the job failed")
    except RuntimeError:
        pass
    assert gc.isenabled()


def test_a_nested_pause_keeps_the_collector_paused_until_the_outer_one_ends() -> None:
    with cyclic_gc_paused():
        with cyclic_gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
