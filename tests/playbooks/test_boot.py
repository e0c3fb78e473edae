# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""dmem_boot through ansible on a host tree, with MOCKED grub-mkconfig, 10_linux, grub-probe and systemd.

The real grub-mkconfig and 10_linux would read and rewrite the controller's
own boot setup, grub-probe would probe its disks, and no systemd runs here:
those are stand-ins (tests/playbooks/mocks) laid out like Debian 12's. The
collection's own /etc/grub.d script runs for real inside the mock
grub-mkconfig, the real grub-editenv writes the environment block and the
real grub-script-check checks every generated file. What GRUB then boots is
decided by dmem_boot_model.resolve_boot (unit-tested on real update-grub
output); the QEMU VMs of the Molecule scenarios boot it for real.
"""

import json
import os
import shutil
import subprocess

import pytest

from conftest import HERE

from ansible_collections.dmemfs.fleet.plugins.module_utils import dmem_boot_model as model

MOCKS = os.path.join(HERE, 'mocks')
STOCK, NEW, NEWER = '6.1.0-50-amd64', '6.12.117-dmemfs-aaaaaaaa', '6.12.117-dmemfs-bbbbbbbb'


def grubenv(path):
    out = subprocess.run(['grub-editenv', str(path), 'list'], capture_output=True, text=True, check=True).stdout
    return dict(line.split('=', 1) for line in out.splitlines())


class Host(object):
    """A Debian-family host as files: GRUB defaults, /etc/grub.d, /boot/grub, /proc, the record."""

    def __init__(self, tmp_path, monkeypatch):
        self.root = tmp_path
        self.etc = tmp_path / 'etc'
        (self.etc / 'default' / 'grub.d').mkdir(parents=True)
        (self.etc / 'grub.d').mkdir()
        shutil.copy(os.path.join(MOCKS, 'grub.d', '10_linux'), str(self.etc / 'grub.d' / '10_linux'))
        (self.etc / 'default' / 'grub').write_text(u'GRUB_DEFAULT=0\nGRUB_CMDLINE_LINUX="console=ttyS0"\n')
        self.boot = tmp_path / 'boot' / 'grub'
        self.boot.mkdir(parents=True)
        subprocess.run(['grub-editenv', str(self.boot / 'grubenv'), 'create'], check=True)
        self.proc = tmp_path / 'proc'
        (self.proc / 'sys' / 'kernel').mkdir(parents=True)
        self.log = tmp_path / 'systemd.log'
        self.monkeypatch = monkeypatch
        monkeypatch.setenv('PATH', MOCKS + os.pathsep + os.environ['PATH'])
        monkeypatch.setenv('MOCK_GRUB_DEFAULTS', str(self.etc / 'default' / 'grub'))
        monkeypatch.setenv('MOCK_GRUB_DROPINS', str(self.etc / 'default' / 'grub.d'))
        monkeypatch.setenv('MOCK_GRUB_SCRIPTS', str(self.etc / 'grub.d'))
        monkeypatch.setenv('MOCK_SYSTEMD_LOG', str(self.log))
        self.kernels(STOCK)
        self.running(STOCK, 'BOOT_IMAGE=/boot/vmlinuz-%s root=UUID=1234abcd ro console=ttyS0' % STOCK)
        # The host's own grub.cfg, as the distribution generated it.
        self.update_grub()
        self.pristine = self.cfg()
        self.args = dict(bootloader='update-grub', record=str(tmp_path / 'var' / 'lib' / 'dmemfs-fleet' / 'boot.json'),
                         script=str(self.etc / 'grub.d' / '09_dmemfs_fleet'), grub_cfg=str(self.boot / 'grub.cfg'),
                         grubenv=str(self.boot / 'grubenv'), grub_defaults=str(self.etc / 'default' / 'grub'),
                         proc=str(self.proc))

    def kernels(self, *releases):
        """Installed kernels: what the mock 10_linux lists, and their files in /boot."""
        self.monkeypatch.setenv('MOCK_KERNELS', ' '.join(releases))
        for release in releases:
            for name in ('vmlinuz-', 'initrd.img-'):
                (self.root / 'boot' / (name + release)).write_text(u'%s%s\n' % (name, release))

    def running(self, release, cmdline):
        (self.proc / 'sys' / 'kernel' / 'osrelease').write_text(release + u'\n')
        (self.proc / 'cmdline').write_text(cmdline + u'\n')

    def update_grub(self):
        subprocess.run(['grub-mkconfig', '-o', str(self.boot / 'grub.cfg')], check=True)

    def cfg(self):
        return (self.boot / 'grub.cfg').read_text()

    def env(self):
        return grubenv(self.boot / 'grubenv')

    def record(self):
        path = self.args['record']
        return json.load(open(path)) if os.path.exists(path) else None

    def next_boot(self, env=None):
        return model.resolve_boot(self.cfg(), self.env() if env is None else env)

    def bootable_dmem(self):
        return model.bootable_dmem(self.cfg(), self.env())

    def grub_boots(self):
        """What GRUB does on the next boot: resolves the default, consumes the one-shot (save_env)."""
        boot = self.next_boot()
        env = self.env()
        for name in model.ENV_VARS:
            if env.get(name):
                subprocess.run(['grub-editenv', str(self.boot / 'grubenv'), 'set', name + '='], check=True)
        return boot

    def lease(self):
        """The command of the last lease the mock systemd-run recorded."""
        lines = self.log.read_text().splitlines() if self.log.exists() else []
        assert '--unit' in lines, lines
        start = len(lines) - 1 - lines[::-1].index('--unit')
        words = lines[start:lines.index('', start)]
        return words[words.index('dmemfs.fleet: disarm the trial boot unless the host rebooted') + 1:]


@pytest.fixture
def host(tmp_path, monkeypatch):
    return Host(tmp_path, monkeypatch)


def boot(ansible, host, check=False, diff=False, **args):
    rc, result, out = ansible.module('dmem_boot', dict(host.args, **args), check=check, diff=diff)
    return rc, result, out


def test_pinned_makes_what_runs_the_verified_default_and_leaves_stock_entries_alone(ansible, host):
    rc, result, out = boot(ansible, host, check=True)
    assert rc == 0 and result['changed'] is True, out
    assert host.record() is None and host.cfg() == host.pristine

    rc, result, out = boot(ansible, host)
    assert rc == 0 and result['changed'] is True and result['regenerated'] is True, out
    record = host.record()
    assert record['verified'] == dict(release=STOCK, dmem=[], since=record['verified']['since'], how='baseline', token=None)
    assert record['original']['grub_default'] == '0'
    assert record['original']['cmdline'] == ['root=UUID=1234abcd', 'ro', 'console=ttyS0']
    assert result['next_boot']['entry'] == model.VERIFIED_ID and result['next_boot']['release'] == STOCK
    # the stock entries are exactly the distribution's
    stock = host.pristine.split('### BEGIN %s/10_linux ###' % host.etc.joinpath('grub.d'))[1]
    assert stock in host.cfg()
    assert os.stat(host.args['script']).st_mode & 0o111

    rc, result, out = boot(ansible, host)
    assert rc == 0 and result['changed'] is False, out


PIN_PLAYBOOK = u"""
- hosts: localhost
  gather_facts: false
  module_defaults:
    dmemfs.fleet.dmem_boot: %(args)s
  vars:
    dmem_boot_bootloader: update-grub
  tasks:
    - name: The first pin of the run
      ansible.builtin.include_role:
        name: dmemfs.fleet.dmem_boot
    - name: Keep it
      ansible.builtin.set_fact:
        first_pin: "{{ dmem_boot_pin }}"
    - name: A second pin, nothing written since
      ansible.builtin.include_role:
        name: dmemfs.fleet.dmem_boot
    - name: Check it was skipped and the first pin's result kept
      ansible.builtin.assert:
        that:
          - dmem_boot_pin is skipped
          - dmem_boot_result == first_pin
          - dmem_boot_result.state == 'pinned'
    - name: Another entry point writes boot state
      ansible.builtin.include_role:
        name: dmemfs.fleet.dmem_boot
        tasks_from: candidate
      vars:
        dmem_boot_release: %(new)s
        dmem_boot_dmem: dmem=!1G
    - name: A pin after it
      ansible.builtin.include_role:
        name: dmemfs.fleet.dmem_boot
    - name: Check it ran
      ansible.builtin.assert:
        that:
          - dmem_boot_pin is not skipped
          - dmem_boot_result.state == 'pinned'
    - name: A pin asked for after a writer outside the role
      ansible.builtin.include_role:
        name: dmemfs.fleet.dmem_boot
      vars:
        dmem_boot_repin: true
    - name: Check it ran too
      ansible.builtin.assert:
        that: dmem_boot_pin is not skipped
"""


def test_the_pin_entry_point_is_skipped_after_a_pin_and_runs_after_any_other_write(ansible, host, tmp_path):
    """The role's pin (dmem_boot tasks/main.yml), with the module pointed at the mocked host tree."""
    host.kernels(STOCK, NEW)
    playbook = tmp_path / 'pin.yml'
    playbook.write_text(PIN_PLAYBOOK % dict(args=json.dumps(host.args), new=NEW))
    proc = ansible.playbook(str(playbook))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert host.record()['candidate']['release'] == NEW
    # every entry point says which state it ran with: the role's skip rests on it
    for state, args in (('pinned', {}), ('candidate', dict(release=NEW, dmem='dmem=!1G')), ('disarmed', {})):
        rc, result, out = boot(ansible, host, state=state, **args)
        assert rc == 0 and result['state'] == state, out


def test_a_newer_kernel_installed_does_not_become_the_default(ansible, host):
    assert boot(ansible, host)[0] == 0
    # its package's postinst runs update-grub: 10_linux lists it first
    host.kernels(STOCK, NEW)
    host.update_grub()
    assert host.next_boot()['release'] == STOCK
    assert model.resolve_boot(host.pristine.replace(STOCK, NEW), {})['release'] == NEW
    rc, result, out = boot(ansible, host)
    assert rc == 0 and result['changed'] is False, out


def test_candidate_then_arm_then_grub_boots_it_once(ansible, host):
    host.kernels(STOCK, NEW)
    assert boot(ansible, host)[0] == 0
    cfg = host.cfg()
    rc, result, out = boot(ansible, host, state='candidate', release=NEW, dmem='dmem=!768M', diff=True)
    assert rc == 0 and result['changed'] is True, out
    assert result['record']['candidate'] == dict(release=NEW, dmem=['dmem=!768M'])
    # the candidate is in the record only: grub.cfg stays as it was (no grub-mkconfig)
    assert result['regenerated'] is False and host.cfg() == cfg
    # recorded, not bootable: the next boot and every boot the host can make by itself are the verified one
    assert host.next_boot()['entry'] == model.VERIFIED_ID
    assert host.bootable_dmem() == {}
    assert boot(ansible, host, state='candidate', release=NEW, dmem='dmem=!768M')[1]['changed'] is False

    rc, result, out = boot(ansible, host, state='armed', token='tok123456', trial_args=['panic=10'], lease=120)
    assert rc == 0 and result['changed'] is True, out
    assert result['one_shot'] == 'panic=10 dmemfs_fleet.trial=tok123456 dmem=!768M'
    assert host.env() == {'next_entry': model.TRIAL_ID, model.ONCE_VAR: result['one_shot'], model.KERNEL_VAR: NEW}
    assert result['next_boot']['entry'] == model.TRIAL_ID and result['next_boot']['release'] == NEW
    assert result['regenerated'] is False and host.cfg() == cfg
    assert '--on-active=120s' in host.log.read_text()
    # armed again with the same token: nothing to do
    assert boot(ansible, host, state='armed', token='tok123456', trial_args=['panic=10'], lease=120)[1]['changed'] is False

    trial = host.grub_boots()
    assert trial['entry'] == model.TRIAL_ID
    assert trial['args'][-3:] == ['panic=10', 'dmemfs_fleet.trial=tok123456', 'dmem=!768M']
    # the trial failed in whatever way: the boot after it is the verified configuration
    assert host.next_boot()['entry'] == model.VERIFIED_ID and host.bootable_dmem() == {}


def test_a_killed_run_leaves_nothing_armed_once_the_lease_ends(ansible, host):
    host.kernels(STOCK, NEW)
    boot(ansible, host)
    boot(ansible, host, state='candidate', release=NEW, dmem='dmem=!768M')
    boot(ansible, host, state='armed', token='tok123456', trial_args=['panic=10'])
    assert host.bootable_dmem() == {model.TRIAL_ID: ['dmem=!768M']}
    # ansible-playbook killed here; the host's lease timer fires
    subprocess.run(host.lease(), check=True)
    assert host.next_boot()['entry'] == model.VERIFIED_ID
    assert host.bootable_dmem() == {}
    # the re-run converges: arming again arms again
    rc, result, out = boot(ansible, host, state='armed', token='tok654321', trial_args=['panic=10'])
    assert rc == 0 and result['changed'] is True and host.next_boot()['entry'] == model.TRIAL_ID, out


def test_commit_needs_the_trial_boot_and_then_makes_it_the_verified_default(ansible, host):
    host.kernels(STOCK, NEW)
    boot(ansible, host)
    boot(ansible, host, state='candidate', release=NEW, dmem='dmem=!768M')
    boot(ansible, host, state='armed', token='tok123456', trial_args=['panic=10'])
    host.grub_boots()
    # the host came back on the verified configuration (the trial failed): commit refuses
    rc, result, out = boot(ansible, host, state='committed')
    assert rc != 0 and 'refusing to commit' in result['msg'] and 'the running kernel is %s' % STOCK in result['msg'], out
    # on the trial boot it commits
    host.running(NEW, 'BOOT_IMAGE=/boot/vmlinuz-%s ro console=ttyS0 panic=10 dmemfs_fleet.trial=tok123456 dmem=!768M' % NEW)
    rc, result, out = boot(ansible, host, state='committed')
    assert rc == 0 and result['changed'] is True, out
    assert result['record']['verified']['release'] == NEW and result['record']['verified']['dmem'] == ['dmem=!768M']
    assert result['record']['candidate'] is None and result['record']['armed'] is None
    assert host.next_boot()['release'] == NEW
    assert host.bootable_dmem() == {model.VERIFIED_ID: ['dmem=!768M']}
    assert result['regenerated'] is True and host.env() == {}
    assert model.resolve_boot(host.cfg(), {'next_entry': model.TRIAL_ID})['entry'] == model.VERIFIED_ID
    # nothing armed any more: committing again is refused and changes nothing
    before = (host.cfg(), host.record())
    rc, result, out = boot(ansible, host, state='committed')
    assert rc != 0 and 'no armed candidate' in result['msg'] and (host.cfg(), host.record()) == before, out
    assert boot(ansible, host)[1]['changed'] is False


def test_a_replan_on_the_dmemfs_kernel_falls_back_to_the_old_dmem(ansible, host):
    """Review F1-A: trial and fallback are the same kernel; the fallback keeps the verified dmem=."""
    host.kernels(STOCK, NEW)
    host.running(NEW, 'BOOT_IMAGE=/boot/vmlinuz-%s ro console=ttyS0 dmem=!8G' % NEW)
    assert boot(ansible, host)[0] == 0
    assert host.record()['verified'] == dict(host.record()['verified'], release=NEW, dmem=['dmem=!8G'])
    boot(ansible, host, state='candidate', release=NEW, dmem='dmem=!1G')
    boot(ansible, host, state='armed', token='tok123456', trial_args=['panic=10'])
    assert 'dmem=!1G' in host.grub_boots()['args']
    fallback = host.next_boot()
    assert fallback['release'] == NEW and [w for w in fallback['args'] if w.startswith('dmem=')] == ['dmem=!8G']
    cfg = host.cfg()
    rc, result, out = boot(ansible, host, state='disarmed')
    assert rc == 0 and result['record']['candidate'] is None and result['regenerated'] is False, out
    assert host.env() == {} and host.cfg() == cfg


def test_absent_gives_the_host_its_own_boot_configuration_back(ansible, host):
    (host.etc / 'default' / 'grub').write_text(
        u'GRUB_DEFAULT="gnulinux-advanced-1234abcd>gnulinux-%s-advanced-1234abcd"\nGRUB_CMDLINE_LINUX="console=ttyS0"\n'
        % STOCK)
    host.kernels(STOCK, NEW)
    host.update_grub()
    own = host.cfg()
    env_before = host.env()
    boot(ansible, host)
    boot(ansible, host, state='candidate', release=NEW, dmem='dmem=!768M')
    boot(ansible, host, state='armed', token='tok123456')
    assert host.record()['original']['grub_default'].endswith('gnulinux-%s-advanced-1234abcd' % STOCK)
    rc, result, out = boot(ansible, host, state='absent')
    assert rc == 0 and result['changed'] is True, out
    assert host.cfg() == own and host.env() == env_before
    assert not os.path.exists(host.args['script']) and host.record() is None
    assert host.next_boot()['release'] == STOCK
    assert boot(ansible, host, state='absent')[1]['changed'] is False


def test_a_dmem_of_the_hosts_own_is_refused_before_any_change(ansible, host):
    (host.etc / 'default' / 'grub.d' / '70-site.cfg').write_text(u'GRUB_CMDLINE_LINUX="$GRUB_CMDLINE_LINUX dmem=2G"\n')
    rc, result, out = boot(ansible, host)
    assert rc != 0 and '70-site.cfg:1' in result['msg'] and 'remove it there' in result['msg'], out
    assert host.record() is None and not os.path.exists(host.args['script'])


def test_arming_is_refused_where_grub_cannot_write_its_environment_block(ansible, host):
    host.kernels(STOCK, NEW)
    boot(ansible, host)
    boot(ansible, host, state='candidate', release=NEW, dmem='dmem=!768M')
    host.monkeypatch.setenv('MOCK_GRUB_ABSTRACTION', 'diskfilter mdraid1x')
    rc, result, out = boot(ansible, host, state='armed', token='tok123456')
    assert rc != 0 and 'refusing to arm the trial' in result['msg'] and 'mdraid1x' in result['msg'], out
    assert host.env() == {} and host.record()['armed'] is None


def test_a_failed_generation_leaves_the_host_as_it_was(ansible, host):
    """Review F5-b: no half-written state when grub.cfg cannot be made (a commit regenerates it)."""
    host.kernels(STOCK, NEW)
    boot(ansible, host)
    boot(ansible, host, state='candidate', release=NEW, dmem='dmem=!768M')
    boot(ansible, host, state='armed', token='tok123456', trial_args=['panic=10'])
    host.grub_boots()
    host.running(NEW, 'BOOT_IMAGE=/boot/vmlinuz-%s ro console=ttyS0 panic=10 dmemfs_fleet.trial=tok123456 dmem=!768M' % NEW)
    script, cfg, record = open(host.args['script']).read(), host.cfg(), host.record()
    host.monkeypatch.setenv('MOCK_MKCONFIG_FAIL', '1')
    rc, result, out = boot(ansible, host, state='committed')
    assert rc != 0 and 'grub-mkconfig failed' in result['msg'], out
    assert open(host.args['script']).read() == script and host.cfg() == cfg and host.record() == record
    assert not os.path.exists(host.args['grub_cfg'] + '.dmemfs-new')


def test_a_candidate_whose_kernel_is_not_installed_is_refused(ansible, host):
    boot(ansible, host)
    rc, result, out = boot(ansible, host, state='candidate', release=NEW, dmem='')
    assert rc != 0 and 'the trial entry would boot' in result['msg'] and 'vmlinuz-' + NEW in result['msg'], out
    assert 'initrd.img-' + NEW in result['msg']
    assert host.record()['candidate'] is None


def test_the_0_1_0_files_are_taken_away(ansible, host):
    dropins = host.etc / 'default' / 'grub.d'
    (dropins / '59-dmemfs-boot.cfg').write_text(u'GRUB_DEFAULT=saved\nGRUB_CMDLINE_LINUX="${GRUB_CMDLINE_LINUX} \\${dmemfs_trial_args}"\n')
    (dropins / '60-dmemfs.cfg').write_text(u'GRUB_CMDLINE_LINUX="${GRUB_CMDLINE_LINUX} dmem=!768M"\n')
    host.running(STOCK, 'BOOT_IMAGE=/boot/vmlinuz-%s ro console=ttyS0 dmem=!768M' % STOCK)
    rc, result, out = boot(ansible, host)
    assert rc == 0, out
    assert sorted(os.listdir(str(dropins))) == []
    assert host.record()['verified']['dmem'] == ['dmem=!768M']
    assert host.bootable_dmem() == {model.VERIFIED_ID: ['dmem=!768M']}


def test_bad_input_names_the_field(ansible, host):
    for args, says in [(dict(state='candidate', release=NEW, dmem='dmem=0'), 'dmem'),
                       (dict(state='candidate', dmem='dmem=1G'), 'release: state=candidate needs'),
                       (dict(state='candidate', release='not a release', dmem=''), 'release:'),
                       (dict(state='armed'), 'token: state=armed needs'),
                       (dict(state='armed', token='tok123456'), 'needs a candidate')]:
        rc, result, out = boot(ansible, host, **args)
        assert rc != 0 and says in result['msg'], (args, out)
        assert 'Traceback' not in out
    boot(ansible, host, state='candidate', release=STOCK, dmem='')
    rc, result, out = boot(ansible, host, state='armed', token='tok123456', trial_args=['a b'])
    assert rc != 0 and 'trial_args' in result['msg'], out


# ---------------------------------------------------------------- RHEL family (MOCK)

@pytest.fixture
def rhel(tmp_path, monkeypatch):
    """A RHEL-family host as MOCK state: grubby entries, BLS files, a grubenv (no RHEL host runs here)."""
    state = tmp_path / 'grubby'
    kernels = {STOCK: 'ro crashkernel=auto panic=10', NEW: 'ro crashkernel=auto panic=10'}
    state.write_text(u''.join('/boot/vmlinuz-%s|%s\n' % (k, a) for k, a in sorted(kernels.items())))
    (tmp_path / 'grubby.default').write_text(u'/boot/vmlinuz-%s\n' % STOCK)
    bls = tmp_path / 'loader' / 'entries'
    bls.mkdir(parents=True)
    for release, args in kernels.items():
        (bls / ('abc-%s.conf' % release)).write_text(
            u'title Red Hat (%s)\nversion %s\nlinux /vmlinuz-%s\ninitrd /initramfs-%s.img\noptions %s\nid abc-%s\n'
            % (release, release, release, release, args, release))
    env = tmp_path / 'grub2env'
    subprocess.run(['grub-editenv', str(env), 'create'], check=True)
    proc = tmp_path / 'proc'
    (proc / 'sys' / 'kernel').mkdir(parents=True)
    (proc / 'sys' / 'kernel' / 'osrelease').write_text(STOCK + u'\n')
    (proc / 'cmdline').write_text(u'ro crashkernel=auto panic=10\n')
    monkeypatch.setenv('PATH', MOCKS + os.pathsep + os.environ['PATH'])
    monkeypatch.setenv('MOCK_GRUBBY_STATE', str(state))
    monkeypatch.setenv('MOCK_GRUB2_ENV', str(env))
    monkeypatch.setenv('MOCK_SYSTEMD_LOG', str(tmp_path / 'systemd.log'))
    args = dict(bootloader='grubby', record=str(tmp_path / 'boot.json'), bls_dir=str(bls), proc=str(proc))
    return args, state, bls, env, proc


def test_mock_grubby_trial_is_a_copied_entry_and_the_default_entry_is_never_edited_before_it_is_verified(ansible, rhel):
    args, state, bls, env, proc = rhel
    rc, result, out = ansible.module('dmem_boot', args)
    assert rc == 0, out
    rc, result, out = ansible.module('dmem_boot', dict(args, state='candidate', release=NEW, dmem='dmem=!8G'))
    assert rc == 0, out
    rc, result, out = ansible.module('dmem_boot', dict(args, state='armed', token='tok123456', trial_args=['panic=10']))
    assert rc == 0 and result['changed'] is True, out
    trial = (bls / 'dmemfs-trial.conf').read_text()
    assert 'linux /vmlinuz-%s\n' % NEW in trial and 'id dmemfs-trial\n' in trial
    assert 'options ro crashkernel=auto panic=10 panic=10 dmemfs_fleet.trial=tok123456 dmem=!8G\n' in trial
    assert grubenv(env)['next_entry'] == model.TRIAL_ID
    # no entry a host boots by itself changed: the default is the stock kernel, its args as they were
    assert state.read_text().count('dmem=') == 0
    assert open(str(state) + '.default').read().strip() == '/boot/vmlinuz-' + STOCK
    # the trial boot checked out: commit edits the kernel's own entry and makes it the default
    (proc / 'sys' / 'kernel' / 'osrelease').write_text(NEW + u'\n')
    (proc / 'cmdline').write_text(u'ro crashkernel=auto panic=10 dmemfs_fleet.trial=tok123456 dmem=!8G\n')
    subprocess.run(['grub-editenv', str(env), 'unset', 'next_entry'], check=True)
    rc, result, out = ansible.module('dmem_boot', dict(args, state='committed'))
    assert rc == 0 and result['changed'] is True, out
    assert '/boot/vmlinuz-%s|ro crashkernel=auto panic=10 dmem=!8G' % NEW in state.read_text()
    # the host's own panic=10 stays (review F8)
    assert '/boot/vmlinuz-%s|ro crashkernel=auto panic=10\n' % STOCK in state.read_text()
    assert open(str(state) + '.default').read().strip() == '/boot/vmlinuz-' + NEW
    assert not (bls / 'dmemfs-trial.conf').exists()
    assert ansible.module('dmem_boot', args)[1]['changed'] is False
