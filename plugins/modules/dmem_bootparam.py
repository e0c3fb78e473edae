#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: dmemfs.fleet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: dmem_bootparam
short_description: Put dmem= on the kernel command line of the boot loader, and nothing else
version_added: 0.1.0
description:
  - Debian family (C(update-grub)) - writes one drop-in under C(/etc/default/grub.d) that appends the
    C(dmem=) words to C(GRUB_CMDLINE_LINUX), regenerates C(grub.cfg) into a new file, checks it with
    C(grub-script-check) and that every C(linux) line carries exactly those words, and only then
    moves it into place. Other kernel arguments are never touched.
  - RHEL family (C(grubby)) - replaces the C(dmem=) arguments of the chosen kernel entries, leaving
    their other arguments alone.
  - A C(dmem=) set anywhere else in the GRUB defaults fails the task, since the kernel would see it twice.
  - Check mode reports what would change; diff mode shows the drop-in and the kernel arguments before and after.
author:
  - dmemfs.fleet developers (@dmemfs)
options:
  param:
    description:
      - The C(dmem=) words, for example C(dmem=!8G:1G) (the C(param) of M(dmemfs.fleet.dmem_plan)).
        Each is validated. Only C(dmem=) words are allowed.
      - Ignored with O(state=absent).
    type: str
    default: ''
  state:
    description: C(present) sets the words, C(absent) removes every C(dmem=) this module manages.
    type: str
    choices: [present, absent]
    default: present
  kernel:
    description:
      - With C(grubby), the kernel entries to change, as grubby names them (a path such as
        C(/boot/vmlinuz-6.12.0-dmemfs), or C(ALL)).
    type: str
    default: ALL
  dropin:
    description: With C(update-grub), the drop-in file this module owns.
    type: path
    default: /etc/default/grub.d/60-dmemfs.cfg
  grub_defaults:
    description: With C(update-grub), the main GRUB defaults file, searched (with the other drop-ins) for a foreign C(dmem=).
    type: path
    default: /etc/default/grub
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - dmemfs.fleet.grub
seealso:
  - module: dmemfs.fleet.dmem_plan
'''

EXAMPLES = r'''
- name: Put the planned dmem= on the command line
  dmemfs.fleet.dmem_bootparam:
    param: "{{ dmem_plan_result.param }}"

- name: Only on the dmemfs kernel of a RHEL host
  dmemfs.fleet.dmem_bootparam:
    param: dmem=!8G:1G
    bootloader: grubby
    kernel: /boot/vmlinuz-6.12.117-dmemfs

- name: Take dmem= away again
  dmemfs.fleet.dmem_bootparam:
    state: absent
'''

RETURN = r'''
bootloader:
  description: The flavour used.
  returned: always
  type: str
  sample: update-grub
words:
  description: The dmem= words now wanted on the command line (empty with state=absent).
  returned: always
  type: list
  elements: str
  sample: ["dmem=!8G:1G"]
regenerated:
  description: grub.cfg was (or in check mode would be) regenerated.
  returned: always
  type: bool
entries:
  description: With grubby, the kernel entries and their arguments after the change.
  returned: when bootloader is grubby
  type: list
  elements: dict
'''

import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.dmemfs.fleet.plugins.module_utils.dmem_size import DmemError
from ansible_collections.dmemfs.fleet.plugins.module_utils.dmem_bootloader import (
    cfg_has_exactly, check_param, dropin_content, foreign_dmem, grubby_entries)
from ansible_collections.dmemfs.fleet.plugins.module_utils.dmem_grub_files import (
    commit_grub_cfg, generate_grub_cfg, pick_bootloader, read, restore, write_atomic)


def update_grub(module, words):
    params = module.params
    dropin, cfg_path = params['dropin'], params['grub_cfg']
    foreign = []
    others = [params['grub_defaults']]
    dropin_dir = os.path.dirname(dropin)
    if os.path.isdir(dropin_dir):
        others += [os.path.join(dropin_dir, n) for n in sorted(os.listdir(dropin_dir)) if n.endswith('.cfg')]
    for path in others:
        if os.path.abspath(path) != os.path.abspath(dropin):
            foreign += foreign_dmem(path, read(path) or '')
    if foreign:
        module.fail_json(msg='dmem= is already set outside %s, the kernel would get it twice; remove it there: %s'
                         % (dropin, '; '.join(foreign)))

    before = read(dropin)
    after = dropin_content(words) if words else None
    cfg = read(cfg_path) or ''
    regenerate = before != after or not cfg_has_exactly(cfg, words)
    result = dict(changed=regenerate, bootloader='update-grub', words=words, regenerated=regenerate)
    if module._diff:
        result['diff'] = dict(before=before or '', after=after or '', before_header=dropin, after_header=dropin)
    if not regenerate or module.check_mode:
        module.exit_json(**result)

    if after is None:
        if before is not None:
            os.unlink(dropin)
    else:
        write_atomic(module, dropin, after)

    def accept(text):
        if not cfg_has_exactly(text, words):
            return 'the new grub.cfg does not carry exactly %s on every linux line' % (' '.join(words) or 'no dmem=')
        return None

    try:
        new_cfg = generate_grub_cfg(module, cfg_path, accept)
    except RuntimeError as exc:
        # Leave the host as it was: old drop-in, old grub.cfg.
        restore(module, dropin, before)
        module.fail_json(msg=str(exc), **result)
    commit_grub_cfg(module, new_cfg, cfg_path)
    module.exit_json(**result)


def grubby(module, words):
    grubby_bin = module.get_bin_path('grubby', required=True)
    kernel = module.params['kernel']
    rc, out, err = module.run_command([grubby_bin, '--info=%s' % kernel])
    if rc != 0:
        module.fail_json(msg='kernel: grubby knows no entry %s: %s' % (kernel, err or out))
    entries = grubby_entries(out)
    if not entries:
        module.fail_json(msg='kernel: grubby --info=%s listed no entries' % kernel)
    to_change = []
    for entry in entries:
        current = [w for w in entry['args'] if w.startswith('dmem=')]
        if current != words:
            to_change.append((entry, current))
    result = dict(changed=bool(to_change), bootloader='grubby', words=words, regenerated=False)
    if module._diff:
        result['diff'] = dict(
            before=''.join('%s: %s\n' % (e['kernel'], ' '.join(e['args'])) for e in entries),
            after=''.join('%s: %s\n' % (e['kernel'], ' '.join([w for w in e['args'] if not w.startswith('dmem=')] + words))
                          for e in entries))
    if to_change and not module.check_mode:
        for entry, current in to_change:
            cmd = [grubby_bin, '--update-kernel=%s' % entry['kernel']]
            if current:
                cmd.append('--remove-args=%s' % ' '.join(current))
            if words:
                cmd.append('--args=%s' % ' '.join(words))
            rc, out, err = module.run_command(cmd)
            if rc != 0:
                module.fail_json(msg='grubby failed on %s: %s' % (entry['kernel'], err or out), **result)
        rc, out, err = module.run_command([grubby_bin, '--info=%s' % kernel])
        entries = grubby_entries(out)
    result['entries'] = entries
    module.exit_json(**result)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            param=dict(type='str', default=''),
            state=dict(type='str', choices=['present', 'absent'], default='present'),
            bootloader=dict(type='str', choices=['auto', 'update-grub', 'grubby'], default='auto'),
            kernel=dict(type='str', default='ALL'),
            dropin=dict(type='path', default='/etc/default/grub.d/60-dmemfs.cfg'),
            grub_defaults=dict(type='path', default='/etc/default/grub'),
            grub_cfg=dict(type='path', default='/boot/grub/grub.cfg'),
        ),
        supports_check_mode=True,
    )
    words = []
    if module.params['state'] == 'present':
        try:
            words = check_param(module.params['param'])
        except DmemError as exc:
            module.fail_json(msg=str(exc))
        if not words:
            module.fail_json(msg='param: needs at least one dmem= word with state=present')
    if pick_bootloader(module) == 'update-grub':
        update_grub(module, words)
    else:
        grubby(module, words)


if __name__ == '__main__':
    main()
