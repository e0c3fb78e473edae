# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Boot loader text parsing: grub.cfg entries, grubenv, GRUB defaults, grubby --info, BLS entries."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest

from ansible_collections.dmemfs.fleet.plugins.module_utils.dmem_size import DmemError
from ansible_collections.dmemfs.fleet.plugins.module_utils.dmem_bootloader import (
    bls_parse, bls_render, check_param, foreign_dmem, grub_default_of, grub_menu_entries, grubby_entries,
    grubenv_parse, kernel_release)

# grub.cfg of a Debian 12 QEMU VM (tools/vm) with the stock and the dmemfs
# kernel installed, the dmem= and trial drop-ins in place (update-grub output).
REAL_CFG = os.path.join(os.path.dirname(__file__), '..', '..', '..', 'fixtures', 'grub', 'debian12-dmemfs-trial.grub.cfg')
UUID = '1b3331ab-42f5-4e99-a135-1687eabc3ebf'

GRUB_CFG = (
    '\n'
    "menuentry 'Debian GNU/Linux' --class debian {\n"
    '\tlinux\t/boot/vmlinuz-6.12.117 root=UUID=ab ro console=ttyS0 dmem=!1G\n'
    '\tinitrd\t/boot/initrd.img-6.12.117\n'
    '}\n'
    "submenu 'Advanced options' {\n"
    "\tmenuentry 'Debian, recovery' {\n"
    '\t\tlinux\t/boot/vmlinuz-6.12.117 root=UUID=ab ro single console=ttyS0 dmem=!1G\n'
    '\t}\n'
    '}\n'
)


def test_check_param():
    assert check_param('dmem=!1G dmem=2G@4G') == ['dmem=!1G', 'dmem=2G@4G']
    with pytest.raises(DmemError, match="not 'ro'"):
        check_param('dmem=1G ro')
    with pytest.raises(DmemError, match='SIZE must not be 0'):
        check_param('dmem=0')
    with pytest.raises(DmemError, match='must be a string'):
        check_param(None)


def test_foreign_dmem_ignores_comments():
    text = '# GRUB_CMDLINE_LINUX="dmem=1G"\nGRUB_CMDLINE_LINUX="quiet dmem=2G"\nGRUB_TIMEOUT=5\n'
    assert foreign_dmem('/etc/default/grub', text) == ['/etc/default/grub:2: GRUB_CMDLINE_LINUX="quiet dmem=2G"']
    assert foreign_dmem('x', 'GRUB_CMDLINE_LINUX="nodmem=1"\n') == []


def test_linux_lines_give_release_and_args():
    entries = [e for e in grub_menu_entries(GRUB_CFG) if e['kind'] == 'menuentry']
    assert [(e['release'], e['args'], e['recovery'], e['parent']) for e in entries] == [
        ('6.12.117', ['root=UUID=ab', 'ro', 'console=ttyS0', 'dmem=!1G'], False, None),
        ('6.12.117', ['root=UUID=ab', 'ro', 'single', 'console=ttyS0', 'dmem=!1G'], True, 'Advanced options')]


def test_grubby_info():
    info = ('index=0\nkernel="/boot/vmlinuz-6.12"\nargs="ro quiet dmem=!8G:1G"\nroot="UUID=1"\n'
            'index=1\nkernel="/boot/vmlinuz-5.14"\nargs="ro quiet"\n')
    assert grubby_entries(info) == [
        {'index': '0', 'kernel': '/boot/vmlinuz-6.12', 'args': ['ro', 'quiet', 'dmem=!8G:1G'], 'id': None,
         'title': None, 'initrd': None},
        {'index': '1', 'kernel': '/boot/vmlinuz-5.14', 'args': ['ro', 'quiet'], 'id': None, 'title': None, 'initrd': None}]


def test_menu_entries_of_a_real_debian_grub_cfg():
    with open(REAL_CFG) as handle:
        entries = grub_menu_entries(handle.read())
    normal = [(e['id'], e['release']) for e in entries if not e['recovery'] and e['kind'] == 'menuentry']
    assert normal == [
        ('gnulinux-simple-' + UUID, '6.12.117-dmemfs'),
        ('gnulinux-advanced-%s>gnulinux-6.12.117-dmemfs-advanced-%s' % (UUID, UUID), '6.12.117-dmemfs'),
        ('gnulinux-advanced-%s>gnulinux-6.1.0-50-amd64-advanced-%s' % (UUID, UUID), '6.1.0-50-amd64')]
    assert sum(1 for e in entries if e['recovery']) == 2
    submenu = [e for e in entries if e['kind'] == 'submenu'][0]
    assert submenu['id'] == 'gnulinux-advanced-' + UUID and submenu['parent'] is None
    assert entries[2]['path_titles'] == 'Advanced options for Debian GNU/Linux>Debian GNU/Linux, with Linux 6.12.117-dmemfs'


def test_menu_entries_without_submenu_or_ids():
    text = "menuentry 'A' {\n  linux /vmlinuz-1.0 ro\n}\nmenuentry 'B' --id b {\n  linux16 /boot/vmlinuz-2.0 ro single\n}\n"
    assert grub_menu_entries(text) == [
        dict(kind='menuentry', id='A', path_titles='A', title='A', parent=None, kernel='/vmlinuz-1.0', release='1.0',
             args=['ro'], recovery=False),
        dict(kind='menuentry', id='b', path_titles='B', title='B', parent=None, kernel='/boot/vmlinuz-2.0',
             release='2.0', args=['ro', 'single'], recovery=True)]


def test_grubenv_block():
    text = '# GRUB Environment Block\nsaved_entry=a>b\ndmemfs_trial_once=panic=10 rdinit=/x\n' + '#' * 900
    assert grubenv_parse(text) == {'saved_entry': 'a>b', 'dmemfs_trial_once': 'panic=10 rdinit=/x'}
    assert grubenv_parse(None) == {}


def test_grub_default_of_the_defaults_files_last_one_wins():
    texts = [('/etc/default/grub', 'GRUB_DEFAULT=0\nGRUB_TIMEOUT=5\n'),
             ('/etc/default/grub.d/50-x.cfg', '# GRUB_DEFAULT=2\n'),
             ('/etc/default/grub.d/99-site.cfg', 'GRUB_DEFAULT="Advanced options>Debian, with Linux 6.1"\n')]
    assert grub_default_of(texts) == ('Advanced options>Debian, with Linux 6.1', '/etc/default/grub.d/99-site.cfg')
    assert grub_default_of([('/etc/default/grub', "export GRUB_DEFAULT='saved'\n")]) == ('saved', '/etc/default/grub')
    assert grub_default_of([('/etc/default/grub', None)]) == (None, None)


def test_kernel_release_of_a_path():
    assert kernel_release('/boot/vmlinuz-6.1.0-50-amd64') == '6.1.0-50-amd64'
    assert kernel_release('/vmlinuz-6.12') == '6.12'
    assert kernel_release('/boot/memtest86+x64.bin') is None


def test_bls_entries_round_trip():
    text = ('title Red Hat Enterprise Linux (5.14.0-427.el9.x86_64) 9.4\nversion 5.14.0-427.el9.x86_64\n'
            'linux /vmlinuz-5.14.0-427.el9.x86_64\ninitrd /initramfs-5.14.0-427.el9.x86_64.img\n'
            'options root=/dev/mapper/rhel-root ro crashkernel=auto panic=10\n# a comment\n')
    pairs = bls_parse(text)
    assert pairs[0] == ('title', 'Red Hat Enterprise Linux (5.14.0-427.el9.x86_64) 9.4')
    assert dict(pairs)['options'] == 'root=/dev/mapper/rhel-root ro crashkernel=auto panic=10'
    assert bls_parse(bls_render(pairs)) == pairs
