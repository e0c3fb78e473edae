#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: dmemfs.fleet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: dmem_boot
short_description: The one writer of a host's boot loader state - verified configuration, candidate, one-shot trial
version_added: 0.2.0
description:
  - Keeps one record per host (O(record)) - the last verified configuration (kernel release and C(dmem=) words),
    the candidate to trial and the armed one-shot trial - and makes the boot loader follow it. Nothing else in the
    collection writes boot loader state; the C(dmemfs.fleet.dmem_boot) role calls this module.
  - Debian family (C(update-grub)) - one script, O(script) in C(/etc/grub.d), copies the distribution's own
    C(10_linux) entry of the verified kernel as the first, default entry C(dmemfs-verified) with the verified
    C(dmem=), and from the same copy the one-shot entry C(dmemfs-trial), whose kernel, initrd and added
    arguments are read from GRUB's environment block and which exists at boot only while the block holds an armed
    trial. GRUB clears them before the kernel starts, and falls back to the verified entry when it cannot load the
    trial kernel. So a candidate lives in the environment block only - recording, arming and dropping one never
    regenerates C(grub.cfg); committing one does, since the verified entry changes. Stock entries never carry C(dmem=); the host's own
    C(/etc/default/grub*) files are never written, so removing the script gives the host back its own menu.
    C(grub.cfg) is generated into a new file, checked (C(grub-script-check) and the entries it must hold) and only
    then moved into place.
  - RHEL family (C(grubby), mock-tested only) - the verified kernel is C(grubby --set-default); a trial is a copied
    Boot Loader Specification entry C(dmemfs-trial.conf) with the one-shot arguments, booted once with
    C(next_entry); the default entry is edited only after its trial was verified.
  - O(state=pinned) creates the record on first use (what the host runs now is the baseline verified
    configuration) and makes the boot loader follow it. O(state=candidate) records what to trial next.
    O(state=armed) arms the one-shot trial of the candidate for the next boot, and starts a lease - a transient
    systemd timer that disarms it again after O(lease) seconds unless the host rebooted - so a run killed after
    arming never leaves a trial armed for an unplanned reboot. O(state=committed) makes the candidate the verified
    configuration, and refuses unless the running boot is that trial (its release, its token and its C(dmem=) on
    C(/proc/cmdline)). O(state=disarmed) drops the candidate and anything armed. O(state=absent) takes all of it
    away.
  - Check mode reports what would change; diff mode shows the record, the script and the environment block
    variables before and after.
author:
  - dmemfs.fleet developers (@dmemfs)
options:
  state:
    description: What the record should become, see the description.
    type: str
    choices: [pinned, candidate, armed, committed, disarmed, absent]
    default: pinned
  release:
    description:
      - With O(state=candidate), the kernel release to trial (as C(uname -r) prints it). With O(state=armed), if
        given, it must be the candidate's.
      - With O(state=pinned) on a host without a record, the baseline release (default, the running kernel).
    type: str
  dmem:
    description:
      - With O(state=candidate), the C(dmem=) words of the candidate, for example C(dmem=!8G:1G); empty for none.
        Each is validated.
    type: str
    default: ''
  trial_args:
    description:
      - With O(state=armed), more kernel arguments of the trial boot only, for example C(panic=10). The token
        argument C(dmemfs_fleet.trial=TOKEN) and the candidate C(dmem=) are added by the module.
    type: list
    elements: str
    default: []
  token:
    description:
      - With O(state=armed), the trial's token (6 to 64 letters, digits or dashes), put on the trial's command line
        as C(dmemfs_fleet.trial=TOKEN) so that the boot can prove it is that trial.
    type: str
  lease:
    description: With O(state=armed), seconds after which the host disarms the trial by itself unless it rebooted.
    type: int
    default: 300
  bootloader:
    description: C(auto) picks C(update-grub) or C(grubby) by what the host has.
    type: str
    choices: [auto, update-grub, grubby]
    default: auto
  record:
    description: The record file.
    type: path
    default: /var/lib/dmemfs-fleet/boot.json
  script:
    description: With C(update-grub), the C(/etc/grub.d) script this module owns.
    type: path
    default: /etc/grub.d/09_dmemfs_fleet
  grub_cfg:
    description: With C(update-grub), the generated configuration GRUB boots from.
    type: path
    default: /boot/grub/grub.cfg
  grubenv:
    description: GRUB's environment block (with C(grubby), C(grub2-editenv -) is used instead).
    type: path
    default: /boot/grub/grubenv
  grub_defaults:
    description: With C(update-grub), the host's GRUB defaults file, searched with its drop-ins for a C(dmem=) of its own.
    type: path
    default: /etc/default/grub
  bls_dir:
    description: With C(grubby), the directory of Boot Loader Specification entries.
    type: path
    default: /boot/loader/entries
  proc:
    description:
      - Where the running kernel's release (C(sys/kernel/osrelease)) and command line (C(cmdline)) are read.
        Another directory serves tests, as the C(root) of M(dmemfs.fleet.dmem_facts) does.
    type: path
    default: /proc
attributes:
  check_mode:
    description: Can run in check mode and return the changed status without modifying the host.
    support: full
  diff_mode:
    description: Returns the record, the script and the grubenv variables before and after.
    support: full
  platform:
    description: Target OS families.
    support: full
    platforms: posix
seealso:
  - module: dmemfs.fleet.dmem_facts
  - module: dmemfs.fleet.dmem_plan
'''

EXAMPLES = r'''
- name: Keep booting what runs now, whatever gets installed
  dmemfs.fleet.dmem_boot:
    state: pinned

- name: The configuration to trial next
  dmemfs.fleet.dmem_boot:
    state: candidate
    release: 6.12.117-dmemfs-2bc817c6
    dmem: dmem=!8G:1G

- name: Boot it once; a panic, a GRUB failure or a lost controller comes back on the verified entry
  dmemfs.fleet.dmem_boot:
    state: armed
    token: 7f3a9c2e41d0
    trial_args: [panic=10]
    lease: 300

- name: On the trial boot, after it checked out
  dmemfs.fleet.dmem_boot:
    state: committed
'''

RETURN = r'''
state:
  description:
    - The O(state) the task was run with. The role's pin entry point reads it to tell whether the last write of
      boot state in a run was a pin.
  returned: always
  type: str
  sample: pinned
bootloader:
  description: The flavour used.
  returned: always
  type: str
  sample: update-grub
record:
  description: The record after the task (null with O(state=absent)).
  returned: success
  type: dict
  contains:
    verified: {description: "the last verified configuration: release, dmem (list), since, how (baseline or trial), token", type: dict}
    candidate: {description: "the configuration to trial next (release, dmem), or null", type: dict}
    armed: {description: "the armed one-shot trial (token, args, lease, at), or null", type: dict}
    original: {description: "the host's boot configuration before the collection managed it", type: dict}
regenerated:
  description: grub.cfg was (or in check mode would be) regenerated.
  returned: success
  type: bool
one_shot:
  description: The one-shot kernel arguments armed for the next boot, empty when nothing is armed.
  returned: success
  type: str
  sample: panic=10 dmemfs_fleet.trial=7f3a9c2e41d0 dmem=!8G:1G
next_boot:
  description: What GRUB boots next with the files the task left, as dmem_boot_model resolves it (entry, release, args).
  returned: with update-grub, unless in check mode with files to regenerate
  type: dict
'''

import datetime
import json
import os
import shlex

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.dmemfs.fleet.plugins.module_utils import dmem_boot_model as model
from ansible_collections.dmemfs.fleet.plugins.module_utils.dmem_boot_host import (
    defaults_texts, legacy_files, probe_grubenv)
from ansible_collections.dmemfs.fleet.plugins.module_utils.dmem_bootloader import (
    bls_parse, bls_render, check_param, foreign_dmem, grub_default_of, grubby_entries, grubenv_parse)
from ansible_collections.dmemfs.fleet.plugins.module_utils.dmem_grub_files import (
    commit_grub_cfg, generate_grub_cfg, read, remove, restore, write_atomic)
from ansible_collections.dmemfs.fleet.plugins.module_utils.dmem_host import HostTree, bootloader
from ansible_collections.dmemfs.fleet.plugins.module_utils.dmem_size import DmemError

LEASE_UNIT = 'dmemfs-trial-lease'


def cfg_problems(text, record):
    """What a grub.cfg lacks for the record; with no record (absent), any entry of ours left in it."""
    if record is not None:
        return model.check_grub_cfg(text, record)
    return ['the %s entry is still there' % e for e in (model.VERIFIED_ID, model.TRIAL_ID) if "'%s'" % e in text]


def now():
    return datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')


def running(proc):
    """The running kernel's release and command line words."""
    with open(os.path.join(proc, 'sys/kernel/osrelease')) as handle:
        release = handle.read().strip()
    with open(os.path.join(proc, 'cmdline')) as handle:
        return release, handle.read().split()


class Boot(object):
    """One run of the module: the record before, the record wanted, and the host files."""

    def __init__(self, module):
        self.module = module
        self.params = module.params
        self.result = dict(changed=False, state=self.params['state'])

    def fail(self, msg):
        self.module.fail_json(msg=msg, **self.result)

    # ------------------------------------------------------------ the record

    def load(self):
        text = read(self.params['record'])
        if text is None:
            return None
        try:
            record = json.loads(text)
        except ValueError as exc:
            self.fail('record: %s is not JSON (%s); move it away to start again from what runs now'
                      % (self.params['record'], exc))
        problems = model.check_record(record)
        if problems:
            self.fail('record: %s: %s' % (self.params['record'], '; '.join(problems)))
        return record

    def wanted(self, record, release, cmdline):
        state, params = self.params['state'], self.params
        if state == 'absent':
            return None
        if record is None:
            record = model.new_record(params['release'] if state == 'pinned' and params['release'] else release,
                                      [w for w in cmdline if w.startswith('dmem=')], self.original(cmdline), now())
        try:
            if state == 'candidate':
                if not params['release']:
                    self.fail('release: state=candidate needs the kernel release to trial')
                try:
                    words = check_param(params['dmem'], 'dmem')
                except DmemError as exc:
                    self.fail(str(exc))
                if self.flavour == 'update-grub':
                    self.check_trial_files(params['release'], record['verified']['release'])
                return model.with_candidate(record, params['release'], words)
            if state == 'armed':
                candidate = record.get('candidate')
                if params['release'] and candidate and candidate['release'] != params['release']:
                    self.fail('release: the candidate is %s, not %s' % (candidate['release'], params['release']))
                if not 30 <= params['lease'] <= 86400:
                    self.fail('lease: %d s is outside 30 to 86400' % params['lease'])
                armed = record.get('armed')
                if armed and armed['token'] == params['token'] and armed['args'] == params['trial_args']:
                    return record
                return model.with_armed(record, params['token'], model.check_args(params['trial_args']),
                                        params['lease'], now())
            if state == 'committed':
                return model.committed(record, release, cmdline, now())
            if state == 'disarmed':
                return model.disarmed(record)
        except model.BootStateError as exc:
            self.fail(str(exc))
        return record

    def check_trial_files(self, release, verified_release):
        """The trial entry boots /boot/vmlinuz-RELEASE and, as the verified entry does, its initrd: both must exist."""
        boot_dir = os.path.dirname(os.path.dirname(self.params['grub_cfg']))
        names = ['vmlinuz-' + release]
        if os.path.exists(os.path.join(boot_dir, 'initrd.img-' + verified_release)):
            names.append('initrd.img-' + release)
        missing = [os.path.join(boot_dir, n) for n in names if not os.path.isfile(os.path.join(boot_dir, n))]
        if missing:
            self.fail('release: the trial entry would boot %s, which this host does not have (install the kernel '
                      'package first)' % ' and '.join(missing))

    def original(self, cmdline):
        """What the host's own boot configuration said before the collection touched it."""
        # the host's own arguments: what it booted with, less the boot loader's and dmem=
        own = [w for w in cmdline if not w.startswith(('BOOT_IMAGE=', 'dmem=', model.TOKEN_ARG + '='))]
        if self.flavour == 'update-grub':
            value, source = grub_default_of(defaults_texts(self.params['grub_defaults']))
            env = grubenv_parse(read(self.params['grubenv']))
            return dict(bootloader='update-grub', grub_default=value, grub_default_source=source,
                        saved_entry=env.get('saved_entry'), next_entry=env.get('next_entry'), cmdline=own)
        rc, out, err = self.module.run_command([self.grubby_bin(), '--default-kernel'])
        return dict(bootloader='grubby', default_kernel=out.strip() if rc == 0 else None, cmdline=own)

    def save(self, record):
        if record is None:
            remove(self.params['record'])
        else:
            write_atomic(self.module, self.params['record'], json.dumps(record, indent=2, sort_keys=True) + '\n', 0o600)

    # ------------------------------------------------------------ the lease

    def stop_lease(self):
        systemctl = self.module.get_bin_path('systemctl')
        if systemctl:
            self.module.run_command([systemctl, 'stop', LEASE_UNIT + '.timer'])
            self.module.run_command([systemctl, 'reset-failed', LEASE_UNIT + '.service'])

    def start_lease(self, command):
        run = self.module.get_bin_path('systemd-run')
        if not run:
            self.fail('lease: arming needs systemd-run, so that the host disarms the trial by itself if the run stops')
        self.stop_lease()
        rc, out, err = self.module.run_command(
            [run, '--unit', LEASE_UNIT, '--on-active=%ds' % self.params['lease'], '--timer-property=AccuracySec=1s',
             '--description', 'dmemfs.fleet: disarm the trial boot unless the host rebooted'] + command)
        if rc != 0:
            self.fail('systemd-run of the lease failed: %s' % (err or out).strip())

    def grubby_bin(self):
        return self.module.get_bin_path('grubby', required=True)

    # ------------------------------------------------------------ run

    def run(self):
        params = self.params
        self.flavour = params['bootloader']
        if self.flavour == 'auto':
            self.flavour = bootloader(HostTree('/'))
            if self.flavour == 'unknown':
                self.fail('bootloader: found neither update-grub nor grubby on this host; allowed: update-grub, grubby')
        self.result['bootloader'] = self.flavour
        if params['state'] == 'armed' and not params['token']:
            self.fail('token: state=armed needs the trial token')
        release, cmdline = running(params['proc'])
        before = self.load()
        after = self.wanted(before, release, cmdline)
        self.result['record'] = after
        if self.module._diff:
            self.result['diff'] = [dict(before_header=params['record'], after_header=params['record'],
                                        before=json.dumps(before, indent=2, sort_keys=True) + '\n' if before else '',
                                        after=json.dumps(after, indent=2, sort_keys=True) + '\n' if after else '')]
        if self.flavour == 'update-grub':
            self.update_grub(before, after)
        else:
            self.grubby(before, after)

    # ------------------------------------------------------------ Debian

    def update_grub(self, before, after):
        params, module = self.params, self.module
        script_before = read(params['script'])
        script_after = model.render_script(after, params['record']) if after else None
        legacy = [p for p in legacy_files(params['grub_defaults'], params['script']) if os.path.lexists(p)]
        if after is not None:
            self.refuse_foreign_dmem(legacy)
        cfg = read(params['grub_cfg']) or ''
        problems = cfg_problems(cfg, after)
        regenerate = script_before != script_after or bool(problems) or bool(legacy)
        env = grubenv_parse(read(params['grubenv']))
        changes = model.env_changes(after or model.disarmed(before or {}), env)
        once = ' '.join(model.trial_once(after)) if after and after.get('armed') else ''
        self.result.update(regenerated=regenerate, one_shot=once,
                           changed=regenerate or bool(changes) or before != after)
        if module._diff:
            self.result['diff'].append(dict(before_header=params['script'], after_header=params['script'],
                                            before=script_before or '', after=script_after or ''))
            names = sorted(set(model.ENV_VARS) | set(changes))
            self.result['diff'].append(dict(
                before_header=params['grubenv'], after_header=params['grubenv'],
                before=''.join('%s=%s\n' % (n, env[n]) for n in names if n in env),
                after=''.join('%s=%s\n' % (n, v) for n, v in sorted(dict(env, **changes).items())
                              if n in names and v is not None)))
        if module.check_mode:
            if not regenerate:
                self.result['next_boot'] = model.resolve_boot(cfg, dict((k, v) for k, v in dict(env, **changes).items()
                                                                        if v is not None))
            module.exit_json(**self.result)
        if after and after.get('armed') and changes:
            writable, why = probe_grubenv(module.run_command, params['grubenv'],
                                          module.get_bin_path('grub-probe', required=True))
            if writable is False:
                self.fail('refusing to arm the trial: ' + why)
        arming = bool(after and after.get('armed'))
        if not arming:
            # Nothing stays armed while the files change, and a lease has nothing left to do.
            self.editenv(changes)
            self.stop_lease()
        if regenerate:
            self.regenerate(after, script_before, legacy)
        if before != after:
            self.save(after)
        if arming and changes:
            self.editenv(changes)
            editenv = module.get_bin_path('grub-editenv', required=True)
            self.start_lease([editenv, params['grubenv'], 'unset'] + list(model.ENV_VARS))
        self.result['next_boot'] = model.resolve_boot(read(params['grub_cfg']) or '',
                                                      grubenv_parse(read(params['grubenv'])))
        module.exit_json(**self.result)

    def refuse_foreign_dmem(self, legacy):
        found = []
        for path, text in defaults_texts(self.params['grub_defaults']):
            if path not in legacy:
                found += foreign_dmem(path, text or '')
        if found:
            self.fail('dmem= is set in the host\'s GRUB defaults, so every stock entry would carry it (a fallback '
                      'with an untrialled dmem=); remove it there: %s' % '; '.join(found))

    def editenv(self, changes):
        if not changes:
            return
        editenv = self.module.get_bin_path('grub-editenv', required=True)
        unset = sorted(n for n, v in changes.items() if v is None)
        sets = ['%s=%s' % (n, v) for n, v in sorted(changes.items()) if v is not None]
        for argv in ([editenv, self.params['grubenv'], 'unset'] + unset if unset else None,
                     [editenv, self.params['grubenv'], 'set'] + sets if sets else None):
            if argv:
                rc, out, err = self.module.run_command(argv)
                if rc != 0:
                    self.fail('grub-editenv failed: %s' % (err or out).strip())

    def regenerate(self, after, script_before, legacy):
        params, module = self.params, self.module
        saved = dict((path, read(path)) for path in legacy)
        if after is None:
            remove(params['script'])
        else:
            write_atomic(module, params['script'], model.render_script(after, params['record']), 0o755)
        for path in legacy:
            remove(path)

        try:
            new_cfg = generate_grub_cfg(module, params['grub_cfg'], lambda text: cfg_problems(text, after))
        except RuntimeError as exc:
            # The host as it was: the old script and files, the old grub.cfg.
            restore(module, params['script'], script_before, 0o755)
            for path, text in saved.items():
                restore(module, path, text)
            self.fail(str(exc))
        commit_grub_cfg(module, new_cfg, params['grub_cfg'])

    # ------------------------------------------------------------ RHEL family

    def grubby(self, before, after):
        params, module = self.params, self.module
        grubby = self.grubby_bin()
        editenv = module.get_bin_path('grub2-editenv', required=True)
        trial_file = os.path.join(params['bls_dir'], model.TRIAL_ID + '.conf')
        armed = bool(after and after.get('armed'))
        rc, out, err = module.run_command([grubby, '--default-kernel'])
        default = out.strip()
        commands = []
        if after is not None:
            # The verified kernel's own entry: its dmem= and the default. A candidate is never written
            # here before its trial was verified (committed makes it the verified one).
            kernel = '/boot/vmlinuz-' + after['verified']['release']
            rc, info, err = module.run_command([grubby, '--info=%s' % kernel])
            entries = grubby_entries(info) if rc == 0 else []
            if not entries:
                self.fail('release: grubby knows no entry for %s' % kernel)
            have = [w for w in entries[0]['args'] if w.startswith('dmem=')]
            if have != after['verified']['dmem']:
                cmd = [grubby, '--update-kernel=%s' % kernel]
                if have:
                    cmd.append('--remove-args=%s' % ' '.join(have))
                if after['verified']['dmem']:
                    cmd.append('--args=%s' % ' '.join(after['verified']['dmem']))
                commands.append(cmd)
            if default != kernel:
                commands.append([grubby, '--set-default=%s' % kernel])
        elif before and before['original'].get('default_kernel') not in (None, default):
            commands.append([grubby, '--set-default=%s' % before['original']['default_kernel']])
        trial_text = self.bls_trial(after) if armed else None
        rc, out, err = module.run_command([editenv, '-', 'list'])
        env = grubenv_parse(out if rc == 0 else '')
        env_cmd = None
        if armed and env.get('next_entry') != model.TRIAL_ID:
            env_cmd = [editenv, '-', 'set', 'next_entry=%s' % model.TRIAL_ID]
        elif not armed and env.get('next_entry') == model.TRIAL_ID:
            env_cmd = [editenv, '-', 'unset', 'next_entry']
        file_changed = read(trial_file) != trial_text
        self.result.update(regenerated=False, one_shot=' '.join(model.trial_once(after)) if armed else '',
                           changed=bool(commands) or file_changed or bool(env_cmd) or before != after)
        if module._diff:
            self.result['diff'].append(dict(before_header='grubby', after_header='grubby', before='',
                                            after=''.join(' '.join(c) + '\n' for c in commands)))
            self.result['diff'].append(dict(before_header=trial_file, after_header=trial_file,
                                            before=read(trial_file) or '', after=trial_text or ''))
        if module.check_mode:
            module.exit_json(**self.result)
        if not armed:
            if env_cmd:
                self.check_run(env_cmd)
            self.stop_lease()
        if file_changed:
            restore(module, trial_file, trial_text)
        for cmd in commands:
            self.check_run(cmd)
        if before != after:
            self.save(after)
        if armed and (env_cmd or file_changed):
            if env_cmd:
                self.check_run(env_cmd)
            self.start_lease(['/bin/sh', '-c', '%s - unset next_entry; rm -f %s'
                              % (shlex.quote(editenv), shlex.quote(trial_file))])
        module.exit_json(**self.result)

    def check_run(self, cmd):
        rc, out, err = self.module.run_command(cmd)
        if rc != 0:
            self.fail('%s failed: %s' % (' '.join(cmd), (err or out).strip()))

    def bls_trial(self, record):
        """The trial's BLS entry: a copy of the candidate kernel's own entry with the one-shot arguments."""
        release = record['candidate']['release']
        source = None
        for name in sorted(os.listdir(self.params['bls_dir'])) if os.path.isdir(self.params['bls_dir']) else []:
            if name == model.TRIAL_ID + '.conf' or not name.endswith('.conf'):
                continue
            pairs = bls_parse(read(os.path.join(self.params['bls_dir'], name)))
            if dict(pairs).get('linux', '').rsplit('/', 1)[-1] == 'vmlinuz-' + release:
                source = pairs
                break
        if source is None:
            self.fail('release: no Boot Loader Specification entry in %s boots %s' % (self.params['bls_dir'], release))
        out = []
        for key, value in source:
            if key == 'title':
                value = 'dmemfs.fleet: trial, Linux %s' % release
            elif key == 'options':
                value = ' '.join([w for w in value.split() if not w.startswith('dmem=')] + model.trial_once(record))
            elif key == 'id':
                value = model.TRIAL_ID
            out.append((key, value))
        return bls_render(out)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            state=dict(type='str', choices=['pinned', 'candidate', 'armed', 'committed', 'disarmed', 'absent'],
                       default='pinned'),
            release=dict(type='str'),
            dmem=dict(type='str', default=''),
            trial_args=dict(type='list', elements='str', default=[]),
            token=dict(type='str', no_log=False),
            lease=dict(type='int', default=300),
            bootloader=dict(type='str', choices=['auto', 'update-grub', 'grubby'], default='auto'),
            record=dict(type='path', default='/var/lib/dmemfs-fleet/boot.json'),
            script=dict(type='path', default='/etc/grub.d/09_dmemfs_fleet'),
            grub_cfg=dict(type='path', default='/boot/grub/grub.cfg'),
            grubenv=dict(type='path', default='/boot/grub/grubenv'),
            grub_defaults=dict(type='path', default='/etc/default/grub'),
            bls_dir=dict(type='path', default='/boot/loader/entries'),
            proc=dict(type='path', default='/proc'),
        ),
        supports_check_mode=True,
    )
    Boot(module).run()


if __name__ == '__main__':
    main()
