# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Sizes read as the kernel's memparse() reads them."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.dmemfs.fleet.plugins.module_utils.dmem_size import (
    U64_MAX, DmemError, align_down, align_up, format_size, human_size, is_power_of_two, parse_size)


@pytest.mark.parametrize('text, expected', [
    ('0', 0),
    ('4096', 4096),
    ('1k', 1 << 10), ('1K', 1 << 10),
    ('16m', 16 << 20), ('16M', 16 << 20),
    ('8g', 8 << 30), ('8G', 8 << 30),
    ('2t', 2 << 40), ('1P', 1 << 50), ('1e', 1 << 60), ('15E', 15 << 60),
    ('0x40000000', 1 << 30), ('0X10', 16), ('0x1G', 1 << 30), ('0xfG', 15 << 30),
    (1073741824, 1 << 30),
    (U64_MAX, U64_MAX),
])
def test_parse_size_accepts_memparse_forms(text, expected):
    assert parse_size(text) == expected


@pytest.mark.parametrize('text, rule', [
    ('', 'must not be empty'),
    (' 1G', 'expected a number'),
    ('1G ', "unexpected ' '"),
    ('-1G', 'expected a number'),
    ('+1G', 'expected a number'),
    ('4GB', "unexpected 'B'"),
    ('1.5G', "unexpected '.'"),
    ('1 G', "unexpected ' '"),
    ('G', 'expected a number'),
    ('0x', "unexpected 'x'"),
    ('010', 'leading zero'),
    ('\uff11G', 'expected a number'),      # fullwidth digit one
    ('\u0661G', 'expected a number'),      # arabic-indic digit one
    ('16E', 'overflows 64 bits'),
    ('18446744073709551616', 'overflows 64 bits'),
    (-1, 'must not be negative'),
    (1 << 64, 'overflows 64 bits'),
    (True, 'not a boolean'),
    (1.5, 'not float'),
    (None, 'not NoneType'),
    ([1], 'not list'),
])
def test_parse_size_rejects_hostile_input_with_field_and_rule(text, rule):
    with pytest.raises(DmemError) as info:
        parse_size(text, 'min_host')
    assert info.value.field == 'min_host'
    assert rule in str(info.value)
    assert str(info.value).startswith('min_host')


@pytest.mark.parametrize('nbytes', [1, 1023, 1024, 4096, 128 << 20, 0x40200000, 3 << 30, 8 << 30, 1 << 40, U64_MAX])
def test_format_size_round_trips(nbytes):
    assert parse_size(format_size(nbytes)) == nbytes


def test_format_size_picks_largest_exact_unit():
    assert format_size(0) == '0'
    assert format_size(8 << 30) == '8G'
    assert format_size(0x40200000) == '1026M'
    assert format_size(1536 << 20) == '1536M'


def test_human_size():
    assert human_size(512) == '512 B'
    assert human_size(5 << 30) == '5.0 GiB'
    assert human_size(3 << 19) == '1.5 MiB'


def test_alignment_helpers():
    assert [is_power_of_two(x) for x in (0, 1, 2, 3, 128 << 20, (128 << 20) + 1)] == [False, True, True, False, True, False]
    assert align_down(1000, 256) == 768
    assert align_up(1000, 256) == 1024
    assert align_up(1024, 256) == 1024
