# -*- coding: utf-8 -*-
# Copyright: dmemfs.fleet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Byte sizes as the kernel reads them (memparse) and as people read them."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

U64_MAX = (1 << 64) - 1

# memparse() multiplies by 1024 per step of this string, either case.
_SUFFIX_SHIFT = {'k': 10, 'm': 20, 'g': 30, 't': 40, 'p': 50, 'e': 60}
_HUMAN_UNITS = ('', 'K', 'M', 'G', 'T', 'P', 'E')

# One number as the kernel's memparse() takes it: 0x hex or decimal, then an
# optional binary suffix. Only ASCII: str.isdigit() would accept other scripts.
_NUMBER_RE = re.compile(r'(0[xX][0-9a-fA-F]+|[0-9]+)([kKmMgGtTpPeE]?)')


class DmemError(ValueError):
    """Bad input. ``field`` names what was wrong, ``rule`` the rule it broke."""

    def __init__(self, field, rule, value=None):
        self.field = field
        self.rule = rule
        self.value = value
        where = field if value is None else '%s=%r' % (field, value)
        super(DmemError, self).__init__('%s: %s' % (where, rule))


def scan_number(text, pos, field):
    """Read one memparse number of ``text`` at ``pos``.

    Returns ``(value, next_pos)``. Leading zeros are refused: the kernel's
    simple_strtoull() with base 0 would read them as octal, so "010" means 8
    there, and no sane inventory means that.
    """
    match = _NUMBER_RE.match(text, pos)
    if not match:
        raise DmemError(field, 'expected a number (decimal or 0x hex, optional K/M/G/T/P/E suffix) at position %d' % pos, text)
    digits, suffix = match.group(1), match.group(2)
    if len(digits) > 1 and digits[0] == '0' and digits[1] not in 'xX':
        raise DmemError(field, 'leading zero: the kernel reads "%s" as octal; write it without leading zeros or as 0x hex' % digits, text)
    value = int(digits, 16) if digits[:2].lower() == '0x' else int(digits, 10)
    if suffix:
        value <<= _SUFFIX_SHIFT[suffix.lower()]
    if value > U64_MAX:
        raise DmemError(field, 'overflows 64 bits', text)
    return value, match.end()


def parse_size(value, field='size'):
    """A size given as an int or as a memparse string ("16G", "0x8000000") -> bytes."""
    if isinstance(value, bool):
        raise DmemError(field, 'must be a size in bytes or a string like "16G", not a boolean', value)
    if isinstance(value, int):
        if value < 0:
            raise DmemError(field, 'must not be negative', value)
        if value > U64_MAX:
            raise DmemError(field, 'overflows 64 bits', value)
        return value
    if not isinstance(value, str):
        raise DmemError(field, 'must be an integer or a string like "16G", not %s' % type(value).__name__, value)
    if value == '':
        raise DmemError(field, 'must not be empty', value)
    number, end = scan_number(value, 0, field)
    if end != len(value):
        raise DmemError(field, 'unexpected %r at position %d; allowed: digits, 0x hex, one suffix of K M G T P E' % (value[end], end), value)
    return number


def format_size(nbytes):
    """Shortest exact memparse form: 8589934592 -> "8G", 0x40200000 -> "1026M"."""
    if nbytes == 0:
        return '0'
    unit = 0
    while unit < len(_HUMAN_UNITS) - 1 and nbytes % 1024 == 0:
        nbytes //= 1024
        unit += 1
    return '%d%s' % (nbytes, _HUMAN_UNITS[unit])


def human_size(nbytes):
    """Rounded for reading, binary units: 5368709120 -> "5.0 GiB"."""
    value = float(nbytes)
    for unit in ('B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'):
        if abs(value) < 1024 or unit == 'PiB':
            return '%d B' % nbytes if unit == 'B' else '%.1f %s' % (value, unit)
        value /= 1024
    return '%d B' % nbytes  # not reached


def is_power_of_two(value):
    return value > 0 and value & (value - 1) == 0


def align_down(value, align):
    return value - value % align


def align_up(value, align):
    return align_down(value + align - 1, align)
