"""`python -m bench.profiled_bot`: `python -m bot` with cProfile switched on by SIGUSR1 and off
(its statistics written to PROFILE_OUT) by SIGUSR2, so a profile holds the dialogue steps of a
measured window only, not the start-up, the migrations or the warm-up."""

from __future__ import annotations

import cProfile
import os
import signal
import sys
import time
from types import FrameType

from bot.__main__ import main

# the thread's CPU time, not the wall clock: a profile on a busy machine counts no time
# the event loop spent waiting for a core
_profile = cProfile.Profile(time.thread_time)


def _start(signum: int, frame: FrameType | None) -> None:
    _profile.enable()


def _stop(signum: int, frame: FrameType | None) -> None:
    _profile.disable()
    _profile.dump_stats(os.environ["PROFILE_OUT"])


if __name__ == "__main__":
    signal.signal(signal.SIGUSR1, _start)
    signal.signal(signal.SIGUSR2, _stop)
    sys.exit(main([]))
