# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Mount unit names computed on the controller, as systemd-escape --path names them."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import subprocess

import pytest

from ansible_collections.dmemfs.fleet.plugins.module_utils.dmem_size import DmemError
from ansible_collections.dmemfs.fleet.plugins.module_utils.dmem_units import mount_unit

PATHS = ['/mnt/dmem', '/mnt/dmem-1', '/srv/.hidden/x', '/.dot', '/a b/c', u'/mnt/dm\u00e9m', '/x:y_z.w',
         '/var/lib/dmem/node0', '/mnt/a\\b']


@pytest.mark.parametrize('path, unit', [
    ('/mnt/dmem', 'mnt-dmem.mount'),
    ('/mnt/dmem-1', 'mnt-dmem\\x2d1.mount'),
    ('/srv/.hidden/x', 'srv-.hidden-x.mount'),
    ('/.dot', '\\x2edot.mount'),
    ('/a b/c', 'a\\x20b-c.mount'),
    (u'/mnt/dm\u00e9m', 'mnt-dm\\xc3\\xa9m.mount'),
    ('/x:y_z.w', 'x:y_z.w.mount'),
])
def test_mount_unit_escapes_as_systemd_unit_5_says(path, unit):
    assert mount_unit(path) == unit


@pytest.mark.parametrize('path', PATHS)
def test_mount_unit_is_what_systemd_escape_prints(path):
    """The real systemd-escape (systemd is on every Debian 12 host) is the oracle."""
    out = subprocess.run(['systemd-escape', '--path', '--suffix=mount', path], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert mount_unit(path) == out


@pytest.mark.parametrize('path, rule', [
    ('mnt/dmem', 'absolute path other than /'),
    ('/', 'absolute path other than /'),
    ('', 'absolute path other than /'),
    (None, 'absolute path other than /'),
    ('/mnt//dmem', 'normalised'),
    ('/mnt/dmem/', 'normalised'),
    ('/mnt/../dmem', 'normalised'),
    ('/mnt/./dmem', 'normalised'),
])
def test_mount_unit_refuses_what_is_not_a_normalised_absolute_path_naming_the_field(path, rule):
    with pytest.raises(DmemError) as exc:
        mount_unit(path, 'dmem_mount_path')
    assert str(exc.value).startswith('dmem_mount_path')
    assert rule in str(exc.value)
