# -*- coding: utf-8 -*-
# Copyright: dmemfs.fleet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fleet semantics of a rollout, pure: when to halt it, and the state of every host.

A host of a rollout ends in one of: ok, failed (its trial failed; it runs its
last verified configuration), refused (preflight stopped it before any
change), started (the rollout of the host did not finish: the controller lost
it mid-way), unreachable, not_reached (the rollout halted before its batch).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.dmemfs.fleet.plugins.module_utils.dmem_size import DmemError

STATES = ('ok', 'failed', 'refused', 'started', 'unreachable', 'not_reached', 'check')
# What counts against dmem_max_fail_percentage: a trial that failed or a host lost mid-way.
FAILING = ('failed', 'started', 'unreachable')


def halt_reason(statuses, max_fail_percentage):
    """'' to go on, else why the later batches must not start.

    statuses is {host: status} of the hosts that have one so far. Halts when
    the failures exceed max_fail_percentage of the hosts reached (strictly, as
    Ansible's max_fail_percentage: 1 of 2 at 50 % goes on).
    """
    try:
        limit = float(max_fail_percentage)
    except (TypeError, ValueError):
        raise DmemError('dmem_max_fail_percentage', 'must be a number from 0 to 100', max_fail_percentage)
    if not 0 <= limit <= 100:
        raise DmemError('dmem_max_fail_percentage', 'must be a number from 0 to 100', max_fail_percentage)
    reached = sorted(h for h, s in statuses.items() if s != 'not_reached')
    failed = sorted(h for h in reached if statuses[h] in FAILING)
    if reached and len(failed) * 100 > limit * len(reached):
        return ('rollout halted: %d of %d host(s) reached failed (%s), more than dmem_max_fail_percentage=%s%%'
                % (len(failed), len(reached), ', '.join(failed), max_fail_percentage))
    return ''


def host_states(hosts, results, measured):
    """{host: {state, reason}} of every host that is not ok.

    results is {host: rollout result (status, reason)} for the hosts that have
    one; measured is the hosts the report could measure. A host with neither
    a result that says otherwise nor a measurement could not be reached.
    """
    out = {}
    for host in hosts:
        result = results.get(host) or {}
        status = result.get('status', 'ok')
        if status not in STATES:
            raise DmemError('dmem_reboot_result', 'status must be one of %s' % ', '.join(STATES), status)
        if status not in ('ok', 'check'):
            out[host] = {'state': status, 'reason': result.get('reason', '')}
        elif host not in measured:
            out[host] = {'state': 'unreachable', 'reason': 'could not be reached, so it was left out'}
    return out
