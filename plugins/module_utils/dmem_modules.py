# -*- coding: utf-8 -*-
# Copyright: dmemfs.fleet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kernel modules a host uses against those a kernel release provides (pure).

A hypervisor that boots a kernel without the driver of its boot disk, of the
NIC of its default route, or of anything else it has loaded (kvm_amd, vhost,
a storage HBA, an out-of-tree module) comes up without root, unreachable, or
unable to run a guest. dmem_reboot's preflight refuses such a trial before
anything changes, naming the modules; dmem_boot_host reads the host.

Module names compare as the kernel does: ``-`` and ``_`` are the same.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

_KO = re.compile(r'\.ko(\.(gz|xz|zst|bz2))?$')


def norm(name):
    """A module name as the kernel compares it."""
    return name.strip().replace('-', '_')


def loaded(proc_modules):
    """Names of the modules in /proc/modules (first field of each line)."""
    return set(norm(line.split()[0]) for line in (proc_modules or '').splitlines() if line.strip())


def _basename(path):
    return norm(_KO.sub('', path.strip().rsplit('/', 1)[-1]))


def provided(modules_builtin, modules_dep):
    """Every module a release provides: built in (modules.builtin) or shipped (modules.dep), or None if unknown.

    None when neither file exists: the release's /lib/modules is missing and
    nothing can be said (the caller reports that, not a list of modules).
    """
    if modules_builtin is None and modules_dep is None:
        return None
    names = set(_basename(line) for line in (modules_builtin or '').splitlines() if line.strip())
    for line in (modules_dep or '').splitlines():
        target = line.split(':', 1)[0]
        if target.strip():
            names.add(_basename(target))
    return names


def missing(needed, have):
    """Sorted names of needed modules a release does not provide (None: unknown)."""
    if have is None:
        return None
    return sorted(set(norm(n) for n in needed) - have)


def default_route_dev(proc_net_route):
    """The interface of the IPv4 default route in /proc/net/route, or None."""
    for line in (proc_net_route or '').splitlines()[1:]:
        fields = line.split()
        if len(fields) >= 8 and fields[1] == '00000000' and fields[7] == '00000000':
            return fields[0]
    return None


def mount_dev(mountinfo, point='/'):
    """MAJOR:MINOR of the file system mounted at point (the last mount wins), or None."""
    found = None
    for line in (mountinfo or '').splitlines():
        fields = line.split()
        if len(fields) > 4 and fields[4] == point:
            found = fields[2]
    return found
