# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Boot loader text handling: drop-in, grub.cfg linux lines, grubby --info."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.dmemfs.fleet.plugins.module_utils.dmem_size import DmemError
from ansible_collections.dmemfs.fleet.plugins.module_utils.dmem_bootloader import (
    cfg_has_exactly, check_param, dropin_content, foreign_dmem, grub_cfg_linux_args, grubby_entries)

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
