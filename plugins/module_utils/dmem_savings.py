# -*- coding: utf-8 -*-
# Copyright: dmemfs.fleet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""How much memory map (struct page) a reservation saves: predicted and measured.

Predicted: every reserved page would have cost one struct page.
Measured: the kernel's own count of boot-time memory-map pages
(/proc/vmstat nr_memmap_boot_pages) against what the firmware's RAM would
need with no reservation. The sparse memory map is built per present memory
section, so the firmware RAM is counted in whole sections.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.dmemfs.fleet.plugins.module_utils.dmem_size import align_up, human_size

DEFAULT_PAGE_SIZE = 4096
DEFAULT_STRUCT_PAGE_SIZE = 64


def memmap_bytes(nbytes, page_size=DEFAULT_PAGE_SIZE, struct_page_size=DEFAULT_STRUCT_PAGE_SIZE):
    """Memory map needed for ``nbytes`` of RAM: one struct page per page."""
    return nbytes // page_size * struct_page_size


def sections_spanned(ranges, section_size):
    """Set of section numbers that hold any byte of the (start, end) ranges."""
    sections = set()
    for start, end in ranges:
        sections.update(range(start // section_size, (end - 1) // section_size + 1))
    return sections


def section_memmap_bytes(ranges, section_size, page_size=DEFAULT_PAGE_SIZE, struct_page_size=DEFAULT_STRUCT_PAGE_SIZE):
    """Memory map the kernel builds for RAM ``ranges``: whole sections, page-rounded."""
    per_section = align_up(memmap_bytes(section_size, page_size, struct_page_size), page_size)
    return len(sections_spanned(ranges, section_size)) * per_section


def measure(firmware_ram, memmap_boot_pages, section_size, page_size=DEFAULT_PAGE_SIZE,
            struct_page_size=DEFAULT_STRUCT_PAGE_SIZE):
    """Memory-map bytes the running kernel did not build for firmware RAM.

    Returns (baseline, actual, measured): what the firmware RAM would need,
    what the kernel built (nr_memmap_boot_pages), and their difference.
    """
    baseline = section_memmap_bytes(firmware_ram, section_size, page_size, struct_page_size)
    actual = memmap_boot_pages * page_size
    return baseline, actual, baseline - actual


def report(nodes_dmem, firmware_ram=None, memmap_boot_pages=None, section_size=None,
           page_size=DEFAULT_PAGE_SIZE, struct_page_size=DEFAULT_STRUCT_PAGE_SIZE, host=None):
    """Savings of one host.

    ``nodes_dmem``: {node id: reserved bytes}. The measured part is given when
    the firmware RAM ranges, nr_memmap_boot_pages and the section size are known.
    """
    nodes = []
    for node_id in sorted(nodes_dmem):
        reserved = nodes_dmem[node_id]
        nodes.append({'id': node_id, 'dmem': reserved,
                      'predicted': memmap_bytes(reserved, page_size, struct_page_size)})
    reserved = sum(n['dmem'] for n in nodes)
    predicted = memmap_bytes(reserved, page_size, struct_page_size)
    out = {'dmem_total': reserved, 'predicted': predicted, 'nodes': nodes,
           'baseline_memmap': None, 'actual_memmap': None, 'measured': None, 'ratio': None}
    if firmware_ram and memmap_boot_pages is not None and section_size:
        baseline, actual, measured = measure(firmware_ram, memmap_boot_pages, section_size, page_size, struct_page_size)
        out.update(baseline_memmap=baseline, actual_memmap=actual, measured=measured,
                   ratio=(float(measured) / predicted) if predicted else None)
    out['summary'] = summary(out, host)
    return out


def summary(result, host=None):
    text = '%s%s reserved for dmemfs, struct pages saved: predicted %s' % (
        (host + ': ') if host else '', human_size(result['dmem_total']), human_size(result['predicted']))
    if result['measured'] is not None:
        text += ', measured %s' % human_size(result['measured'])
        if result['ratio'] is not None:
            text += ' (%.1f%% of predicted)' % (100.0 * result['ratio'])
    return text


def fleet(reports, failed=None):
    """Fleet totals over {host: report()}.

    failed is {host: why} or {host: {state, reason}} for the hosts that are
    not done (failed, refused, not_reached, unreachable); they are listed with
    their state and counted in the summary, measured or not.
    """
    failed = dict((h, why if isinstance(why, dict) else {'state': 'failed', 'reason': why})
                  for h, why in (failed or {}).items())
    hosts = sorted(reports)
    total = {
        'hosts': len(hosts),
        'dmem_total': sum(reports[h]['dmem_total'] for h in hosts),
        'predicted': sum(reports[h]['predicted'] for h in hosts),
        'measured': sum(reports[h]['measured'] or 0 for h in hosts),
        'measured_hosts': sum(1 for h in hosts if reports[h]['measured'] is not None),
    }
    total['summary'] = '%d host(s): %s reserved for dmemfs, struct pages saved: predicted %s, measured %s' % (
        total['hosts'], human_size(total['dmem_total']), human_size(total['predicted']), human_size(total['measured']))
    total['failed'] = [{'host': h, 'state': failed[h].get('state', 'failed'), 'reason': failed[h].get('reason', '')}
                       for h in sorted(failed)]
    states = {}
    for item in total['failed']:
        states.setdefault(item['state'], []).append(item['host'])
    total['states'] = states
    for state in sorted(states):
        total['summary'] += '; %d host(s) %s: %s' % (len(states[state]), state.replace('_', ' '), ', '.join(states[state]))
    # guests whose configuration is known to fail on dmemfs memory (O_DIRECT disks, virtio-balloon, vhost zerocopy)
    total['guests_at_risk'] = [dict(host=h, pid=g.get('pid'), name=g.get('name'),
                                    problems=[p['option'] for p in g.get('problems', [])])
                               for h in hosts for g in reports[h].get('guests_at_risk') or []]
    if total['guests_at_risk']:
        total['summary'] += '; %d guest(s) on dmemfs with a configuration known to fail: %s' % (
            len(total['guests_at_risk']), ', '.join('%s pid %s (%s)' % (g['host'], g['pid'], ', '.join(g['problems']))
                                                    for g in total['guests_at_risk']))
    return total
