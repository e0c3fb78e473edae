# -*- coding: utf-8 -*-
# Copyright: dmemfs.fleet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read a host's memory layout and dmem state from /proc and /sys.

Everything is read below ``root`` so that trees captured from real machines
(tests/fixtures/hosts) can stand in for a live host. Every path read here is
also in tests/fixtures/capture/capture-tree.sh: keep the two lists in step.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import platform
import re

from ansible_collections.dmemfs.fleet.plugins.module_utils.dmem_guests import guest
from ansible_collections.dmemfs.fleet.plugins.module_utils.dmem_param import DEFAULT_SECTION_SIZE, parse_cmdline

# SECTION_SIZE_BITS by architecture (4 KiB base pages), used when the kernel
# does not publish the section size itself.
_ARCH_SECTION_SIZE = {'x86_64': 1 << 27, 'aarch64': 1 << 27}

DMEM_SYSFS = 'sys/kernel/mm/dmem'
_NODE_DIR = 'sys/devices/system/node'
_MEMORY_DIR = 'sys/devices/system/memory'


class HostTree(object):
    """Files of one host below ``root``."""

    def __init__(self, root='/'):
        self.root = root

    def path(self, rel):
        return os.path.join(self.root, rel.lstrip('/'))

    def exists(self, rel):
        return os.path.lexists(self.path(rel))

    def read(self, rel, default=None):
        try:
            with open(self.path(rel)) as handle:
                return handle.read()
        except (IOError, OSError):
            return default

    def listdir(self, rel):
        try:
            return sorted(os.listdir(self.path(rel)))
        except (IOError, OSError):
            return []

    def stat(self, rel):
        try:
            return os.stat(self.path(rel))
        except (IOError, OSError):
            return None


def parse_meminfo(text):
    """/proc/meminfo or a node's meminfo ("Node 0 MemTotal: 1024 kB") -> {name: bytes}."""
    out = {}
    for match in re.finditer(r'^(?:Node \d+ )?([\w()]+):\s+(\d+)( kB)?\s*$', text or '', re.M):
        out[match.group(1)] = int(match.group(2)) * (1024 if match.group(3) else 1)
    return out


def parse_vmstat(text):
    """/proc/vmstat ("name value" lines) -> {name: int}."""
    out = {}
    for line in (text or '').splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit():
            out[parts[0]] = int(parts[1])
    return out


def parse_zoneinfo(text):
    """/proc/zoneinfo -> {node: {'present': pages, 'start': first pfn, 'end': pfn past the last}}.

    "present" counts the pages the kernel found in memory (dmem ranges are
    gone from it); the zones' spans give the node's physical extent.
    """
    nodes, node, zone = {}, None, {}

    def close():
        if node is not None and zone.get('spanned'):
            entry = nodes.setdefault(node, {'present': 0, 'start': None, 'end': None})
            entry['present'] += zone.get('present', 0)
            if 'start_pfn' in zone:
                start, end = zone['start_pfn'], zone['start_pfn'] + zone['spanned']
                entry['start'] = start if entry['start'] is None else min(entry['start'], start)
                entry['end'] = end if entry['end'] is None else max(entry['end'], end)

    for line in (text or '').splitlines():
        match = re.match(r'Node (\d+), zone\s+(\S+)', line)
        if match:
            close()
            node, zone = int(match.group(1)), {}
            continue
        match = re.match(r'\s+(spanned|present|start_pfn):?\s+(\d+)\s*$', line)
        if match and match.group(1) not in zone:
            zone[match.group(1)] = int(match.group(2))
    close()
    return nodes


def memory_blocks(tree):
    """{block number: (start, end, online)} from /sys/devices/system/memory."""
    size_text = tree.read(_MEMORY_DIR + '/block_size_bytes')
    if not size_text:
        return None, {}
    block_size = int(size_text.strip(), 16)
    blocks = {}
    for name in tree.listdir(_MEMORY_DIR):
        match = re.match(r'memory(\d+)$', name)
        if not match:
            continue
        index = int(match.group(1))
        state = (tree.read('%s/%s/state' % (_MEMORY_DIR, name)) or 'online').strip()
        blocks[index] = (index * block_size, (index + 1) * block_size, state == 'online')
    return block_size, blocks


def _merge(ranges):
    out = []
    for start, end in sorted(ranges):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(end, out[-1][1]))
        else:
            out.append((start, end))
    return out


def dmem_stats(tree):
    """The kernel's dmem statistics, as published in /sys/kernel/mm/dmem.

    Files holding one integer become integers; node directories become a
    list of dicts with their id. Absent when the kernel has no dmem.
    """
    if not tree.exists(DMEM_SYSFS):
        return None
    stats, nodes = {}, []
    for name in tree.listdir(DMEM_SYSFS):
        rel = DMEM_SYSFS + '/' + name
        match = re.match(r'node(\d+)$', name)
        if match and os.path.isdir(tree.path(rel)):
            node = {'id': int(match.group(1))}
            for item in tree.listdir(rel):
                node[item] = _scalar(tree.read(rel + '/' + item))
            nodes.append(node)
        elif os.path.isfile(tree.path(rel)):
            stats[name] = _scalar(tree.read(rel))
    stats['nodes'] = sorted(nodes, key=lambda n: n['id'])
    return stats


def _scalar(text):
    """One integer, "name value" lines as a dict of integers, or the text."""
    text = (text or '').strip()
    try:
        return int(text, 0)
    except ValueError:
        pass
    pairs = [line.split() for line in text.splitlines()]
    if pairs and all(len(p) == 2 and p[1].lstrip('-').isdigit() for p in pairs):
        return dict((name, int(value)) for name, value in pairs)
    return text


def firmware_ram(tree):
    """System RAM ranges of the firmware memory map (/sys/firmware/memmap), end exclusive."""
    ranges = []
    for name in tree.listdir('sys/firmware/memmap'):
        base = 'sys/firmware/memmap/' + name
        kind = (tree.read(base + '/type') or '').strip()
        if kind != 'System RAM':
            continue
        start = int(tree.read(base + '/start').strip(), 16)
        end = int(tree.read(base + '/end').strip(), 16) + 1
        ranges.append((start, end))
    return _merge(ranges)


def _intersect(ranges, limits):
    out = []
    for start, end in ranges:
        for l_start, l_end in limits:
            lo, hi = max(start, l_start), min(end, l_end)
            if lo < hi:
                out.append((lo, hi))
    return _merge(out)


def nodes(tree, zones, blocks, ram, dmem, page):
    """NUMA nodes: the RAM the kernel has plus what dmem took from each.

    /proc/zoneinfo gives each node's present pages (what the kernel's own
    per-node arithmetic, dmem= "!SIZE" included, works on) and its span; the
    firmware memory map, which still lists dmem ranges as RAM, gives the
    physical RAM ranges inside that span. Without zoneinfo, memory blocks
    (/sys/devices/system/memory) stand in, at section granularity.
    """
    dmem_by_node = dict((n['id'], n) for n in (dmem or {}).get('nodes', []))
    ids = [int(m.group(1)) for m in (re.match(r'node(\d+)$', n) for n in tree.listdir(_NODE_DIR)) if m]
    ids = ids or sorted(zones) or [0]
    out = []
    for node_id in ids:
        base = '%s/node%d' % (_NODE_DIR, node_id)
        numa = tree.exists(base)
        zone = zones.get(node_id)
        if zone and zone['start'] is not None:
            managed = zone['present'] * page
            span = [(zone['start'] * page, zone['end'] * page)]
            ranges = _intersect(span, ram) if ram else span
        else:
            members = [int(m.group(1)) for m in (re.match(r'memory(\d+)$', n) for n in tree.listdir(base))
                       if m] if numa else list(blocks)
            sections = _merge(blocks[i][:2] for i in members if i in blocks and blocks[i][2])
            ranges = _intersect(sections, ram) if ram else sections
            managed = sum(end - start for start, end in ranges)
        meminfo = parse_meminfo(tree.read(base + '/meminfo') if numa else tree.read('proc/meminfo'))
        stats = dmem_by_node.get(node_id, {})
        out.append({
            'id': node_id,
            'total': managed + stats.get('total_bytes', 0),
            'managed': managed,
            'dmem': stats.get('total_bytes', 0),
            'dmem_free': stats.get('free_bytes'),
            'meminfo_total': meminfo.get('MemTotal'),
            'meminfo_free': meminfo.get('MemFree'),
            'cpus': (tree.read(base + '/cpulist') or '').strip(),
            'ranges': [{'start': start, 'end': end} for start, end in ranges],
        })
    return out


def page_size(tree):
    smaps = tree.read('proc/self/smaps') or ''
    match = re.search(r'^KernelPageSize:\s+(\d+) kB', smaps, re.M)
    if match:
        return int(match.group(1)) * 1024
    return os.sysconf('SC_PAGE_SIZE') if tree.root == '/' else 4096


def bootloader(tree):
    """update-grub (Debian family), grubby (RHEL family, BLS entries) or unknown."""
    for rel in ('usr/sbin/update-grub', 'sbin/update-grub'):
        if tree.exists(rel):
            return 'update-grub'
    for rel in ('usr/sbin/grubby', 'sbin/grubby'):
        if tree.exists(rel):
            return 'grubby'
    return 'unknown'


def mounts(tree, fstype='dmemfs'):
    """Mounted file systems of ``fstype``: source, path, options, and what the mount point holds.

    ``first_file`` (an entry of its root directory, or None) tells whether it
    holds files - guest memory, on dmemfs - without walking it; ``root`` is
    the root directory's mode (octal string), uid and gid, which a remount does
    not change. Both are None when the mount point cannot be read.
    """
    found = []
    for line in (tree.read('proc/mounts') or '').splitlines():
        parts = line.split()
        if len(parts) >= 4 and parts[2] == fstype:
            # /proc/mounts escapes space, tab, newline and backslash as octal
            path = re.sub(r'\\([0-7]{3})', lambda m: chr(int(m.group(1), 8)), parts[1])
            options = dict((o.split('=', 1) + [True])[:2] for o in parts[3].split(','))
            st = tree.stat(path)
            entries = tree.listdir(path) if st is not None else []
            found.append({
                'source': parts[0], 'path': path, 'options': options,
                'first_file': os.path.join(path, entries[0]) if entries else None,
                'root': None if st is None else {'mode': '%04o' % (st.st_mode & 0o7777), 'uid': st.st_uid,
                                                 'gid': st.st_gid},
            })
    return found


def qemu_guests(tree, dmemfs_mounts):
    """Running QEMU processes with RAM on a dmemfs mount, and what in their configuration is known to fail."""
    paths = [m['path'] for m in dmemfs_mounts]
    if not paths:
        return []
    zerocopy = (tree.read('sys/module/vhost_net/parameters/experimental_zcopytx') or '').strip() in ('1', 'Y')
    found = []
    for pid in tree.listdir('proc'):
        if not pid.isdigit():
            continue
        argv = (tree.read('proc/%s/cmdline' % pid) or '').split('\0')
        if argv and argv[-1] == '':
            argv.pop()
        info = guest(argv, paths, zerocopy)
        if info is not None:
            info['pid'] = int(pid)
            found.append(info)
    return sorted(found, key=lambda g: g['pid'])


def gather(root='/'):
    """All dmem facts of the host below ``root``."""
    tree = HostTree(root)
    block_size, blocks = memory_blocks(tree)
    dmem = dmem_stats(tree)
    vmstat = parse_vmstat(tree.read('proc/vmstat'))
    arch = (tree.read('proc/sys/kernel/arch') or '').strip() or (platform.machine() if root == '/' else 'x86_64')
    # The kernel publishes no section size: the architecture's, else the memory block size.
    section_source = 'unknown'
    if arch in _ARCH_SECTION_SIZE:
        section_size, section_source = _ARCH_SECTION_SIZE[arch], 'arch'
    elif block_size:
        section_size, section_source = block_size, 'memory_block'
    else:
        section_size = DEFAULT_SECTION_SIZE
    pg = page_size(tree)
    struct_page, struct_source = None, 'unknown'
    if dmem and dmem.get('total_bytes') and isinstance(dmem.get('memmap_saved_bytes'), int):
        # the kernel counts sizeof(struct page) per reserved page
        struct_page, struct_source = dmem['memmap_saved_bytes'] * pg // dmem['total_bytes'], 'kernel'
    cmdline = (tree.read('proc/cmdline') or '').strip()
    filesystems = tree.read('proc/filesystems') or ''
    ram = firmware_ram(tree)
    node_list = nodes(tree, parse_zoneinfo(tree.read('proc/zoneinfo')), blocks, ram, dmem, pg)
    dmemfs_mounts = mounts(tree)
    return {
        'kernel_release': (tree.read('proc/sys/kernel/osrelease') or '').strip(),
        'architecture': arch,
        'cmdline': cmdline,
        'dmem_param': parse_cmdline(cmdline, section_size),
        'page_size': pg,
        'section_size': section_size,
        'section_size_source': section_source,
        'memory_block_size': block_size,
        'struct_page_size': struct_page,
        'struct_page_size_source': struct_source,
        'nodes': node_list,
        'total': sum(n['total'] for n in node_list),
        'dmem_total': sum(n['dmem'] for n in node_list),
        'dmem_supported': dmem is not None,
        'dmem_stats': dmem,
        'dmemfs_available': bool(re.search(r'\bdmemfs$', filesystems, re.M)),
        'dmemfs_mounts': dmemfs_mounts,
        'guests': qemu_guests(tree, dmemfs_mounts),
        'memmap': {
            'nr_memmap_boot_pages': vmstat.get('nr_memmap_boot_pages'),
            'nr_memmap_pages': vmstat.get('nr_memmap_pages'),
        },
        'firmware_ram': [{'start': start, 'end': end} for start, end in ram],
        'firmware': 'efi' if tree.exists('sys/firmware/efi') else 'bios',
        'bootloader': bootloader(tree),
    }
