# -*- coding: utf-8 -*-
# Copyright: dmemfs.fleet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Writing GRUB's files on a host without ever leaving a half-done grub.cfg.

Shared by dmem_bootparam and dmem_bootentry: files are replaced atomically,
and grub.cfg is generated into a new file, checked, and only then moved over
the one GRUB boots from.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import tempfile


def read(path):
    """A file's text, or None when it cannot be read."""
    try:
        with open(path) as handle:
            return handle.read()
    except (IOError, OSError):
        return None


def write_atomic(module, path, content, mode=0o644):
    directory = os.path.dirname(path)
    if not os.path.isdir(directory):
        os.makedirs(directory, 0o755)
    handle, tmp = tempfile.mkstemp(dir=directory, prefix='.dmemfs-')
    with os.fdopen(handle, 'w') as out:
        out.write(content)
    module.atomic_move(tmp, path)
    # atomic_move gives a new file the umask's mode: scripts need theirs back.
    os.chmod(path, mode)


def restore(module, path, before, mode=0o644):
    """Put back what a file held (None: it did not exist)."""
    if before is None:
        if os.path.exists(path):
            os.unlink(path)
    else:
        write_atomic(module, path, before, mode)


def pick_bootloader(module):
    """The bootloader option, or the tool this host has when it is auto."""
    wanted = module.params['bootloader']
    if wanted != 'auto':
        return wanted
    if module.get_bin_path('update-grub'):
        return 'update-grub'
    if module.get_bin_path('grubby'):
        return 'grubby'
    module.fail_json(msg='bootloader: found neither update-grub nor grubby on this host; allowed: update-grub, grubby')


def generate_grub_cfg(module, cfg_path, accept):
    """grub-mkconfig into cfg_path.dmemfs-new and grub-script-check it.

    accept(text) returns None or what is wrong with the new file. Returns the
    path of the checked new file (the caller moves it into place with
    commit_grub_cfg); raises RuntimeError, leaving no new file, otherwise.
    """
    mkconfig = module.get_bin_path('grub-mkconfig', required=True)
    script_check = module.get_bin_path('grub-script-check', required=True)
    new_cfg = cfg_path + '.dmemfs-new'
    try:
        rc, out, err = module.run_command([mkconfig, '-o', new_cfg])
        if rc != 0:
            raise RuntimeError('grub-mkconfig failed: %s' % (err or out))
        rc, out, err = module.run_command([script_check, new_cfg])
        if rc != 0:
            raise RuntimeError('grub-script-check refused the new grub.cfg: %s' % (err or out))
        problem = accept(read(new_cfg) or '')
        if problem:
            raise RuntimeError(problem)
    except RuntimeError:
        if os.path.exists(new_cfg):
            os.unlink(new_cfg)
        raise
    return new_cfg


def commit_grub_cfg(module, new_cfg, cfg_path):
    module.atomic_move(new_cfg, cfg_path)
