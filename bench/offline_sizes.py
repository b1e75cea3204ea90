"""How big are the documents every offline device fetches, for 1,000,000 pass serials? Generated, signed and
measured here (not in a unit test):  .venv/bin/python -m bench.offline_sizes [serials]

Cases, each with a fixed random seed:
* status list: 2 % of serials suspended or revoked, at random;
* test ages list, "every pass live": every serial is a live pass whose freshest negative test is 0-72 h old
  (uniform): the worst realistic case, as ages are near-random 2-byte values;
* test ages list, "a week of passes live": serials are issued in order, so after a month only the last
  quarter are live passes (the rest have expired: NO_AGE, which compresses to almost nothing);
* test ages list with ages rounded to whole hours instead of minutes, to show what a coarser unit would save.
"""
import random
import sys
import time

import cbor2
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from core.signing import Signer
from passes.statuslist import pack_status_bits, payload_from_bits
from passes.testages import build_test_ages_payload, decode_test_ages_payload

T0 = 1767196800


def _kib(n: int) -> str:
    return f"{n / 1024:,.0f} KiB"


def measure(serials: int) -> list[tuple[str, int, int, float]]:
    """(case, uncompressed bytes, signed document bytes, seconds to pack, compress and sign)."""
    rng = random.Random(12)
    signer = Signer(Ed25519PrivateKey.from_private_bytes(bytes(range(32))))
    rows = []

    stopped = {s: rng.choice((1, 2)) for s in rng.sample(range(serials), serials // 50)}
    start = time.perf_counter()
    bits = pack_status_bits(stopped, serials)
    doc = signer.sign(payload_from_bits(1, T0, bits, count=serials))
    rows.append(("status list (2 % stopped)", len(bits), len(doc), time.perf_counter() - start))

    for name, live_from, unit in (("test ages, every pass live", 0, 1), ("test ages, a week of passes live",
                                                                        serials * 3 // 4, 1),
                                  ("test ages, every pass live, whole hours", 0, 60)):
        ages = {s: rng.randrange(0, 72 * 60 // unit + 1) * unit for s in range(live_from, serials)}
        start = time.perf_counter()
        doc = signer.sign(build_test_ages_payload(1, T0, T0 + 86400, ages, serials))
        rows.append((name, 2 * serials, len(doc), time.perf_counter() - start))
        if unit == 1 and live_from == 0:
            start = time.perf_counter()
            decoded = decode_test_ages_payload(cbor2.loads(doc)[2])
            assert decoded.count == serials
            rows.append(("  (decoding it)", 0, 0, time.perf_counter() - start))
    return rows


def main() -> None:
    serials = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    print(f"{serials:,} serials")
    for name, raw, signed, seconds in measure(serials):
        sizes = f"{_kib(raw):>12} raw {_kib(signed):>12} signed" if signed else " " * 38
        print(f"{name:<42}{sizes} {seconds * 1000:8.0f} ms")


if __name__ == "__main__":
    main()
