"""HyperLogLog registers, in Redis' string format, and their cardinality estimate.

What ``PFADD``, ``PFCOUNT`` and ``PFMERGE`` need, with Redis 7's facts: 16384
registers of 6 bits; an element goes to register ``hash & 16383`` with the length of
the run of zeros that follows in its 64-bit MurmurHash64A (seed ``0xadc83b19``), plus
one; the estimate is Otmar Ertl's improved estimator over the registers' histogram.

A value is a Redis string: a 16-byte header (``HYLL``, the encoding, three unused
bytes, a cached cardinality whose top bit says it is stale) and the registers,
*dense* (6 bits each, 12288 bytes) or *sparse* (run-length opcodes: ``ZERO`` of 1-64
zero registers, ``XZERO`` of up to 16384, ``VAL`` of a value 1-32 repeated 1-4
times).  Redis' own sparse bytes depend on the order elements came in; ``render``
writes the one shortest form, so that every region renders the same registers as
the same bytes.  Sans-IO.
"""

from __future__ import annotations

import math

REGISTERS = 1 << 14
MASK = REGISTERS - 1
Q = 64 - 14  # bits of the hash left for the run of zeros
HEADER = 16
DENSE_SIZE = HEADER + REGISTERS * 6 // 8
SPARSE_MAX_VALUE = 32
SPARSE_MAX_BYTES = 3000  # Redis' hll-sparse-max-bytes: a longer sparse form goes dense
DENSE, SPARSE = 0, 1
ALPHA_INF = 0.721347520444481703680  # 0.5 / ln 2
SEED = 0xADC83B19
_M64 = (1 << 64) - 1
_MURMUR_M = 0xC6A4A7935BD1E995
STALE_CACHE = bytes(7) + b"\x80"  # a cardinality not computed since the last change

WRONGTYPE = "WRONGTYPE Key is not a valid HyperLogLog string value."
INVALID = "INVALIDOBJ Corrupted HLL object detected"


class NotHyperLogLog(ValueError):
    """A string that is not a HyperLogLog (``WRONGTYPE``), or a sparse one whose
    opcodes do not add up (``INVALIDOBJ``): ``str(e)`` is Redis' error."""


def murmur64a(data: bytes, seed: int = SEED) -> int:
    """MurmurHash64A, as Redis reads its input (little-endian words)."""
    length = len(data)
    h = (seed ^ (length * _MURMUR_M)) & _M64
    whole = length - (length & 7)
    for i in range(0, whole, 8):
        k = int.from_bytes(data[i:i + 8], "little")
        k = (k * _MURMUR_M) & _M64
        k ^= k >> 47
        k = (k * _MURMUR_M) & _M64
        h ^= k
        h = (h * _MURMUR_M) & _M64
    if length & 7:
        h ^= int.from_bytes(data[whole:], "little")
        h = (h * _MURMUR_M) & _M64
    h ^= h >> 47
    h = (h * _MURMUR_M) & _M64
    h ^= h >> 47
    return h


def pattern(element: bytes) -> tuple[int, int]:
    """(register, count) for ``element``: where it goes and what it may raise it to."""
    h = murmur64a(element)
    rest = (h >> 14) | (1 << Q)
    return h & MASK, (rest & -rest).bit_length()


def empty() -> bytearray:
    return bytearray(REGISTERS)


def add(registers: bytearray, elements) -> bool:
    """Raise the registers for ``elements``; whether any changed."""
    changed = False
    for element in elements:
        index, count = pattern(element)
        if count > registers[index]:
            registers[index] = count
            changed = True
    return changed


def join(registers: bytearray, other) -> None:
    """``registers`` becomes the register-wise maximum of both."""
    for i, value in enumerate(other):
        if value > registers[i]:
            registers[i] = value


# ------------------------------------------------------------ the string format

def parse(value: bytes) -> bytearray:
    """The registers of a Redis HyperLogLog string (``NotHyperLogLog`` if it is none)."""
    if len(value) < HEADER or value[:4] != b"HYLL" or value[4] > SPARSE or (
            value[4] == DENSE and len(value) != DENSE_SIZE):
        raise NotHyperLogLog(WRONGTYPE)
    if value[4] == DENSE:
        return _dense_registers(value)
    registers, i = empty(), 0
    body = memoryview(value)[HEADER:]
    p = 0
    while p < len(body):
        op = body[p]
        if op & 0x80:  # VAL
            run, count = (op & 3) + 1, ((op >> 2) & 0x1F) + 1
            if i + run > REGISTERS:
                raise NotHyperLogLog(INVALID)
            registers[i:i + run] = bytes((count,)) * run
            p += 1
        elif op & 0x40:  # XZERO
            if p + 1 >= len(body):
                raise NotHyperLogLog(INVALID)
            run = (((op & 0x3F) << 8) | body[p + 1]) + 1
            p += 2
        else:  # ZERO
            run = (op & 0x3F) + 1
            p += 1
        i += run
    if i != REGISTERS:
        raise NotHyperLogLog(INVALID)
    return registers


_LOW6 = bytes(b & 63 for b in range(256))
_HIGH6 = bytes(b >> 2 for b in range(256))


def _dense_registers(value: bytes) -> bytearray:
    """Every 3 bytes hold 4 registers, from the least significant bit up."""
    data = value[HEADER:]
    b0, b1, b2 = data[0::3], data[1::3], data[2::3]
    registers = empty()
    registers[0::4] = b0.translate(_LOW6)
    registers[1::4] = bytes(((x >> 6) | (y << 2)) & 63 for x, y in zip(b0, b1, strict=True))
    registers[2::4] = bytes(((y >> 4) | (z << 4)) & 63 for y, z in zip(b1, b2, strict=True))
    registers[3::4] = b2.translate(_HIGH6)
    return registers


def _dense(registers) -> bytes:
    r0, r1, r2, r3 = (bytes(registers[i::4]) for i in range(4))
    data = bytearray(REGISTERS * 6 // 8)
    data[0::3] = bytes((a | b << 6) & 255 for a, b in zip(r0, r1, strict=True))
    data[1::3] = bytes((b >> 2 | c << 4) & 255 for b, c in zip(r1, r2, strict=True))
    data[2::3] = bytes((c >> 4 | d << 2) & 255 for c, d in zip(r2, r3, strict=True))
    return bytes(data)


def render(registers) -> bytes:
    """The registers as Redis' string: sparse while its shortest form fits
    ``SPARSE_MAX_BYTES`` and no register is above 32, dense otherwise; the cached
    cardinality marked stale, as ``PFADD`` leaves it."""
    body = _sparse(registers, SPARSE_MAX_BYTES - HEADER)
    if body is not None:
        return b"HYLL" + bytes((SPARSE, 0, 0, 0)) + STALE_CACHE + body
    return b"HYLL" + bytes((DENSE, 0, 0, 0)) + STALE_CACHE + _dense(registers)


def _sparse(registers, limit: int) -> bytes | None:
    """The shortest sparse form, or None if it is longer than ``limit`` bytes or a
    register is above what it can hold."""
    out = bytearray()
    i = 0
    while i < REGISTERS:
        if len(out) > limit:
            return None
        value = registers[i]
        j = i + 1
        while j < REGISTERS and registers[j] == value:
            j += 1
        run = j - i
        if value == 0:
            while run:
                if run > 64:
                    n = min(run, REGISTERS)
                    out += bytes((0x40 | (n - 1) >> 8, (n - 1) & 0xFF))
                else:
                    n = run
                    out.append(n - 1)
                run -= n
        elif value > SPARSE_MAX_VALUE:
            return None
        else:
            while run:
                n = min(run, 4)
                out.append(0x80 | (value - 1) << 2 | (n - 1))
                run -= n
        i = j
    return bytes(out) if len(out) <= limit else None


# ------------------------------------------------------------ the estimate

def count(registers) -> int:
    """The cardinality estimate, as Redis' ``PFCOUNT`` computes it."""
    histogram = [0] * 64
    for value in registers:
        histogram[value] += 1
    m = float(REGISTERS)
    z = m * _tau((m - histogram[Q + 1]) / m)
    for j in range(Q, 0, -1):
        z += histogram[j]
        z *= 0.5
    z += m * _sigma(histogram[0] / m)
    estimate = ALPHA_INF * m * m / z
    whole = math.floor(estimate)
    return int(whole) + (estimate - whole >= 0.5)  # (half away from zero, as llroundl)


def _sigma(x: float) -> float:
    if x == 1.0:
        return math.inf
    y, z = 1.0, x
    while True:
        x *= x
        previous = z
        z += x * y
        y += y
        if previous == z:
            return z


def _tau(x: float) -> float:
    if x in (0.0, 1.0):
        return 0.0
    y, z = 1.0, 1 - x
    while True:
        x = math.sqrt(x)
        previous = z
        y *= 0.5
        z -= (1 - x) ** 2 * y
        if previous == z:
            return z / 3
