# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The dmem= grammar: every form and rule of DESIGN.md's ABI table."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import random

import pytest

from ansible_collections.dmemfs.fleet.plugins.module_utils.dmem_size import DmemError
from ansible_collections.dmemfs.fleet.plugins.module_utils.dmem_param import (
    DmemSpec, parse, parse_cmdline, render)

G = 1 << 30
M = 1 << 20


@pytest.mark.parametrize('text, size, addr, align, keep, form', [
    # dmem=SIZE: per node, default alignment (the 128M section)
    ('4G', 4 * G, None, None, False, 'per_node'),
    ('128M', 128 * M, None, None, False, 'per_node'),
    # dmem=!SIZE: keep SIZE per node for the kernel
    ('!8G', 8 * G, None, None, True, 'keep'),
    # dmem=[!]SIZE:ALIGN
    ('2G:1G', 2 * G, None, G, False, 'per_node'),
    ('!8G:1G', 8 * G, None, G, True, 'keep'),
    ('1G:128M', G, None, 128 * M, False, 'per_node'),
    # dmem=SIZE@ADDR
    ('2G@4G', 2 * G, 4 * G, None, False, 'range'),
    ('0x80000000@0x100000000', 2 * G, 4 * G, None, False, 'range'),
    # dmem=SIZE@ADDR:ALIGN and SIZE:ALIGN@ADDR
    ('2G@4G:1G', 2 * G, 4 * G, G, False, 'range'),
    ('2G:1G@4G', 2 * G, 4 * G, G, False, 'range'),
    # suffixes in either case, and the dmem= prefix
    ('dmem=2g:1g@4g', 2 * G, 4 * G, G, False, 'range'),
])
def test_accepted_forms(text, size, addr, align, keep, form):
    spec = parse(text)
    assert (spec.size, spec.addr, spec.align, spec.keep_for_kernel) == (size, addr, align, keep)
    assert spec.form == form
    assert spec.as_dict()['align'] == (align or 128 * M)


@pytest.mark.parametrize('text, rule', [
    ('0x40200000:1G', 'SIZE 1026M is not a multiple of ALIGN 1G'),   # the RFC's own bad example
    ('0', 'SIZE must not be 0'),
    ('0:1G', 'SIZE must not be 0'),
    ('!2G@4G', '"!" (keep for the kernel) is illegal with @ADDR'),
    ('2G@0', 'ADDR must not be 0'),
    ('2G:0', 'ALIGN must not be 0'),
    ('2G@4G@6G', '"@" given twice'),
    ('2G:1G:1G', '":" given twice'),
    ('2G:1G@4G:1G', '":" given twice'),
    ('2G#1G', "unknown character '#'"),
    ('2G,1G', "unknown character ','"),
    ('2G:64M', 'ALIGN 64M is below the memory section size 128M'),
    ('2G:384M', 'ALIGN 384M is not a power of two'),
    ('100M', 'SIZE 100M is not a multiple of ALIGN 128M'),
    ('1536M:1G', 'SIZE 1536M is not a multiple of ALIGN 1G'),
    ('1G@0x48000000:1G', 'ADDR 0x48000000 is not aligned to ALIGN 1G'),
    ('1G@0x14000000', 'ADDR 0x14000000 is not aligned to ALIGN 128M'),
    ('2G@0xffffffffc0000000', 'ADDR + SIZE overflows 64 bits'),
    ('', 'must not be empty'),
    ('dmem=', 'must not be empty'),
    ('!', 'expected a number'),
    ('@4G', 'expected a number'),
    ('2G@', 'expected a number'),
    ('2G:', 'expected a number'),
    (' 2G', 'expected a number'),
    ('2G ', "unknown character ' '"),
    ('-2G', 'expected a number'),
    ('2GB', "unknown character 'B'"),
    ('1.5G', "unknown character '.'"),
    ('\uff12G', 'expected a number'),
    ('99999999999999999999', 'overflows 64 bits'),
    ('08G', 'leading zero'),
])
def test_rejected_forms_name_the_rule(text, rule):
    with pytest.raises(DmemError) as info:
        parse(text, 'dmem_value')
    assert rule in str(info.value)
    assert info.value.field == 'dmem_value'


@pytest.mark.parametrize('bad', [None, 4, 4.0, ['4G'], {'size': '4G'}, b'4G'])
def test_wrong_types_are_refused(bad):
    with pytest.raises(DmemError) as info:
        parse(bad)
    assert 'must be a string' in str(info.value)


@pytest.mark.parametrize('text', ['4G', '!8G', '2G:1G', '!8G:1G', '2G@4G', '2G@4G:1G', '1536M@7G', '2G:2G'])
def test_parse_render_round_trip(text):
    spec = parse(text)
    assert render(spec) == text
    assert parse(render(spec)) == spec


def test_render_is_canonical():
    assert render(parse('0x80000000:0x40000000@0x100000000')) == '2G@4G:1G'
    assert render(parse('2048m')) == '2G'


def test_section_size_changes_the_floor():
    with pytest.raises(DmemError):
        parse('1G:128M', section_size=1 << 31)
    assert parse('64M:64M', section_size=64 * M).size == 64 * M


def test_spec_equality():
    assert DmemSpec(G) == DmemSpec(G)
    assert DmemSpec(G) != DmemSpec(G, keep_for_kernel=True)


def test_parse_cmdline_finds_each_value_and_keeps_going_after_a_bad_one():
    found = parse_cmdline('BOOT_IMAGE=/vmlinuz root=/dev/vda1 dmem=!1G:1G console=ttyS0 dmem=0x40200000:1G dmem=2G@4G')
    assert [f['value'] for f in found] == ['!1G:1G', '0x40200000:1G', '2G@4G']
    assert [f['valid'] for f in found] == [True, False, True]
    assert found[0]['spec']['form'] == 'keep'
    assert 'not a multiple of ALIGN' in found[1]['error']
    assert found[2]['spec']['addr'] == 4 * G
    assert parse_cmdline('root=/dev/vda1 quiet') == []


def test_random_valid_specs_round_trip():
    rng = random.Random(20261125)
    for _attempt in range(2000):
        align_given = rng.random() < 0.5
        align = 1 << rng.randint(27, 34) if align_given else 128 * M
        size = align * rng.randint(1, 512)
        addr = align * rng.randint(1, 1 << 12) if rng.random() < 0.4 else None
        keep = addr is None and rng.random() < 0.5
        spec = DmemSpec(size, addr, align if align_given else None, keep)
        text = render(spec)
        assert parse(text) == spec, text
        assert render(parse(text)) == text


def test_random_garbage_never_escapes_as_anything_but_dmem_error():
    rng = random.Random(7)
    alphabet = '0123456789xXkKmMgGtTpPeE!@:-+. \t\u0660\uff10abcB'
    for _attempt in range(5000):
        text = ''.join(rng.choice(alphabet) for _pos in range(rng.randint(0, 14)))
        try:
            spec = parse(text)
        except DmemError as exc:
            assert exc.field == 'dmem' and exc.rule
        else:
            assert parse(render(spec)) == spec
