"""`python -m bench.runset`: the set bench/README.md compares for issue 25, back to back on each
database: intake with the limits lifted, the closed loop, then latency at its small size."""

import asyncio

from . import closed_loop, latency
from .common import backends
from .intake import intake
from .live import LIFTED


async def main() -> None:
    for backend in backends():
        await intake(backend, LIFTED, "flood limits lifted", 1)
        await closed_loop.measure(backend, 20)
    for backend in backends():
        await latency.latency(backend, 10_000, 2_000)


if __name__ == "__main__":
    asyncio.run(main())
