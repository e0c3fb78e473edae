# -*- coding: utf-8 -*-
# Copyright: dmemfs.fleet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where a host stands, and how it differs from what is wanted (pure).

From the facts dmem_facts reads (the running boot, the boot loader state
with the collection's record) and, when the inventory policy could be
planned, the plan: what runs, what GRUB boots by default and next, the last
verified configuration, what the plan wants, the reservation and the mount.
``drift`` lists every difference between desired and actual, one sentence
each, in a fixed order, so a change review or a morning check reads them
as they are. playbooks/status.yml prints and writes it; nothing here
touches a host.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.dmemfs.fleet.plugins.module_utils.dmem_boot_model import TRIAL_ID, VERIFIED_ID


def _dmem(words):
    return [w for w in (words or []) if w.startswith('dmem=')]


def _boot(resolved):
    """entry, release and dmem= words of what GRUB boots (resolve_boot's dict), or None."""
    if not resolved:
        return None
    return dict(entry=resolved.get('entry'), release=resolved.get('release'), dmem=_dmem(resolved.get('args')))


def _words(value):
    return ' '.join(value) if value else 'no dmem='


def host_status(facts, plan=None, mount_path=None):
    """The status of one host.

    facts: ansible_facts.dmem; plan: the dmem_plan result of this host (its
    ``param``), None when it was not planned; mount_path: where dmemfs should
    be mounted, None when the mount is not managed.
    """
    boot = facts.get('boot') or {}
    record = boot.get('record')
    verified = (record or {}).get('verified')
    running = dict(release=facts.get('kernel_release'), dmem=_dmem((facts.get('cmdline') or '').split()))
    default, following = _boot(boot.get('default')), _boot(boot.get('next'))
    planned = plan.get('param', '').split() if plan else None
    mounts = [m for m in facts.get('dmemfs_mounts') or [] if mount_path is None or m.get('path') == mount_path]
    status = dict(
        running=running,
        default=default,
        next_boot=following,
        planned=planned,
        verified=None if verified is None else dict(
            release=verified.get('release'), dmem=list(verified.get('dmem') or []),
            since=verified.get('since'), how=verified.get('how')),
        candidate=(record or {}).get('candidate'),
        trial_armed=bool(boot.get('trial_armed')),
        one_shot_left=list(boot.get('one_shot_left') or []),
        drained=bool(boot.get('drained')),
        reserved=facts.get('dmem_total', 0),
        reserved_nodes=dict((str(n.get('id')), n.get('dmem', 0)) for n in facts.get('nodes') or []),
        mounted=[m.get('path') for m in mounts],
        reboot_pending=bool(following) and (following['release'], following['dmem']) != (
            running['release'], running['dmem']),
    )
    status['drift'] = drift(status, boot, mount_path)
    return status


def drift(status, boot, mount_path):
    """Every difference between desired and actual, in a fixed order ([] when none)."""
    out = []
    verified, running = status['verified'], status['running']
    if verified is None:
        out.append('not managed: no record of a verified configuration')
    else:
        if (running['release'], running['dmem']) != (verified['release'], verified['dmem']):
            out.append('running %s %s, not the verified configuration %s %s'
                       % (running['release'], _words(running['dmem']), verified['release'], _words(verified['dmem'])))
        if status['planned'] is not None and status['planned'] != verified['dmem']:
            out.append('the plan wants %s, the verified configuration has %s (not rolled out yet)'
                       % (_words(status['planned']), _words(verified['dmem'])))
        want = (VERIFIED_ID, verified['release'], verified['dmem'])
        default = status['default']
        if default is None or (default['entry'], default['release'], default['dmem']) != want:
            what = 'nothing' if default is None else '%s (%s %s)' % (
                default['entry'], default['release'], _words(default['dmem']))
            out.append('GRUB boots %s by default, not the verified entry' % what)
        following = status['next_boot']
        if not status['trial_armed'] and following is not None and default is not None and following != default:
            out.append('the next boot is %s (%s %s), not the default (a one-shot set by hand?)'
                       % (following['entry'], following['release'], _words(following['dmem'])))
    for problem in boot.get('record_problems') or []:
        out.append('record: %s' % problem)
    if status['trial_armed']:
        out.append('a trial is armed for the next boot')
    elif status['one_shot_left']:
        out.append('GRUB did not clear a one-shot: %s' % ', '.join(status['one_shot_left']))
    if status['candidate'] and not status['trial_armed']:
        out.append('a candidate is recorded (%s %s) from a run that did not finish'
                   % (status['candidate'].get('release'), _words(status['candidate'].get('dmem'))))
    foreign = sorted(e for e in boot.get('bootable_dmem') or {} if e not in (VERIFIED_ID, TRIAL_ID))
    if foreign:
        out.append('entries other than the verified one carry dmem=: %s' % ', '.join(foreign))
    if status['drained']:
        out.append('drained by a run that did not finish')
    if mount_path is not None and not status['mounted']:
        out.append('dmemfs is not mounted at %s' % mount_path)
    if verified is not None and verified['dmem'] and running['dmem'] == verified['dmem'] and not status['reserved']:
        out.append('dmem= is on the command line but the kernel reserved nothing')
    return out


def fleet_status(hosts):
    """hosts: name -> host_status. The fleet's summary: counts and the hosts with drift."""
    drifted = sorted(name for name, status in hosts.items() if status['drift'])
    return dict(hosts=len(hosts), in_sync=len(hosts) - len(drifted), drifted=drifted,
                reboot_pending=sorted(name for name, status in hosts.items() if status['reboot_pending']),
                reserved=sum(status['reserved'] for status in hosts.values()))
