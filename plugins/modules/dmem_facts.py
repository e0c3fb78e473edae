#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: dmemfs.fleet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: dmem_facts
short_description: Gather a host's NUMA memory layout and dmem/dmemfs state
version_added: 0.1.0
description:
  - Reads C(/proc) and C(/sys) and sets C(ansible_facts.dmem) -- NUMA nodes and their memory,
    page and section sizes, the C(dmem=) parameters of the running kernel (parsed), the kernel's
    dmem statistics, dmemfs availability and mounts, the memory-map counters of C(/proc/vmstat),
    the firmware memory map, firmware type and boot loader flavour, and the running QEMU guests whose RAM is on
    dmemfs with what in their configuration is known to fail there.
  - C(boot) - the boot loader state as GRUB will act on it - what it boots by default and next (entry, release,
    arguments, resolved as GRUB resolves them), the armed one-shot trial, GRUB's environment block and whether
    GRUB can write it at boot (C(grub-probe) of its directory, live hosts only), C(GRUB_DEFAULT) in the host's
    defaults, whether the C(grub.cfg) written is the one GRUB reads, Secure Boot, a loaded kexec image, the
    collection's record (last verified configuration, candidate, armed trial), every C(dmem=) a boot can carry
    without the controller, and each installed kernel with whether GRUB could load its image and initrd.
  - Read only; never changes the host. Nothing needs a writing module in check mode to learn the boot state.
author:
  - dmemfs.fleet developers (@dmemfs)
options:
  root:
    description:
      - Directory to read C(proc/) and C(sys/) below. Another tree than C(/) serves tests,
        for example a tree captured from a real machine.
    type: path
    default: /
  boot:
    description:
      - Gather C(boot). V(false) leaves it null, for a caller that needs the memory and mount state only; it saves
        the C(grub-probe) runs and the reading of each installed kernel's module lists (seconds on a slow host).
        Facts replace the earlier C(ansible_facts.dmem) whole - C(boot) included.
    type: bool
    default: true
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.facts
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  facts:
    support: full
  platform:
    platforms: posix
notes:
  - C(total) of a node counts the memory blocks the kernel manages plus what dmem reserved on the
    node, in bytes; C(meminfo_total) is the kernel's MemTotal for the node (without memory it keeps for itself).
  - C(struct_page_size) is given only where the kernel publishes it (C(/sys/kernel/mm/dmem/struct_page_size)).
seealso:
  - module: dmemfs.fleet.dmem_plan
  - module: dmemfs.fleet.dmem_savings
'''

EXAMPLES = r'''
- name: Gather dmem facts
  dmemfs.fleet.dmem_facts:

- name: Show the nodes
  ansible.builtin.debug:
    var: ansible_facts.dmem.nodes

- name: Read the memory and the dmemfs mounts only, not the boot loader
  dmemfs.fleet.dmem_facts:
    boot: false

- name: Read a captured tree (tests)
  dmemfs.fleet.dmem_facts:
    root: /srv/captures/host1
'''

RETURN = r'''
ansible_facts:
  description: Facts set by the module.
  returned: always
  type: dict
  contains:
    dmem:
      description: The dmem facts.
      returned: always
      type: dict
      contains:
        kernel_release: {description: running kernel release, type: str, sample: 6.12.117-dmemfs}
        architecture: {description: machine architecture, type: str, sample: x86_64}
        cmdline: {description: kernel command line, type: str}
        dmem_param:
          description: Each dmem= of the command line, parsed (C(spec)) or with its C(error).
          type: list
          elements: dict
        page_size: {description: base page size in bytes, type: int, sample: 4096}
        section_size: {description: memory section size in bytes, type: int, sample: 134217728}
        section_size_source: {description: "where section_size came from: arch, memory_block or unknown (the default 128M)", type: str}
        memory_block_size: {description: memory block size in bytes, type: int}
        struct_page_size: {description: "bytes of one struct page where the kernel tells it, else null", type: int}
        struct_page_size_source: {description: kernel or unknown, type: str}
        nodes:
          description: NUMA nodes with C(id), C(total), C(managed), C(dmem), C(meminfo_total), C(meminfo_free), C(cpus), C(ranges).
          type: list
          elements: dict
          sample: [{id: 0, total: 2147483648, managed: 2147483648, dmem: 0, cpus: "0-1", ranges: [{start: 0, end: 2147483648}]}]
        total: {description: sum of node totals, type: int}
        dmem_total: {description: bytes reserved by dmem over all nodes, type: int}
        dmem_supported: {description: the kernel publishes dmem statistics, type: bool}
        dmem_stats: {description: "the kernel's dmem statistics (C(/sys/kernel/mm/dmem)), or null", type: dict}
        dmemfs_available: {description: dmemfs is a registered filesystem, type: bool}
        dmemfs_mounts:
          description:
            - Mounted dmemfs file systems with C(source), C(path), C(options) (of C(/proc/mounts)), C(first_file) (an
              entry of the mount's root directory, null when it holds none - whether guest memory is on it) and C(root)
              (the root directory's C(mode) as an octal string, C(uid), C(gid)); both null when the mount point cannot
              be read.
          type: list
          elements: dict
        guests:
          description:
            - Running QEMU processes with guest RAM on a dmemfs mount - C(pid), C(name) (the guest's), C(dmemfs_ram)
              (the RAM files) and C(problems), what in their configuration is known to fail on dmemfs memory, each
              with C(feature), C(option) and C(why) (O_DIRECT disks, virtio-balloon, vhost-net zerocopy).
          type: list
          elements: dict
        memmap: {description: nr_memmap_boot_pages and nr_memmap_pages of /proc/vmstat (pages), type: dict}
        firmware_ram: {description: System RAM ranges of the firmware memory map (end exclusive), type: list, elements: dict}
        firmware: {description: efi or bios, type: str}
        bootloader: {description: "update-grub, grubby or unknown", type: str}
        boot:
          description: The boot loader state, see the description; null with O(boot=false).
          type: dict
          contains:
            managed: {description: "the collection's GRUB script is installed", type: bool}
            default: {description: "what GRUB boots when nothing is armed (entry, release, args, one_shot, default_spec)", type: dict}
            next: {description: what GRUB boots on the next boot, type: dict}
            trial_armed: {description: the one-shot trial is armed for the next boot, type: bool}
            one_shot_left: {description: "one-shot variables GRUB should have cleared and did not", type: list, elements: str}
            grubenv_writable: {description: "GRUB can write its environment block at boot (null: not probed)", type: bool}
            grubenv_writable_why: {description: the reason, type: str}
            grub_default: {description: "GRUB_DEFAULT of the host's defaults files (last wins)", type: str}
            grub_cfg_read_by_grub: {description: "the grub.cfg written is the one GRUB reads (null: cannot tell)", type: bool}
            secure_boot: {description: "Secure Boot is on (null on BIOS or unknown)", type: bool}
            kexec_loaded: {description: a kexec image is loaded (a reboot may bypass firmware and GRUB), type: bool}
            record: {description: "the collection's record (verified, candidate, armed, original), or null", type: dict}
            bootable_dmem: {description: "per entry, the dmem= words a boot without the controller can carry", type: dict}
            kernels:
              description:
                - Installed kernels with image_problem and initrd_problem (empty when GRUB can load them), signed,
                  config (the path of its C(/boot/config-*), null when there is none), and
                  modules_missing - the modules of C(modules.all) the release neither builds
                  in nor ships (null when its /lib/modules is missing).
              type: list
              elements: dict
            modules:
              description:
                - What the running boot uses, which a kernel it boots must have - loaded (/proc/modules), root_disk (the
                  driver modules of the root file system's disk and controller, through dm and md), default_route and
                  default_route_nic (its NIC's, through a bridge, bond or VLAN), and all of them (all).
              type: dict
'''

import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.dmemfs.fleet.plugins.module_utils.dmem_boot_host import gather_boot
from ansible_collections.dmemfs.fleet.plugins.module_utils.dmem_host import HostTree, gather


def main():
    module = AnsibleModule(
        argument_spec=dict(root=dict(type='path', default='/'), boot=dict(type='bool', default=True)),
        supports_check_mode=True,
    )
    root = module.params['root']
    if not os.path.isdir(os.path.join(root, 'proc')):
        module.fail_json(msg='root: %s has no proc/ directory to read' % root)
    facts = gather(root)
    facts['boot'] = None
    if module.params['boot']:
        # grub-probe only on the live host: a captured tree has no devices to probe.
        grub_probe = module.get_bin_path('grub-probe') if root == '/' else None
        facts['boot'] = gather_boot(HostTree(root), facts['firmware'], facts['bootloader'],
                                    module.run_command if grub_probe else None, grub_probe)
    module.exit_json(changed=False, ansible_facts={'dmem': facts})


if __name__ == '__main__':
    main()
