# -*- coding: utf-8 -*-
# Copyright: dmemfs.fleet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Jinja filters over module_utils: the math lives there, not here."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError
from ansible_collections.dmemfs.fleet.plugins.module_utils.dmem_size import (
    DmemError, format_size, human_size, parse_size)
from ansible_collections.dmemfs.fleet.plugins.module_utils.dmem_param import (
    DEFAULT_SECTION_SIZE, DmemSpec, parse, render, validate)
from ansible_collections.dmemfs.fleet.plugins.module_utils.dmem_savings import fleet
from ansible_collections.dmemfs.fleet.plugins.module_utils.dmem_fleet_config import fleet_config
from ansible_collections.dmemfs.fleet.plugins.module_utils.dmem_rollout import halt_reason, host_states
from ansible_collections.dmemfs.fleet.plugins.module_utils.dmem_status import fleet_status, host_status
from ansible_collections.dmemfs.fleet.plugins.module_utils.dmem_units import mount_unit


def _wrap(func):
    def filter_func(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except DmemError as exc:
            raise AnsibleFilterError('%s: %s' % (func.__name__, exc))
    filter_func.__name__ = func.__name__
    return filter_func


def dmem_parse(value, section_size=DEFAULT_SECTION_SIZE):
    section_size = parse_size(section_size, 'section_size')
    return parse(value, 'dmem', section_size).as_dict(section_size)


def dmem_format(spec, section_size=DEFAULT_SECTION_SIZE):
    if not isinstance(spec, dict) or 'size' not in spec:
        raise DmemError('spec', 'must be a dict with size and optional addr, align, keep_for_kernel', spec)
    align = spec.get('align') if spec.get('align_given', True) else None
    obj = DmemSpec(parse_size(spec['size'], 'size'),
                   None if spec.get('addr') is None else parse_size(spec['addr'], 'addr'),
                   None if align is None else parse_size(align, 'align'),
                   bool(spec.get('keep_for_kernel', False)))
    return render(validate(obj, 'spec', parse_size(section_size, 'section_size')))


def dmem_bytes(value):
    return parse_size(value, 'size')


def dmem_size(value):
    return format_size(parse_size(value, 'size'))


def dmem_human(value):
    return human_size(parse_size(value, 'size'))


def dmem_mount_unit(path):
    return mount_unit(path, 'path')


def dmem_fleet(reports, failed=None):
    if not isinstance(reports, dict):
        raise DmemError('reports', 'must be a dict of host name to dmem_savings result', reports)
    if failed is not None and not isinstance(failed, dict):
        raise DmemError('failed', 'must be a dict of host name to why it failed', failed)
    return fleet(reports, failed)


def dmem_rollout_halt(statuses, max_fail_percentage=0):
    if not isinstance(statuses, dict):
        raise DmemError('statuses', 'must be a dict of host name to rollout status', statuses)
    return halt_reason(statuses, max_fail_percentage)


def dmem_host_states(hosts, results, measured):
    if not isinstance(results, dict):
        raise DmemError('results', 'must be a dict of host name to rollout result', results)
    return host_states(list(hosts), results, list(measured))


def dmem_status(facts, plan=None, mount_path=None):
    if not isinstance(facts, dict) or 'boot' not in facts:
        raise DmemError('facts', 'must be the dmem facts of dmemfs.fleet.dmem_facts (ansible_facts.dmem)', facts)
    if plan is not None and not (isinstance(plan, dict) and 'param' in plan):
        raise DmemError('plan', 'must be a dmem_plan result (with param) or null', plan)
    return host_status(facts, plan, mount_path or None)


def dmem_status_fleet(hosts):
    if not isinstance(hosts, dict):
        raise DmemError('hosts', 'must be a dict of host name to dmem_status result', hosts)
    return fleet_status(hosts)


def dmem_fleet_config(hosts, config_host=None, extra=None, previous=None):
    return fleet_config(hosts, config_host or None, extra, previous)


class FilterModule(object):
    def filters(self):
        return dict((f.__name__, _wrap(f)) for f in (dmem_parse, dmem_format, dmem_bytes, dmem_size, dmem_human, dmem_mount_unit, dmem_fleet,
                                                     dmem_rollout_halt, dmem_host_states, dmem_status,
                                                     dmem_status_fleet, dmem_fleet_config))
