// SPDX-License-Identifier: GPL-2.0
/*
 * dmemtest: in-guest checks for dmem= and dmemfs, run from the test
 * initramfs.  Prints "PASS name: ..." / "FAIL name: ..." lines that the
 * host runner counts, and "INFO key value" lines that it checks against
 * what the boot parameters imply.
 *
 *   dmemtest info     print memmap, dmem and iomem figures
 *   dmemtest nodmem   checks for a kernel booted without dmem=
 *   dmemtest fs       dmemfs checks for every page size
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
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/types.h>
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
	return 2;
}
