# -*- coding: utf-8 -*-
# Copyright: dmemfs.fleet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The boot state dmemfs.fleet owns on a host, as a pure model (no host I/O).

One record per host (kept in /var/lib/dmemfs-fleet/boot.json) says:

* ``verified``: the last configuration proven on this host, a kernel release
  and its dmem= words. Before the first trial it is what the host ran when the
  collection first saw it (``how: baseline``).
* ``candidate``: the configuration to trial next, if any.
* ``armed``: the one-shot trial that GRUB boots next, with its token and lease.
* ``original``: what the host's own boot configuration said before.

Everything GRUB does follows from the record. On Debian-family hosts one
script, /etc/grub.d/09_dmemfs_fleet, is rendered from it: at update-grub
time it runs the distribution's own 10_linux and copies the entry of the
verified kernel as a top-level entry ``dmemfs-verified`` carrying the
verified dmem= words, and a one-shot entry ``dmemfs-trial`` made from the
same copy, whose kernel, initrd and added arguments all come from GRUB's
environment block: it is defined only while the block holds an armed trial
(the candidate's release and its one-shot arguments), and GRUB clears both
before the kernel runs. At boot the verified entry is the default unless GRUB
is on a one-shot boot (``next_entry``), and it is the ``fallback`` of that
one-shot boot. So:

* no stock entry ever carries dmem=; the candidate (kernel and dmem=) exists
  only in the environment block, for one boot;
* recording, arming and dropping a candidate write the environment block
  only: grub.cfg is regenerated when the verified configuration changes, not
  for every trial (on the test fleet's VMs each grub-mkconfig costs about a
  minute);
* the verified entry is entry 0: a ``default`` that does not resolve still
  boots it;
* a trial GRUB cannot load falls back to it; a trial that panics, hangs or
  fails its checks reboots into it.

The host's own /etc/default/grub* files are never written.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import re

from ansible_collections.dmemfs.fleet.plugins.module_utils.dmem_bootloader import (
    grub_menu_entries, kernel_release)

RECORD_VERSION = 1
VERIFIED_ID = 'dmemfs-verified'
TRIAL_ID = 'dmemfs-trial'
ONCE_VAR = 'dmemfs_trial_once'
ARGS_VAR = 'dmemfs_trial_args'
# the candidate's release: KERNEL_VAR in the environment block while armed,
# RELEASE_VAR in GRUB's memory on the trial boot (the block is cleared first)
KERNEL_VAR = 'dmemfs_trial_kernel'
RELEASE_VAR = 'dmemfs_trial_release'
TOKEN_ARG = 'dmemfs_fleet.trial'
SCRIPT_MARKER = '# Managed by dmemfs.fleet (dmem_boot)'
# grubenv variables this collection writes; GRUB's own save_env leaves them
# behind empty after a one-shot boot.
# the armed trial's one-shot variables, which GRUB clears (save_env) on the trial boot
ONE_SHOT_VARS = (ONCE_VAR, KERNEL_VAR)
ENV_VARS = ('next_entry',) + ONE_SHOT_VARS

RELEASE_RE = re.compile(r'^[0-9][A-Za-z0-9._+~-]*$')
TOKEN_RE = re.compile(r'^[A-Za-z0-9-]{6,64}$')
# One kernel argument that can travel through a GRUB variable and a shell
# single-quoted string untouched.
ARG_RE = re.compile(r'''^[^\s"'\\$;{}`]+$''')

# grub-probe results under which GRUB cannot write its environment block at
# boot (GRUB manual, "The GRUB environment block"; Debian's 00_header uses the
# same lists for recordfail): any disk abstraction, or a filesystem it cannot
# write in place.
UNWRITABLE_FS = ('btrfs', 'zfs', 'cpiofs', 'newc', 'odc', 'romfs', 'squash4', 'tarfs')


class BootStateError(Exception):
    """A requested change the record does not allow; the message says why."""


# ---------------------------------------------------------------- the record

def new_record(running_release, running_dmem, original, now):
    """The record of a host seen for the first time: what runs now is the baseline."""
    return dict(version=RECORD_VERSION, original=original,
                verified=dict(release=running_release, dmem=list(running_dmem), since=now, how='baseline', token=None),
                candidate=None, armed=None)


def check_record(record):
    """Problems of a record read from a host ([] when it is usable)."""
    if not isinstance(record, dict):
        return ['not a JSON object']
    problems = []
    if record.get('version') != RECORD_VERSION:
        problems.append('version %r, this collection writes %d' % (record.get('version'), RECORD_VERSION))
    verified = record.get('verified')
    if not isinstance(verified, dict) or not RELEASE_RE.match(str(verified.get('release', ''))):
        problems.append('no verified kernel release')
    elif not isinstance(verified.get('dmem'), list):
        problems.append('verified.dmem is not a list')
    for key in ('candidate', 'armed'):
        if record.get(key) is not None and not isinstance(record.get(key), dict):
            problems.append('%s is neither null nor an object' % key)
    return problems


def with_candidate(record, release, dmem):
    """The record with (release, dmem) as the next configuration to trial.

    A different candidate drops an armed trial of the old one.
    """
    if not RELEASE_RE.match(release or ''):
        raise BootStateError('release: %r is not a kernel release such as 6.12.117-dmemfs' % (release,))
    out = copy.deepcopy(record)
    wanted = dict(release=release, dmem=list(dmem))
    if out.get('candidate') != wanted:
        out['candidate'] = wanted
        out['armed'] = None
    return out


def with_armed(record, token, args, lease, now):
    """The record with the candidate armed for the next boot."""
    if not record.get('candidate'):
        raise BootStateError('state=armed needs a candidate first (state=candidate)')
    if not TOKEN_RE.match(token or ''):
        raise BootStateError('token: %r must be 6 to 64 letters, digits or dashes' % (token,))
    out = copy.deepcopy(record)
    out['armed'] = dict(token=token, args=list(args), lease=lease, at=now)
    return out


def trial_once(record):
    """The one-shot kernel arguments of the armed trial: its own args, the token, the candidate dmem=."""
    armed, candidate = record['armed'], record['candidate']
    return list(armed['args']) + ['%s=%s' % (TOKEN_ARG, armed['token'])] + list(candidate['dmem'])


def committed(record, running_release, cmdline_words, now):
    """The record after the running boot proved the armed candidate: it becomes the verified one.

    Refuses unless this boot is that trial: the candidate's release, its token
    on the command line and exactly its dmem= words.
    """
    candidate, armed = record.get('candidate'), record.get('armed')
    if not candidate or not armed:
        raise BootStateError('nothing to commit: no armed candidate')
    problems = []
    if running_release != candidate['release']:
        problems.append('the running kernel is %s, the candidate %s' % (running_release, candidate['release']))
    token = '%s=%s' % (TOKEN_ARG, armed['token'])
    if token not in cmdline_words:
        problems.append('%s is not on the command line: this boot is not the armed trial' % token)
    dmem = [w for w in cmdline_words if w.startswith('dmem=')]
    if dmem != candidate['dmem']:
        problems.append('the command line has %s, the candidate %s'
                        % (' '.join(dmem) or 'no dmem=', ' '.join(candidate['dmem']) or 'no dmem='))
    if problems:
        raise BootStateError('refusing to commit: ' + '; '.join(problems))
    out = copy.deepcopy(record)
    out['verified'] = dict(release=candidate['release'], dmem=list(candidate['dmem']), since=now, how='trial',
                           token=armed['token'])
    out['candidate'] = out['armed'] = None
    return out


def disarmed(record):
    """The record with no candidate and nothing armed (a trial put back)."""
    out = copy.deepcopy(record)
    out['candidate'] = out['armed'] = None
    return out


def env_changes(record, env):
    """grubenv assignments (None: unset) that make the block match the record."""
    changes = {}
    if record.get('armed'):
        want = {'next_entry': TRIAL_ID, ONCE_VAR: ' '.join(trial_once(record)),
                KERNEL_VAR: record['candidate']['release']}
        for name, value in want.items():
            if env.get(name) != value:
                changes[name] = value
    else:
        # Only what this collection armed: a next_entry of the operator's own stays.
        for name in ONE_SHOT_VARS:
            if name in env:
                changes[name] = None
        if 'next_entry' in env and env.get('next_entry') in ('', TRIAL_ID):
            changes['next_entry'] = None
    return changes


def one_shot_left(env):
    """What GRUB should have cleared on the trial boot but did not (its block is not writable, or GRUB never ran)."""
    left = []
    if env.get('next_entry') == TRIAL_ID:
        left.append('next_entry=%s' % TRIAL_ID)
    for name in ONE_SHOT_VARS:
        if env.get(name):
            left.append('%s=%s' % (name, env[name]))
    return left


def trial_release(env):
    """The release the trial entry boots with this environment block, None when no trial is armed there."""
    if env.get(ONCE_VAR) and env.get(KERNEL_VAR):
        return env[KERNEL_VAR]
    return None


# --------------------------------------------------------------- arguments

def check_args(args, field='trial_args'):
    """Each trial argument is one word that survives GRUB and shell quoting."""
    for arg in args:
        if not isinstance(arg, str) or not ARG_RE.match(arg):
            raise BootStateError('%s: %r is not one kernel argument (no spaces, quotes, $, ;, braces, '
                                 'backticks or backslashes)' % (field, arg))
        if arg.startswith('dmem=') or arg.startswith(TOKEN_ARG + '='):
            raise BootStateError('%s: %r is set by the collection itself (the candidate dmem= and the token)'
                                 % (field, arg))
    return list(args)


def token_of(cmdline_words):
    """The trial token on a command line, None when it is not a trial boot."""
    for word in cmdline_words:
        if word.startswith(TOKEN_ARG + '='):
            return word[len(TOKEN_ARG) + 1:]
    return None


def grubenv_writable(abstractions, fs):
    """(writable, reason) from grub-probe --target=abstraction / --target=fs of the grubenv directory."""
    abstractions = [a for a in (abstractions or '').split() if a]
    if abstractions:
        return False, ('GRUB cannot write its environment block at boot: it is on %s (GRUB writes only to a '
                       'plain disk), so a one-shot trial could neither be consumed nor fall back'
                       % ' '.join(abstractions))
    if (fs or '').strip() in UNWRITABLE_FS:
        return False, ('GRUB cannot write its environment block at boot: it is on %s, which GRUB cannot write in '
                       'place, so a one-shot trial could neither be consumed nor fall back' % fs.strip())
    return True, ''


# ------------------------------------------------------------ grub.d script

SCRIPT_TEMPLATE = r'''#!/bin/sh
%(marker)s: do not edit, the collection writes it
# from %(record)s.
# verified: %(verified_release)s %(verified_dmem)s
#
# At update-grub time this runs the distribution's own 10_linux (next to it)
# and copies, as top-level entries, the entry of the verified kernel with the
# verified dmem= (id %(verified_id)s, the default and the fallback) and, from
# the same copy, the one-shot trial entry (id %(trial_id)s): its kernel and
# initrd are those of the release in ${%(kernel_var)s} and its added
# arguments are ${%(once_var)s}, both read from the environment block and
# cleared there before the kernel runs. Without them it does not exist. The
# stock entries are left as they are and never carry dmem=.
set -e
verified_release='%(verified_release)s'
verified_args='%(verified_dmem)s'
linux_script="$(dirname "$0")/10_linux"
[ -x "$linux_script" ] || { echo "09_dmemfs_fleet: no $linux_script" >&2; exit 1; }
# Only normal entries are copied: no recovery entries (half 10_linux's time).
linux_entries=$(GRUB_DISABLE_RECOVERY=true "$linux_script" 2>/dev/null)

# entry RELEASE ID TITLE ARGS [AS]: 10_linux's normal entry of RELEASE renamed
# ID, ARGS added to its linux line; savedefault / recordfail dropped (a trial
# must not become the saved default, and a failed one must not stop GRUB in
# its menu). With AS, the kernel and initrd paths name the release AS instead
# of RELEASE, and the echo lines (which name RELEASE) are dropped.
entry() {
    printf '%%s\n' "$linux_entries" | awk -v rel="$1" -v id="$2" -v title="$3" -v args="$4" -v as="$5" '
    function renamed(word,   suffix) {
        suffix = "-" rel
        if (length(word) > length(suffix) && substr(word, length(word) - length(suffix) + 1) == suffix)
            return substr(word, 1, length(word) - length(rel)) as
        return word
    }
    function emit(   i, j, line, w, m) {
        printf "menuentry '\''%%s'\'' --class gnu-linux --class gnu --class os $menuentry_id_option '\''%%s'\'' {\n", title, id
        for (i = 2; i < n - 1; i++) {
            line = body[i]
            sub(/^[ \t]+/, "", line)
            if (line ~ /^(savedefault|recordfail)$/)
                continue
            m = split(line, w, /[ \t]+/)
            if (as != "" && w[1] == "echo")
                continue
            if (as != "" && w[1] ~ /^(linux|initrd)(16|efi)?$/) {
                line = w[1]
                for (j = 2; j <= m; j++)
                    line = line " " renamed(w[j])
            }
            if (w[1] ~ /^linux(16|efi)?$/ && args != "")
                line = line " " args
            printf "\t%%s\n", line
        }
        print "}"
    }
    done { next }
    !inside && /^[ \t]*menuentry / {
        inside = 1; depth = 1; n = 1; body[n++] = $0; match_rel = 0
        recovery = index($0, "-recovery-") > 0
        next
    }
    inside {
        body[n++] = $0
        if ($0 ~ /\{[ \t]*$/) depth++
        else if ($0 ~ /^[ \t]*\}[ \t]*$/) depth--
        split($0, w, /[ \t]+/)
        k = (w[1] == "") ? 2 : 1
        if (w[k] ~ /^linux(16|efi)?$/) {
            path = w[k + 1]; sub(/.*\//, "", path)
            if (path == "vmlinuz-" rel) match_rel = 1
            for (j = k + 2; (j in w); j++) if (w[j] == "single") recovery = 1
        }
        if (depth == 0) {
            inside = 0
            if (match_rel && !recovery) { emit(); done = 1 }
        }
    }'
}

verified=$(entry "$verified_release" %(verified_id)s \
    "dmemfs.fleet: verified, Linux $verified_release${verified_args:+ $verified_args}" "$verified_args")
if [ -n "$verified" ]; then
    printf '%%s\n' "$verified"
    cat <<'GRUB'
if [ -z "${boot_once}" ]; then
  set default="%(verified_id)s"
else
  # GRUB 2.06 takes only entry numbers here; the verified entry is entry 0.
  set fallback="0"
fi
GRUB
    trial=$(entry "$verified_release" %(trial_id)s "dmemfs.fleet: trial (one-shot)" \
        '${%(args_var)s}' '${%(release_var)s}')
    cat <<'GRUB'
if [ -n "${%(once_var)s}" ]; then
  set %(args_var)s="${%(once_var)s}"
  set %(release_var)s="${%(kernel_var)s}"
  export %(args_var)s
  export %(release_var)s
  set %(once_var)s=
  set %(kernel_var)s=
  save_env %(once_var)s %(kernel_var)s
fi
if [ -n "${%(args_var)s}" ]; then
if [ -n "${%(release_var)s}" ]; then
GRUB
    printf '%%s\n' "$trial"
    printf 'fi\nfi\n'
else
    echo "09_dmemfs_fleet: no boot entry for the verified kernel $verified_release; the host's own GRUB_DEFAULT applies" >&2
    echo "# dmemfs.fleet: no boot entry for the verified kernel $verified_release"
fi
'''


def render_script(record, record_path):
    """The /etc/grub.d/09_dmemfs_fleet text for a record."""
    verified = record['verified']
    # Nothing of the candidate: recording, arming or dropping one leaves this script and grub.cfg as they are.
    return SCRIPT_TEMPLATE % dict(
        marker=SCRIPT_MARKER, record=record_path, verified_id=VERIFIED_ID, trial_id=TRIAL_ID,
        once_var=ONCE_VAR, args_var=ARGS_VAR, kernel_var=KERNEL_VAR, release_var=RELEASE_VAR,
        verified_release=verified['release'], verified_dmem=' '.join(verified['dmem']))


# ------------------------------------------------------ the generated grub.cfg

def _entry(entries, ident):
    for entry in entries:
        if entry['id'] == ident:
            return entry
    return None


def check_grub_cfg(text, record):
    """What is wrong with a generated grub.cfg for this record ([] when nothing)."""
    entries = grub_menu_entries(text)
    problems = []
    verified = record['verified']
    top = [e for e in entries if e['parent'] is None]
    got = _entry(entries, VERIFIED_ID)
    if got is None:
        problems.append('no %s entry: 10_linux listed no normal entry for the verified kernel %s'
                        % (VERIFIED_ID, verified['release']))
    else:
        if got['release'] != verified['release']:
            problems.append('%s boots %s, not the verified %s' % (VERIFIED_ID, got['release'], verified['release']))
        if [w for w in got['args'] if w.startswith('dmem=')] != verified['dmem']:
            problems.append('%s does not carry exactly %s' % (VERIFIED_ID, ' '.join(verified['dmem']) or 'no dmem='))
        if not top or top[0]['id'] != VERIFIED_ID:
            problems.append('%s is not the first entry' % VERIFIED_ID)
        if 'set default="%s"' % VERIFIED_ID not in text:
            problems.append('the default is not set to %s' % VERIFIED_ID)
    # The trial entry is there whenever the verified one is (a candidate changes the environment block only).
    trial = _entry(entries, TRIAL_ID)
    if got is not None:
        if trial is None:
            problems.append('no %s entry' % TRIAL_ID)
        else:
            if trial['release'] != '${%s}' % RELEASE_VAR:
                problems.append('%s boots %s, not the release in ${%s}' % (TRIAL_ID, trial['kernel'], RELEASE_VAR))
            if '${%s}' % ARGS_VAR not in trial['args']:
                problems.append('%s lacks ${%s}' % (TRIAL_ID, ARGS_VAR))
            if 'save_env %s %s' % (ONCE_VAR, KERNEL_VAR) not in text:
                problems.append('the one-shot trial is never cleared (no save_env %s %s)' % (ONCE_VAR, KERNEL_VAR))
    for entry in entries:
        if entry['id'] not in (VERIFIED_ID, TRIAL_ID) and any(w.startswith('dmem=') for w in entry['args']):
            problems.append('entry %s carries dmem= of its own (from the host\'s GRUB defaults?)' % entry['id'])
    return problems


def _lookup(entries, spec):
    """The entry GRUB boots for a default/next_entry value: a number, a title or an id path."""
    spec = (spec or '').strip()
    if not spec:
        return None
    found = None
    if spec.isdigit():
        top = [e for e in entries if not e['parent']]
        index = int(spec)
        found = top[index] if index < len(top) else None
    else:
        for entry in entries:
            if spec in (entry['id'], entry['path_titles']):
                found = entry
                break
    if found is not None and found['kind'] == 'submenu':
        # A submenu as the default boots its first entry.
        inside = [e for e in entries if e['parent'] == found['id'].rsplit('>', 1)[-1] and e['kind'] == 'menuentry']
        found = inside[0] if inside else None
    return found


def resolve_boot(text, env, grub_default=None):
    """What GRUB boots next with this grub.cfg and environment block, as GRUB decides it.

    Models Debian's 00_header (next_entry is a one-shot and sets boot_once),
    this collection's script (its default and its conditional trial entry) and
    GRUB's run_menu (a default that resolves to nothing boots entry 0).
    Returns dict(entry, release, args, one_shot, default_spec) or None for a
    grub.cfg without entries.
    """
    entries = grub_menu_entries(text)
    once = env.get(ONCE_VAR, '')
    trial = trial_release(env)
    if trial is None:
        entries = [e for e in entries if e['id'] != TRIAL_ID]
    if not entries:
        return None
    next_entry = env.get('next_entry', '')
    one_shot = bool(next_entry)
    if one_shot:
        spec = next_entry
    else:
        spec = grub_default
        if spec is None:
            # 00_header's default when no one-shot is armed (not its next_entry branch, not ours)
            found = [v for v in re.findall(r'^\s*set default="([^"]*)"', text, re.M)
                     if v not in ('${next_entry}', VERIFIED_ID)]
            spec = found[0] if found else '0'
        spec = spec.replace('${saved_entry}', env.get('saved_entry', ''))
        if 'set default="%s"' % VERIFIED_ID in text and _entry(entries, VERIFIED_ID):
            spec = VERIFIED_ID
    chosen = _lookup(entries, spec) or _lookup(entries, '0')
    if chosen is None:
        return None
    args = []
    for word in chosen['args']:
        if word == '${%s}' % ARGS_VAR:
            args.extend(once.split())
        else:
            args.append(word)
    release = trial if chosen['id'] == TRIAL_ID else chosen['release']
    return dict(entry=chosen['id'], release=release, args=args, one_shot=one_shot, default_spec=spec)


def bootable_dmem(text, env):
    """Every dmem= word the host can boot without the controller: per entry, with this grubenv.

    The trial entry counts only while the one-shot arguments are armed.
    """
    out = {}
    once = env.get(ONCE_VAR, '')
    armed = trial_release(env) is not None
    for entry in grub_menu_entries(text):
        if entry['id'] == TRIAL_ID and not armed:
            continue
        words = []
        for word in entry['args']:
            words.extend(once.split() if word == '${%s}' % ARGS_VAR else [word])
        dmem = [w for w in words if w.startswith('dmem=')]
        if dmem:
            out[entry['id']] = dmem
    return out


def release_of_path(path):
    return kernel_release(path)
