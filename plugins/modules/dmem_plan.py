#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: dmemfs.fleet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: dmem_plan
short_description: Compute or validate the dmem= kernel parameter for one host
version_added: 0.1.0
description:
  - Pure computation, nothing on the host changes. From the host's NUMA nodes and either a
    C(dmem=) value or a policy, computes the value to put on the kernel command line, what each
    node reserves for dmemfs and keeps for the kernel, and the struct-page memory that saves.
  - The rules are those of the dmemfs kernel series (C(kernel/) in this collection); a value the
    kernel would refuse fails here with a message that names the argument and the rule.
author:
  - dmemfs.fleet developers (@dmemfs)
options:
  nodes:
    description:
      - NUMA nodes of the host, as C(ansible_facts.dmem.nodes) from M(dmemfs.fleet.dmem_facts) gives them.
      - Each has C(id) (integer) and C(total) (bytes, or a size string such as C(16G)), and
        optionally C(ranges), a list of C({start, end}) physical ranges (end exclusive), which
        the range form needs.
    type: list
    elements: dict
    required: true
  value:
    description:
      - A C(dmem=) value to validate against O(nodes), for example C(!8G:1G), C(4G) or C(2G@0x100000000).
        A list gives several C(dmem=) parameters.
      - Mutually exclusive with O(policy).
    type: raw
  policy:
    description:
      - C(per_node) reserves O(size) on each node.
      - C(keep) leaves O(size) on each node to the kernel and reserves the rest, in whole alignment units.
      - C(range) reserves O(size) at physical address O(addr).
      - Mutually exclusive with O(value).
    type: str
    choices: [per_node, keep, range]
  size:
    description:
      - Size for O(policy), as bytes or a size string (C(8G), C(0x40000000)).
      - Or a percentage (C(90%), above 0 and at most 100) with O(policy=per_node) (that share of the smallest
        node, rounded down to the alignment) or O(policy=keep) (that share of the largest node left to the
        kernel, rounded up, so every node keeps at least it). It becomes one C(dmem=) size.
    type: raw
  addr:
    description: Physical start address for O(policy=range). Must not be 0.
    type: raw
  align:
    description:
      - Alignment of the reservation. A power of two, at least O(section_size) and at least O(pagesize).
      - When not given the kernel uses O(section_size), or O(pagesize) where that is larger.
    type: raw
  pagesize:
    description: Page size of the dmemfs mount that will use the memory.
    type: str
    choices: [4K, 2M, 1G]
    default: 4K
  min_host:
    description: Memory every node must keep for the kernel. A plan that leaves a node less fails.
    type: raw
    default: 0
  section_size:
    description: Memory section size of the architecture (C(ansible_facts.dmem.section_size)).
    type: raw
    default: 128M
  struct_page_size:
    description: Bytes of one struct page.
    type: int
    default: 64
  page_size:
    description: Base page size of the kernel, in bytes.
    type: int
    default: 4096
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  platform:
    platforms: posix
notes:
  - Sizes follow the kernel's memparse rules. A leading zero is refused because the kernel would read it as octal.
seealso:
  - module: dmemfs.fleet.dmem_facts
  - module: dmemfs.fleet.dmem_savings
'''

EXAMPLES = r'''
- name: Leave 8 GiB on each node to the kernel, give the rest to dmemfs in 1 GiB pages
  dmemfs.fleet.dmem_plan:
    nodes: "{{ ansible_facts.dmem.nodes }}"
    policy: keep
    size: 8G
    pagesize: 1G
    min_host: 4G
  register: plan

- name: Check a hand-written value against two nodes
  dmemfs.fleet.dmem_plan:
    nodes:
      - {id: 0, total: 64G}
      - {id: 1, total: 32G}
    value: "!8G:1G"

- name: Show what goes on the command line
  ansible.builtin.debug:
    msg: "{{ plan.param }} saves {{ plan.savings }} bytes of struct page"
'''

RETURN = r'''
value:
  description: The dmem= value (a list when several were given).
  returned: success
  type: raw
  sample: "!8G:1G"
values:
  description: Every dmem= value, always a list.
  returned: success
  type: list
  elements: str
  sample: ["!8G:1G"]
param:
  description: What goes on the kernel command line.
  returned: success
  type: str
  sample: "dmem=!8G:1G"
align:
  description: Alignment in bytes.
  returned: success
  type: int
  sample: 1073741824
pagesize:
  description: The dmemfs page size the plan was made for.
  returned: success
  type: str
  sample: 1G
nodes:
  description: Per node, bytes.
  returned: success
  type: list
  elements: dict
  contains:
    id: {description: NUMA node, type: int}
    total: {description: memory of the node, type: int}
    dmem: {description: reserved for dmemfs, type: int}
    host: {description: left to the kernel, type: int}
    savings: {description: struct-page bytes the reservation saves, type: int}
  sample: [{id: 0, total: 68719476736, dmem: 60129542144, host: 8589934592, savings: 939524096}]
dmem_total:
  description: Bytes reserved over all nodes.
  returned: success
  type: int
  sample: 60129542144
savings:
  description: Struct-page bytes saved over all nodes.
  returned: success
  type: int
  sample: 939524096
summary:
  description: One line for people.
  returned: success
  type: str
  sample: dmem 56.0 GiB over 1 node(s), struct pages saved 896.0 MiB
'''

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.dmemfs.fleet.plugins.module_utils.dmem_size import DmemError
from ansible_collections.dmemfs.fleet.plugins.module_utils.dmem_plan import plan


def main():
    module = AnsibleModule(
        argument_spec=dict(
            nodes=dict(type='list', elements='dict', required=True),
            value=dict(type='raw'),
            policy=dict(type='str', choices=['per_node', 'keep', 'range']),
            size=dict(type='raw'),
            addr=dict(type='raw'),
            align=dict(type='raw'),
            pagesize=dict(type='str', choices=['4K', '2M', '1G'], default='4K'),
            min_host=dict(type='raw', default=0),
            section_size=dict(type='raw', default='128M'),
            struct_page_size=dict(type='int', default=64),
            page_size=dict(type='int', default=4096),
        ),
        mutually_exclusive=[('value', 'policy'), ('value', 'size'), ('value', 'addr'), ('value', 'align')],
        required_one_of=[('value', 'policy')],
        supports_check_mode=True,
    )
    params = dict((k, module.params[k]) for k in module.argument_spec)
    try:
        result = plan(**params)
    except DmemError as exc:
        module.fail_json(msg=str(exc), field=exc.field, rule=exc.rule)
    for warning in result.pop('warnings'):
        module.warn(warning)
    module.exit_json(changed=False, **result)


if __name__ == '__main__':
    main()
