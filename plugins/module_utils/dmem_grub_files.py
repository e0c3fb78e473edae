# -*- coding: utf-8 -*-
# Copyright: dmemfs.fleet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Writing boot files on a host without ever leaving a half-done one.

Used by dmem_boot: files are replaced atomically and flushed to disk (a
power cut right after a boot loader change must not leave an empty
grub.cfg, as XFS can), and grub.cfg is generated into a new file, checked,
and only then moved over the one GRUB boots from.
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


def _fsync_dir(directory):
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(module, path, content, mode=0o644):
    directory = os.path.dirname(path)
    if not os.path.isdir(directory):
        os.makedirs(directory, 0o755)
    handle, tmp = tempfile.mkstemp(dir=directory, prefix='.dmemfs-')
    with os.fdopen(handle, 'w') as out:
        out.write(content)
        out.flush()
        os.fsync(out.fileno())
    module.atomic_move(tmp, path)
    # atomic_move gives a new file the umask's mode: scripts need theirs back.
    os.chmod(path, mode)
    _fsync_dir(directory)


def restore(module, path, before, mode=0o644):
    """Put back what a file held (None: it did not exist)."""
    if before is None:
        remove(path)
    else:
        write_atomic(module, path, before, mode)


def remove(path):
    if os.path.lexists(path):
        os.unlink(path)
        _fsync_dir(os.path.dirname(path))


def generate_grub_cfg(module, cfg_path, accept):
    """grub-mkconfig into cfg_path.dmemfs-new and grub-script-check it.

    accept(text) returns [] or what is wrong with the new file. Returns the
    path of the checked new file (the caller moves it into place with
    commit_grub_cfg); raises RuntimeError, leaving no new file, otherwise.
    """
    mkconfig = module.get_bin_path('grub-mkconfig', required=True)
    script_check = module.get_bin_path('grub-script-check', required=True)
    new_cfg = cfg_path + '.dmemfs-new'
    try:
        rc, out, err = module.run_command([mkconfig, '-o', new_cfg])
        if rc != 0:
            raise RuntimeError('grub-mkconfig failed: %s' % (err or out).strip())
        rc, out, err = module.run_command([script_check, new_cfg])
        if rc != 0:
            raise RuntimeError('grub-script-check refused the new grub.cfg: %s' % (err or out).strip())
        problems = accept(read(new_cfg) or '')
        if problems:
            raise RuntimeError('the new grub.cfg is wrong: ' + '; '.join(problems))
    except RuntimeError:
        remove(new_cfg)
        raise
    return new_cfg


def commit_grub_cfg(module, new_cfg, cfg_path):
    with open(new_cfg) as handle:
        os.fsync(handle.fileno())
    module.atomic_move(new_cfg, cfg_path)
    _fsync_dir(os.path.dirname(cfg_path))
