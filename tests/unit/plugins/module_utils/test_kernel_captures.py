# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Our math against what our dmemfs kernel really did, on trees captured from it.

The trees come from QEMU VMs booted with the kernel of kernel/ and the dmem=
of their qemu.json (tests/fixtures/capture/capture-qemu.sh).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

import pytest

from ansible_collections.dmemfs.fleet.plugins.module_utils.dmem_host import gather
from ansible_collections.dmemfs.fleet.plugins.module_utils.dmem_plan import plan
from ansible_collections.dmemfs.fleet.plugins.module_utils.dmem_savings import report

HOSTS = os.path.join(os.path.dirname(__file__), '..', '..', '..', 'fixtures', 'hosts')


def layout(name):
    with open(os.path.join(HOSTS, name, 'qemu.json')) as handle:
        return json.load(handle)


def dmem_values(name):
    return [w[len('dmem='):] for w in layout(name)['extra_cmdline'].split() if w.startswith('dmem=')]


DMEMFS = sorted(n for n in os.listdir(HOSTS) if n.startswith('dmemfs'))
RESERVED = [n for n in DMEMFS if dmem_values(n)]


def test_there_are_captures_with_and_without_dmem():
    assert RESERVED and set(DMEMFS) - set(RESERVED)


@pytest.mark.parametrize('name', DMEMFS)
def test_kernel_publishes_dmem_statistics(name):
    facts = gather(os.path.join(HOSTS, name))
    assert facts['dmem_supported'] is True
    assert facts['dmemfs_available'] is True
    assert facts['struct_page_size'] in (64, None)
    stats = facts['dmem_stats']
    assert stats['total_bytes'] == facts['dmem_total'] == sum(n['dmem'] for n in facts['nodes'])
    assert stats['free_bytes'] == stats['total_bytes']
    assert [p['value'] for p in facts['dmem_param']] == dmem_values(name)


@pytest.mark.parametrize('name', RESERVED)
def test_plan_predicts_what_the_kernel_reserved_per_node(name):
    facts = gather(os.path.join(HOSTS, name))
    result = plan(facts['nodes'], value=dmem_values(name) if len(dmem_values(name)) > 1 else dmem_values(name)[0],
                  section_size=facts['section_size'], page_size=facts['page_size'])
    assert [n['dmem'] for n in result['nodes']] == [n['dmem'] for n in facts['nodes']]


@pytest.mark.parametrize('name', RESERVED)
def test_plan_from_the_same_host_without_dmem_predicts_the_reservation(name):
    """Plan on the layout before dmem= (a capture of the same QEMU layout without it)."""
    before = [n for n in DMEMFS if n not in RESERVED and layout(n)['numa_node_memory'] == layout(name)['numa_node_memory']]
    assert before, 'no capture of %s without dmem=' % layout(name)['numa_node_memory']
    plain = gather(os.path.join(HOSTS, before[0]))
    reserved = gather(os.path.join(HOSTS, name))
    result = plan(plain['nodes'], value=dmem_values(name)[0])
    assert [n['dmem'] for n in result['nodes']] == [n['dmem'] for n in reserved['nodes']]


@pytest.mark.parametrize('name', DMEMFS)
def test_measured_savings_equal_predicted(name):
    facts = gather(os.path.join(HOSTS, name))
    result = report(dict((n['id'], n['dmem']) for n in facts['nodes']),
                    firmware_ram=[(r['start'], r['end']) for r in facts['firmware_ram']],
                    memmap_boot_pages=facts['memmap']['nr_memmap_boot_pages'],
                    section_size=facts['section_size'], page_size=facts['page_size'])
    assert result['measured'] == result['predicted'] == facts['dmem_total'] // 4096 * 64
    assert result['baseline_memmap'] - result['actual_memmap'] == result['measured']
    if facts['dmem_total']:
        assert result['ratio'] == 1.0
