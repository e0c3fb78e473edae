# -*- coding: utf-8 -*-
# Copyright: dmemfs.fleet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""QEMU guests whose RAM is on dmemfs, and what in their configuration is known to fail.

Pure: the command line of a QEMU process and the host's dmemfs mounts in,
findings out; reading them from /proc is dmem_host's part. The rules follow
what the kernel does with a dmemfs mapping (VM_PFNMAP: nothing can pin its
pages), each measured by kernel/tests (dmemtest compat-* rows):

- O_DIRECT I/O into guest RAM fails with EFAULT: QEMU's cache=none or
  directsync, cache.direct=on, aio=native (which needs O_DIRECT). The guest
  sees I/O errors on that disk.
- virtio-balloon gives no memory back: discarding a page of a shared file
  punches a hole (EOPNOTSUPP) or zaps it (MADV_DONTNEED: EINVAL).
- vhost-net with zerocopy transmit (vhost_net experimental_zcopytx=1) pins
  guest RAM: EFAULT.

prealloc=on works: MADV_POPULATE_WRITE gives EINVAL, and QEMU then touches
every page itself (the pipeline scenario runs a KVM guest with it).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

# argv[0] names of QEMU system emulators
_QEMU_NAMES = ('qemu-system-', 'qemu-kvm')

WHY_ODIRECT = ('O_DIRECT I/O into guest RAM on dmemfs fails with EFAULT (nothing can pin its pages): '
               'the guest sees I/O errors on this disk; use cache=writeback or writethrough, aio=threads or io_uring')
WHY_BALLOON = ('inflating the balloon returns no memory to the host: a dmemfs file can neither punch a hole '
               '(EOPNOTSUPP) nor drop a page (MADV_DONTNEED: EINVAL); size the guest instead')
WHY_ZEROCOPY = ('vhost-net zerocopy transmit pins guest RAM, which fails with EFAULT on dmemfs; '
                'set the vhost_net module parameter experimental_zcopytx=0')


def is_qemu(argv):
    return bool(argv) and os.path.basename(argv[0]).startswith(_QEMU_NAMES)


def parse_opts(text):
    """QEMU's key=value,key=value (',,' is a literal comma; a first bare word is the driver/type)."""
    text = text.strip()
    if text.startswith('{'):
        try:
            value = json.loads(text)
        except ValueError:
            return {}
        return _flatten(value) if isinstance(value, dict) else {}
    parts, cur, i = [], '', 0
    while i < len(text):
        if text[i] == ',':
            if text[i + 1:i + 2] == ',':
                cur += ','
                i += 2
                continue
            parts.append(cur)
            cur = ''
        else:
            cur += text[i]
        i += 1
    parts.append(cur)
    opts = {}
    for n, part in enumerate(parts):
        if '=' in part:
            key, value = part.split('=', 1)
            opts[key] = value
        elif part and n == 0:
            opts[''] = part
        elif part:
            opts[part] = 'on'
    return opts


def _flatten(value, prefix=''):
    out = {}
    for key, item in value.items():
        if isinstance(item, dict):
            out.update(_flatten(item, prefix + key + '.'))
        elif isinstance(item, bool):
            out[prefix + key] = 'on' if item else 'off'
        else:
            out[prefix + key] = str(item)
    return out


def options(argv):
    """[(option, {key: value})] of a QEMU command line; '-opt' and '--opt' alike."""
    found, i = [], 1
    while i < len(argv):
        arg = argv[i]
        if arg.startswith('-'):
            name = arg.lstrip('-')
            value = argv[i + 1] if i + 1 < len(argv) and not argv[i + 1].startswith('-') else None
            found.append((name, parse_opts(value) if value is not None else {}))
            i += 2 if value is not None else 1
        else:
            i += 1
    return found


def _on(value):
    return str(value).lower() in ('on', 'yes', 'true', '1')


def _under(path, mounts):
    path = os.path.normpath(path)
    for mount in mounts:
        top = os.path.normpath(mount)
        if path == top or path.startswith(top.rstrip('/') + '/'):
            return True
    return False


def guest(argv, mounts, vhost_zerocopy=False):
    """What is known to fail for a QEMU guest with RAM on one of ``mounts`` (dmemfs mount points).

    Returns None when the process is not QEMU or has no RAM on dmemfs, else
    {'name', 'dmemfs_ram': [paths], 'problems': [{'feature', 'option', 'why'}]}.
    """
    if not is_qemu(argv):
        return None
    opts = options(argv)
    ram, name = [], None
    for opt, kv in opts:
        if opt == 'object' and kv.get('qom-type', kv.get('')) == 'memory-backend-file' and _under(kv.get('mem-path', ''), mounts):
            ram.append(kv['mem-path'])
        elif opt == 'mem-path' and '' in kv and _under(kv[''], mounts):
            ram.append(kv[''])
        elif opt == 'name':
            name = kv.get('guest', kv.get(''))
    if not ram:
        return None
    problems = []
    for opt, kv in opts:
        if opt in ('drive', 'blockdev'):
            label = kv.get('id', kv.get('node-name', kv.get('file', kv.get('filename', '?'))))
            direct = kv.get('cache') in ('none', 'directsync') or _on(kv.get('cache.direct', 'off'))
            if direct:
                problems.append({'feature': 'O_DIRECT', 'option': '-%s %s: cache=%s' % (
                    opt, label, kv.get('cache', 'direct')), 'why': WHY_ODIRECT})
            elif kv.get('aio') == 'native':
                problems.append({'feature': 'O_DIRECT', 'option': '-%s %s: aio=native' % (opt, label),
                                 'why': WHY_ODIRECT})
        elif opt == 'device' and kv.get('driver', kv.get('', '')).startswith('virtio-balloon'):
            problems.append({'feature': 'virtio-balloon', 'option': '-device %s' % kv.get('driver', kv.get('')),
                             'why': WHY_BALLOON})
        elif opt == 'netdev' and vhost_zerocopy and _on(kv.get('vhost', 'off')):
            problems.append({'feature': 'vhost-net zerocopy', 'option': '-netdev %s vhost=on' % kv.get('id', '?'),
                             'why': WHY_ZEROCOPY})
    return {'name': name, 'dmemfs_ram': ram, 'problems': problems}
