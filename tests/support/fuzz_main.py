"""The atheris harness: `python fuzz_main.py parsers|requests [libFuzzer flags] CORPUS...`.

Run by tests/api/formats/test_fuzz_parsers.py and tests/webhook/test_fuzz_requests.py, in a
process of its own (libFuzzer owns the process and exits when done or on a failure). The
shim's modules are imported under atheris' instrumentation, so coverage guides it. The
`requests` target calls the real ASGI app in this process, with the real registry and
AlertWriter pointed at the API server of WHISPERER_FUZZ_KUBECONFIG, as the company of
WHISPERER_FUZZ_KEY.
"""

from __future__ import annotations

import asyncio
import atexit
import faulthandler
import os
import sys
import traceback
from pathlib import Path
from typing import Any

import atheris

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/, for support.*

with atheris.instrument_imports(include=["whisperer"]):
    from support import fuzz
    from whisperer.api.app import create_app
    from whisperer.api.main import build_state
    from whisperer.api.state import Settings


def custom_mutator(data: bytes, max_size: int, seed: int) -> bytes:
    return fuzz.mutate(data, max_size, seed, atheris.Mutate)


def requests_target() -> Any:
    kubeconfig = os.environ["WHISPERER_FUZZ_KUBECONFIG"]
    key = os.environ["WHISPERER_FUZZ_KEY"]
    state = build_state(kubeconfig, Settings(write_timeout=5.0))
    app = create_app(state)
    loop = asyncio.new_event_loop()
    loop.run_until_complete(state.registry.refresh())
    if state.registry.known(key) is None:
        raise SystemExit("the fuzz company's key is not known to the registry")

    def target(data: bytes) -> None:
        try:
            status, body = loop.run_until_complete(fuzz.call(app, fuzz.read(data), key=key))
        except Exception:
            raise
        except BaseException:  # SystemExit, KeyboardInterrupt: the process would just end
            print(EXIT_MARK, "the target raised:", file=sys.stderr)
            traceback.print_exc()
            raise
        fuzz.check_answer(status, body)

    return target


EXIT_MARK = "=== fuzz_main exit ==="


def _on_exit() -> None:
    """The process ends through Python (libFuzzer's own exits do not come here): say so,
    with every thread's stack, so an unexplained "fuzz target exited" has a witness."""
    print(EXIT_MARK, "Python is exiting; the threads:", file=sys.stderr)
    faulthandler.dump_traceback(all_threads=True)


def main() -> None:
    faulthandler.enable()
    atexit.register(_on_exit)
    name, argv = sys.argv[1], [sys.argv[0], *sys.argv[2:]]
    target = fuzz.parse_one if name == "parsers" else requests_target()
    atheris.Setup(argv, target, custom_mutator=custom_mutator)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
