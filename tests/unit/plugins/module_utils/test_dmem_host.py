# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""dmem_facts' reader on trees captured from QEMU VMs (tests/fixtures/hosts) and on /."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

import pytest

from ansible_collections.dmemfs.fleet.plugins.module_utils.dmem_host import gather, parse_meminfo, parse_vmstat
from ansible_collections.dmemfs.fleet.plugins.module_utils.dmem_size import parse_size

HOSTS = os.path.join(os.path.dirname(__file__), '..', '..', '..', 'fixtures', 'hosts')
CAPTURED = sorted(name for name in os.listdir(HOSTS) if os.path.exists(os.path.join(HOSTS, name, 'qemu.json')))


def qemu_layout(name):
    with open(os.path.join(HOSTS, name, 'qemu.json')) as handle:
        return json.load(handle)


def test_fixtures_cover_one_two_and_four_nodes():
    counts = set(len(qemu_layout(name)['numa_node_memory']) for name in CAPTURED)
    assert {1, 2, 4} <= counts


@pytest.mark.parametrize('name', CAPTURED)
def test_node_memory_is_what_qemu_was_given(name):
    layout = qemu_layout(name)
    facts = gather(os.path.join(HOSTS, name))
    expected = [parse_size(size) for size in layout['numa_node_memory']]
    assert [n['id'] for n in facts['nodes']] == list(range(len(expected)))
    # total is the node's RAM: the QEMU size less what SeaBIOS keeps (the
    # 640K-1M hole and page 0 on node 0, 128K at the top of RAM)
    for node, size in zip(facts['nodes'], expected):
        assert size - (1 << 20) <= node['total'] <= size
        assert node['total'] == node['managed'] + node['dmem']
        if not node['dmem']:
            # the firmware's RAM ranges and the kernel's present pages agree to a partial page
            assert abs(sum(r['end'] - r['start'] for r in node['ranges']) - node['managed']) < facts['page_size']
    # the kernel's MemTotal is a little less than what it manages: it keeps some for itself
    for node in facts['nodes']:
        assert 0.80 * node['managed'] < node['meminfo_total'] <= node['managed']
    # QEMU lays the nodes out in order (skipping the PCI hole below 4G)
    for left, right in zip(facts['nodes'], facts['nodes'][1:]):
        assert left['ranges'][-1]['end'] <= right['ranges'][0]['start']
    assert facts['total'] == sum(n['total'] for n in facts['nodes'])


@pytest.mark.parametrize('name', CAPTURED)
def test_captured_kernel_basics(name):
    facts = gather(os.path.join(HOSTS, name))
    assert facts['architecture'] == 'x86_64'
    assert facts['page_size'] == 4096
    assert facts['section_size'] == 128 << 20
    assert facts['memory_block_size'] in (128 << 20, None)  # None: kernel without memory hotplug
    assert facts['firmware'] == 'bios'
    assert facts['kernel_release']
    assert 'console=ttyS0' in facts['cmdline']
    # SeaBIOS: RAM below 640 KiB, then from 1 MiB up
    assert facts['firmware_ram'][0]['start'] == 0
    assert abs(sum(r['end'] - r['start'] for r in facts['firmware_ram']) - facts['total']) < 2 * facts['page_size']


def test_cmdline_dmem_values_are_parsed(tmp_path):
    (tmp_path / 'proc').mkdir()
    (tmp_path / 'proc' / 'cmdline').write_text(u'root=/dev/vda1 dmem=!1G:1G dmem=5M\n')
    facts = gather(str(tmp_path))
    assert [p['valid'] for p in facts['dmem_param']] == [True, False]
    assert facts['dmem_param'][0]['spec']['keep_for_kernel'] is True


def test_this_machine_reads_without_error():
    facts = gather('/')
    assert facts['nodes'] and all(n['total'] > 0 for n in facts['nodes'])
    assert facts['page_size'] > 0
    assert facts['kernel_release'] == os.uname()[2]


def test_meminfo_and_vmstat_parsers():
    node = parse_meminfo('Node 1 MemTotal:        1031824 kB\nNode 1 HugePages_Total:     0\n')
    assert node == {'MemTotal': 1031824 * 1024, 'HugePages_Total': 0}
    assert parse_meminfo('MemTotal:  16 kB\nActive(anon):  4 kB\n') == {'MemTotal': 16384, 'Active(anon)': 4096}
    assert parse_vmstat('nr_memmap_boot_pages 4096\nnr_memmap_pages 0\nbad line here\n') == {
        'nr_memmap_boot_pages': 4096, 'nr_memmap_pages': 0}


def test_bootloader_flavours(tmp_path):
    debian = tmp_path / 'debian'
    (debian / 'usr' / 'sbin').mkdir(parents=True)
    (debian / 'usr' / 'sbin' / 'update-grub').write_text(u'#!/bin/sh\n')
    assert gather(str(debian))['bootloader'] == 'update-grub'


def test_bootloader_grubby_mocked_rhel_tree(tmp_path):
    """Mocked RHEL tree: no RHEL host can run here, so a tree with only grubby stands in."""
    rhel = tmp_path / 'rhel'
    (rhel / 'usr' / 'sbin').mkdir(parents=True)
    (rhel / 'usr' / 'sbin' / 'grubby').write_text(u'#!/bin/sh\n')
    (rhel / 'sys' / 'firmware' / 'efi').mkdir(parents=True)
    facts = gather(str(rhel))
    assert facts['bootloader'] == 'grubby'
    assert facts['firmware'] == 'efi'
    assert gather(str(tmp_path))['bootloader'] == 'unknown'


def test_dmemfs_mounts_say_whether_they_hold_files_and_how_their_root_is_set(tmp_path):
    (tmp_path / 'proc').mkdir()
    (tmp_path / 'proc' / 'mounts').write_text(
        u'/dev/vda1 / ext4 rw,relatime 0 0\n'
        u'dmemfs /mnt/dmem dmemfs rw,relatime,pagesize=2M,mode=770,uid=0,gid=64055 0 0\n'
        u'dmemfs /mnt/empty\\040one dmemfs rw,pagesize=4K 0 0\n'
        u'dmemfs /mnt/gone dmemfs rw,pagesize=1G 0 0\n')
    full = tmp_path / 'mnt' / 'dmem'
    full.mkdir(parents=True)
    (full / 'guest1.ram').write_text(u'')
    (full / 'a-guest.ram').write_text(u'')
    empty = tmp_path / 'mnt' / 'empty one'
    empty.mkdir()
    os.chmod(str(empty), 0o1770)
    found = gather(str(tmp_path))['dmemfs_mounts']
    assert [m['path'] for m in found] == ['/mnt/dmem', '/mnt/empty one', '/mnt/gone']
    assert found[0]['options'] == {'rw': True, 'relatime': True, 'pagesize': '2M', 'mode': '770', 'uid': '0',
                                   'gid': '64055'}
    assert found[0]['first_file'] == '/mnt/dmem/a-guest.ram'
    assert found[1]['first_file'] is None
    assert found[1]['root'] == {'mode': '1770', 'uid': os.getuid(), 'gid': os.getgid()}
    # a mount point that cannot be read: nothing is claimed about it
    assert found[2]['first_file'] is None and found[2]['root'] is None
