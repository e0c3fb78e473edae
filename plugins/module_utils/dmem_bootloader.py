# -*- coding: utf-8 -*-
# Copyright: dmemfs.fleet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reading boot loader text: grub.cfg entries, grubenv, GRUB defaults, grubby and BLS entries.

Pure parsers; what the collection makes of them is in dmem_boot_model.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
import shlex

from ansible_collections.dmemfs.fleet.plugins.module_utils.dmem_size import DmemError
from ansible_collections.dmemfs.fleet.plugins.module_utils.dmem_param import parse

LINUX_COMMANDS = ('linux', 'linux16', 'linuxefi')


def check_param(param, field='param'):
    """Split "dmem=A dmem=B" into words, each a valid dmem= (only dmem= words); '' is none."""
    if not isinstance(param, str):
        raise DmemError(field, 'must be a string of dmem= words', param)
    words = param.split()
    for word in words:
        if not word.startswith('dmem='):
            raise DmemError(field, 'only dmem= words belong here, not %r' % word, param)
        parse(word[len('dmem='):], field)
    return words


def foreign_dmem(path, text):
    """Lines of a GRUB defaults file that set dmem= (every stock entry would carry it)."""
    found = []
    for number, line in enumerate(text.splitlines(), 1):
        if line.lstrip().startswith('#'):
            continue
        if re.search(r'(^|["\'\s])dmem=', line):
            found.append('%s:%d: %s' % (path, number, line.strip()))
    return found


def grub_default_of(texts):
    """The GRUB_DEFAULT the host's defaults files set, last one wins ((value, source) or (None, None))."""
    value, source = None, None
    for path, text in texts:
        for line in (text or '').splitlines():
            found = re.match(r'''^\s*(?:export\s+)?GRUB_DEFAULT=(?:"([^"]*)"|'([^']*)'|(\S*))''', line)
            if found:
                value = next(g for g in found.groups() if g is not None)
                source = path
    return value, source


def _quoted_words(line):
    try:
        return shlex.split(line)
    except ValueError:
        return line.split()


def kernel_release(path):
    """/boot/vmlinuz-RELEASE (or /vmlinuz-RELEASE on a separate /boot) -> RELEASE, None for another name."""
    base = (path or '').rsplit('/', 1)[-1]
    return base[len('vmlinuz-'):] if base.startswith('vmlinuz-') else None


def grub_menu_entries(text):
    """The boot entries (and submenus) of a grub.cfg, in menu order.

    Each item: kind (menuentry or submenu), id (the id path GRUB takes: "submenu-id>entry-id" inside a
    submenu), title, path_titles (the same path by titles), parent (the
    submenu's id, None at the top), kernel (path on the linux line), release,
    args (the words after the kernel path) and recovery (single-user entries).
    """
    entries, stack = [], []
    current = None
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith(('menuentry ', 'submenu ')) and line.endswith('{'):
            words = _quoted_words(line[:-1])
            ident = None
            for i, word in enumerate(words[:-1]):
                if word in ('--id', '$menuentry_id_option'):
                    ident = words[i + 1]
            title = words[1] if len(words) > 1 else ''
            kind = 'submenu' if words[0] == 'submenu' else 'menuentry'
            stack.append((kind, ident or title, title))
            parents = [s for s in stack[:-1] if s[0] == 'submenu']
            item = dict(kind=kind, id='>'.join(s[1] for s in stack if s[0] != 'block'),
                        path_titles='>'.join(s[2] for s in stack if s[0] != 'block'),
                        title=title, parent=parents[-1][1] if parents else None,
                        kernel=None, release=None, args=[], recovery='recovery mode' in title)
            entries.append(item)
            if kind == 'menuentry':
                current = item
        elif line.endswith('{'):
            stack.append(('block', None, None))
        elif line == '}' and stack:
            kind = stack.pop()[0]
            if kind == 'menuentry':
                current = None
        elif current is not None and line.split()[:1] and line.split()[0] in LINUX_COMMANDS:
            words = line.split()
            if len(words) >= 2:
                current['kernel'] = words[1]
                current['release'] = kernel_release(words[1])
                current['args'] = words[2:]
                current['recovery'] = current['recovery'] or 'single' in words[2:]
    return entries


def grubenv_parse(text):
    """A grubenv block: name=value lines after the header, padding '#' ignored."""
    env = {}
    for line in (text or '').splitlines():
        if not line or line.startswith('#'):
            continue
        name, sep, value = line.partition('=')
        if sep:
            env[name] = value
    return env


def grubby_entries(info):
    """`grubby --info=...` output -> list of {index, kernel, args (list), id, title, initrd}."""
    entries, current = [], None
    for line in info.splitlines():
        key, sep, value = line.partition('=')
        if not sep:
            continue
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = value[1:-1]
        if key == 'index':
            current = {'index': value, 'kernel': None, 'args': [], 'id': None, 'title': None, 'initrd': None}
            entries.append(current)
        elif current is not None and key == 'args':
            current['args'] = shlex.split(value)
        elif current is not None and key in ('kernel', 'id', 'title', 'initrd'):
            current[key] = value
    return entries


def bls_parse(text):
    """A Boot Loader Specification entry: ordered (key, value) pairs."""
    pairs = []
    for line in (text or '').splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith('#'):
            continue
        key, _sep, value = stripped.partition(' ')
        pairs.append((key, value.strip()))
    return pairs


def bls_render(pairs):
    return ''.join('%s %s\n' % (key, value) for key, value in pairs)
