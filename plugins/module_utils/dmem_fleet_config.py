# -*- coding: utf-8 -*-
# Copyright: dmemfs.fleet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The kernel config a fleet's build starts from, and the modules it keeps (pure).

A hypervisor kernel built over x86_64_defconfig lacks the NICs, HBAs and file
systems of real servers. kernel_build's default base is the fleet's own: the
distribution config of one host (its running kernel's, or, on a host already
on a dmemfs kernel, its newest distribution kernel's), trimmed as
``make localmodconfig`` does to the modules the fleet uses: every module
loaded on any host, plus the drivers of each root disk and default-route NIC
(dmem_facts ``boot.modules.all``). The union only grows (``previous``, what
earlier builds kept): a module loaded on one day and not the next must not
make a new kernel release, so a build stays the same until a host uses a
module it has never kept.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.dmemfs.fleet.plugins.module_utils.dmem_modules import norm
from ansible_collections.dmemfs.fleet.plugins.module_utils.dmem_size import DmemError

# CONFIG_LOCALVERSION of kernel/configs/dmemfs.config: every build's release has it
DMEMFS_MARK = '-dmemfs'
_NAME = re.compile(r'^[A-Za-z0-9_-]+$')


def is_dmemfs_release(release):
    """A release this collection built (its CONFIG_LOCALVERSION is in it)."""
    return DMEMFS_MARK in (release or '')


def _version_key(release):
    # 6.1.0-9-amd64 < 6.1.0-50-amd64: numbers compare as numbers, words as words
    return [(0, int(part), '') if part.isdigit() else (1, 0, part) for part in re.findall(r'\d+|[^\d.\-_+~]+', release)]


def config_release(running, installed):
    """The release whose /boot/config-* is the base: the running one unless it is a dmemfs build,
    else the newest installed distribution kernel; None when there is none."""
    if running and not is_dmemfs_release(running):
        return running
    distribution = [r for r in installed or [] if r and not is_dmemfs_release(r)]
    return max(distribution, key=_version_key) if distribution else None


def _module_names(value, field):
    if value is None:
        return []
    if isinstance(value, str) or not isinstance(value, (list, tuple)):
        raise DmemError(field, 'must be a list of module names', value)
    bad = [v for v in value if not isinstance(v, str) or not _NAME.match(v)]
    if bad:
        raise DmemError(field, 'must be module names (letters, digits, - and _)', bad[0])
    return [norm(v) for v in value]


def fleet_config(hosts, config_host=None, extra=None, previous=None):
    """The base config's host, release and path, and the modules the build keeps.

    ``hosts``: inventory name -> that host's dmem facts (``ansible_facts.dmem``;
    anything else, None or False, when this run has none: unreachable, not read). ``config_host``:
    the host to take the config from (default: the first with facts, in
    inventory order). ``extra``: modules to keep whatever the fleet loads.
    ``previous``: the modules earlier builds kept.
    """
    if not isinstance(hosts, dict):
        raise DmemError('hosts', 'must be a dict of host name to dmem facts', hosts)
    modules = set(_module_names(extra, 'kernel_build_config_modules'))
    modules.update(_module_names(previous, 'previous'))
    read = [h for h in hosts if isinstance(hosts[h], dict) and isinstance(hosts[h].get('boot'), dict)]
    if not read:
        raise DmemError('kernel_build_fleet', 'no host of it has dmem facts in this run: run plan.yml or site.yml, '
                        'which read them, in the same ansible-playbook run', sorted(hosts))
    if config_host is None:
        config_host = read[0]
    elif config_host not in hosts:
        raise DmemError('kernel_build_config_host', 'must be a host of the fleet (kernel_build_fleet)', config_host)
    elif config_host not in read:
        raise DmemError('kernel_build_config_host', 'has no dmem facts in this run (unreachable, or left out '
                        'by --limit)', config_host)
    facts = hosts[config_host]
    kernels = facts['boot'].get('kernels') or []
    release = config_release(facts.get('kernel_release'), [k.get('release') for k in kernels])
    if release is None:
        raise DmemError('kernel_build_config_host', 'runs a dmemfs kernel and has no distribution kernel installed '
                        'to take the config from; choose another host or set kernel_build_config_base to file',
                        config_host)
    path = ([k.get('config') for k in kernels if k.get('release') == release] or [None])[0]
    if not path:
        raise DmemError('kernel_build_config_host', 'has no /boot/config-%s (the config of the kernel it runs); choose '
                        'another host or set kernel_build_config_base to file' % release, config_host)
    for host in read:
        modules.update(norm(m) for m in (hosts[host]['boot'].get('modules') or {}).get('all') or [])
    return dict(host=config_host, release=release, path=path,
                modules=sorted(modules), hosts=read, unread=sorted(set(hosts) - set(read)))
