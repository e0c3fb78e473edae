# -*- coding: utf-8 -*-
# Copyright: dmemfs.fleet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""dmem= on the kernel command line of a boot loader, touching nothing else.

Debian family: one drop-in under /etc/default/grub.d that appends dmem= to
GRUB_CMDLINE_LINUX, and grub.cfg regenerated and checked before it is used.
RHEL family: grubby, per kernel entry.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
import shlex

from ansible_collections.dmemfs.fleet.plugins.module_utils.dmem_size import DmemError
from ansible_collections.dmemfs.fleet.plugins.module_utils.dmem_param import parse

DROPIN_HEADER = '# Managed by dmemfs.fleet (dmem_bootparam): dmem= for the dmemfs kernel.\n'


def check_param(param, field='param'):
    """Split "dmem=A dmem=B" into words, each a valid dmem= (only dmem= words)."""
    if not isinstance(param, str):
        raise DmemError(field, 'must be a string of dmem= words', param)
    words = param.split()
    for word in words:
        if not word.startswith('dmem='):
            raise DmemError(field, 'only dmem= words belong here, not %r' % word, param)
        parse(word[len('dmem='):], field)
    return words


def dropin_content(words):
    """The drop-in: appends the words to whatever GRUB_CMDLINE_LINUX already holds."""
    return DROPIN_HEADER + 'GRUB_CMDLINE_LINUX="${GRUB_CMDLINE_LINUX} %s"\n' % ' '.join(words)


def foreign_dmem(path, text):
    """Lines of another grub defaults file that set dmem= (they would double it)."""
    found = []
    for number, line in enumerate(text.splitlines(), 1):
        if line.lstrip().startswith('#'):
            continue
        if re.search(r'(^|["\'\s])dmem=', line):
            found.append('%s:%d: %s' % (path, number, line.strip()))
    return found


def grub_cfg_linux_args(text):
    """Argument words of every `linux` line of a grub.cfg (skipping the kernel path)."""
    entries = []
    for line in text.splitlines():
        words = line.strip().split()
        if len(words) >= 2 and words[0] in ('linux', 'linux16', 'linuxefi'):
            entries.append(words[2:])
    return entries


def cfg_has_exactly(text, words):
    """Every linux line carries exactly these dmem= words, in order."""
    entries = grub_cfg_linux_args(text)
    return bool(entries) and all([w for w in args if w.startswith('dmem=')] == list(words) for args in entries)


def grubby_entries(info):
    """`grubby --info=...` output -> list of {kernel, args (list)}."""
    entries, current = [], None
    for line in info.splitlines():
        key, sep, value = line.partition('=')
        if not sep:
            continue
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = value[1:-1]
        if key == 'index':
            current = {'index': value, 'kernel': None, 'args': []}
            entries.append(current)
        elif current is not None and key == 'kernel':
            current['kernel'] = value
        elif current is not None and key == 'args':
            current['args'] = shlex.split(value)
    return entries
