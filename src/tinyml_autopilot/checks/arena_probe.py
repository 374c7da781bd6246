"""Child process: find the smallest TFLite Micro tensor arena a model runs in.

Usage: python arena_probe.py MODEL.tflite LOW HIGH
Prints "try N" before each probe, "invoke N" once the arena is allocated and "ok N" / "fail N"
after it, so a parent can resume after a crash (a too-small arena may abort the process) or say
where a hang happened, then "min N" or "error MESSAGE".
TFLM reports problems on the C-level stderr: fd 2 is captured around each probe.
"""

import os
import re
import sys
import tempfile

import numpy as np

STEP = 16


def capture(fn):
    """Run fn() with fd 2 sent to a temporary file; return (result or exception, stderr text)."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as tmp:
        os.dup2(tmp.fileno(), 2)
        try:
            result = fn()
        except Exception as err:  # TFLM raises RuntimeError on allocation failures
            result = err
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
        tmp.seek(0)
        return result, tmp.read().decode("utf-8", "replace")


def build(model, arena):
    from tflite_micro.python.tflite_micro import runtime

    interp = runtime.Interpreter.from_bytes(model, arena_size=arena)
    detail = interp.get_input_details(0)
    interp.set_input(np.zeros(detail["shape"], dtype=detail["dtype"]), 0)
    print(f"invoke {arena}", flush=True)
    interp.invoke()
    return interp


def probe(model, arena):
    print(f"try {arena}", flush=True)
    result, err = capture(lambda: build(model, arena))
    ok = not isinstance(result, Exception)
    print(f"{'ok' if ok else 'fail'} {arena}", flush=True)
    return ok, result, err


def main():
    with open(sys.argv[1], "rb") as fh:
        model = fh.read()
    low, high = int(sys.argv[2]), int(sys.argv[3])
    ok, interp, err = probe(model, high)
    if not ok:
        reason = [ln for ln in err.splitlines() if ln.strip()] or [str(interp)]
        print("error " + " | ".join(reason[-3:]), flush=True)
        return
    _, log = capture(interp.print_allocations)
    total = re.search(r"Arena allocation total (\d+)", log)
    low = max(low, int(total.group(1)) - STEP if total else low)
    while high - low > STEP:
        mid = (low + high) // 2 // STEP * STEP
        if mid <= low:
            break
        if probe(model, mid)[0]:
            high = mid
        else:
            low = mid
    print(f"min {high}", flush=True)


if __name__ == "__main__":
    main()
