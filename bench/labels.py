"""`python -m bench.labels [COUNT]`: the share of generated, distorted label photos whose UDI
decodes, and the decode time, as the bot decodes them (bot.label_photos.decode_image).

Each photo is a label (GS1 DataMatrix, or GS1-128 framed closer, as one photographs a long
linear code) with a random GTIN, lot, expiry and serial, photographed with a random tilt,
blur, sensor noise, JPEG quality and size (tests/label_images.py). A photo counts as decoded
only when every field read equals what was printed.
"""

from __future__ import annotations

import datetime as dt
import random
import statistics
import sys
import time

from bot.label_photos import decode_image
from procedures.masterdata.labels import pick_udi
from tests.label_images import label, photographed, udi_barcode


def _gtin(rng: random.Random) -> str:
    body = "0690" + "".join(rng.choice("0123456789") for _ in range(9))
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return body + str((10 - total % 10) % 10)


def run(count: int, seed: int = 20261210) -> dict[str, dict[str, float]]:
    rng = random.Random(seed)
    figures: dict[str, dict[str, float]] = {}
    for symbology, margin in (("datamatrix", 1.6), ("gs1-128", 1.15)):
        decoded, times = 0, []
        for index in range(count):
            gtin, lot = _gtin(rng), f"L{rng.randrange(10**7):07d}"
            expiry = dt.date(2027, 1, 1) + dt.timedelta(days=rng.randrange(1500))
            serial = f"SN{rng.randrange(10**5):05d}"
            text = f"(01){gtin}(17){expiry:%y%m%d}(10){lot}(21){serial}"
            photo = photographed(
                label(udi_barcode(text, symbology)),
                angle=rng.uniform(-25, 25) if symbology == "datamatrix" else rng.uniform(-8, 8),
                blur=rng.uniform(0.3, 1.6),
                noise=rng.uniform(5, 30),
                quality=rng.randrange(35, 90),
                size=rng.choice((960, 1280)),
                margin=margin,
                seed=index,
            )
            began = time.perf_counter()
            found = pick_udi(decode_image(photo))
            times.append(time.perf_counter() - began)
            if found and (found.gtin, found.lot, found.expiry, found.serial) == (
                gtin,
                lot,
                expiry,
                serial,
            ):
                decoded += 1
        figures[symbology] = {
            "share": decoded / count,
            "median_ms": statistics.median(times) * 1000,
            "p95_ms": statistics.quantiles(times, n=20)[-1] * 1000,
        }
    return figures


def main() -> int:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    for symbology, figure in run(count).items():
        print(
            f"{symbology}: {count} photos, decoded {figure['share']:.1%}, "
            f"median {figure['median_ms']:.0f} ms, p95 {figure['p95_ms']:.0f} ms"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
