"""Run the ganzoo CLI, optionally stalling inside a checkpoint write so a test can SIGKILL it there.

With GANZOO_TEST_STALL_WRITE=N the N-th checkpoint write of this process stops just before its
rename: the temporary file is complete and fsynced but not yet in place. The process then writes
the temporary file's path to GANZOO_TEST_STALL_MARK and sleeps until it is killed. Only this
test driver reads these variables; ganzoo itself knows nothing of them.

    python tests/crash_driver.py train dcgan --out RUN ...
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path


def stall_at_checkpoint_write(target: int, mark: Path) -> None:
    """Make the ``target``-th rename of a checkpoint temp file hang forever (after marking it)."""
    real_replace = os.replace
    seen = 0

    def replace(src, dst, *args, **kwargs):
        nonlocal seen
        if Path(src).name.startswith(".step-"):
            seen += 1
            if seen == target:
                mark.write_text(str(src))
                while True:
                    time.sleep(60)
        return real_replace(src, dst, *args, **kwargs)

    os.replace = replace


if __name__ == "__main__":
    stall = int(os.environ.get("GANZOO_TEST_STALL_WRITE", "0"))
    if stall:
        stall_at_checkpoint_write(stall, Path(os.environ["GANZOO_TEST_STALL_MARK"]))
    from ganzoo.cli import main

    main(sys.argv[1:])
