"""Named fault points, so tests can kill a job at an exact moment of a write.

``LAKEGLUE_FAULT_POINT=<name>`` makes the job write ``<name>`` to the file in
``LAKEGLUE_FAULT_SIGNAL`` (if set) and then block, so a test can SIGKILL it there — the
honest way to prove that a job killed between "data written" and "commit" leaves the
previous table readable. Unset (always, in production) it costs one dict lookup.
"""

from __future__ import annotations

import os
import time


def fault_point(name: str) -> None:
    if os.environ.get("LAKEGLUE_FAULT_POINT") != name:
        return
    signal_file = os.environ.get("LAKEGLUE_FAULT_SIGNAL")
    if signal_file:
        with open(signal_file, "w") as fh:
            fh.write(name)
    deadline = time.monotonic() + float(os.environ.get("LAKEGLUE_FAULT_HOLD_SECONDS", "600"))
    while time.monotonic() < deadline:  # wait to be killed; give up eventually so nothing hangs forever
        time.sleep(0.1)
    raise RuntimeError(f"fault point {name} held for its whole deadline without being killed")
