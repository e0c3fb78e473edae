# -*- coding: utf-8 -*-
# Copyright: dmemfs.fleet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Options and attributes the GRUB modules (dmem_bootparam, dmem_bootentry) share."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):

    DOCUMENTATION = r'''
options:
  bootloader:
    description: C(auto) picks C(update-grub) or C(grubby) by what the host has.
    type: str
    choices: [auto, update-grub, grubby]
    default: auto
  grub_cfg:
    description: With C(update-grub), the generated configuration GRUB boots from.
    type: path
    default: /boot/grub/grub.cfg
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  platform:
    platforms: posix
'''
