"""Create a file on a dmemfs mount, map it, write it, map it again and read it back.

Runs inside a test VM as root (python3 dmemfs-file-check.py MOUNT PAGES),
standard library only. Checks on the way that the file's memory comes out of
the dmem pool (/sys/kernel/mm/dmem/free_bytes drops by the file size and comes
back after unlink). Prints one JSON object; exit status 0 only when all held.
"""

import json
import mmap
import os
import sys

FREE = '/sys/kernel/mm/dmem/free_bytes'


def free_bytes():
    with open(FREE) as handle:
        return int(handle.read())


def pattern(size, salt):
    block = bytes((i * 7 + salt) & 0xff for i in range(4096))
    return block * (size // 4096)


def main():
    mount, pages = sys.argv[1], int(sys.argv[2])
    psize = os.statvfs(mount).f_bsize
    size = psize * pages
    path = os.path.join(mount, 'file-check.%d' % os.getpid())
    result = dict(path=path, pagesize=psize, size=size, free_before=free_bytes())
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.ftruncate(fd, size)
        data = pattern(size, pages)
        with mmap.mmap(fd, size, flags=mmap.MAP_SHARED, prot=mmap.PROT_READ | mmap.PROT_WRITE) as ram:
            ram[:] = data
        result['free_mapped'] = free_bytes()
        # A second, independent mapping must see what the first one wrote.
        with mmap.mmap(fd, size, flags=mmap.MAP_SHARED, prot=mmap.PROT_READ) as ram:
            result['read_back_ok'] = ram[:] == data
    finally:
        os.close(fd)
        os.unlink(path)
    result['free_after'] = free_bytes()
    result['ok'] = (result['read_back_ok']
                    and result['free_before'] - result['free_mapped'] == size
                    and result['free_after'] == result['free_before'])
    print(json.dumps(result, sort_keys=True))
    return 0 if result['ok'] else 1


if __name__ == '__main__':
    sys.exit(main())
