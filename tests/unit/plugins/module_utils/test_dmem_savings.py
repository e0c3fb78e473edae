# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Savings: predicted from reserved bytes, measured from the kernel's counters."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.dmemfs.fleet.plugins.module_utils.dmem_savings import (
    fleet, measure, memmap_bytes, report, section_memmap_bytes, sections_spanned)

G = 1 << 30
M = 1 << 20
SECTION = 128 * M


def test_memmap_bytes_is_64_bytes_per_4k_page():
    assert memmap_bytes(G) == 16 * M
    assert memmap_bytes(320 * G) == 5 * G
    assert memmap_bytes(G, struct_page_size=56) == 14 * M


def test_sections_spanned_counts_partial_sections_whole():
    # the first MiB hole of a PC still leaves section 0 present
    ram = [(0, 0x9fc00), (0x100000, 2 * G)]
    assert sections_spanned(ram, SECTION) == set(range(16))
    assert section_memmap_bytes(ram, SECTION) == 16 * 2 * M


def test_measure_against_firmware_ram():
    ram = [(0, 0x9fc00), (0x100000, 3 * G), (4 * G, 6 * G)]
    # 40 sections of RAM, 2 MiB of memmap each; the kernel built 24 sections' worth
    baseline, actual, measured = measure(ram, memmap_boot_pages=24 * 512, section_size=SECTION)
    assert baseline == 40 * 2 * M
    assert actual == 24 * 2 * M
    assert measured == 16 * 2 * M


def test_report_with_and_without_counters():
    nodes = {0: 2 * G, 1: 0}
    without = report(nodes)
    assert without['predicted'] == 32 * M
    assert without['measured'] is None and without['ratio'] is None
    assert without['nodes'] == [{'id': 0, 'dmem': 2 * G, 'predicted': 32 * M}, {'id': 1, 'dmem': 0, 'predicted': 0}]
    ram = [(0, 4 * G)]
    measured = report(nodes, firmware_ram=ram, memmap_boot_pages=(32 - 16) * 512, section_size=SECTION, host='vm1')
    assert measured['measured'] == 32 * M
    assert measured['ratio'] == 1.0
    assert measured['summary'] == ('vm1: 2.0 GiB reserved for dmemfs, struct pages saved: predicted 32.0 MiB, '
                                   'measured 32.0 MiB (100.0% of predicted)')


def test_fleet_totals():
    one = report({0: 2 * G}, firmware_ram=[(0, 4 * G)], memmap_boot_pages=16 * 512, section_size=SECTION)
    two = report({0: G, 1: G})
    total = fleet({'a': one, 'b': two})
    assert total['hosts'] == 2
    assert total['dmem_total'] == 4 * G
    assert total['predicted'] == 64 * M
    assert total['measured'] == 32 * M
    assert total['measured_hosts'] == 1
    assert total['summary'].startswith('2 host(s): 4.0 GiB reserved')
    assert total['failed'] == []


def test_fleet_lists_failed_hosts_in_the_summary():
    one = report({0: 256 * M})
    total = fleet({'a': one}, failed={'c': 'trial boot failed', 'b': 'unreachable'})
    assert total['failed'] == [{'host': 'b', 'state': 'failed', 'reason': 'unreachable'},
                               {'host': 'c', 'state': 'failed', 'reason': 'trial boot failed'}]
    assert total['summary'].endswith('; 2 host(s) failed: b, c')


def test_fleet_lists_every_state_a_host_can_be_left_in():
    one = report({0: 256 * M})
    total = fleet({'a': one, 'f': one}, failed={
        'f': {'state': 'failed', 'reason': 'trial guard: red'},
        'n': {'state': 'not_reached', 'reason': 'rollout halted'},
        'u': {'state': 'unreachable', 'reason': 'could not be reached'},
        'r': {'state': 'refused', 'reason': 'grubenv on mdraid1x'}})
    # a failed host that runs its verified configuration is still measured
    assert total['hosts'] == 2
    assert total['states'] == {'failed': ['f'], 'not_reached': ['n'], 'refused': ['r'], 'unreachable': ['u']}
    assert total['summary'].endswith(
        '; 1 host(s) failed: f; 1 host(s) not reached: n; 1 host(s) refused: r; 1 host(s) unreachable: u')
