# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Boot loader text handling: drop-in, grub.cfg linux lines, grubby --info."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest

from ansible_collections.dmemfs.fleet.plugins.module_utils.dmem_size import DmemError
from ansible_collections.dmemfs.fleet.plugins.module_utils.dmem_bootloader import (
    TRIAL_SCRIPT, boot_dropin_content, cfg_has_exactly, check_param, dropin_content, foreign_dmem,
    grub_cfg_linux_args, grub_menu_entries, grubby_entries, grubenv_parse, pick_entry)

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


def test_dropin_appends_to_what_is_there():
    text = dropin_content(['dmem=!1G'])
    assert text.endswith('GRUB_CMDLINE_LINUX="${GRUB_CMDLINE_LINUX} dmem=!1G"\n')
    assert text.startswith('# Managed by dmemfs.fleet')


def test_foreign_dmem_ignores_comments():
    text = '# GRUB_CMDLINE_LINUX="dmem=1G"\nGRUB_CMDLINE_LINUX="quiet dmem=2G"\nGRUB_TIMEOUT=5\n'
    assert foreign_dmem('/etc/default/grub', text) == ['/etc/default/grub:2: GRUB_CMDLINE_LINUX="quiet dmem=2G"']
    assert foreign_dmem('x', 'GRUB_CMDLINE_LINUX="nodmem=1"\n') == []


def test_grub_cfg_lines():
    assert grub_cfg_linux_args(GRUB_CFG) == [
        ['root=UUID=ab', 'ro', 'console=ttyS0', 'dmem=!1G'],
        ['root=UUID=ab', 'ro', 'single', 'console=ttyS0', 'dmem=!1G']]
    assert cfg_has_exactly(GRUB_CFG, ['dmem=!1G'])
    assert not cfg_has_exactly(GRUB_CFG, ['dmem=2G'])
    assert not cfg_has_exactly('', ['dmem=!1G'])
    # one entry without it is enough to regenerate
    one_missing = GRUB_CFG.replace('console=ttyS0 dmem=!1G\n\tinitrd', 'console=ttyS0\n\tinitrd')
    assert one_missing != GRUB_CFG and not cfg_has_exactly(one_missing, ['dmem=!1G'])
    assert cfg_has_exactly(GRUB_CFG.replace(' dmem=!1G', ''), [])


def test_grubby_info():
    info = ('index=0\nkernel="/boot/vmlinuz-6.12"\nargs="ro quiet dmem=!8G:1G"\nroot="UUID=1"\n'
            'index=1\nkernel="/boot/vmlinuz-5.14"\nargs="ro quiet"\n')
    assert grubby_entries(info) == [
        {'index': '0', 'kernel': '/boot/vmlinuz-6.12', 'args': ['ro', 'quiet', 'dmem=!8G:1G'], 'id': None},
        {'index': '1', 'kernel': '/boot/vmlinuz-5.14', 'args': ['ro', 'quiet'], 'id': None}]


def test_menu_entries_of_a_real_debian_grub_cfg():
    with open(REAL_CFG) as handle:
        entries = grub_menu_entries(handle.read())
    normal = [(e['id'], e['release']) for e in entries if not e['recovery']]
    assert normal == [
        ('gnulinux-simple-' + UUID, '6.12.117-dmemfs'),
        ('gnulinux-advanced-%s>gnulinux-6.12.117-dmemfs-advanced-%s' % (UUID, UUID), '6.12.117-dmemfs'),
        ('gnulinux-advanced-%s>gnulinux-6.1.0-50-amd64-advanced-%s' % (UUID, UUID), '6.1.0-50-amd64')]
    assert sum(1 for e in entries if e['recovery']) == 2
    # the id names the version: the submenu entry, not the "simple" one that follows the newest kernel
    assert pick_entry(entries, '6.1.0-50-amd64')['id'].endswith('>gnulinux-6.1.0-50-amd64-advanced-' + UUID)
    assert pick_entry(entries, '6.12.117-dmemfs')['id'].endswith('>gnulinux-6.12.117-dmemfs-advanced-' + UUID)
    assert pick_entry(entries, '5.10.0-1-amd64') is None


def test_menu_entries_without_submenu_or_ids():
    text = "menuentry 'A' {\n  linux /vmlinuz-1.0 ro\n}\nmenuentry 'B' --id b {\n  linux16 /boot/vmlinuz-2.0 ro single\n}\n"
    assert grub_menu_entries(text) == [
        dict(id='A', title='A', kernel='/vmlinuz-1.0', release='1.0', recovery=False),
        dict(id='b', title='B', kernel='/boot/vmlinuz-2.0', release='2.0', recovery=True)]


def test_grubenv_block():
    text = '# GRUB Environment Block\nsaved_entry=a>b\ndmemfs_trial_once=panic=10 rdinit=/x\n' + '#' * 900
    assert grubenv_parse(text) == {'saved_entry': 'a>b', 'dmemfs_trial_once': 'panic=10 rdinit=/x'}
    assert grubenv_parse(None) == {}


def test_trial_hook_texts():
    assert 'GRUB_DEFAULT=saved' in boot_dropin_content()
    assert '\\${dmemfs_trial_args}' in boot_dropin_content()
    assert TRIAL_SCRIPT.startswith('#!/bin/sh')
    # cleared on disk before the kernel starts, so a panicking trial comes back without it
    assert TRIAL_SCRIPT.index('save_env dmemfs_trial_once') < TRIAL_SCRIPT.index('GRUB\n', 30)
