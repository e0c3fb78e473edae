#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: dmemfs.fleet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: dmem_bootentry
short_description: Choose the kernel GRUB boots, by entry id, with a one-shot trial boot
version_added: 0.1.0
description:
  - Boot entries are always named by id (C(submenu-id>entry-id) inside a submenu), never by index,
    so installing another kernel cannot shift what boots.
  - O(state=pinned) makes the default explicit, so that installing a newer kernel does not make it
    the default. Debian family - a drop-in sets C(GRUB_DEFAULT=saved) and adds the one-shot trial
    hook, C(grub.cfg) is generated into a new file and checked with C(grub-script-check); when GRUB
    has no valid C(saved_entry) it becomes O(kernel) (by default the running kernel), a valid one is
    kept (a host running an unverified trial kernel keeps its old default); only then the new
    C(grub.cfg) is moved into place. RHEL family - C(grubby --set-default) to O(kernel).
  - Every state sets up the same drop-in and hook first, and never leaves C(GRUB_DEFAULT=saved)
    without a valid C(saved_entry).
  - O(state=trial) boots O(kernel) on the next boot only (C(grub-reboot) / C(grub2-reboot)), with
    O(trial_args) added to that boot only. If that boot fails (with C(panic=N) the kernel reboots
    by itself) the next boot is the default again.
  - O(state=default) makes O(kernel) the default.
  - Check mode reports what would change; diff mode shows the default and next entry before and after.
author:
  - dmemfs.fleet developers (@dmemfs)
options:
  state:
    description: What to do, see the description.
    type: str
    choices: [pinned, trial, default]
    default: pinned
  kernel:
    description:
      - Kernel release (as C(uname -r) prints it), for example C(6.12.117-dmemfs). Its normal
        (not recovery) entry is used. Defaults to the running kernel.
    type: str
  trial_args:
    description:
      - With O(state=trial), kernel arguments for the trial boot only, for example C(panic=10).
        With grubby they are added to the kernel's entry for the trial and O(state=default)
        removes them again.
    type: list
    elements: str
    default: []
  dropin:
    description: With C(update-grub), the drop-in file this module owns.
    type: path
    default: /etc/default/grub.d/59-dmemfs-boot.cfg
  trial_script:
    description: With C(update-grub), the C(/etc/grub.d) script this module owns (one-shot trial arguments).
    type: path
    default: /etc/grub.d/01_dmemfs_trial
  grubenv:
    description: With C(update-grub), GRUB's environment block.
    type: path
    default: /boot/grub/grubenv
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - dmemfs.fleet.grub
seealso:
  - module: dmemfs.fleet.dmem_bootparam
'''

EXAMPLES = r'''
- name: Keep booting the running kernel whatever gets installed
  dmemfs.fleet.dmem_bootentry:
    state: pinned

- name: Boot the dmemfs kernel once; a panic comes back on the default after 10 s
  dmemfs.fleet.dmem_bootentry:
    state: trial
    kernel: 6.12.117-dmemfs
    trial_args: [panic=10]

- name: It booted and checked out, make it the default
  dmemfs.fleet.dmem_bootentry:
    state: default
    kernel: 6.12.117-dmemfs
'''

RETURN = r'''
bootloader:
  description: The flavour used.
  returned: always
  type: str
  sample: update-grub
entry:
  description: Id of the entry of O(kernel) (with grubby, its kernel path).
  returned: success
  type: str
  sample: gnulinux-advanced-0b1c>gnulinux-6.12.117-dmemfs-advanced-0b1c
default_entry:
  description: The default entry after the task.
  returned: success
  type: str
next_entry:
  description: The entry of the next boot only, empty when there is none.
  returned: success
  type: str
default_release:
  description: Kernel release of the default entry after the task.
  returned: success
  type: str
  sample: 6.12.117-dmemfs
entries:
  description: Normal boot entries found, each with id, title, kernel and release.
  returned: success
  type: list
  elements: dict
'''

import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.dmemfs.fleet.plugins.module_utils.dmem_bootloader import (
    TRIAL_ONCE_VAR, TRIAL_SCRIPT, TRIAL_VAR, boot_dropin_content, grub_cfg_linux_args,
    grub_menu_entries, grubby_entries, grubenv_parse, kernel_release, pick_entry)
from ansible_collections.dmemfs.fleet.plugins.module_utils.dmem_grub_files import (
    commit_grub_cfg, generate_grub_cfg, pick_bootloader, read, restore, write_atomic)

TRIAL_REF = '${%s}' % TRIAL_VAR


def cfg_has_hook(text):
    """Every linux line expands the trial variable and the hook script is there."""
    lines = grub_cfg_linux_args(text)
    return bool(lines) and all(TRIAL_REF in args for args in lines) and ('save_env %s' % TRIAL_ONCE_VAR) in text


def entry_of(module, entries, release, result):
    entry = pick_entry(entries, release)
    if entry is None:
        known = sorted(set(e['release'] for e in entries if e['release']))
        module.fail_json(msg='kernel: no boot entry for %s; grub.cfg has: %s' % (release, ', '.join(known) or 'none'), **result)
    return entry


def release_of(entries, ident):
    for entry in entries:
        if entry['id'] == ident:
            return entry['release']
    return None


def update_grub(module, release):
    params = module.params
    state = params['state']
    env_before = grubenv_parse(read(params['grubenv']))
    result = dict(changed=False, bootloader='update-grub')
    changes = {}

    dropin_before, script_before = read(params['dropin']), read(params['trial_script'])
    cfg_text = read(params['grub_cfg']) or ''
    regenerate = (dropin_before != boot_dropin_content() or script_before != TRIAL_SCRIPT
                  or not cfg_has_hook(cfg_text))
    entries = [e for e in grub_menu_entries(cfg_text) if not e['recovery']]
    new_cfg = None

    def undo(msg):
        # Leave the host as it was: GRUB_DEFAULT=saved must never stay behind
        # without the saved_entry written for it.
        restore(module, params['dropin'], dropin_before)
        restore(module, params['trial_script'], script_before, 0o755)
        if new_cfg and os.path.exists(new_cfg):
            os.unlink(new_cfg)
        module.fail_json(msg=msg, **result)

    if regenerate and not module.check_mode:
        write_atomic(module, params['dropin'], boot_dropin_content())
        write_atomic(module, params['trial_script'], TRIAL_SCRIPT, 0o755)
        try:
            new_cfg = generate_grub_cfg(
                module, params['grub_cfg'],
                lambda text: None if cfg_has_hook(text) else 'the new grub.cfg lacks the trial hook on some linux line')
        except RuntimeError as exc:
            undo(str(exc))
        entries = [e for e in grub_menu_entries(read(new_cfg) or '') if not e['recovery']]
    result['regenerated'] = regenerate

    target = entry_of(module, entries, release, result)
    result['entry'] = target['id']
    saved_valid = env_before.get('saved_entry') in set(e['id'] for e in entries)
    if state == 'default':
        if env_before.get('saved_entry') != target['id']:
            changes['saved_entry'] = target['id']
    elif not saved_valid:
        # GRUB_DEFAULT=saved with no valid saved_entry boots the first entry,
        # the newest kernel: name the running one (pinned: O(kernel)) first.
        keep = target if state == 'pinned' else entry_of(module, entries, os.uname()[2], result)
        changes['saved_entry'] = keep['id']
    if state == 'trial':
        if env_before.get('next_entry') != target['id']:
            changes['next_entry'] = target['id']
        once = ' '.join(params['trial_args'])
        if env_before.get(TRIAL_ONCE_VAR, '') != once:
            changes[TRIAL_ONCE_VAR] = once

    env_after = dict(env_before, **changes)
    result.update(changed=regenerate or bool(changes), default_entry=env_after.get('saved_entry', ''),
                  next_entry=env_after.get('next_entry', ''),
                  default_release=release_of(entries, env_after.get('saved_entry')) or '', entries=entries)
    if module._diff:
        def show(env):
            return ''.join('%s=%s\n' % (k, env.get(k, '')) for k in ('saved_entry', 'next_entry', TRIAL_ONCE_VAR))
        result['diff'] = dict(before=show(env_before), after=show(env_after),
                              before_header=params['grubenv'], after_header=params['grubenv'])
    if module.check_mode:
        module.exit_json(**result)
    editenv = module.get_bin_path('grub-editenv', required=bool(changes))
    for name, value in sorted(changes.items()):
        # The default is written before the new grub.cfg (GRUB_DEFAULT=saved) is in place.
        rc, out, err = module.run_command([editenv, params['grubenv'], 'set', '%s=%s' % (name, value)])
        if rc != 0:
            undo('grub-editenv failed: %s' % (err or out))
    if new_cfg:
        commit_grub_cfg(module, new_cfg, params['grub_cfg'])
    module.exit_json(**result)


def grubby(module, release):
    params = module.params
    state = params['state']
    grubby_bin = module.get_bin_path('grubby', required=True)
    result = dict(changed=False, bootloader='grubby', regenerated=False)
    rc, out, err = module.run_command([grubby_bin, '--info=ALL'])
    entries = [dict(e, release=kernel_release(e['kernel'])) for e in grubby_entries(out)]
    matching = [e for e in entries if e['release'] == release]
    if not matching:
        module.fail_json(msg='kernel: grubby knows no entry for %s; it has: %s'
                         % (release, ', '.join(e['release'] or e['kernel'] for e in entries) or 'none'), **result)
    target = matching[0]
    result['entry'] = target['kernel']
    rc, out, err = module.run_command([grubby_bin, '--default-kernel'])
    default = out.strip()
    commands = []
    trial = params['trial_args']
    if state in ('pinned', 'default') and default != target['kernel']:
        commands.append([grubby_bin, '--set-default=%s' % target['kernel']])
        default = target['kernel']
    if state == 'default' and [a for a in trial if a in target['args']]:
        commands.append([grubby_bin, '--update-kernel=%s' % target['kernel'],
                         '--remove-args=%s' % ' '.join(a for a in trial if a in target['args'])])
    next_entry = ''
    if state == 'trial':
        if target.get('id') is None:
            module.fail_json(msg='kernel: grubby shows no entry id for %s, a trial boot needs one' % release, **result)
        missing = [a for a in trial if a not in target['args']]
        if missing:
            commands.append([grubby_bin, '--update-kernel=%s' % target['kernel'], '--args=%s' % ' '.join(missing)])
        commands.append([module.get_bin_path('grub2-reboot', required=True), target['id']])
        next_entry = target['id']
    result.update(changed=bool(commands), default_entry=default, next_entry=next_entry,
                  default_release=kernel_release(default) or '', entries=entries)
    if module._diff:
        result['diff'] = dict(before='', after=''.join(' '.join(c[1:]) + '\n' for c in commands))
    if not module.check_mode:
        for cmd in commands:
            rc, out, err = module.run_command(cmd)
            if rc != 0:
                module.fail_json(msg='%s failed: %s' % (' '.join(cmd), err or out), **result)
    module.exit_json(**result)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            state=dict(type='str', choices=['pinned', 'trial', 'default'], default='pinned'),
            kernel=dict(type='str'),
            trial_args=dict(type='list', elements='str', default=[]),
            bootloader=dict(type='str', choices=['auto', 'update-grub', 'grubby'], default='auto'),
            dropin=dict(type='path', default='/etc/default/grub.d/59-dmemfs-boot.cfg'),
            trial_script=dict(type='path', default='/etc/grub.d/01_dmemfs_trial'),
            grub_cfg=dict(type='path', default='/boot/grub/grub.cfg'),
            grubenv=dict(type='path', default='/boot/grub/grubenv'),
        ),
        supports_check_mode=True,
    )
    for arg in module.params['trial_args']:
        if not arg or any(c.isspace() or c in '"\'\\$;{}' for c in arg):
            module.fail_json(msg='trial_args: %r is not one kernel argument (no spaces, quotes, $, ;, braces or backslashes)' % arg)
    release = module.params['kernel'] or os.uname()[2]
    if pick_bootloader(module) == 'update-grub':
        update_grub(module, release)
    else:
        grubby(module, release)


if __name__ == '__main__':
    main()
