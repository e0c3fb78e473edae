# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters run inside a real playbook."""

import os

from conftest import HERE


def test_filters_playbook(ansible):
    proc = ansible.playbook(os.path.join(HERE, 'filters.yml'))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert 'failed=0' in proc.stdout
    assert 'ok=4' in proc.stdout
