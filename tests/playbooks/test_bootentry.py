# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""dmem_bootentry through ansible, with MOCKED grub-mkconfig, grubby and grub2-reboot.

The real grub-mkconfig would rewrite the controller's own boot setup and no
RHEL host runs here, so those are stand-ins (tests/playbooks/mocks) that lay
out grub.cfg like Debian's (submenu, ids, recovery entries). The real
grub-editenv writes the environment block and the real grub-script-check
checks the generated file. The module boots real kernels in the QEMU VMs of
the Molecule pipeline scenario.
"""

import os
import stat
import subprocess

import pytest

from conftest import HERE

MOCKS = os.path.join(HERE, 'mocks')
OLD, NEW = '6.1.0-47-amd64', '6.12.117-dmemfs'
OLD_ID = 'gnulinux-advanced-1234>gnulinux-%s-advanced-1234' % OLD
NEW_ID = 'gnulinux-advanced-1234>gnulinux-%s-advanced-1234' % NEW


def grubenv(path):
    out = subprocess.run(['grub-editenv', str(path), 'list'], capture_output=True, text=True, check=True).stdout
    return dict(line.split('=', 1) for line in out.splitlines())


@pytest.fixture
def host(tmp_path, monkeypatch):
    etc = tmp_path / 'etc'
    (etc / 'default' / 'grub.d').mkdir(parents=True)
    (etc / 'grub.d').mkdir()
    (etc / 'default' / 'grub').write_text(u'GRUB_DEFAULT=0\nGRUB_CMDLINE_LINUX="quiet"\n')
    boot = tmp_path / 'boot' / 'grub'
    boot.mkdir(parents=True)
    subprocess.run(['grub-editenv', str(boot / 'grubenv'), 'create'], check=True)
    monkeypatch.setenv('PATH', MOCKS + os.pathsep + os.environ['PATH'])
    monkeypatch.setenv('MOCK_GRUB_DEFAULTS', str(etc / 'default' / 'grub'))
    monkeypatch.setenv('MOCK_GRUB_DROPINS', str(etc / 'default' / 'grub.d'))
    monkeypatch.setenv('MOCK_GRUB_SCRIPTS', str(etc / 'grub.d'))
    monkeypatch.setenv('MOCK_KERNELS', OLD)
    # The host's own grub.cfg, as the distribution generated it.
    subprocess.run(['grub-mkconfig', '-o', str(boot / 'grub.cfg')], check=True)
    args = {'bootloader': 'update-grub', 'dropin': str(etc / 'default' / 'grub.d' / '59-dmemfs-boot.cfg'),
            'trial_script': str(etc / 'grub.d' / '01_dmemfs_trial'), 'grub_cfg': str(boot / 'grub.cfg'),
            'grubenv': str(boot / 'grubenv')}
    return args, boot, monkeypatch


def test_pinned_keeps_the_running_kernel_default_when_a_newer_one_arrives(ansible, host):
    args, boot, monkeypatch = host
    rc, result, out = ansible.module('dmem_bootentry', dict(args, kernel=OLD), check=True)
    assert rc == 0 and result['changed'] is True, out
    assert not os.path.exists(args['dropin']) and 'dmemfs_trial' not in (boot / 'grub.cfg').read_text()
    assert grubenv(args['grubenv']) == {}

    rc, result, out = ansible.module('dmem_bootentry', dict(args, kernel=OLD))
    assert rc == 0 and result['changed'] is True, out
    assert result['entry'] == OLD_ID and result['default_release'] == OLD
    assert grubenv(args['grubenv'])['saved_entry'] == OLD_ID
    assert 'GRUB_DEFAULT=saved' in open(args['dropin']).read()
    assert os.stat(args['trial_script']).st_mode & stat.S_IXUSR
    cfg = (boot / 'grub.cfg').read_text()
    assert 'save_env dmemfs_trial_once' in cfg
    assert all('${dmemfs_trial_args}' in line for line in cfg.splitlines() if line.strip().startswith('linux '))

    # A newer kernel is installed (its package regenerates grub.cfg): the default stays on OLD.
    monkeypatch.setenv('MOCK_KERNELS', '%s %s' % (OLD, NEW))
    subprocess.run(['grub-mkconfig', '-o', str(boot / 'grub.cfg')], check=True)
    rc, result, out = ansible.module('dmem_bootentry', dict(args, kernel=OLD))
    assert rc == 0 and result['changed'] is False, out
    assert result['default_release'] == OLD
    # The first entry is the newest kernel: an index would have picked NEW.
    assert [e['release'] for e in result['entries']][:2] == [NEW, NEW]


def test_trial_is_one_shot_and_default_moves_only_when_asked(ansible, host):
    args, boot, monkeypatch = host
    monkeypatch.setenv('MOCK_KERNELS', '%s %s' % (OLD, NEW))
    assert ansible.module('dmem_bootentry', dict(args, kernel=OLD))[0] == 0

    trial = dict(args, state='trial', kernel=NEW, trial_args=['panic=10', 'rdinit=/x'])
    rc, result, out = ansible.module('dmem_bootentry', trial, check=True, diff=True)
    assert rc == 0 and result['changed'] is True, out
    assert '+next_entry=%s' % NEW_ID in out and 'next_entry' not in grubenv(args['grubenv'])

    rc, result, out = ansible.module('dmem_bootentry', trial)
    assert rc == 0 and result['changed'] is True, out
    env = grubenv(args['grubenv'])
    assert env['next_entry'] == NEW_ID and env['dmemfs_trial_once'] == 'panic=10 rdinit=/x'
    assert env['saved_entry'] == OLD_ID
    assert ansible.module('dmem_bootentry', trial)[1]['changed'] is False

    rc, result, out = ansible.module('dmem_bootentry', dict(args, state='default', kernel=NEW))
    assert rc == 0 and result['changed'] is True and result['default_release'] == NEW
    assert grubenv(args['grubenv'])['saved_entry'] == NEW_ID
    assert ansible.module('dmem_bootentry', dict(args, state='default', kernel=NEW))[1]['changed'] is False


def test_unknown_kernel_fails_naming_it_and_changes_nothing(ansible, host):
    args, boot, monkeypatch = host
    assert ansible.module('dmem_bootentry', dict(args, kernel=OLD))[0] == 0
    before = grubenv(args['grubenv'])
    rc, result, out = ansible.module('dmem_bootentry', dict(args, state='trial', kernel='9.9.9-nope'))
    assert rc != 0
    assert result['msg'].startswith('kernel: no boot entry for 9.9.9-nope') and OLD in result['msg']
    assert grubenv(args['grubenv']) == before


def test_failed_grub_mkconfig_leaves_the_host_as_it_was(ansible, host):
    args, boot, monkeypatch = host
    (boot / 'grub.cfg').write_text(u'menuentry "old" --id old {\n  linux /boot/vmlinuz-%s ro\n}\n' % OLD)
    monkeypatch.setenv('MOCK_MKCONFIG_FAIL', '1')
    rc, result, out = ansible.module('dmem_bootentry', dict(args, kernel=OLD))
    assert rc != 0 and 'grub-mkconfig failed' in result['msg']
    assert not os.path.exists(args['dropin']) and not os.path.exists(args['trial_script'])
    assert 'menuentry "old"' in (boot / 'grub.cfg').read_text()
    assert not os.path.exists(str(boot / 'grub.cfg') + '.dmemfs-new')
    assert grubenv(args['grubenv']) == {}


@pytest.mark.parametrize('bad', ['panic=10 quiet', 'a;b', '${x}', ''])
def test_trial_args_must_be_single_kernel_arguments(ansible, host, bad):
    args, boot, monkeypatch = host
    rc, result, out = ansible.module('dmem_bootentry', dict(args, state='trial', kernel=OLD, trial_args=[bad]))
    assert rc != 0 and result['msg'].startswith('trial_args: ')
    assert not os.path.exists(args['dropin'])


def test_grubby_mocked_rhel_host_trial_then_default(ansible, tmp_path, monkeypatch):
    """MOCKED grubby and grub2-reboot: a RHEL host cannot run here."""
    state = tmp_path / 'grubby.state'
    state.write_text(u'/boot/vmlinuz-5.14.0-old|ro quiet\n/boot/vmlinuz-%s|ro quiet dmem=!8G\n' % NEW)
    (tmp_path / 'grubby.state.default').write_text(u'/boot/vmlinuz-%s\n' % NEW)  # kernel-install made it default
    monkeypatch.setenv('PATH', MOCKS + os.pathsep + os.environ['PATH'])
    monkeypatch.setenv('MOCK_GRUBBY_STATE', str(state))
    base = {'bootloader': 'grubby'}

    rc, result, out = ansible.module('dmem_bootentry', dict(base, kernel='5.14.0-old'))
    assert rc == 0 and result['changed'] is True, out
    assert (tmp_path / 'grubby.state.default').read_text().strip() == '/boot/vmlinuz-5.14.0-old'

    trial = dict(base, state='trial', kernel=NEW, trial_args=['panic=10'])
    rc, result, out = ansible.module('dmem_bootentry', trial)
    assert rc == 0 and result['changed'] is True, out
    assert (tmp_path / 'grubby.state.next').read_text().strip() == 'mock-%s' % NEW
    assert 'ro quiet dmem=!8G panic=10' in state.read_text()
    assert (tmp_path / 'grubby.state.default').read_text().strip() == '/boot/vmlinuz-5.14.0-old'

    rc, result, out = ansible.module('dmem_bootentry', dict(base, state='default', kernel=NEW, trial_args=['panic=10']))
    assert rc == 0 and result['changed'] is True, out
    assert (tmp_path / 'grubby.state.default').read_text().strip() == '/boot/vmlinuz-%s' % NEW
    assert 'panic=10' not in state.read_text()
    rc, result, out = ansible.module('dmem_bootentry', dict(base, state='default', kernel=NEW, trial_args=['panic=10']))
    assert rc == 0 and result['changed'] is False


def test_pinned_keeps_a_valid_default_so_an_unverified_trial_kernel_never_becomes_it(ansible, host):
    """A run interrupted after the trial boot: the host runs NEW, its default is still OLD."""
    args, boot, monkeypatch = host
    monkeypatch.setenv('MOCK_KERNELS', '%s %s' % (OLD, NEW))
    assert ansible.module('dmem_bootentry', dict(args, kernel=OLD))[0] == 0
    rc, result, out = ansible.module('dmem_bootentry', dict(args, kernel=NEW))
    assert rc == 0 and result['changed'] is False, out
    assert grubenv(args['grubenv'])['saved_entry'] == OLD_ID


def test_trial_on_a_host_without_saved_default_names_the_running_kernel(ansible, host):
    """GRUB_DEFAULT=saved without a saved_entry would boot the newest kernel for good."""
    args, boot, monkeypatch = host
    running = os.uname()[2]
    monkeypatch.setenv('MOCK_KERNELS', '%s %s' % (running, NEW))
    rc, result, out = ansible.module('dmem_bootentry', dict(args, state='trial', kernel=NEW))
    assert rc == 0, out
    env = grubenv(args['grubenv'])
    assert env['next_entry'] == NEW_ID
    assert env['saved_entry'] == 'gnulinux-advanced-1234>gnulinux-%s-advanced-1234' % running


def test_failed_grub_editenv_takes_the_saved_default_drop_in_back(ansible, host):
    """GRUB_DEFAULT=saved without its saved_entry would boot the newest kernel at the next update-grub."""
    args, boot, monkeypatch = host
    cfg_before = (boot / 'grub.cfg').read_text()
    bad_env = dict(args, grubenv=str(boot / 'missing-dir' / 'grubenv'))
    rc, result, out = ansible.module('dmem_bootentry', dict(bad_env, kernel=OLD))
    assert rc != 0 and result['msg'].startswith('grub-editenv failed')
    assert not os.path.exists(args['dropin']) and not os.path.exists(args['trial_script'])
    assert (boot / 'grub.cfg').read_text() == cfg_before
    assert not os.path.exists(str(boot / 'grub.cfg') + '.dmemfs-new')
