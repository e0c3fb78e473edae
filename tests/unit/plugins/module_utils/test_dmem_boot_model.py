# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The boot state model: the record, the GRUB script, the grub.cfg checks, GRUB's own decisions.

Each finding of the boot-path review (shared/reviews/reliability.md F1-F18,
issue 9 items 1-9) that the model decides has a test named after it here; on
the 0.1.0 model (dmem= in GRUB_CMDLINE_LINUX on every entry, GRUB_DEFAULT=saved)
each of them fails. grub.cfg texts are real update-grub output of a tools/vm
guest (tests/fixtures/grub) or laid out exactly like it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest

from ansible_collections.dmemfs.fleet.plugins.module_utils import dmem_boot_model as model
from ansible_collections.dmemfs.fleet.plugins.module_utils.dmem_bootloader import grub_menu_entries

FIXTURES = os.path.join(os.path.dirname(__file__), '..', '..', '..', 'fixtures', 'grub')
STOCK, NEW, NEWER = '6.1.0-50-amd64', '6.12.117-dmemfs-aaaaaaaa', '6.12.117-dmemfs-bbbbbbbb'
UUID = '1234abcd'


def fixture(name):
    with open(os.path.join(FIXTURES, name)) as handle:
        return handle.read()


def linux_entry(release, ident, args, indent='', title=None):
    return (
        "%smenuentry '%s' --class debian $menuentry_id_option '%s' {\n"
        "%s\tload_video\n"
        "%s\tsearch --no-floppy --fs-uuid --set=root %s\n"
        "%s\tlinux\t/boot/vmlinuz-%s root=UUID=%s ro %s\n"
        "%s\tinitrd\t/boot/initrd.img-%s\n"
        "%s}\n" % (indent, title or 'Debian GNU/Linux, with Linux ' + release, ident, indent, indent, UUID,
                   indent, release, UUID, args, indent, release, indent))


def header(grub_default='0'):
    return (
        'if [ "${next_entry}" ] ; then\n   set default="${next_entry}"\n   set next_entry=\n'
        '   save_env next_entry\n   set boot_once=true\nelse\n   set default="%s"\nfi\n' % grub_default)


def stock_entries(releases, cmdline='console=ttyS0'):
    """10_linux's output: the newest as the first entry, then the submenu."""
    newest = sorted(releases)[-1]
    text = linux_entry(newest, 'gnulinux-simple-' + UUID, cmdline, title='Debian GNU/Linux')
    text += "submenu 'Advanced options for Debian GNU/Linux' $menuentry_id_option 'gnulinux-advanced-%s' {\n" % UUID
    for release in sorted(releases, reverse=True):
        text += linux_entry(release, 'gnulinux-%s-advanced-%s' % (release, UUID), cmdline, '\t')
        text += linux_entry(release, 'gnulinux-%s-recovery-%s' % (release, UUID), 'single ' + cmdline, '\t',
                            'Debian GNU/Linux, with Linux %s (recovery mode)' % release)
    return text + '}\n'


def ours(record, cmdline='console=ttyS0'):
    """What 09_dmemfs_fleet prints for a record (the awk copy, done by hand the same way).

    Nothing of the candidate is in it: the trial entry is the verified one's
    copy with the release read from the environment block.
    """
    verified = record['verified']
    text = linux_entry(verified['release'], model.VERIFIED_ID, (cmdline + ' ' + ' '.join(verified['dmem'])).strip())
    text += ('if [ -z "${boot_once}" ]; then\n  set default="%s"\nelse\n  set fallback="0"\nfi\n' % model.VERIFIED_ID)
    text += ('if [ -n "${%(once)s}" ]; then\n  set %(args)s="${%(once)s}"\n  set %(rel)s="${%(kernel)s}"\n'
             '  export %(args)s\n  export %(rel)s\n  set %(once)s=\n  set %(kernel)s=\n  save_env %(once)s %(kernel)s\nfi\n'
             'if [ -n "${%(args)s}" ]; then\nif [ -n "${%(rel)s}" ]; then\n'
             % dict(once=model.ONCE_VAR, args=model.ARGS_VAR, rel=model.RELEASE_VAR, kernel=model.KERNEL_VAR))
    text += linux_entry('${%s}' % model.RELEASE_VAR, model.TRIAL_ID, cmdline + ' ${%s}' % model.ARGS_VAR)
    text += 'fi\nfi\n'
    return text


def grub_cfg(record, releases, grub_default='0'):
    return header(grub_default) + ours(record) + stock_entries(releases)


def baseline(release=STOCK, dmem=()):
    return model.new_record(release, list(dmem), {'grub_default': '0'}, '2026-12-02T00:00:00Z')


def armed(record, release, dmem, token='tok123456'):
    record = model.with_candidate(record, release, dmem)
    return model.with_armed(record, token, ['panic=10'], 300, 'now')


def after_grub_boot(env):
    """The environment block after GRUB booted the one-shot: save_env left both variables empty."""
    out = dict(env)
    if out.get('next_entry'):
        out['next_entry'] = ''
    for name in model.ONE_SHOT_VARS:
        if name in out:
            out[name] = ''
    return out


# ----------------------------------------------------------------- record

def test_baseline_is_what_runs():
    record = baseline(STOCK)
    assert record['verified'] == dict(release=STOCK, dmem=[], since='2026-12-02T00:00:00Z', how='baseline', token=None)
    assert record['candidate'] is None and record['armed'] is None
    assert model.check_record(record) == []


def test_check_record_names_what_is_wrong():
    assert model.check_record([]) == ['not a JSON object']
    problems = model.check_record({'version': 7, 'verified': {'release': ''}, 'armed': 3})
    assert problems == ['version 7, this collection writes 1', 'no verified kernel release',
                        'armed is neither null nor an object']


def test_a_new_candidate_drops_an_armed_trial():
    record = armed(baseline(), NEW, ['dmem=!768M'])
    assert record['armed']['token'] == 'tok123456'
    same = model.with_candidate(record, NEW, ['dmem=!768M'])
    assert same['armed'] == record['armed']
    other = model.with_candidate(record, NEW, ['dmem=!1G'])
    assert other['armed'] is None and other['candidate'] == dict(release=NEW, dmem=['dmem=!1G'])


def test_arming_needs_a_candidate_and_a_good_token():
    with pytest.raises(model.BootStateError, match='needs a candidate'):
        model.with_armed(baseline(), 'tok123456', [], 300, 'now')
    with pytest.raises(model.BootStateError, match='token'):
        model.with_armed(model.with_candidate(baseline(), NEW, []), 'a b', [], 300, 'now')


def test_trial_once_is_its_args_the_token_and_the_candidate_dmem():
    record = armed(baseline(), NEW, ['dmem=!768M', 'dmem=1G@8G'])
    assert model.trial_once(record) == ['panic=10', 'dmemfs_fleet.trial=tok123456', 'dmem=!768M', 'dmem=1G@8G']


def test_check_args_refuses_what_would_break_quoting_or_is_the_collections_own():
    assert model.check_args(['panic=10', 'softdog.soft_margin=600']) == ['panic=10', 'softdog.soft_margin=600']
    for bad in ['a b', 'x"', "x'", 'x$y', 'x;y', 'x{', 'x\\', '`x`', 'dmem=1G', 'dmemfs_fleet.trial=abc', '', 3]:
        with pytest.raises(model.BootStateError):
            model.check_args([bad])


def test_commit_only_on_the_boot_that_is_the_armed_trial():
    record = armed(baseline(), NEW, ['dmem=!768M'])
    trial_cmdline = ['BOOT_IMAGE=/boot/vmlinuz-' + NEW, 'ro', 'panic=10', 'dmemfs_fleet.trial=tok123456', 'dmem=!768M']
    with pytest.raises(model.BootStateError, match='the running kernel is %s' % STOCK):
        model.committed(record, STOCK, ['ro'], 'now')
    with pytest.raises(model.BootStateError, match='not the armed trial'):
        model.committed(record, NEW, ['ro', 'dmem=!768M'], 'now')
    with pytest.raises(model.BootStateError, match='the command line has no dmem='):
        model.committed(record, NEW, ['ro', 'dmemfs_fleet.trial=tok123456'], 'now')
    with pytest.raises(model.BootStateError, match='no armed candidate'):
        model.committed(baseline(), NEW, trial_cmdline, 'now')
    done = model.committed(record, NEW, trial_cmdline, 'then')
    assert done['verified'] == dict(release=NEW, dmem=['dmem=!768M'], since='then', how='trial', token='tok123456')
    assert done['candidate'] is None and done['armed'] is None


# ------------------------------------------------------------- grubenv

def test_env_changes_arm_and_disarm_only_what_the_collection_set():
    record = armed(baseline(), NEW, ['dmem=!768M'])
    assert model.env_changes(record, {}) == {
        'next_entry': model.TRIAL_ID, model.ONCE_VAR: 'panic=10 dmemfs_fleet.trial=tok123456 dmem=!768M',
        model.KERNEL_VAR: NEW}
    assert model.env_changes(record, dict(model.env_changes(record, {}))) == {}
    # disarmed: GRUB's empty leftovers go, an operator's own next_entry stays
    assert model.env_changes(baseline(), {'next_entry': '', model.ONCE_VAR: '', model.KERNEL_VAR: ''}) == {
        'next_entry': None, model.ONCE_VAR: None, model.KERNEL_VAR: None}
    assert model.env_changes(baseline(), {'next_entry': 'gnulinux-x'}) == {}


def test_finding_9_a_boot_that_bypassed_grub_leaves_the_one_shot_behind():
    env = model.env_changes(armed(baseline(), NEW, []), {})
    assert model.one_shot_left(env) == ['next_entry=dmemfs-trial',
                                        'dmemfs_trial_once=panic=10 dmemfs_fleet.trial=tok123456',
                                        'dmemfs_trial_kernel=' + NEW]
    assert model.one_shot_left(after_grub_boot(env)) == []


def test_token_of_a_command_line():
    assert model.token_of(['ro', 'dmemfs_fleet.trial=abc123']) == 'abc123'
    assert model.token_of(['ro']) is None


@pytest.mark.parametrize('abstraction, fs, writable, says', [
    ('', 'ext2', True, ''),
    ('diskfilter mdraid1x', 'ext2', False, 'it is on diskfilter mdraid1x'),
    ('lvm', 'ext2', False, 'it is on lvm'),
    ('cryptodisk luks2', 'ext2', False, 'luks2'),
    ('', 'btrfs', False, 'it is on btrfs'),
    ('', 'zfs\n', False, 'zfs'),
])
def test_finding_3_grubenv_writable_from_grub_probe(abstraction, fs, writable, says):
    ok, why = model.grubenv_writable(abstraction, fs)
    assert ok is writable and says in why


# ------------------------------------------------------------- grub.cfg

def test_the_real_update_grub_output_parses_as_the_model_expects():
    text = fixture('debian12-09_dmemfs_fleet.grub.cfg')
    record = model.with_candidate(baseline(STOCK), STOCK, ['dmem=!768M'])
    assert model.check_grub_cfg(text, record) == []
    ids = [e['id'] for e in grub_menu_entries(text) if e['parent'] is None]
    assert ids[:2] == [model.VERIFIED_ID, model.TRIAL_ID]
    assert model.resolve_boot(text, {})['entry'] == model.VERIFIED_ID


def test_check_grub_cfg_names_what_is_missing():
    record = model.with_candidate(baseline(STOCK, ['dmem=!768M']), NEW, ['dmem=!1G'])
    text = grub_cfg(record, [STOCK, NEW])
    assert model.check_grub_cfg(text, record) == []
    # the same grub.cfg serves the record with or without a candidate: a candidate never regenerates it
    assert text == grub_cfg(model.disarmed(record), [STOCK, NEW])
    assert model.check_grub_cfg(text, model.disarmed(record)) == []
    stock_only = header() + stock_entries([STOCK, NEW])
    assert model.check_grub_cfg(stock_only, record) == [
        'no dmemfs-verified entry: 10_linux listed no normal entry for the verified kernel %s' % STOCK]
    wrong_dmem = grub_cfg(model.with_candidate(baseline(STOCK, ['dmem=!1G']), NEW, ['dmem=!1G']), [STOCK, NEW])
    assert model.check_grub_cfg(wrong_dmem, record) == ['dmemfs-verified does not carry exactly dmem=!768M']
    fixed_kernel = text.replace('vmlinuz-${%s}' % model.RELEASE_VAR, 'vmlinuz-' + NEW)
    assert model.check_grub_cfg(fixed_kernel, record) == [
        'dmemfs-trial boots /boot/vmlinuz-%s, not the release in ${%s}' % (NEW, model.RELEASE_VAR)]
    never_cleared = text.replace('save_env %s %s' % (model.ONCE_VAR, model.KERNEL_VAR), 'save_env %s' % model.ONCE_VAR)
    assert model.check_grub_cfg(never_cleared, record) == [
        'the one-shot trial is never cleared (no save_env %s %s)' % (model.ONCE_VAR, model.KERNEL_VAR)]


def test_finding_14_foreign_entries_are_left_alone_and_pass():
    record = baseline(STOCK)
    text = grub_cfg(record, [STOCK]) + (
        "menuentry 'Memory test (memtest86+x64.bin)' {\n\tlinux16 /boot/memtest86+x64.bin\n}\n"
        "menuentry 'rescue' {\n\tlinux /boot/vmlinuz-rescue root=/dev/sda1\n}\n")
    assert model.check_grub_cfg(text, record) == []


def test_a_host_dmem_of_its_own_on_a_stock_entry_is_a_problem():
    record = baseline(STOCK)
    text = header() + ours(record) + stock_entries([STOCK], 'console=ttyS0 dmem=!2G')
    problems = model.check_grub_cfg(text, record)
    assert problems and all('carries dmem= of its own' in p for p in problems)


def test_finding_1_the_fallback_never_carries_the_untrialled_dmem():
    # A re-plan on a host already on the dmemfs kernel: trial and fallback are the same kernel.
    verified = baseline(NEW, ['dmem=!8G'])
    record = armed(verified, NEW, ['dmem=!1G'])
    text = grub_cfg(record, [STOCK, NEW])
    env = model.env_changes(record, {})
    trial = model.resolve_boot(text, env)
    assert trial['entry'] == model.TRIAL_ID and 'dmem=!1G' in trial['args'] and 'dmem=!8G' not in trial['args']
    # the trial panicked: GRUB had already consumed the one-shot, the next boot is the verified one
    fallback = model.resolve_boot(text, after_grub_boot(env))
    assert fallback['entry'] == model.VERIFIED_ID and fallback['release'] == NEW
    assert [w for w in fallback['args'] if w.startswith('dmem=')] == ['dmem=!8G']


def test_finding_1_an_upgrade_from_an_earlier_dmemfs_build_keeps_the_earlier_one_and_its_dmem():
    record = armed(baseline(NEW, ['dmem=!8G']), NEWER, ['dmem=!1G'])
    text = grub_cfg(record, [STOCK, NEW, NEWER])
    fallback = model.resolve_boot(text, after_grub_boot(model.env_changes(record, {})))
    assert (fallback['release'], [w for w in fallback['args'] if w.startswith('dmem=')]) == (NEW, ['dmem=!8G'])


def test_finding_2_a_recorded_candidate_is_on_no_entry_a_host_boots_by_itself():
    record = model.with_candidate(baseline(NEW, ['dmem=!8G']), NEWER, ['dmem=!1G'])
    text = grub_cfg(record, [STOCK, NEW, NEWER])
    assert model.bootable_dmem(text, {}) == {model.VERIFIED_ID: ['dmem=!8G']}
    assert model.resolve_boot(text, {})['release'] == NEW
    # armed, the candidate is bootable for one boot only; consumed (or the lease expired), it is gone again
    env = model.env_changes(armed(record, NEWER, ['dmem=!1G']), {})
    assert model.bootable_dmem(text, env)[model.TRIAL_ID] == ['dmem=!1G']
    assert model.bootable_dmem(text, after_grub_boot(env)) == {model.VERIFIED_ID: ['dmem=!8G']}


def test_finding_5a_a_later_grub_default_cannot_make_an_untrialled_kernel_the_default():
    record = model.with_candidate(baseline(STOCK), NEW, ['dmem=!1G'])
    # /etc/default/grub.d/99-site.cfg: GRUB_DEFAULT=0, and entry 0 of 10_linux is the newest kernel
    text = grub_cfg(record, [STOCK, NEW], grub_default='0')
    assert model.resolve_boot(text, {})['release'] == STOCK
    without_ours = header('0') + stock_entries([STOCK, NEW])
    assert model.resolve_boot(without_ours, {})['release'] == NEW


def test_finding_5c_a_default_that_resolves_to_nothing_still_boots_the_verified_entry():
    record = baseline(STOCK)
    text = grub_cfg(record, [STOCK, NEW], grub_default='${saved_entry}')
    # our script's default is the verified entry; and were it lost, entry 0 is the verified one too
    assert model.resolve_boot(text, {'saved_entry': 'gnulinux-gone'})['entry'] == model.VERIFIED_ID
    no_override = text.replace('set default="%s"' % model.VERIFIED_ID, 'set default="nothing"')
    assert model.resolve_boot(no_override, {'saved_entry': 'gnulinux-gone'})['entry'] == model.VERIFIED_ID


def test_finding_4_grub_falls_back_to_entry_0_which_is_the_verified_one():
    record = armed(baseline(STOCK), NEW, [])
    text = grub_cfg(record, [STOCK, NEW])
    # GRUB 2.06 takes only numbers for fallback (grub-core/normal/menu.c)
    assert 'set fallback="0"' in text
    assert [e for e in grub_menu_entries(text) if e['parent'] is None][0]['id'] == model.VERIFIED_ID


def test_finding_6_a_failed_trial_keeps_the_last_verified_dmem():
    record = armed(baseline(NEW, ['dmem=!8G']), NEW, ['dmem=!64G'])
    back = model.disarmed(record)
    assert back['verified']['dmem'] == ['dmem=!8G'] and back['candidate'] is None
    text = grub_cfg(back, [STOCK, NEW])
    assert model.bootable_dmem(text, {}) == {model.VERIFIED_ID: ['dmem=!8G']}


def test_finding_7_the_hosts_own_default_is_what_applies_without_the_collection():
    title = 'Advanced options for Debian GNU/Linux>Debian GNU/Linux, with Linux %s' % STOCK
    text = header(title) + stock_entries([STOCK, NEW])
    assert model.resolve_boot(text, {})['release'] == STOCK
    assert model.resolve_boot(text, {})['entry'] == 'gnulinux-advanced-%s>gnulinux-%s-advanced-%s' % (UUID, STOCK, UUID)


def test_resolve_boot_numbers_titles_and_submenus():
    text = header('1') + stock_entries([STOCK, NEW])
    # entry 1 is the submenu: its first entry boots
    assert model.resolve_boot(text, {})['entry'] == 'gnulinux-advanced-%s>gnulinux-%s-advanced-%s' % (UUID, NEW, UUID)
    assert model.resolve_boot(text, {'next_entry': 'Debian GNU/Linux'})['entry'] == 'gnulinux-simple-' + UUID
    assert model.resolve_boot('', {}) is None


def test_render_script_carries_the_verified_configuration_only():
    record = model.with_candidate(baseline(NEW, ['dmem=!8G']), NEWER, ['dmem=!1G'])
    script = model.render_script(record, '/var/lib/dmemfs-fleet/boot.json')
    assert script.startswith('#!/bin/sh\n' + model.SCRIPT_MARKER)
    assert "verified_release='%s'" % NEW in script and "verified_args='dmem=!8G'" in script
    # nothing of the candidate: its release and dmem= travel only in the environment block, for one boot
    assert NEWER not in script and 'dmem=!1G' not in script
    assert script == model.render_script(model.disarmed(record), '/var/lib/dmemfs-fleet/boot.json')
    armed_record = armed(record, NEWER, ['dmem=!1G'])
    assert script == model.render_script(armed_record, '/var/lib/dmemfs-fleet/boot.json')


def test_the_trial_entry_boots_the_release_in_the_environment_block():
    record = armed(baseline(NEW, ['dmem=!8G']), NEWER, ['dmem=!1G'])
    text = grub_cfg(record, [STOCK, NEW, NEWER])
    env = model.env_changes(record, {})
    assert env[model.KERNEL_VAR] == NEWER
    trial = model.resolve_boot(text, env)
    assert (trial['entry'], trial['release']) == (model.TRIAL_ID, NEWER)
    # half an armed trial (no kernel, or no arguments) is no trial: GRUB boots the verified entry
    for name in (model.KERNEL_VAR, model.ONCE_VAR):
        half = dict(env, **{name: ''})
        assert model.resolve_boot(text, half)['entry'] == model.VERIFIED_ID
        assert model.bootable_dmem(text, half) == {model.VERIFIED_ID: ['dmem=!8G']}
