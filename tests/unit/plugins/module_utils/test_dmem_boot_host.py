# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The boot section of dmem_facts, read from host trees built here."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json
import struct

from ansible_collections.dmemfs.fleet.plugins.module_utils import dmem_boot_host as host
from ansible_collections.dmemfs.fleet.plugins.module_utils import dmem_boot_model as model
from ansible_collections.dmemfs.fleet.plugins.module_utils.dmem_host import HostTree

RELEASE = '6.12.117-dmemfs-aaaaaaaa'


def bzimage(syssize_paras=1024, setup_sects=4, pad=True, signed=False):
    """An x86 boot image header: setup sectors, HdrS at 0x202, syssize at 0x1f4, optionally a PE signature."""
    head = bytearray(0x400)
    if signed:
        head[0:2] = b'MZ'
        head[0x3c:0x40] = struct.pack('<I', 0x80)
        head[0x80:0x84] = b'PE\0\0'
        opt = 0x80 + 24
        head[opt:opt + 2] = struct.pack('<H', 0x20b)
        security = opt + 112 + 4 * 8
        head[security:security + 8] = struct.pack('<II', 0x1000, 0x200)
    head[0x1f1] = setup_sects
    head[0x1f4:0x1f8] = struct.pack('<I', syssize_paras)
    head[0x202:0x206] = b'HdrS'
    size = (setup_sects + 1) * 512 + syssize_paras * 16
    return bytes(head) + (b'\0' * (size - len(head)) if pad else b'')


def make_tree(tmp_path, image=None, initrd=b'070701' + b'\0' * 100, md5=None, efi=None):
    root = tmp_path / 'root'
    (root / 'boot' / 'grub').mkdir(parents=True)
    (root / 'sys' / 'kernel').mkdir(parents=True)
    (root / 'etc' / 'default' / 'grub.d').mkdir(parents=True)
    (root / 'etc' / 'default' / 'grub').write_text(u'GRUB_DEFAULT=0\n')
    image = bzimage() if image is None else image
    (root / 'boot' / ('vmlinuz-' + RELEASE)).write_bytes(image)
    if initrd is not None:
        (root / 'boot' / ('initrd.img-' + RELEASE)).write_bytes(initrd)
    info = root / 'var' / 'lib' / 'dpkg' / 'info'
    info.mkdir(parents=True)
    digest = md5 or hashlib.md5(image).hexdigest()
    (info / ('linux-image-%s.md5sums' % RELEASE)).write_text(u'%s  boot/vmlinuz-%s\n' % (digest, RELEASE))
    (root / 'sys' / 'kernel' / 'kexec_loaded').write_text(u'0\n')
    if efi is not None:
        (root / 'sys' / 'firmware' / 'efi' / 'efivars').mkdir(parents=True)
        if efi != 'no-var':
            (root / host.SECURE_BOOT_VAR).write_bytes(b'\x06\0\0\0' + bytes([efi]))
    return HostTree(str(root)), root


def test_a_loadable_kernel_has_no_problem(tmp_path):
    tree, _root = make_tree(tmp_path)
    kernel = host.kernels(tree)[0]
    assert (kernel['release'], kernel['image_problem'], kernel['initrd_problem'], kernel['signed']) == (RELEASE, '', '', False)


def test_what_grub_could_not_load_is_named(tmp_path):
    assert host.kernel_image_problem(b'\0' * 4096, 4096) == 'no Linux boot header (no HdrS magic at 0x202)'
    assert host.kernel_image_problem(b'', 0) == 'shorter than a boot header (0 bytes)'
    short = bzimage(pad=False)
    assert host.kernel_image_problem(short[:1024], len(short)).startswith('truncated: 1024 bytes, its boot header says')
    tree, _root = make_tree(tmp_path, md5='0' * 32)
    assert host.kernels(tree)[0]['image_problem'] == ('differs from its package (md5 %s expected): reinstall the package'
                                                      % ('0' * 32))


def test_initrd_problems(tmp_path):
    assert host.initrd_problem(b'\x1f\x8b\x08\0', 100) == ''
    assert host.initrd_problem(b'\x28\xb5\x2f\xfd', 100) == ''
    assert host.initrd_problem(b'', 0) == 'empty'
    assert host.initrd_problem(b'nope!!', 6).startswith('not a cpio archive')
    tree, _root = make_tree(tmp_path, initrd=None)
    assert host.kernels(tree)[0]['initrd_problem'] == 'missing'


def test_a_signed_image_is_told_from_an_unsigned_one():
    assert host.pe_signed(bzimage(signed=True)[:1024])
    assert not host.pe_signed(bzimage()[:1024])


def test_secure_boot_from_its_efi_variable(tmp_path):
    assert host.secure_boot(make_tree(tmp_path / 'bios')[0]) is None
    assert host.secure_boot(make_tree(tmp_path / 'on', efi=1)[0]) is True
    assert host.secure_boot(make_tree(tmp_path / 'off', efi=0)[0]) is False
    assert host.secure_boot(make_tree(tmp_path / 'unknown', efi='no-var')[0]) is None


def test_the_grub_cfg_grub_reads_on_uefi(tmp_path):
    tree, root = make_tree(tmp_path, efi=0)
    assert host.grub_cfg_read(tree, 'efi')[0] is None
    esp = root / 'boot' / 'efi' / 'EFI' / 'debian'
    esp.mkdir(parents=True)
    (esp / 'grub.cfg').write_text(u"search.fs_uuid 1234 root hd0,gpt2\nset prefix=($root)'/boot/grub'\nconfigfile $prefix/grub.cfg\n")
    assert host.grub_cfg_read(tree, 'efi') == (True, 'UEFI stub /boot/efi/EFI/debian/grub.cfg loads /boot/grub/grub.cfg')
    (esp / 'grub.cfg').write_text(u"menuentry 'x' {\n  linux /vmlinuz\n}\n")
    ok, why = host.grub_cfg_read(tree, 'efi')
    assert ok is False and 'a complete configuration of its own' in why
    assert host.grub_cfg_read(tree, 'bios')[0] is None


def test_probe_grubenv_from_grub_probe_output():
    def run(answers):
        return lambda argv: answers[argv[1]]
    assert host.probe_grubenv(run({'--target=abstraction': (0, '', ''), '--target=fs': (0, 'ext2\n', '')}))[0] is True
    ok, why = host.probe_grubenv(run({'--target=abstraction': (0, 'diskfilter mdraid1x\n', ''),
                                      '--target=fs': (0, 'ext2\n', '')}))
    assert ok is False and 'mdraid1x' in why
    ok, why = host.probe_grubenv(run({'--target=abstraction': (1, '', 'cannot find a device'), '--target=fs': (0, '', '')}))
    assert ok is None and 'cannot find a device' in why


def test_gather_boot_reads_the_record_the_environment_block_and_drain(tmp_path):
    tree, root = make_tree(tmp_path)
    record = model.with_candidate(model.new_record('6.1.0-50-amd64', [], {}, 'now'), RELEASE, ['dmem=!1G'])
    (root / 'var' / 'lib' / 'dmemfs-fleet').mkdir(parents=True)
    (root / 'var' / 'lib' / 'dmemfs-fleet' / 'boot.json').write_text(json.dumps(record))
    (root / 'var' / 'lib' / 'dmemfs-fleet' / 'drained').write_text(u'x\n')
    (root / 'etc' / 'default' / 'grub.d' / '60-dmemfs.cfg').write_text(u'GRUB_CMDLINE_LINUX="dmem=1G"\n')
    (root / 'boot' / 'grub' / 'grubenv').write_text(
        u'# GRUB Environment Block\nnext_entry=dmemfs-trial\ndmemfs_trial_once=panic=10\n'
        u'dmemfs_trial_kernel=%s\n' % RELEASE + u'#' * 860)
    (root / 'sys' / 'kernel' / 'kexec_loaded').write_text(u'1\n')
    boot = host.gather_boot(tree, 'bios', 'update-grub')
    assert boot['record'] == record and boot['record_problems'] == []
    assert boot['trial_armed'] and boot['one_shot_left'] == [
        'next_entry=dmemfs-trial', 'dmemfs_trial_once=panic=10', 'dmemfs_trial_kernel=' + RELEASE]
    assert boot['drained'] and boot['kexec_loaded'] and boot['grub_default'] == '0'
    assert boot['legacy_files'] == ['/etc/default/grub.d/60-dmemfs.cfg']
    assert boot['grubenv_writable'] is None and boot['default'] is None
    (root / 'var' / 'lib' / 'dmemfs-fleet' / 'boot.json').write_text(u'{not json')
    assert host.gather_boot(tree, 'bios', 'update-grub')['record_problems'][0].startswith(host.RECORD + ' is not JSON')


def test_guard_state_absent_then_installed_and_enabled(tmp_path):
    """The role skips installing the guard only when these match its files."""
    root = tmp_path / 'root'
    root.mkdir()
    assert host.guard_state(HostTree(str(root))) == {
        'script_sha256': None, 'script_executable': False, 'unit_sha256': None, 'enabled': False}
    script = root / host.GUARD_SCRIPT.lstrip('/')
    script.parent.mkdir(parents=True)
    script.write_text(u'#!/usr/bin/python3\n')
    unit = root / host.GUARD_UNIT.lstrip('/')
    unit.parent.mkdir(parents=True)
    unit.write_text(u'[Unit]\n')
    state = host.guard_state(HostTree(str(root)))
    assert state['script_sha256'] == hashlib.sha256(b'#!/usr/bin/python3\n').hexdigest()
    assert state['unit_sha256'] == hashlib.sha256(b'[Unit]\n').hexdigest()
    assert not state['script_executable'] and not state['enabled']
    script.chmod(0o755)
    wants = root / host.GUARD_WANTS.lstrip('/')
    wants.parent.mkdir(parents=True)
    wants.symlink_to(host.GUARD_UNIT)
    state = host.guard_state(HostTree(str(root)))
    assert state['script_executable'] and state['enabled']
