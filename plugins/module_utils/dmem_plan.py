# -*- coding: utf-8 -*-
# Copyright: dmemfs.fleet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""From per-node memory and a policy to a dmem= value and what each node gets.

The per-node arithmetic mirrors what our kernel series (kernel/patches, mm/dmem.c)
does at boot: each dmem= in command-line order takes from what the ones before
it left; "SIZE" must fit on every node, "!SIZE" takes the rest of each node
rounded down to ALIGN. The kernel takes only free, ALIGN-aligned memory, so on
a node where early boot allocations sit, "!SIZE" may get a little less.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.dmemfs.fleet.plugins.module_utils.dmem_size import (
    DmemError, align_down, align_up, format_size, human_size, is_power_of_two, parse_size)
from ansible_collections.dmemfs.fleet.plugins.module_utils.dmem_param import (
    DEFAULT_SECTION_SIZE, DmemSpec, parse, render, validate)
from ansible_collections.dmemfs.fleet.plugins.module_utils.dmem_savings import (
    DEFAULT_PAGE_SIZE, DEFAULT_STRUCT_PAGE_SIZE, memmap_bytes)

POLICIES = ('per_node', 'keep', 'range')
PAGESIZES = {'4K': 4 << 10, '2M': 2 << 20, '1G': 1 << 30}


def normalize_nodes(nodes, field='nodes'):
    """[{id, total, ranges?}] with sizes in any accepted form -> checked dicts in bytes."""
    if not isinstance(nodes, list) or not nodes:
        raise DmemError(field, 'must be a non-empty list of {id, total} (dmem_facts gives it as ansible_facts.dmem.nodes)')
    out, seen = [], set()
    for index, node in enumerate(nodes):
        where = '%s[%d]' % (field, index)
        if not isinstance(node, dict):
            raise DmemError(where, 'must be a dict with keys id and total', node)
        node_id = node.get('id')
        if isinstance(node_id, bool) or not isinstance(node_id, int) or node_id < 0:
            raise DmemError(where + '.id', 'must be a NUMA node number (integer >= 0)', node_id)
        if node_id in seen:
            raise DmemError(where + '.id', 'node %d is listed twice' % node_id, node_id)
        seen.add(node_id)
        if 'total' not in node:
            raise DmemError(where + '.total', 'is required')
        total = parse_size(node['total'], where + '.total')
        ranges = None
        if node.get('ranges') is not None:
            ranges = _normalize_ranges(node['ranges'], where + '.ranges')
        out.append({'id': node_id, 'total': total, 'ranges': ranges})
    return out


def _normalize_ranges(ranges, field):
    if not isinstance(ranges, list):
        raise DmemError(field, 'must be a list of {start, end} (end exclusive)', ranges)
    out = []
    for index, item in enumerate(ranges):
        where = '%s[%d]' % (field, index)
        if not isinstance(item, dict) or 'start' not in item or 'end' not in item:
            raise DmemError(where, 'must be a dict with start and end (end exclusive)', item)
        start = parse_size(item['start'], where + '.start')
        end = parse_size(item['end'], where + '.end')
        if end <= start:
            raise DmemError(where, 'end must be above start', item)
        out.append((start, end))
    return sorted(out)


def parse_percent(value, field='size'):
    """'P%' -> P as a float, 0 < P <= 100; None when value is not a percentage."""
    if not isinstance(value, str) or not value.strip().endswith('%'):
        return None
    text = value.strip()[:-1].strip()
    if not text or not all(c.isdigit() or c == '.' for c in text) or text.count('.') > 1 or not text.isascii():
        raise DmemError(field, 'a percentage is a number followed by %, such as 90%', value)
    percent = float(text)
    if not 0 < percent <= 100:
        raise DmemError(field, 'a percentage must be above 0 and at most 100', value)
    return percent


def size_from_percent(policy, percent, nodes, align):
    """The one SIZE dmem= can say for a percentage of each node.

    per_node: percent of the smallest node, rounded down to align (no node
    gives more). keep: percent of the largest node, rounded up to align, left
    to the kernel (every node keeps at least that share).
    """
    if policy == 'per_node':
        return align_down(int(min(n['total'] for n in nodes) * percent / 100), align)
    return align_up(int(max(n['total'] for n in nodes) * percent / 100), align)


def spec_from_policy(policy, size=None, addr=None, align=None):
    """Build the DmemSpec a policy asks for (not yet validated)."""
    if policy not in POLICIES:
        raise DmemError('policy', 'must be one of %s' % ', '.join(POLICIES), policy)
    if size is None:
        raise DmemError('size', 'is required with policy=%s' % policy)
    size_b = parse_size(size, 'size')
    align_b = None if align is None else parse_size(align, 'align')
    if policy == 'range':
        if addr is None:
            raise DmemError('addr', 'is required with policy=range')
        return DmemSpec(size_b, parse_size(addr, 'addr'), align_b)
    if addr is not None:
        raise DmemError('addr', 'is only allowed with policy=range', addr)
    return DmemSpec(size_b, None, align_b, keep_for_kernel=(policy == 'keep'))


def apply_pagesize(spec, pagesize, section_size, field):
    """Make ALIGN at least the mount's page size (and the section size).

    A given ALIGN below the page size is an error (dmemfs could not hand out
    whole pages from it); an absent one becomes the larger of the two.
    """
    if spec.align is not None:
        if spec.align and is_power_of_two(spec.align) and spec.align < pagesize:
            raise DmemError(field, 'ALIGN %s is below pagesize %s; use at least %s' % (
                format_size(spec.align), format_size(pagesize), format_size(max(pagesize, section_size))), render(spec))
        return spec
    if pagesize > section_size:
        return DmemSpec(spec.size, spec.addr, pagesize, spec.keep_for_kernel)
    return spec


def _range_on_node(spec, node):
    """Bytes of an @ADDR range that fall in this node's RAM ranges."""
    start, end = spec.addr, spec.addr + spec.size
    return sum(max(0, min(end, r_end) - max(start, r_start)) for r_start, r_end in node['ranges'])


def _take_range(spec, nodes, taken):
    """Attribute an @ADDR range to the nodes whose RAM holds it."""
    placed = 0
    for node in nodes:
        if node['ranges'] is None:
            raise DmemError('nodes[].ranges', 'the range form (SIZE@ADDR) needs each node\'s physical ranges; dmem_facts gives them')
        part = _range_on_node(spec, node)
        taken[node['id']] += part
        placed += part
    if placed != spec.size:
        raise DmemError('value', 'range %s is not all RAM: only %s of it lies in the nodes\' memory' % (
            render(spec), format_size(placed)), render(spec))


def _take_per_node(spec, nodes, taken, section_size):
    """SIZE on every node (all or fail), or "!SIZE": the rest of every node, best effort."""
    align = spec.effective_align(section_size)
    for node in nodes:
        left = node['total'] - taken[node['id']]
        if spec.keep_for_kernel:
            taken[node['id']] += align_down(max(0, left - spec.size), align)
        elif spec.size > align_down(left, align):
            raise DmemError('size', 'node %d has only %s left in %s units, cannot reserve %s on it' % (
                node['id'], format_size(align_down(left, align)), format_size(align), format_size(spec.size)), render(spec))
        else:
            taken[node['id']] += spec.size


def reserve(specs, nodes, section_size=DEFAULT_SECTION_SIZE):
    """Per-node reserved bytes for validated specs, taken in command-line order as the kernel does."""
    taken = dict((node['id'], 0) for node in nodes)
    ranges = [s for s in specs if s.addr is not None]
    for index, spec in enumerate(ranges):
        for other in ranges[:index]:
            if spec.addr < other.addr + other.size and other.addr < spec.addr + spec.size:
                raise DmemError('value', 'ranges %s and %s overlap' % (render(other), render(spec)))
    for spec in specs:
        if spec.addr is not None:
            _take_range(spec, nodes, taken)
        else:
            _take_per_node(spec, nodes, taken, section_size)
    return taken


def plan(nodes, value=None, policy=None, size=None, addr=None, align=None, pagesize='4K', min_host=0,
         section_size=DEFAULT_SECTION_SIZE, struct_page_size=DEFAULT_STRUCT_PAGE_SIZE, page_size=DEFAULT_PAGE_SIZE):
    """The whole plan for one host. Raises DmemError naming the bad argument."""
    section_size = parse_size(section_size, 'section_size')
    if not is_power_of_two(section_size):
        raise DmemError('section_size', 'must be a power of two', section_size)
    page_size = parse_size(page_size, 'page_size')
    if not is_power_of_two(page_size):
        raise DmemError('page_size', 'must be a power of two', page_size)
    struct_page_size = parse_size(struct_page_size, 'struct_page_size')
    if struct_page_size == 0:
        raise DmemError('struct_page_size', 'must be above 0', struct_page_size)
    if pagesize not in PAGESIZES:
        raise DmemError('pagesize', 'must be one of %s' % ', '.join(PAGESIZES), pagesize)
    pagesize_b = PAGESIZES[pagesize]
    min_host_b = parse_size(min_host, 'min_host')
    nodes = normalize_nodes(nodes)

    if (value is None) == (policy is None):
        raise DmemError('value', 'give exactly one of value (a dmem= value) or policy (%s)' % ', '.join(POLICIES))
    if value is not None:
        if any(x is not None for x in (size, addr, align)):
            raise DmemError('value', 'size, addr and align go with policy, not with value')
        values = value if isinstance(value, list) else [value]
        if not values:
            raise DmemError('value', 'must not be an empty list')
        specs = []
        for index, item in enumerate(values):
            field = 'value' if not isinstance(value, list) else 'value[%d]' % index
            spec = apply_pagesize(parse(item, field, section_size), pagesize_b, section_size, field)
            specs.append(validate(spec, field, section_size))
    else:
        percent = parse_percent(size)
        if percent is not None:
            if policy not in ('keep', 'per_node'):
                raise DmemError('size', 'a percentage goes with policy keep or per_node, not %s' % policy, size)
            unit = max(pagesize_b, section_size, parse_size(align, 'align') if align is not None else 0)
            size = size_from_percent(policy, percent, nodes, unit)
            if size == 0:
                raise DmemError('size', '%g%% of the smallest node is less than one %s unit' % (
                    percent, format_size(unit)), '%g%%' % percent)
        spec = apply_pagesize(spec_from_policy(policy, size, addr, align), pagesize_b, section_size, 'align')
        # An ALIGN derived from pagesize is blamed on pagesize, not on align.
        parts = {'size': 'size', 'addr': 'addr', 'align': 'align' if align is not None else 'pagesize'}
        specs = [validate(spec, 'policy', section_size, parts)]

    taken = reserve(specs, nodes, section_size)
    out_nodes, warnings = [], []
    for node in nodes:
        dmem = taken[node['id']]
        host = node['total'] - dmem
        if host < min_host_b:
            raise DmemError('min_host', 'node %d would keep %s for the kernel, below min_host %s' % (
                node['id'], format_size(host), format_size(min_host_b)), min_host)
        if dmem == 0:
            warnings.append('node %d gets no dmem reservation' % node['id'])
        out_nodes.append({'id': node['id'], 'total': node['total'], 'dmem': dmem, 'host': host,
                          'savings': memmap_bytes(dmem, page_size, struct_page_size)})

    dmem_total = sum(n['dmem'] for n in out_nodes)
    if dmem_total == 0:
        # A rollout would reboot the host through a trial for no reservation.
        largest = max(out_nodes, key=lambda n: n['total'])
        raise DmemError('value' if value is not None else 'size',
                        'reserves nothing on any node (the largest, node %d, has %s): a plan must reserve memory on '
                        'at least one node' % (largest['id'], format_size(largest['total'])),
                        value if value is not None else size)
    savings = memmap_bytes(dmem_total, page_size, struct_page_size)
    values = [render(s) for s in specs]
    return {
        'value': values[0] if len(values) == 1 else values,
        'values': values,
        'param': ' '.join('dmem=' + v for v in values),
        'align': max(s.effective_align(section_size) for s in specs),
        'pagesize': pagesize,
        'nodes': out_nodes,
        'dmem_total': dmem_total,
        'savings': savings,
        'summary': 'dmem %s over %d node(s), struct pages saved %s' % (
            human_size(dmem_total), len(out_nodes), human_size(savings)),
        'warnings': warnings,
    }
