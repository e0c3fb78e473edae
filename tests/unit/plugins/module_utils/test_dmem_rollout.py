# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fleet semantics (review F12, F13; issue 9 item 8): halting a rollout, and every host's state."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.dmemfs.fleet.plugins.module_utils.dmem_rollout import halt_reason, host_states
from ansible_collections.dmemfs.fleet.plugins.module_utils.dmem_size import DmemError


def test_finding_8_a_failure_halts_the_later_batches_not_the_one_that_ran():
    assert halt_reason({'h1': 'ok'}, 0) == ''
    assert halt_reason({'h1': 'failed'}, 0) == (
        'rollout halted: 1 of 1 host(s) reached failed (h1), more than dmem_max_fail_percentage=0%')
    # strictly more, as Ansible's max_fail_percentage: 1 of 2 at 50 % goes on, 2 of 4 at 25 % stops
    assert halt_reason({'h1': 'ok', 'h2': 'failed'}, 50) == ''
    assert halt_reason({'a': 'ok', 'b': 'failed', 'c': 'ok', 'd': 'started'}, 25).startswith('rollout halted: 2 of 4')
    # hosts not reached do not count; a refusal changes nothing on its host and does not halt
    assert halt_reason({'h1': 'ok', 'h2': 'refused', 'h3': 'not_reached'}, 0) == ''
    assert halt_reason({'h1': 'unreachable', 'h2': 'not_reached'}, 60).startswith('rollout halted: 1 of 1')
    assert halt_reason({}, 0) == ''


def test_halt_reason_refuses_a_bad_percentage():
    for bad in (-1, 101, 'x', None):
        with pytest.raises(DmemError, match='dmem_max_fail_percentage'):
            halt_reason({'h1': 'ok'}, bad)


def test_finding_8_every_host_is_listed_with_its_state():
    results = {'h2': {'status': 'failed', 'reason': 'trial guard: red'}, 'h3': {'status': 'not_reached', 'reason': 'halted'},
               'h4': {'status': 'refused', 'reason': 'grubenv on mdraid1x'}, 'h5': {'status': 'started', 'reason': 'lost'},
               'h1': {'status': 'ok', 'reason': ''}}
    assert host_states(['h1', 'h2', 'h3', 'h4', 'h5', 'h6'], results, ['h1', 'h2', 'h3', 'h4']) == {
        'h2': {'state': 'failed', 'reason': 'trial guard: red'}, 'h3': {'state': 'not_reached', 'reason': 'halted'},
        'h4': {'state': 'refused', 'reason': 'grubenv on mdraid1x'}, 'h5': {'state': 'started', 'reason': 'lost'},
        'h6': {'state': 'unreachable', 'reason': 'could not be reached, so it was left out'}}
    with pytest.raises(DmemError, match='status must be one of'):
        host_states(['h1'], {'h1': {'status': 'weird'}}, [])
