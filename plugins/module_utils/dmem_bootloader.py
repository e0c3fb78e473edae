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
    """`grubby --info=...` output -> list of {index, kernel, args (list), id (BLS entries)}."""
    entries, current = [], None
    for line in info.splitlines():
        key, sep, value = line.partition('=')
        if not sep:
            continue
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = value[1:-1]
        if key == 'index':
            current = {'index': value, 'kernel': None, 'args': [], 'id': None}
            entries.append(current)
        elif current is not None and key == 'kernel':
            current['kernel'] = value
        elif current is not None and key == 'args':
            current['args'] = shlex.split(value)
        elif current is not None and key == 'id':
            current['id'] = value
    return entries


# Which kernel boots: GRUB_DEFAULT=saved, entries named by id, and one-shot
# arguments for a trial boot (dmem_bootentry).

BOOT_DROPIN_HEADER = '# Managed by dmemfs.fleet (dmem_bootentry): boot the saved entry; one-shot trial arguments.\n'
TRIAL_VAR = 'dmemfs_trial_args'
TRIAL_ONCE_VAR = 'dmemfs_trial_once'

# /etc/grub.d script: runs after 00_header has loaded grubenv. It turns the
# one-shot variable into the arguments of this boot only and clears it on
# disk first, so a trial that panics comes back without them.
TRIAL_SCRIPT = '''#!/bin/sh
# Managed by dmemfs.fleet (dmem_bootentry): one-shot kernel arguments for a trial boot.
cat <<'GRUB'
if [ -n "${%(once)s}" ]; then
  set %(args)s="${%(once)s}"
  export %(args)s
  set %(once)s=
  save_env %(once)s
fi
GRUB
''' % dict(once=TRIAL_ONCE_VAR, args=TRIAL_VAR)


def boot_dropin_content():
    """GRUB_DEFAULT=saved, and a reference GRUB expands at boot to the one-shot arguments."""
    return (BOOT_DROPIN_HEADER + 'GRUB_DEFAULT=saved\n'
            + 'GRUB_CMDLINE_LINUX="${GRUB_CMDLINE_LINUX} \\${%s}"\n' % TRIAL_VAR)


def _quoted_words(line):
    try:
        return shlex.split(line)
    except ValueError:
        return line.split()


def kernel_release(path):
    """/boot/vmlinuz-RELEASE -> RELEASE, None for another name."""
    base = (path or '').rsplit('/', 1)[-1]
    return base[len('vmlinuz-'):] if base.startswith('vmlinuz-') else None


def grub_menu_entries(text):
    """The boot entries of a grub.cfg, each with the id path grub-reboot takes.

    Returns dicts: id ("submenu-id>entry-id" inside a submenu), title,
    kernel (path of the linux line), release (from vmlinuz-RELEASE) and
    recovery (single-user entries, never a target).
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
            stack.append(('submenu' if words[0] == 'submenu' else 'menuentry', ident or title))
            if words[0] == 'menuentry':
                path = '>'.join(name for kind, name in stack)
                current = dict(id=path, title=title, kernel=None, release=None, recovery='recovery mode' in title)
                entries.append(current)
        elif line.endswith('{'):
            stack.append(('block', None))
        elif line == '}' and stack:
            kind = stack.pop()[0]
            if kind == 'menuentry':
                current = None
        elif current is not None and line.split()[:1] in (['linux'], ['linux16'], ['linuxefi']):
            words = line.split()
            if len(words) >= 2:
                current['kernel'] = words[1]
                current['release'] = kernel_release(words[1])
                current['recovery'] = current['recovery'] or 'single' in words[2:]
    return entries


def pick_entry(entries, release):
    """The normal (non-recovery) entry of a kernel release, preferring one in a submenu: its id names the version."""
    found = [e for e in entries if e['release'] == release and not e['recovery']]
    if not found:
        return None
    nested = [e for e in found if '>' in e['id']]
    return (nested or found)[0]


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
