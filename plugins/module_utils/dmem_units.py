# -*- coding: utf-8 -*-
# Copyright: dmemfs.fleet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""systemd unit names of the paths the collection owns.

The name of a mount unit is its path escaped as ``systemd-escape --path``
does (systemd.unit(5), "String Escaping for Inclusion in Unit Names").
Computed here, on the controller, instead of running systemd-escape on each
host: a module run costs 5 to 10 s on a slow host, and the rule is fixed.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.dmemfs.fleet.plugins.module_utils.dmem_size import DmemError

# Kept as they are; every other byte becomes \xNN, '/' becomes '-'.
_PLAIN = frozenset('abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789:_.')


def check_path(path, field='path'):
    """An absolute, normalised path other than /: what a mount unit may be named after."""
    if not isinstance(path, str) or not path.startswith('/') or path == '/':
        raise DmemError(field, 'must be an absolute path other than /', path)
    parts = path[1:].split('/')
    if any(p in ('', '.', '..') for p in parts):
        raise DmemError(field, 'must be normalised: no empty, "." or ".." component, no trailing /', path)
    if '\0' in path:
        raise DmemError(field, 'must not contain a NUL byte', path)
    return path


def escape_path(path, field='path'):
    """``systemd-escape --path PATH``: "/mnt/dmem-1" -> "mnt-dmem\\x2d1"."""
    out = []
    for i, byte in enumerate(check_path(path, field)[1:].encode('utf-8')):
        char = chr(byte)
        if char == '/':
            out.append('-')
        elif char in _PLAIN and not (char == '.' and i == 0):
            out.append(char)
        else:
            out.append('\\x%02x' % byte)
    return ''.join(out)


def mount_unit(path, field='path'):
    """The name of the systemd mount unit of ``path``: "/mnt/dmem" -> "mnt-dmem.mount"."""
    return escape_path(path, field) + '.mount'
