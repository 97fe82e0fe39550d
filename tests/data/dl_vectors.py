#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# Digital Link serials (AI 21) computed independently of the C code, from
# the layout alone: 100 bits, most significant first, as 20 Crockford
# base32 characters: format (4 bits), key id (8), serial (40), then the
# first 6 bytes of HMAC-SHA256(key, "YIMA-DL1" || GTIN-14 || format ||
# key id || serial as 5 bytes). Key: bytes 0x00..0x1f. Writes
# dl-vectors.txt: GTIN-14 format key-id serial S, one a line.
import hashlib
import hmac
import random

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
KEY = bytes(range(32))


def check_digit(body):
    s = sum(int(d) * (3 if i % 2 == 0 else 1)
            for i, d in enumerate(reversed(body)))
    return str((10 - s % 10) % 10)


def serial21(gtin, fmt, key_id, serial):
    msg = b"YIMA-DL1" + gtin.encode() + bytes([fmt, key_id]) + \
        serial.to_bytes(5, "big")
    tag = hmac.new(KEY, msg, hashlib.sha256).digest()[:6]
    v = fmt << 96 | key_id << 88 | serial << 48 | int.from_bytes(tag, "big")
    return "".join(ALPHABET[(v >> (95 - 5 * i)) & 31] for i in range(20))


rows = [("09520123456788", 1, 1, 1), ("09520123456788", 1, 1, 2),
        ("19520123456785", 3, 1, 1), ("09520123456788", 1, 255, 2**40 - 1)]
rng = random.Random(20261204)
for _ in range(28):
    body = "".join(rng.choice("0123456789") for _ in range(13))
    rows.append((body + check_digit(body), rng.choice((1, 3)),
                 rng.randrange(256), rng.randrange(2**40)))
with open(__file__.replace("dl_vectors.py", "dl-vectors.txt"), "w") as f:
    f.write("# GTIN-14 format key-id serial AI-21 (dl_vectors.py)\n")
    for gtin, fmt, key_id, serial in rows:
        f.write(f"{gtin} {fmt} {key_id} {serial} "
                f"{serial21(gtin, fmt, key_id, serial)}\n")
