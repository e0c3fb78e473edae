"""Wall time of each play of an ansible-playbook run, from its log file.

    ANSIBLE_LOG_PATH=build/site.log ansible-playbook ... playbooks/site.yml
    python3 tools/stage-times.py build/site.log

Ansible stamps every line of its log (ANSIBLE_LOG_PATH) with the time and
its process id; a play lasts from its "PLAY [name]" line to the next one of
the same process (or its recap). Each run is shown on its own, in the order
they ended, also when one run starts another.
"""

import re
import sys
from datetime import datetime

STAMP = re.compile(r'^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) p=(\d+) .*?\| (PLAY \[(.*)\]|PLAY RECAP)')


def runs(lines):
    """[(play name, start datetime)] per run (process); a recap ends a run."""
    current, out = {}, []
    for line in lines:
        match = STAMP.match(line)
        if not match:
            continue
        when = datetime.strptime(match.group(1), '%Y-%m-%d %H:%M:%S,%f')
        plays = current.setdefault(match.group(2), [])
        plays.append((match.group(4), when))
        if match.group(4) is None:
            out.append(current.pop(match.group(2)))
    return out


def main():
    if len(sys.argv) != 2:
        sys.exit('usage: stage-times.py ANSIBLE_LOG')
    with open(sys.argv[1], errors='replace') as handle:
        found = runs(handle)
    if not found:
        sys.exit('%s: no complete ansible-playbook run in it' % sys.argv[1])
    for number, plays in enumerate(found, 1):
        total = (plays[-1][1] - plays[0][1]).total_seconds()
        print('run %d: %.0f s' % (number, total))
        for (name, start), (next_name, end) in zip(plays, plays[1:]):
            print('  %7.1f s  %s' % ((end - start).total_seconds(), name))
    return 0


if __name__ == '__main__':
    sys.exit(main())
