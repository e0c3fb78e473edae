// SPDX-License-Identifier: GPL-2.0
/*
 * dmemtest: in-guest checks for dmem= and dmemfs, run from the test
 * initramfs.  Prints "PASS name: ..." / "FAIL name: ..." lines that the
 * host runner counts, and "INFO key value" lines that it checks against
 * what the boot parameters imply.
 *
 *   dmemtest info     print memmap, dmem and iomem figures
 *   dmemtest nodmem   checks for a kernel booted without dmem=
 *   dmemtest fs       dmemfs checks for every page size, and the host-side
 *                     calls QEMU makes on a guest's RAM (compat-*)
 *   dmemtest kvm      KVM guests whose RAM is a dmemfs file (2M and 1G)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/io_uring.h>
#include <linux/kvm.h>
#include <linux/loop.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define KB (1ULL << 10)
#define MB (1ULL << 20)
#define GB (1ULL << 30)
#define SYS "/sys/kernel/mm/dmem/"
#define DMEMFS_MAGIC 0x444d454dU
#define MPOL_BIND 2

static int failures;

static void result(int ok, const char *name, const char *fmt, ...)
{
	va_list ap;

	printf("%s %s: ", ok ? "PASS" : "FAIL", name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	if (!ok)
		failures++;
}

static long long read_ll(const char *path)
{
	long long v = -1;
	FILE *f = fopen(path, "r");

	if (!f)
		return -1;
	if (fscanf(f, "%lld", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

static long long node_ll(int nid, const char *what)
{
	char path[128];

	snprintf(path, sizeof(path), SYS "node%d/%s", nid, what);
	return read_ll(path);
}

static long long vmstat(const char *key)
{
	char name[128];
	long long v;
	FILE *f = fopen("/proc/vmstat", "r");

	if (!f)
		return -1;
	while (fscanf(f, "%127s %lld", name, &v) == 2) {
		if (!strcmp(name, key)) {
			fclose(f);
			return v;
		}
	}
	fclose(f);
	return -1;
}

/* "pte N\npmd N\npud N" */
static void mappings(long long m[3])
{
	FILE *f = fopen(SYS "mappings", "r");

	m[0] = m[1] = m[2] = -1;
	if (!f)
		return;
	if (fscanf(f, "pte %lld pmd %lld pud %lld", &m[0], &m[1], &m[2]) != 3)
		m[0] = m[1] = m[2] = -1;
	fclose(f);
}

static long minflt(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_minflt;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ------------------------------------------------------------------ */

static int cmd_info(void)
{
	char line[256];
	FILE *f;
	int nid;

	printf("INFO nr_memmap_boot_pages %lld\n", vmstat("nr_memmap_boot_pages"));
	printf("INFO nr_memmap_pages %lld\n", vmstat("nr_memmap_pages"));
	printf("INFO hugepages_2m %lld\n",
	       read_ll("/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages"));
	printf("INFO hugepages_1g %lld\n",
	       read_ll("/sys/kernel/mm/hugepages/hugepages-1048576kB/nr_hugepages"));
	printf("INFO hugetlb_optimize_vmemmap %lld\n",
	       read_ll("/proc/sys/vm/hugetlb_optimize_vmemmap"));
	printf("INFO dmem_total %lld\n", read_ll(SYS "total_bytes"));
	printf("INFO dmem_free %lld\n", read_ll(SYS "free_bytes"));
	printf("INFO dmem_memmap_saved %lld\n", read_ll(SYS "memmap_saved_bytes"));
	for (nid = 0; nid < 8; nid++) {
		long long t = node_ll(nid, "total_bytes");

		if (t < 0)
			continue;
		printf("INFO node%d_total %lld\n", nid, t);
		printf("INFO node%d_free %lld\n", nid, node_ll(nid, "free_bytes"));
		printf("INFO node%d_memmap_saved %lld\n", nid,
		       node_ll(nid, "memmap_saved_bytes"));
	}
	f = fopen("/proc/iomem", "r");
	while (f && fgets(line, sizeof(line), f)) {
		unsigned long long s, e;
		char *name = strstr(line, " : ");

		if (!name || sscanf(line, " %llx-%llx", &s, &e) != 2)
			continue;
		name += 3;
		name[strcspn(name, "\n")] = 0;
		if (!strcmp(name, "dmem"))
			printf("INFO iomem_dmem %llu %llu\n", s, e + 1);
		else if (!strcmp(name, "System RAM") && line[0] != ' ')
			printf("INFO iomem_ram %llu %llu\n", s, e + 1);
	}
	if (f)
		fclose(f);
	fflush(stdout);
	return 0;
}

static int cmd_nodmem(void)
{
	int r;

	mkdir("/mnt/d", 0755);
	result(read_ll(SYS "total_bytes") == 0, "nodmem-total",
	       "total_bytes=%lld", read_ll(SYS "total_bytes"));
	r = mount("none", "/mnt/d", "dmemfs", 0, "pagesize=4K");
	result(r < 0 && errno == EINVAL, "nodmem-mount-refused",
	       "mount returned %d errno %d", r, r < 0 ? errno : 0);
	if (!r)
		umount("/mnt/d");
	return 0;
}

/* ------------------------------------------------------------------ */
/* dmemfs                                                             */

static uint64_t pattern(uint64_t off, uint64_t seed)
{
	return (off * 0x9e3779b97f4a7c15ULL) ^ seed;
}

static void fill(volatile uint64_t *p, uint64_t size, uint64_t seed)
{
	uint64_t i;

	/* One word every 512 bytes: every page, fast under TCG. */
	for (i = 0; i < size / 8; i += 64)
		p[i] = pattern(i, seed);
}

static uint64_t check(volatile uint64_t *p, uint64_t size, uint64_t seed)
{
	uint64_t i, bad = 0;

	for (i = 0; i < size / 8; i += 64)
		if (p[i] != pattern(i, seed))
			bad++;
	return bad;
}

static uint64_t nonzero(volatile uint64_t *p, uint64_t size, uint64_t step)
{
	uint64_t i, bad = 0;

	for (i = 0; i < size / 8; i += step / 8)
		if (p[i])
			bad++;
	return bad;
}

static int create(const char *path, uint64_t size)
{
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);

	if (fd < 0)
		return -1;
	if (ftruncate(fd, size) < 0) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

static void *map(int fd, uint64_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	return p == MAP_FAILED ? NULL : p;
}

struct thr {
	volatile uint64_t *p;
	uint64_t size, step;
	int id, nthreads;
	uint64_t bad;
};

static void *thr_fn(void *arg)
{
	struct thr *t = arg;
	uint64_t n = t->size / t->step, k;

	/* Every thread touches every page, each starting elsewhere. */
	for (k = 0; k < n; k++) {
		uint64_t page = (k + t->id * n / t->nthreads) % n;
		uint64_t idx = page * t->step / 8 + t->id;

		t->p[idx] = pattern(idx, 7);
	}
	for (k = 0; k < n; k++) {
		uint64_t idx = k * t->step / 8 + t->id;

		if (t->p[idx] != pattern(idx, 7))
			t->bad++;
	}
	return NULL;
}

/*
 * Walk our own page tables through the x86 page table dump
 * (CONFIG_PTDUMP_DEBUGFS) and check the entries that map [p, p+size):
 * all at level @level ("pte", "pmd", "pud"), PSE set for huge ones, and no
 * PWT/PCD/PAT bit, i.e. write-back like the kernel's direct map of dmem.
 */
#define PTDUMP "/sys/kernel/debug/page_tables/current_kernel"

static int ptdump_check(void *addr, uint64_t size, const char *level,
			char *why, size_t len)
{
	uint64_t start = (uintptr_t)addr, end = start + size, covered = 0;
	char line[512];
	int bad = 0;
	FILE *f = fopen(PTDUMP, "r");

	if (!f) {
		snprintf(why, len, "%s: %s", PTDUMP, strerror(errno));
		return 0;
	}
	while (fgets(line, sizeof(line), f)) {
		unsigned long long s, e;
		uint64_t lo, hi;
		char *tail;

		if (sscanf(line, "0x%llx-0x%llx", &s, &e) != 2)
			continue;
		if (e <= start || s >= end)
			continue;
		lo = s > start ? s : start;
		hi = e < end ? e : end;
		line[strcspn(line, "\n")] = 0;
		tail = line + strlen(line) - 3;
		if (strstr(line, "USR") && !strcmp(tail, level) &&
		    (!strcmp(level, "pte") || strstr(line, " PSE ")) &&
		    !strstr(line, " PWT ") && !strstr(line, " PCD ") &&
		    !strstr(line, " PAT "))
			covered += hi - lo;
		else if (!bad++)
			snprintf(why, len, "unexpected entry: %s", line);
	}
	fclose(f);
	if (!bad && covered != size)
		snprintf(why, len, "%llu of %llu bytes mapped",
			 (unsigned long long)covered, (unsigned long long)size);
	else if (!bad)
		snprintf(why, len, "%llu MiB mapped by write-back %s entries",
			 (unsigned long long)(size >> 20), level);
	return !bad && covered == size;
}

static sigjmp_buf sigbus_jmp;

static void on_sigbus(int sig)
{
	siglongjmp(sigbus_jmp, 1);
}

static int touch_faults(volatile char *p)
{
	struct sigaction sa = { .sa_handler = on_sigbus }, old;
	int got = 0;

	sigaction(SIGBUS, &sa, &old);
	if (sigsetjmp(sigbus_jmp, 1))
		got = 1;
	else
		p[0] = 1;
	sigaction(SIGBUS, &old, NULL);
	return got;
}

static int set_bind(int nid)
{
	unsigned long mask = 1UL << nid;

	return syscall(SYS_set_mempolicy, MPOL_BIND, &mask, 8 * sizeof(mask));
}

static void pin_cpu(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

static void fs_one(const char *label, const char *opt, uint64_t psize,
		   uint64_t fsize)
{
	char mnt[64], path[96], name[64], o[64];
	long long total = read_ll(SYS "total_bytes");
	long long free0 = read_ll(SYS "free_bytes");
	long long m0[3], m1[3];
	struct statfs st;
	uint64_t *p, bad;
	double t;
	long f0, f1;
	int fd, r, lvl = psize == GB ? 2 : psize == 2 * MB ? 1 : 0;

	snprintf(mnt, sizeof(mnt), "/mnt/%s", label);
	mkdir(mnt, 0755);
	snprintf(o, sizeof(o), "pagesize=%s,mode=0770,uid=12,gid=34", opt);
	r = mount("none", mnt, "dmemfs", 0, o);
	snprintf(name, sizeof(name), "%s-mount", label);
	result(r == 0, name, "mount -o %s: %s", o, r ? strerror(errno) : "ok");
	if (r)
		return;

	{
		struct stat sb;

		snprintf(name, sizeof(name), "%s-mount-options", label);
		r = stat(mnt, &sb);
		result(!r && (sb.st_mode & 07777) == 0770 && sb.st_uid == 12 &&
		       sb.st_gid == 34, name, "root mode %o uid %d gid %d",
		       sb.st_mode & 07777, sb.st_uid, sb.st_gid);
	}

	r = statfs(mnt, &st);
	snprintf(name, sizeof(name), "%s-statfs", label);
	result(!r && (uint32_t)st.f_type == DMEMFS_MAGIC &&
	       (uint64_t)st.f_bsize == psize &&
	       st.f_blocks * psize == (uint64_t)total &&
	       st.f_bfree == st.f_blocks, name,
	       "bsize %ld blocks %llu bfree %llu (total %lld)",
	       (long)st.f_bsize, (unsigned long long)st.f_blocks,
	       (unsigned long long)st.f_bfree, total);

	/* A file: pattern over the whole of it, read back. */
	snprintf(path, sizeof(path), "%s/a", mnt);
	fd = create(path, fsize);
	snprintf(name, sizeof(name), "%s-truncate", label);
	result(fd >= 0, name, "size %llu: %s", (unsigned long long)fsize,
	       fd < 0 ? strerror(errno) : "ok");
	if (fd < 0)
		goto out_umount;
	statfs(mnt, &st);
	snprintf(name, sizeof(name), "%s-statfs-charged", label);
	result(st.f_bfree == st.f_blocks - fsize / psize, name,
	       "bfree %llu after a %llu byte file",
	       (unsigned long long)st.f_bfree, (unsigned long long)fsize);

	p = map(fd, fsize);
	snprintf(name, sizeof(name), "%s-mmap", label);
	result(p != NULL, name, "%s", p ? "ok" : strerror(errno));
	if (!p)
		goto out_close;
	snprintf(name, sizeof(name), "%s-mmap-aligned", label);
	result(((uintptr_t)p & (psize - 1)) == 0, name, "address %p", p);

	mappings(m0);
	f0 = minflt();
	t = now();
	snprintf(name, sizeof(name), "%s-new-file-zero", label);
	bad = nonzero(p, fsize, 512);
	result(bad == 0, name, "%llu non-zero words of %llu checked",
	       (unsigned long long)bad, (unsigned long long)(fsize / 512));
	f1 = minflt();
	mappings(m1);
	fill(p, fsize, 1);
	bad = check(p, fsize, 1);
	snprintf(name, sizeof(name), "%s-pattern", label);
	result(bad == 0, name, "%llu bad words, %.2fs", (unsigned long long)bad,
	       now() - t);

	/* Entries of the right size: faults and the kernel's own counter. */
	snprintf(name, sizeof(name), "%s-mapping-size", label);
	result(m1[lvl] - m0[lvl] == (long long)(fsize / psize) &&
	       (lvl == 0 || m1[0] == m0[0]) &&
	       f1 - f0 <= (long)(fsize / psize) + 8, name,
	       "%llu pages of %llu KiB: %lld %s entries installed, %lld pte, %ld faults for %llu 4K pages",
	       (unsigned long long)(fsize / psize),
	       (unsigned long long)(psize >> 10), m1[lvl] - m0[lvl],
	       lvl == 2 ? "pud" : lvl == 1 ? "pmd" : "pte", m1[0] - m0[0],
	       f1 - f0, (unsigned long long)(fsize / 4096));

	{
		char why[600];
		int ok = ptdump_check(p, fsize, lvl == 2 ? "pud" :
				      lvl == 1 ? "pmd" : "pte", why, sizeof(why));

		snprintf(name, sizeof(name), "%s-page-table-walk", label);
		result(ok, name, "%s", why);
	}

	snprintf(name, sizeof(name), "%s-free-after-touch", label);
	result(read_ll(SYS "free_bytes") == free0 - (long long)fsize, name,
	       "free %lld, expected %lld", read_ll(SYS "free_bytes"),
	       free0 - (long long)fsize);

	/* The data stays with the file across unmap. */
	munmap(p, fsize);
	p = map(fd, fsize);
	bad = p ? check(p, fsize, 1) : 1;
	snprintf(name, sizeof(name), "%s-remap-keeps-data", label);
	result(bad == 0, name, "%llu bad words", (unsigned long long)bad);

	/* Truncate down to half while mapped: half comes back. */
	if (p && fsize >= 2 * psize) {
		r = ftruncate(fd, fsize / 2);
		snprintf(name, sizeof(name), "%s-truncate-down", label);
		result(!r && read_ll(SYS "free_bytes") ==
		       free0 - (long long)(fsize / 2) &&
		       check(p, fsize / 2, 1) == 0, name,
		       "free %lld, expected %lld",
		       read_ll(SYS "free_bytes"), free0 - (long long)fsize / 2);
		snprintf(name, sizeof(name), "%s-sigbus-past-eof", label);
		result(touch_faults((char *)p + fsize / 2), name,
		       "access past the new size");
	}
	if (p)
		munmap(p, fsize);

	/* Bad sizes, private mappings and offsets. */
	if (psize > 4096) {
		r = ftruncate(fd, psize + 4096);
		snprintf(name, sizeof(name), "%s-unaligned-size-einval", label);
		result(r < 0 && errno == EINVAL, name, "r=%d errno=%d", r,
		       errno);
		p = mmap(NULL, psize, PROT_READ, MAP_SHARED, fd, 4096);
		snprintf(name, sizeof(name), "%s-unaligned-offset-einval",
			 label);
		result(p == MAP_FAILED && errno == EINVAL, name, "errno=%d",
		       errno);
	}
	p = mmap(NULL, psize, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	snprintf(name, sizeof(name), "%s-private-einval", label);
	result(p == MAP_FAILED && errno == EINVAL, name, "errno=%d", errno);

	close(fd);
	unlink(path);
	snprintf(name, sizeof(name), "%s-unlink-frees", label);
	result(read_ll(SYS "free_bytes") == free0 &&
	       read_ll(SYS "uncharged_bytes") == total, name,
	       "free %lld uncharged %lld total %lld",
	       read_ll(SYS "free_bytes"), read_ll(SYS "uncharged_bytes"),
	       total);

	/* A new file on the same memory reads zeros. */
	fd = create(path, fsize);
	p = fd >= 0 ? map(fd, fsize) : NULL;
	bad = p ? nonzero(p, fsize, 512) : 1;
	snprintf(name, sizeof(name), "%s-reused-memory-zeroed", label);
	result(bad == 0, name, "%llu non-zero words", (unsigned long long)bad);
	if (p)
		munmap(p, fsize);
	if (fd >= 0)
		close(fd);
	unlink(path);

	/* ENOSPC past the reservation, exactly all of it is fine. */
	fd = create(path, 0);
	r = ftruncate(fd, (total / psize + 1) * psize);
	snprintf(name, sizeof(name), "%s-enospc", label);
	result(r < 0 && errno == ENOSPC, name, "truncate past %lld: %s", total,
	       r < 0 ? strerror(errno) : "succeeded");
	r = ftruncate(fd, total / psize * psize);
	snprintf(name, sizeof(name), "%s-all-of-it", label);
	result(r == 0, name, "truncate to %lld: %s", total / psize * psize,
	       r < 0 ? strerror(errno) : "ok");
	close(fd);
	fd = -1;
	unlink(path);
	snprintf(name, sizeof(name), "%s-stats-full", label);
	result(read_ll(SYS "free_bytes") == total &&
	       read_ll(SYS "uncharged_bytes") == total, name,
	       "free %lld uncharged %lld total %lld",
	       read_ll(SYS "free_bytes"), read_ll(SYS "uncharged_bytes"),
	       total);
out_close:
	if (fd >= 0)
		close(fd);
out_umount:
	umount(mnt);
}

static void fs_threads(void)
{
	const uint64_t fsize = 64 * MB;
	long long free0 = read_ll(SYS "free_bytes");
	struct thr t[4];
	pthread_t tid[4];
	uint64_t bad = 0;
	void *p;
	int fd, i;

	mkdir("/mnt/thr", 0755);
	if (mount("none", "/mnt/thr", "dmemfs", 0, "pagesize=2M")) {
		result(0, "threads", "mount: %s", strerror(errno));
		return;
	}
	fd = create("/mnt/thr/f", fsize);
	p = fd >= 0 ? map(fd, fsize) : NULL;
	if (!p) {
		result(0, "threads", "file: %s", strerror(errno));
		goto out;
	}
	/* 4 threads on 2 CPUs race on every 2M page and every 4K in it. */
	for (i = 0; i < 4; i++) {
		t[i] = (struct thr){ p, fsize, 4096, i, 4, 0 };
		pthread_create(&tid[i], NULL, thr_fn, &t[i]);
	}
	for (i = 0; i < 4; i++) {
		pthread_join(tid[i], NULL);
		bad += t[i].bad;
	}
	result(bad == 0 && read_ll(SYS "free_bytes") == free0 - (long long)fsize,
	       "threads-concurrent-faults",
	       "%llu bad words; free %lld, expected %lld (one page per index)",
	       (unsigned long long)bad, read_ll(SYS "free_bytes"),
	       free0 - (long long)fsize);
	munmap(p, fsize);
	close(fd);
	unlink("/mnt/thr/f");
	result(read_ll(SYS "free_bytes") == free0, "threads-freed",
	       "free %lld", read_ll(SYS "free_bytes"));
out:
	umount("/mnt/thr");
}

/* Memory comes from the node the task's policy asks for. */
static void fs_numa(void)
{
	const uint64_t fsize = 64 * MB;
	int nid;

	mkdir("/mnt/numa", 0755);
	if (mount("none", "/mnt/numa", "dmemfs", 0, "pagesize=2M")) {
		result(0, "numa", "mount: %s", strerror(errno));
		return;
	}
	for (nid = 0; nid < 2; nid++) {
		long long n0 = node_ll(nid, "free_bytes");
		pid_t pid = fork();
		int status;

		if (!pid) {
			int fd;
			void *p;

			pin_cpu(1 - nid);	/* run on the other node */
			if (set_bind(nid))
				_exit(2);
			fd = create("/mnt/numa/f", fsize);
			p = fd >= 0 ? map(fd, fsize) : NULL;
			if (!p)
				_exit(3);
			fill(p, fsize, 3);
			_exit(node_ll(nid, "free_bytes") == n0 - (long long)fsize ?
			      0 : 1);
		}
		waitpid(pid, &status, 0);
		result(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		       nid ? "numa-mempolicy-node1" : "numa-mempolicy-node0",
		       "task on cpu %d bound to node %d: exit %d", 1 - nid,
		       nid, WEXITSTATUS(status));
		unlink("/mnt/numa/f");
	}
	umount("/mnt/numa");
}

static void fs_bad_options(void)
{
	static const char * const bad[] = {
		"pagesize=3M", "pagesize=8K", "pagesize=foo", "pagesize=",
		"bogus=1", "mode=999", "uid=abc",
	};
	unsigned int i;

	mkdir("/mnt/bad", 0755);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r = mount("none", "/mnt/bad", "dmemfs", 0, bad[i]);
		char name[64];

		snprintf(name, sizeof(name), "bad-option[%s]", bad[i]);
		result(r < 0 && errno == EINVAL, name, "r=%d errno=%d", r,
		       r < 0 ? errno : 0);
		if (!r)
			umount("/mnt/bad");
	}
	if (!mount("none", "/mnt/bad", "dmemfs", 0, "pagesize=2M")) {
		int r = mount("none", "/mnt/bad", "dmemfs", MS_REMOUNT,
			      "pagesize=4K");

		result(r < 0 && errno == EINVAL, "remount-pagesize-refused",
		       "r=%d errno=%d", r, r < 0 ? errno : 0);
		umount("/mnt/bad");
	}
}

/* Unmount with a live mapping: EBUSY, then a lazy unmount is safe. */
static void fs_umount_mapped(void)
{
	long long free0 = read_ll(SYS "free_bytes");
	const uint64_t fsize = 4 * MB;
	uint64_t *p;
	int fd, r;

	mkdir("/mnt/um", 0755);
	if (mount("none", "/mnt/um", "dmemfs", 0, "pagesize=2M")) {
		result(0, "umount-mapped", "mount: %s", strerror(errno));
		return;
	}
	fd = create("/mnt/um/f", fsize);
	p = fd >= 0 ? map(fd, fsize) : NULL;
	if (fd >= 0)
		close(fd);
	if (!p) {
		result(0, "umount-mapped", "file: %s", strerror(errno));
		umount("/mnt/um");
		return;
	}
	fill(p, fsize, 5);
	r = umount("/mnt/um");
	result(r < 0 && errno == EBUSY, "umount-mapped-ebusy", "r=%d errno=%d",
	       r, r < 0 ? errno : 0);
	r = umount2("/mnt/um", MNT_DETACH);
	result(r == 0 && check(p, fsize, 5) == 0 &&
	       read_ll(SYS "free_bytes") == free0 - (long long)fsize,
	       "umount-lazy-mapping-survives", "r=%d free %lld", r,
	       read_ll(SYS "free_bytes"));
	fill(p, fsize, 6);
	munmap(p, fsize);
	result(read_ll(SYS "free_bytes") == free0 &&
	       read_ll(SYS "uncharged_bytes") == read_ll(SYS "total_bytes"),
	       "umount-lazy-last-unmap-frees", "free %lld expected %lld",
	       read_ll(SYS "free_bytes"), free0);
}

/*
 * What QEMU (and the tools around it) can do with guest RAM that is a
 * dmemfs file: each row makes the host-side call a QEMU feature makes on
 * guest RAM, once on anonymous memory (the control: the call itself works
 * here) and once on a populated 2M dmemfs mapping, and compares the
 * outcome with the documented one (kernel/README.md, "QEMU and KVM on dmemfs").
 * The mapping is VM_PFNMAP: whatever copies through it works, whatever
 * must pin its pages (get_user_pages) fails.
 */
struct call_out {
	int err;	/* 0: worked, else errno */
	int data_ok;	/* the bytes moved are the right ones */
};

/* An outcome as text: "ok" or the errno's name, for the report. */
static const char *outcome(int err)
{
	static char buf[32];

	switch (err) {
	case 0: return "ok";
	case EFAULT: return "EFAULT";
	case EIO: return "EIO";
	case EINVAL: return "EINVAL";
	case ENOMEM: return "ENOMEM";
	case EOPNOTSUPP: return "EOPNOTSUPP";
	}
	snprintf(buf, sizeof(buf), "errno %d", err);
	return buf;
}

struct compat_env {
	char *dm;	/* 2M of dmemfs, filled with pattern seed 7 */
	char *anon;	/* 2M of anonymous memory, filled the same way */
	int dfd;	/* the dmemfs file */
	int src;	/* a tmpfs file with pattern seed 9 */
	int blk;	/* a loop block device over it, O_DIRECT */
};

#define CSZ (2 * MB)

static struct call_out c_pread_tmpfs(struct compat_env *e, char *buf)
{
	ssize_t n = pread(e->src, buf, CSZ, 0);

	return (struct call_out){ n < 0 ? errno : 0,
		n == (ssize_t)CSZ && !check((uint64_t *)buf, CSZ, 9) };
}

static struct call_out c_pwrite_tmpfs(struct compat_env *e, char *buf)
{
	char *back = malloc(CSZ);
	ssize_t n = pwrite(e->src, buf, CSZ, CSZ);
	int ok = back && pread(e->src, back, CSZ, CSZ) == (ssize_t)CSZ &&
		 !memcmp(back, buf, CSZ);
	int err = n < 0 ? errno : 0;

	free(back);
	return (struct call_out){ err, n == (ssize_t)CSZ && ok };
}

static struct call_out c_pread_direct(struct compat_env *e, char *buf)
{
	ssize_t n = pread(e->blk, buf, CSZ, 0);

	return (struct call_out){ n < 0 ? errno : 0,
		n == (ssize_t)CSZ && !check((uint64_t *)buf, CSZ, 9) };
}

static struct call_out c_uring_register(struct compat_env *e, char *buf)
{
	struct io_uring_params prm = { 0 };
	struct iovec iov = { buf, CSZ };
	int ring = syscall(__NR_io_uring_setup, 4, &prm);
	int r, err;

	if (ring < 0)
		return (struct call_out){ errno, 0 };
	r = syscall(__NR_io_uring_register, ring, IORING_REGISTER_BUFFERS,
		    &iov, 1);
	err = r < 0 ? errno : 0;
	close(ring);
	return (struct call_out){ err, 1 };
}

static struct call_out c_populate(struct compat_env *e, char *buf)
{
	int r = madvise(buf, CSZ, 23 /* MADV_POPULATE_WRITE */);

	return (struct call_out){ r < 0 ? errno : 0,
				  !check((uint64_t *)buf, CSZ, 7) };
}

static struct call_out c_proc_mem(struct compat_env *e, char *buf)
{
	uint64_t word = 0;
	int fd = open("/proc/self/mem", O_RDONLY);
	ssize_t n = fd < 0 ? -1 : pread(fd, &word, 8, (off_t)(uintptr_t)buf);
	int err = n < 0 ? errno : 0;

	if (fd >= 0)
		close(fd);
	return (struct call_out){ err, n == 8 && word == *(uint64_t *)buf };
}

static struct call_out c_proc_mem_write(struct compat_env *e, char *buf)
{
	uint64_t word = 0x5a5a5a5a5a5a5a5aULL, back = *(uint64_t *)(buf + 8);
	int fd = open("/proc/self/mem", O_RDWR);
	ssize_t n = fd < 0 ? -1 : pwrite(fd, &word, 8, (off_t)(uintptr_t)buf);
	int err = n < 0 ? errno : 0;
	int ok = n == 8 && *(uint64_t *)buf == word &&
		 *(uint64_t *)(buf + 8) == back;

	if (fd >= 0)
		close(fd);
	return (struct call_out){ err, ok };
}

static struct call_out c_process_vm_readv(struct compat_env *e, char *buf)
{
	uint64_t word = 0;
	struct iovec local = { &word, 8 }, remote = { buf, 8 };
	ssize_t n = process_vm_readv(getpid(), &local, 1, &remote, 1, 0);

	return (struct call_out){ n < 0 ? errno : 0,
				  n == 8 && word == *(uint64_t *)buf };
}

static struct call_out c_vmsplice(struct compat_env *e, char *buf)
{
	struct iovec iov = { buf, 4096 };
	int pfd[2], err;
	ssize_t n;

	if (pipe(pfd))
		return (struct call_out){ errno, 0 };
	n = vmsplice(pfd[1], &iov, 1, 0);
	err = n < 0 ? errno : 0;
	close(pfd[0]);
	close(pfd[1]);
	return (struct call_out){ err, n == 4096 };
}

static struct call_out c_mlock(struct compat_env *e, char *buf)
{
	int r = mlock(buf, CSZ);
	int err = r < 0 ? errno : 0;

	munlock(buf, CSZ);
	return (struct call_out){ err, !check((uint64_t *)buf, CSZ, 7) };
}

static struct call_out c_dontneed(struct compat_env *e, char *buf)
{
	int r = madvise(buf, CSZ, MADV_DONTNEED);

	/* anonymous memory reads zeros after it, a shared file its data */
	return (struct call_out){ r < 0 ? errno : 0, buf == e->anon ?
		!nonzero((uint64_t *)buf, CSZ, 512) :
		!check((uint64_t *)buf, CSZ, 7) };
}

static struct call_out c_punch_hole(struct compat_env *e, char *buf)
{
	int fd = buf == e->anon ? e->src : e->dfd;
	int r = fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			  buf == e->anon ? 3 * CSZ : 0, CSZ);

	return (struct call_out){ r < 0 ? errno : 0, 1 };
}

struct compat_row {
	const char *name;	/* compat-NAME */
	const char *feature;	/* the QEMU feature that makes this call */
	const char *call;
	struct call_out (*fn)(struct compat_env *e, char *buf);
	int want;		/* documented outcome on dmemfs: 0 or errno */
};

static const struct compat_row compat_rows[] = {
	{ "buffered-read-into", "virtio-blk cache=writeback, aio=threads or io_uring; migration from a file",
	  "pread() of a tmpfs file into guest RAM", c_pread_tmpfs, 0 },
	{ "buffered-write-from", "virtio-blk writes, vhost-net (copy), migration to a file",
	  "pwrite() of guest RAM to a tmpfs file", c_pwrite_tmpfs, 0 },
	{ "odirect-read-into", "virtio-blk cache=none / directsync, aio=native",
	  "O_DIRECT pread() of a block device into guest RAM", c_pread_direct, EFAULT },
	{ "io-uring-register-buffers", "io_uring fixed buffers (SPDK, io_uring with registered RAM)",
	  "IORING_REGISTER_BUFFERS over guest RAM", c_uring_register, EFAULT },
	{ "madv-populate-write", "memory-backend prealloc=on (QEMU then touches every page itself)",
	  "madvise(MADV_POPULATE_WRITE)", c_populate, EINVAL },
	{ "proc-pid-mem", "gdb on the QEMU process, gdbstub-less debugging",
	  "pread() of /proc/PID/mem at guest RAM", c_proc_mem, 0 },
	{ "proc-pid-mem-write", "gdb writing guest RAM (breakpoints, variables)",
	  "pwrite() of /proc/PID/mem at guest RAM", c_proc_mem_write, 0 },
	{ "process-vm-readv", "debuggers, CRIU",
	  "process_vm_readv() of guest RAM", c_process_vm_readv, EFAULT },
	{ "vmsplice", "vhost-net zerocopy, vhost-scsi, RDMA: anything that pins guest RAM",
	  "vmsplice() of guest RAM into a pipe", c_vmsplice, EFAULT },
	{ "mlock", "-overcommit mem-lock=on",
	  "mlock() of guest RAM", c_mlock, 0 },
	{ "madv-dontneed", "virtio-balloon inflate, free page reporting (no memory goes back)",
	  "madvise(MADV_DONTNEED)", c_dontneed, EINVAL },
	{ "punch-hole", "virtio-balloon / free page reporting discard on a shared file",
	  "fallocate(PUNCH_HOLE) of the RAM file", c_punch_hole, EOPNOTSUPP },
};

static int compat_setup(struct compat_env *e, char *loopdev, size_t len)
{
	char *tmp = malloc(4 * CSZ);
	int ctl, n, lfd;

	mkdir("/tmp", 01777);
	e->src = open("/tmp/compat-src", O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (!tmp || e->src < 0)
		return -1;
	fill((uint64_t *)tmp, 4 * CSZ, 9);
	if (pwrite(e->src, tmp, 4 * CSZ, 0) != (ssize_t)(4 * CSZ))
		return -1;
	free(tmp);
	ctl = open("/dev/loop-control", O_RDWR);
	n = ctl < 0 ? -1 : ioctl(ctl, LOOP_CTL_GET_FREE);
	if (ctl >= 0)
		close(ctl);
	if (n < 0)
		return -1;
	snprintf(loopdev, len, "/dev/loop%d", n);
	lfd = open(loopdev, O_RDWR);
	if (lfd < 0 || ioctl(lfd, LOOP_SET_FD, e->src) < 0)
		return -1;
	close(lfd);
	e->blk = open(loopdev, O_RDONLY | O_DIRECT);
	if (e->blk < 0)
		return -1;
	e->anon = mmap(NULL, CSZ, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	e->dfd = create("/mnt/compat/ram", CSZ);
	e->dm = e->dfd >= 0 ? map(e->dfd, CSZ) : NULL;
	if (e->anon == MAP_FAILED || !e->dm)
		return -1;
	return 0;
}

static void fs_qemu_calls(void)
{
	struct compat_env e = { .dfd = -1, .src = -1, .blk = -1 };
	char loopdev[32] = "";
	unsigned int i;

	mkdir("/mnt/compat", 0755);
	if (mount("none", "/mnt/compat", "dmemfs", 0, "pagesize=2M")) {
		result(0, "compat", "mount: %s", strerror(errno));
		return;
	}
	if (compat_setup(&e, loopdev, sizeof(loopdev))) {
		result(0, "compat-setup", "%s (loop %s)", strerror(errno),
		       loopdev);
		goto out;
	}
	for (i = 0; i < sizeof(compat_rows) / sizeof(compat_rows[0]); i++) {
		const struct compat_row *row = &compat_rows[i];
		struct call_out a, d;
		char name[64];

		fill((uint64_t *)e.anon, CSZ, 7);
		fill((uint64_t *)e.dm, CSZ, 7);
		a = row->fn(&e, e.anon);
		d = row->fn(&e, e.dm);
		snprintf(name, sizeof(name), "compat-%s", row->name);
		/* the control must work, or the row proves nothing */
		result(!a.err && a.data_ok && d.err == row->want &&
		       (d.err || d.data_ok), name,
		       "%s: %s on dmemfs -> %s%s (documented: %s; on anonymous memory -> %s%s)",
		       row->feature, row->call, outcome(d.err),
		       !d.err && !d.data_ok ? ", wrong data" : "",
		       outcome(row->want), outcome(a.err),
		       !a.err && !a.data_ok ? ", wrong data" : "");
	}
out:
	if (e.dm)
		munmap(e.dm, CSZ);
	if (e.anon && e.anon != MAP_FAILED)
		munmap(e.anon, CSZ);
	if (e.dfd >= 0)
		close(e.dfd);
	if (e.blk >= 0)
		close(e.blk);
	if (loopdev[0]) {
		int lfd = open(loopdev, O_RDWR);

		if (lfd >= 0) {
			ioctl(lfd, LOOP_CLR_FD, 0);
			close(lfd);
		}
	}
	if (e.src >= 0)
		close(e.src);
	unlink("/tmp/compat-src");
	unlink("/mnt/compat/ram");
	umount("/mnt/compat");
}

static int cmd_fs(void)
{
	long long total = read_ll(SYS "total_bytes");

	result(total > 0, "fs-have-dmem", "total_bytes=%lld", total);
	if (total <= 0)
		return 0;
	fs_one("4k", "4K", 4 * KB, 32 * MB);
	fs_one("2m", "2M", 2 * MB, 256 * MB);
	fs_one("1g", "1G", GB, GB);
	fs_threads();
	fs_numa();
	fs_bad_options();
	fs_umount_mapped();
	fs_qemu_calls();
	return 0;
}

/* ------------------------------------------------------------------ */
/* KVM guests on dmemfs                                               */

/*
 * The guest: 32-bit flat protected mode, no paging, loaded at GPA 0.
 * From EBX to ECX in steps of ESI it ORs what it finds into EDX (memory
 * it is the first to read must be zero), then writes EAX ^ address; at the
 * end it stores EDX at GPA 0x800 and halts.
 */
static const unsigned char kvm_guest_code[] = {
	0x8b, 0x3b,			/* 0: mov edi, [ebx]   */
	0x09, 0xfa,			/*    or edx, edi      */
	0x89, 0xc7,			/*    mov edi, eax     */
	0x31, 0xdf,			/*    xor edi, ebx     */
	0x89, 0x3b,			/*    mov [ebx], edi   */
	0x01, 0xf3,			/*    add ebx, esi     */
	0x39, 0xcb,			/*    cmp ebx, ecx     */
	0x72, 0xf0,			/*    jb 0             */
	0x89, 0x15, 0x00, 0x08, 0x00, 0x00,	/* mov [0x800], edx */
	0xf4,				/*    hlt              */
};

#define KVM_GUEST_DATA 4096	/* the guest's pattern starts here */
#define KVM_GUEST_SEEN 0x800	/* where it leaves what it read */

struct kvm_guest_out {
	int exit_reason;	/* KVM_EXIT_HLT when it ran to its end */
	uint32_t seen;		/* OR of what it read before writing */
	uint64_t bad;		/* pattern words the host did not find */
	long long pages[3];	/* KVM's pages_4k, pages_2m, pages_1g */
	const char *err;
};

static long long kvm_vm_stat(int vmfd, const char *stat)
{
	char path[128];

	snprintf(path, sizeof(path), "/sys/kernel/debug/kvm/%d-%d/%s",
		 getpid(), vmfd, stat);
	return read_ll(path);
}

/* Run one guest over a new file of fsize bytes on a dmemfs mount. */
static struct kvm_guest_out kvm_guest(int kvm, const char *path,
				      uint64_t fsize, uint32_t token)
{
	struct kvm_guest_out o = { .exit_reason = -1 };
	struct kvm_userspace_memory_region reg = { 0 };
	struct kvm_segment seg = { .limit = 0xffffffff, .present = 1,
				   .s = 1, .db = 1, .g = 1 };
	struct kvm_sregs sregs;
	struct kvm_regs regs = { 0 };
	struct kvm_run *run = MAP_FAILED;
	int fd = -1, vm = -1, vcpu = -1, runsz;
	uint8_t *p = NULL;
	uint64_t a;

	fd = create(path, fsize);
	p = fd >= 0 ? map(fd, fsize) : NULL;
	if (!p) {
		o.err = "file";
		goto out;
	}
	memcpy(p, kvm_guest_code, sizeof(kvm_guest_code));
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	reg.memory_size = fsize;
	reg.userspace_addr = (uintptr_t)p;
	if (vm < 0 || ioctl(vm, KVM_SET_USER_MEMORY_REGION, &reg) < 0) {
		o.err = "KVM_CREATE_VM / KVM_SET_USER_MEMORY_REGION";
		goto out;
	}
	vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	runsz = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (vcpu >= 0 && runsz > 0)
		run = mmap(NULL, runsz, PROT_READ | PROT_WRITE, MAP_SHARED,
			   vcpu, 0);
	if (run == MAP_FAILED || ioctl(vcpu, KVM_GET_SREGS, &sregs) < 0) {
		o.err = "KVM_CREATE_VCPU";
		goto out;
	}
	seg.type = 11;		/* code: execute, read, accessed */
	seg.selector = 8;
	sregs.cs = seg;
	seg.type = 3;		/* data: read, write, accessed */
	seg.selector = 16;
	sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = seg;
	sregs.cr0 |= 1;		/* protected mode, paging off */
	regs.rflags = 2;
	regs.rax = token;
	regs.rbx = KVM_GUEST_DATA;
	regs.rcx = fsize;
	regs.rsi = 4096;
	if (ioctl(vcpu, KVM_SET_SREGS, &sregs) < 0 ||
	    ioctl(vcpu, KVM_SET_REGS, &regs) < 0) {
		o.err = "KVM_SET_SREGS / KVM_SET_REGS";
		goto out;
	}
	do {
		if (ioctl(vcpu, KVM_RUN, 0) < 0 && errno != EINTR) {
			o.err = "KVM_RUN";
			goto out;
		}
	} while (run->exit_reason == KVM_EXIT_INTR);
	o.exit_reason = run->exit_reason;
	/* KVM's mappings of this guest's memory, while it exists */
	o.pages[0] = kvm_vm_stat(vm, "pages_4k");
	o.pages[1] = kvm_vm_stat(vm, "pages_2m");
	o.pages[2] = kvm_vm_stat(vm, "pages_1g");
	memcpy(&o.seen, p + KVM_GUEST_SEEN, sizeof(o.seen));
	for (a = KVM_GUEST_DATA; a < fsize; a += 4096) {
		uint32_t w;

		memcpy(&w, p + a, sizeof(w));
		if (w != (token ^ (uint32_t)a))
			o.bad++;
	}
out:
	if (run != MAP_FAILED)
		munmap(run, runsz);
	if (vcpu >= 0)
		close(vcpu);
	if (vm >= 0)
		close(vm);
	if (p)
		munmap(p, fsize);
	if (fd >= 0)
		close(fd);
	unlink(path);
	return o;
}

static void kvm_one(int kvm, const char *label, const char *opt,
		    uint64_t psize, uint64_t fsize)
{
	char mnt[64], path[96], name[64], o[32];
	long long free0, memmap0 = vmstat("nr_memmap_pages");
	int lvl = psize == GB ? 2 : 1, i;

	snprintf(mnt, sizeof(mnt), "/mnt/kvm%s", label);
	mkdir(mnt, 0755);
	snprintf(o, sizeof(o), "pagesize=%s", opt);
	if (mount("none", mnt, "dmemfs", 0, o)) {
		snprintf(name, sizeof(name), "kvm-%s-mount", label);
		result(0, name, "mount -o %s: %s", o, strerror(errno));
		return;
	}
	snprintf(path, sizeof(path), "%s/guest", mnt);
	free0 = read_ll(SYS "free_bytes");
	/* Three guests in a row, each on memory the one before freed. */
	for (i = 0; i < 3; i++) {
		uint32_t token = 0x5eed0000u + i * 0x1111u + (uint32_t)psize;
		double t = now();
		struct kvm_guest_out g = kvm_guest(kvm, path, fsize, token);

		snprintf(name, sizeof(name), "kvm-%s-guest%d-ran", label, i + 1);
		result(!g.err && g.exit_reason == KVM_EXIT_HLT && g.bad == 0,
		       name,
		       "%s; exit %d; %llu of %llu pattern words missing (token %#x), %.2fs",
		       g.err ? g.err : "ok", g.exit_reason,
		       (unsigned long long)g.bad,
		       (unsigned long long)((fsize - KVM_GUEST_DATA) / 4096),
		       token, now() - t);
		snprintf(name, sizeof(name), "kvm-%s-guest%d-%s-entries", label,
			 i + 1, lvl == 2 ? "1g" : "2m");
		result(g.pages[lvl] == (long long)(fsize / psize) &&
		       g.pages[0] == 0 && (lvl == 1 || g.pages[1] == 0), name,
		       "KVM mapped %llu MiB of guest RAM as pages_4k %lld pages_2m %lld pages_1g %lld",
		       (unsigned long long)(fsize >> 20), g.pages[0],
		       g.pages[1], g.pages[2]);
		snprintf(name, sizeof(name), "kvm-%s-guest%d-saw-zeros", label,
			 i + 1);
		result(!g.err && g.seen == 0, name,
		       "OR of every word the guest read before writing: %#x",
		       g.seen);
	}
	snprintf(name, sizeof(name), "kvm-%s-pool-back", label);
	result(read_ll(SYS "free_bytes") == free0, name,
	       "free %lld after three guests, %lld before",
	       read_ll(SYS "free_bytes"), free0);
	snprintf(name, sizeof(name), "kvm-%s-no-struct-page", label);
	result(vmstat("nr_memmap_pages") == memmap0, name,
	       "nr_memmap_pages %lld, %lld before the guests",
	       vmstat("nr_memmap_pages"), memmap0);
	umount(mnt);
}

static int cmd_kvm(void)
{
	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	int api = kvm < 0 ? -1 : ioctl(kvm, KVM_GET_API_VERSION, 0);

	result(kvm >= 0 && api == KVM_API_VERSION, "kvm-dev",
	       "/dev/kvm: %s, API %d", kvm < 0 ? strerror(errno) : "open",
	       api);
	if (kvm < 0 || api != KVM_API_VERSION)
		return 0;
	kvm_one(kvm, "2m", "2M", 2 * MB, 64 * MB);
	kvm_one(kvm, "1g", "1G", GB, GB);
	close(kvm);
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 2)
		return 2;
	if (!strcmp(argv[1], "info"))
		return cmd_info();
	if (!strcmp(argv[1], "nodmem"))
		return cmd_nodmem();
	if (!strcmp(argv[1], "fs"))
		return cmd_fs();
	if (!strcmp(argv[1], "kvm"))
		return cmd_kvm();
	return 2;
}
