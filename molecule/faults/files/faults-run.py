"""The faults scenario's driver: run ansible-playbook, kill it where a test says, wait for a host.

  faults-run.py run --log FILE [--kill-after TASK | --kill-at TASK [--delay S]] -- ANSIBLE-PLAYBOOK ARGS...
      runs ansible-playbook with its output in FILE; --kill-after kills its
      whole process group (SIGKILL, as a lost controller would stop) right
      after the first result line of the task named TASK, --kill-at S seconds
      after that task starts. Prints JSON: rc, killed, elapsed.
  faults-run.py wait --port P --key K [--user U] --gone PREFIX [--not-boot ID] [--timeout S]
      polls the host over SSH until it answers from a boot other than ID
      with no word starting with PREFIX on its /proc/cmdline; prints JSON:
      elapsed, cmdline, boot_id.
"""

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import time

RESULT = re.compile(r'^(ok|changed|fatal|failed|skipping): \[')


def banner(task):
    return re.compile(r'^TASK \[%s\]' % re.escape(task))


def run(args):
    start = time.monotonic()
    killed = False
    with open(args.log, 'w') as log:
        proc = subprocess.Popen(args.command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                start_new_session=True, env=dict(os.environ, ANSIBLE_NOCOLOR='1', ANSIBLE_FORCE_COLOR='0'))
        armed_at = None
        seen = False
        for line in proc.stdout:
            log.write(line)
            log.flush()
            if args.kill_after and banner(args.kill_after).match(line):
                seen = True
            elif seen and args.kill_after and RESULT.match(line):
                killed = True
            if args.kill_at and banner(args.kill_at).match(line):
                armed_at = time.monotonic()
            if armed_at is not None:
                # the output may pause for the whole task: wait here for the delay
                time.sleep(max(0.0, args.delay - (time.monotonic() - armed_at)))
                killed = True
            if killed:
                os.killpg(proc.pid, signal.SIGKILL)
                log.write('\n### faults-run.py: killed ansible-playbook here ###\n')
                break
        proc.wait()
    print(json.dumps(dict(rc=proc.returncode, killed=killed, elapsed=round(time.monotonic() - start, 1))))
    return 0


def wait(args):
    start = time.monotonic()
    ssh = ['ssh', '-q', '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null',
           '-o', 'ConnectTimeout=5', '-i', args.key, '-p', str(args.port), '%s@127.0.0.1' % args.user,
           'cat /proc/cmdline /proc/sys/kernel/random/boot_id']
    while time.monotonic() - start < args.timeout:
        try:
            out = subprocess.run(ssh, capture_output=True, text=True, timeout=20, check=False)
        except subprocess.TimeoutExpired:
            out = None
        if out is not None and out.returncode == 0:
            lines = out.stdout.splitlines()
            if (len(lines) >= 2 and lines[1] != args.not_boot
                    and not any(w.startswith(args.gone) for w in lines[0].split())):
                print(json.dumps(dict(elapsed=round(time.monotonic() - start, 1), cmdline=lines[0], boot_id=lines[1])))
                return 0
        time.sleep(5)
    print(json.dumps(dict(elapsed=None, error='no boot without %s within %d s' % (args.gone, args.timeout))))
    return 1


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n', 1)[0])
    sub = parser.add_subparsers(dest='mode', required=True)
    r = sub.add_parser('run')
    r.add_argument('--log', required=True)
    r.add_argument('--kill-after')
    r.add_argument('--kill-at')
    r.add_argument('--delay', type=float, default=0)
    r.add_argument('command', nargs=argparse.REMAINDER)
    w = sub.add_parser('wait')
    w.add_argument('--port', type=int, required=True)
    w.add_argument('--key', required=True)
    w.add_argument('--user', default='fleet')
    w.add_argument('--gone', required=True)
    w.add_argument('--not-boot', default='')
    w.add_argument('--timeout', type=int, default=900)
    args = parser.parse_args(argv)
    if args.mode == 'run':
        if args.command[:1] == ['--']:
            args.command = args.command[1:]
        return run(args)
    return wait(args)


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
