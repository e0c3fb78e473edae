# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""dmem_bootparam through ansible, with MOCKED grub-mkconfig and grubby.

The real grub-mkconfig would rewrite the controller's own boot setup and no
RHEL host runs here, so both are stand-ins (tests/playbooks/mocks); the real
grub-script-check checks what the mock generated. The module runs for real in
the QEMU VMs of the Molecule scenarios.
"""

import os

import pytest

from conftest import HERE

MOCKS = os.path.join(HERE, 'mocks')


@pytest.fixture
def debian(tmp_path, monkeypatch):
    etc = tmp_path / 'etc' / 'default'
    (etc / 'grub.d').mkdir(parents=True)
    (etc / 'grub').write_text(u'GRUB_DEFAULT=0\nGRUB_CMDLINE_LINUX="quiet splash=no"\n')
    (etc / 'grub.d' / '10-serial.cfg').write_text(u'GRUB_CMDLINE_LINUX="${GRUB_CMDLINE_LINUX} console=ttyS0"\n')
    boot = tmp_path / 'boot'
    boot.mkdir()
    monkeypatch.setenv('PATH', MOCKS + os.pathsep + os.environ['PATH'])
    monkeypatch.setenv('MOCK_GRUB_DEFAULTS', str(etc / 'grub'))
    monkeypatch.setenv('MOCK_GRUB_DROPINS', str(etc / 'grub.d'))
    monkeypatch.setenv('MOCK_KERNELS', '6.1.0-47-amd64 6.12.117-dmemfs')
    args = {'bootloader': 'update-grub', 'dropin': str(etc / 'grub.d' / '60-dmemfs.cfg'),
            'grub_defaults': str(etc / 'grub'), 'grub_cfg': str(boot / 'grub.cfg')}
    return args, boot / 'grub.cfg', etc


def linux_lines(cfg):
    """Arguments of every linux line, recovery entries without their 'single'."""
    return [[w for w in line.split()[2:] if w != 'single']
            for line in cfg.read_text().splitlines() if line.strip().startswith('linux ')]


def test_update_grub_adds_dmem_keeps_other_args_and_converges(ansible, debian):
    args, cfg, etc = debian
    rc, result, out = ansible.module('dmem_bootparam', dict(args, param='dmem=!768M'), check=True)
    assert rc == 0, out
    assert result['changed'] is True and not cfg.exists()  # check mode touched nothing

    rc, result, out = ansible.module('dmem_bootparam', dict(args, param='dmem=!768M'))
    assert rc == 0, out
    assert result['changed'] is True and result['regenerated'] is True
    for words in linux_lines(cfg):
        assert words == ['root=UUID=1234', 'ro', 'quiet', 'splash=no', 'console=ttyS0', 'dmem=!768M']
    assert (etc / 'grub').read_text().count('dmem') == 0

    rc, result, out = ansible.module('dmem_bootparam', dict(args, param='dmem=!768M'))
    assert rc == 0 and result['changed'] is False

    # a new value replaces the old one, never both
    rc, result, out = ansible.module('dmem_bootparam', dict(args, param='dmem=1G:1G'))
    assert rc == 0 and result['changed'] is True
    assert all([w for w in words if w.startswith('dmem=')] == ['dmem=1G:1G'] for words in linux_lines(cfg))

    rc, result, out = ansible.module('dmem_bootparam', dict(args, state='absent'))
    assert rc == 0 and result['changed'] is True
    assert not os.path.exists(args['dropin'])
    assert all(not any(w.startswith('dmem=') for w in words) for words in linux_lines(cfg))


def test_update_grub_regenerates_when_grub_cfg_lost_the_param(ansible, debian):
    """An interrupted run (drop-in written, grub.cfg not) converges on the next run."""
    args, cfg, etc = debian
    assert ansible.module('dmem_bootparam', dict(args, param='dmem=!768M'))[0] == 0
    cfg.write_text(cfg.read_text().replace(' dmem=!768M', ''))
    rc, result, out = ansible.module('dmem_bootparam', dict(args, param='dmem=!768M'))
    assert rc == 0 and result['changed'] is True
    assert all('dmem=!768M' in words for words in linux_lines(cfg))


def test_update_grub_failure_leaves_the_host_as_it_was(ansible, debian, monkeypatch):
    args, cfg, etc = debian
    assert ansible.module('dmem_bootparam', dict(args, param='dmem=!768M'))[0] == 0
    before = cfg.read_text()
    monkeypatch.setenv('MOCK_MKCONFIG_FAIL', '1')
    rc, result, out = ansible.module('dmem_bootparam', dict(args, param='dmem=1G'))
    assert rc != 0 and 'grub-mkconfig failed' in result['msg']
    assert cfg.read_text() == before
    assert 'dmem=!768M' in open(args['dropin']).read()
    assert not os.path.exists(str(cfg) + '.dmemfs-new')


def test_update_grub_refuses_a_foreign_dmem(ansible, debian):
    args, cfg, etc = debian
    (etc / 'grub').write_text(u'GRUB_CMDLINE_LINUX="quiet dmem=2G"\n')
    rc, result, out = ansible.module('dmem_bootparam', dict(args, param='dmem=!768M'))
    assert rc != 0
    assert 'already set outside' in result['msg'] and 'dmem=2G' in result['msg']
    assert not os.path.exists(args['dropin'])


def test_diff_mode_shows_the_drop_in(ansible, debian):
    args, cfg, etc = debian
    rc, result, out = ansible.module('dmem_bootparam', dict(args, param='dmem=!768M'), check=True, diff=True)
    assert rc == 0, out
    assert 'GRUB_CMDLINE_LINUX="${GRUB_CMDLINE_LINUX} dmem=!768M"' in out


@pytest.mark.parametrize('param, needle', [
    ('dmem=0x40200000:1G', 'SIZE 1026M is not a multiple of ALIGN 1G'),
    ('quiet dmem=1G', "only dmem= words belong here, not 'quiet'"),
    ('', 'needs at least one dmem= word'),
])
def test_bad_param_changes_nothing(ansible, debian, param, needle):
    args, cfg, etc = debian
    rc, result, out = ansible.module('dmem_bootparam', dict(args, param=param))
    assert rc != 0 and needle in result['msg']
    assert not os.path.exists(args['dropin']) and not cfg.exists()


def test_grubby_mocked_rhel_host_changes_only_dmem_of_the_chosen_kernel(ansible, tmp_path, monkeypatch):
    """MOCKED grubby: a RHEL host cannot run here; the mock keeps entries in a file."""
    state = tmp_path / 'grubby.state'
    state.write_text(u'/boot/vmlinuz-5.14.0-old|ro crashkernel=auto quiet\n'
                     u'/boot/vmlinuz-6.12.117-dmemfs|ro crashkernel=auto quiet dmem=1G\n')
    monkeypatch.setenv('PATH', MOCKS + os.pathsep + os.environ['PATH'])
    monkeypatch.setenv('MOCK_GRUBBY_STATE', str(state))
    args = {'bootloader': 'grubby', 'kernel': '/boot/vmlinuz-6.12.117-dmemfs', 'param': 'dmem=!8G:1G'}
    rc, result, out = ansible.module('dmem_bootparam', args, check=True)
    assert rc == 0 and result['changed'] is True
    assert 'dmem=1G' in state.read_text()
    rc, result, out = ansible.module('dmem_bootparam', args)
    assert rc == 0 and result['changed'] is True, out
    assert state.read_text().splitlines() == ['/boot/vmlinuz-5.14.0-old|ro crashkernel=auto quiet',
                                              '/boot/vmlinuz-6.12.117-dmemfs|ro crashkernel=auto quiet dmem=!8G:1G']
    rc, result, out = ansible.module('dmem_bootparam', args)
    assert rc == 0 and result['changed'] is False
