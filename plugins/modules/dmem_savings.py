#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: dmemfs.fleet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: dmem_savings
short_description: Report the struct-page memory a host's dmem reservation reclaimed
version_added: 0.1.0
description:
  - Per NUMA node, the bytes the kernel reserved for dmemfs and the struct-page memory that
    predicts saved (reserved / page size x struct page size).
  - Measured savings from the kernel's own counter C(nr_memmap_boot_pages) against the memory map
    the firmware's RAM would need with no reservation (counted in whole memory sections, as the
    sparse memory map is built), and the ratio of measured to predicted.
  - Read only; never changes the host.
author:
  - dmemfs.fleet developers (@dmemfs)
options:
  root:
    description: Directory to read C(proc/) and C(sys/) below (tests read captured trees).
    type: path
    default: /
  struct_page_size:
    description: Bytes of one struct page when the kernel does not publish it.
    type: int
    default: 64
  plan:
    description:
      - Optional result of M(dmemfs.fleet.dmem_plan). When given, C(plan_match) says whether every
        node reserved what the plan said.
    type: dict
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  platform:
    platforms: posix
seealso:
  - module: dmemfs.fleet.dmem_facts
  - module: dmemfs.fleet.dmem_plan
'''

EXAMPLES = r'''
- name: Measure what dmem saved
  dmemfs.fleet.dmem_savings:
    plan: "{{ plan }}"
  register: savings

- name: Print it
  ansible.builtin.debug:
    msg: "{{ savings.summary }}"
'''

RETURN = r'''
dmem_total:
  description: Bytes the kernel reserved for dmemfs over all nodes.
  returned: always
  type: int
  sample: 2147483648
predicted:
  description: Struct-page bytes the reservation should save.
  returned: always
  type: int
  sample: 33554432
measured:
  description: Struct-page bytes the kernel did not build, from its own counters; null where they are missing.
  returned: always
  type: int
  sample: 33554432
ratio:
  description: measured / predicted; null where either is missing or predicted is 0.
  returned: always
  type: float
  sample: 1.0
baseline_memmap:
  description: Memory map in bytes the firmware RAM would need with no reservation.
  returned: always
  type: int
actual_memmap:
  description: Memory map in bytes the kernel built at boot (nr_memmap_boot_pages x page size).
  returned: always
  type: int
nodes:
  description: Per node C(id), C(dmem) and C(predicted) bytes.
  returned: always
  type: list
  elements: dict
page_size:
  description: Base page size used, bytes.
  returned: always
  type: int
struct_page_size:
  description: Struct page size used, bytes.
  returned: always
  type: int
plan_match:
  description: Every node reserved what O(plan) said; null without O(plan).
  returned: always
  type: bool
plan_mismatch:
  description: Nodes whose reservation differs from O(plan), with C(id), C(planned) and C(reserved).
  returned: always
  type: list
  elements: dict
guests_at_risk:
  description:
    - Running QEMU guests with RAM on dmemfs whose configuration is known to fail there (see
      M(dmemfs.fleet.dmem_facts) C(guests)), each with C(pid), C(name), C(dmemfs_ram) and C(problems).
  returned: always
  type: list
  elements: dict
summary:
  description: One line for people.
  returned: always
  type: str
  sample: "host1: 2.0 GiB reserved for dmemfs, struct pages saved: predicted 32.0 MiB, measured 32.0 MiB (100.0% of predicted)"
'''

import os
import socket

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.dmemfs.fleet.plugins.module_utils.dmem_host import gather
from ansible_collections.dmemfs.fleet.plugins.module_utils.dmem_savings import report


def compare_plan(plan, nodes):
    reserved = dict((n['id'], n['dmem']) for n in nodes)
    mismatch = []
    for node in plan.get('nodes') or []:
        got = reserved.get(node.get('id'), 0)
        if got != node.get('dmem'):
            mismatch.append({'id': node.get('id'), 'planned': node.get('dmem'), 'reserved': got})
    return mismatch


def main():
    module = AnsibleModule(
        argument_spec=dict(
            root=dict(type='path', default='/'),
            struct_page_size=dict(type='int', default=64),
            plan=dict(type='dict'),
        ),
        supports_check_mode=True,
    )
    root = module.params['root']
    if not os.path.isdir(os.path.join(root, 'proc')):
        module.fail_json(msg='root: %s has no proc/ directory to read' % root)
    facts = gather(root)
    struct_page = facts['struct_page_size'] or module.params['struct_page_size']
    result = report(
        dict((n['id'], n['dmem']) for n in facts['nodes']),
        firmware_ram=[(r['start'], r['end']) for r in facts['firmware_ram']],
        memmap_boot_pages=facts['memmap']['nr_memmap_boot_pages'],
        section_size=facts['section_size'],
        page_size=facts['page_size'],
        struct_page_size=struct_page,
        host=socket.gethostname() if root == '/' else None,
    )
    result.update(page_size=facts['page_size'], struct_page_size=struct_page,
                  plan_match=None, plan_mismatch=[],
                  guests_at_risk=[g for g in facts['guests'] if g['problems']])
    if module.params['plan'] is not None:
        result['plan_mismatch'] = compare_plan(module.params['plan'], result['nodes'])
        result['plan_match'] = not result['plan_mismatch']
    module.exit_json(changed=False, **result)


if __name__ == '__main__':
    main()
