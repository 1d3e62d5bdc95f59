/* benchtool — the timing and collection helper of hull's benchmarks.
 *
 * Built by bench/run (never by the project's Makefile); not part of hull.
 *
 *   benchtool time [-n RUNS] [-w WARMUP] [-l LABEL] [-o OUT.tsv] [-e ERRLOG]
 *                  [-T TIMEOUT_S] -- PHASE...
 *
 *     Runs the phases RUNS times (after WARMUP untimed iterations) and appends
 *     one line per timed step to OUT.tsv: "LABEL<TAB>STEP<TAB>ITER<TAB>NS".
 *     Per iteration also "LABEL @iter ITER NS" (sum of the timed steps), and
 *     once "LABEL @wall - NS" (wall time of all timed iterations, untimed
 *     steps included). Phases (each runs its ARGV directly, no shell):
 *
 *       @setup ARGV...        once, before the first iteration, untimed
 *       @step NAME ARGV...    every iteration, timed as NAME
 *       @do ARGV...           every iteration, untimed
 *       @wait-stopped ARGV... every iteration, untimed: run ARGV (a `state`
 *                             command) until its output says "stopped",
 *                             reaping orphaned processes meanwhile
 *       @teardown ARGV...     once at the end (also after a failure), untimed,
 *                             failures ignored
 *
 *     "{i}" in an argument becomes the iteration tag: 1..RUNS, w1..wWARMUP,
 *     "s" in @setup/@teardown. The tool is a child subreaper: a container
 *     process whose runtime exits (create, start) is re-parented to it and
 *     reaped, as an engine's monitor (conmon, containerd-shim) would. Steps
 *     get stdin and stdout on /dev/null, stderr in ERRLOG (the last step's
 *     stderr is printed when a step fails). Timing: CLOCK_MONOTONIC around
 *     posix_spawn + wait; the tool's own cost per step is a few microseconds.
 *
 *   benchtool cgwatch DIR OUTDIR
 *
 *     Copies every file closed after writing in DIR to OUTDIR/NAME@SEQ, until
 *     SIGTERM (then a last scan). Callgrind names its dumps by pid and part;
 *     a process that execs a traced image restarts the numbering and would
 *     overwrite its earlier parts — this keeps every version.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>

extern char **environ;

enum kind { P_SETUP, P_STEP, P_DO, P_WAIT_STOPPED, P_TEARDOWN };

struct phase {
	enum kind kind;
	const char *name;
	char **argv; /* NULL-terminated, templates */
	int argc;
};

static const char *label = "bench";
static const char *errlog = "/dev/null";
static int timeout_s = 60;
static int devnull = -1;

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void die(const char *fmt, const char *a)
{
	fprintf(stderr, "benchtool: ");
	fprintf(stderr, fmt, a);
	fprintf(stderr, "\n");
	exit(2);
}

/* "{i}" -> tag, in a fresh string */
static char *subst(const char *tmpl, const char *tag)
{
	size_t n = strlen(tmpl) + 1, tl = strlen(tag);
	for (const char *p = tmpl; (p = strstr(p, "{i}")); p += 3)
		n += tl;
	char *out = malloc(n), *o = out;
	if (!out)
		die("%s", "out of memory");
	for (const char *p = tmpl; *p;) {
		if (!strncmp(p, "{i}", 3)) {
			memcpy(o, tag, tl);
			o += tl;
			p += 3;
		} else {
			*o++ = *p++;
		}
	}
	*o = 0;
	return out;
}

static void reap_orphans_nohang(void)
{
	while (waitpid(-1, NULL, WNOHANG | __WALL) > 0)
		;
}

/* Spawn argv (templated) with stdout to out_fd (or /dev/null), stderr to the
 * error log; wait up to timeout_s. Returns the wait status, or -1 if it could
 * not be run or timed out. *ns gets the elapsed time. */
static int run_argv(char **tmpl, int argc, const char *tag, int out_fd, uint64_t *ns)
{
	char **argv = calloc((size_t)argc + 1, sizeof(char *));
	for (int i = 0; i < argc; i++)
		argv[i] = subst(tmpl[i], tag);
	int err_fd = open(errlog, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (err_fd < 0)
		die("cannot open error log %s", errlog);
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, devnull, 0);
	posix_spawn_file_actions_adddup2(&fa, out_fd >= 0 ? out_fd : devnull, 1);
	posix_spawn_file_actions_adddup2(&fa, err_fd, 2);
	posix_spawnattr_t at;
	posix_spawnattr_init(&at);
	sigset_t none;
	sigemptyset(&none);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK);

	pid_t pid;
	uint64_t t0 = now_ns();
	int rc = posix_spawnp(&pid, argv[0], &fa, &at, argv, environ);
	int status = -1;
	if (rc != 0) {
		dprintf(err_fd, "benchtool: cannot run %s: %s\n", argv[0], strerror(rc));
	} else {
		int pfd = (int)syscall(SYS_pidfd_open, pid, 0);
		if (pfd >= 0) {
			struct pollfd p = { .fd = pfd, .events = POLLIN };
			int r;
			do
				r = poll(&p, 1, timeout_s * 1000);
			while (r < 0 && errno == EINTR);
			if (r == 0) {
				dprintf(err_fd, "benchtool: %s timed out after %d s, killed\n", argv[0], timeout_s);
				kill(pid, SIGKILL);
			}
			close(pfd);
		}
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		uint64_t t1 = now_ns();
		if (ns)
			*ns = t1 - t0;
	}
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	close(err_fd);
	for (int i = 0; i < argc; i++)
		free(argv[i]);
	free(argv);
	return status;
}

static void show_failure(const char *what, char **tmpl, int argc, const char *tag, int status)
{
	fprintf(stderr, "benchtool: [%s] %s failed (", label, what);
	if (status < 0)
		fprintf(stderr, "not run or timed out");
	else if (WIFEXITED(status))
		fprintf(stderr, "exit %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		fprintf(stderr, "signal %d", WTERMSIG(status));
	fprintf(stderr, "):");
	for (int i = 0; i < argc; i++) {
		char *a = subst(tmpl[i], tag);
		fprintf(stderr, " %s", a);
		free(a);
	}
	fprintf(stderr, "\n");
	FILE *f = fopen(errlog, "r");
	if (f) {
		char line[1024];
		int n = 0;
		while (fgets(line, sizeof line, f) && n++ < 20)
			fprintf(stderr, "  | %s", line);
		fclose(f);
	}
}

static int wait_stopped(struct phase *ph, const char *tag)
{
	char path[] = "/tmp/benchtool-state.XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0)
		die("%s", "mkstemp failed");
	unlink(path);
	uint64_t deadline = now_ns() + (uint64_t)timeout_s * 1000000000u;
	int status = -1;
	for (;;) {
		reap_orphans_nohang();
		if (ftruncate(fd, 0) < 0 || lseek(fd, 0, SEEK_SET) < 0)
			die("%s", "ftruncate failed");
		status = run_argv(ph->argv, ph->argc, tag, fd, NULL);
		char buf[8192];
		ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
		buf[n > 0 ? n : 0] = 0;
		if (status == 0 && strstr(buf, "\"stopped\"")) {
			close(fd);
			reap_orphans_nohang();
			return 0;
		}
		if (status != 0 || now_ns() > deadline)
			break;
		struct timespec ts = { 0, 1000000 };
		nanosleep(&ts, NULL);
	}
	close(fd);
	show_failure(status == 0 ? "wait-stopped (timed out)" : "wait-stopped", ph->argv, ph->argc, tag, status);
	return -1;
}

static void reap_all(int seconds)
{
	uint64_t deadline = now_ns() + (uint64_t)seconds * 1000000000u;
	for (;;) {
		pid_t p = waitpid(-1, NULL, WNOHANG | __WALL);
		if (p < 0 && errno == ECHILD)
			return;
		if (p > 0)
			continue;
		if (now_ns() > deadline) {
			fprintf(stderr, "benchtool: [%s] processes still running after teardown\n", label);
			return;
		}
		struct timespec ts = { 0, 2000000 };
		nanosleep(&ts, NULL);
	}
}

static void teardown(struct phase *ph, int nph)
{
	for (int i = 0; i < nph; i++)
		if (ph[i].kind == P_TEARDOWN)
			run_argv(ph[i].argv, ph[i].argc, "s", -1, NULL);
	reap_all(10);
}

static int cmd_time(int argc, char **argv)
{
	int runs = 10, warmup = 1, opt;
	const char *out = NULL;
	while ((opt = getopt(argc, argv, "+n:w:l:o:e:T:")) != -1) {
		switch (opt) {
		case 'n': runs = atoi(optarg); break;
		case 'w': warmup = atoi(optarg); break;
		case 'l': label = optarg; break;
		case 'o': out = optarg; break;
		case 'e': errlog = optarg; break;
		case 'T': timeout_s = atoi(optarg); break;
		default: return 2;
		}
	}
	if (optind < argc && !strcmp(argv[optind], "--"))
		optind++;

	struct phase *ph = calloc((size_t)argc, sizeof *ph);
	int nph = 0;
	for (int i = optind; i < argc;) {
		struct phase *p = &ph[nph++];
		const char *k = argv[i++];
		if (!strcmp(k, "@setup"))
			p->kind = P_SETUP;
		else if (!strcmp(k, "@step"))
			p->kind = P_STEP;
		else if (!strcmp(k, "@do"))
			p->kind = P_DO;
		else if (!strcmp(k, "@wait-stopped"))
			p->kind = P_WAIT_STOPPED;
		else if (!strcmp(k, "@teardown"))
			p->kind = P_TEARDOWN;
		else
			die("unknown phase %s", k);
		if (p->kind == P_STEP) {
			if (i >= argc)
				die("%s", "@step needs a name");
			p->name = argv[i++];
		}
		p->argv = &argv[i];
		while (i < argc && argv[i][0] != '@')
			i++, p->argc++;
		if (p->argc == 0)
			die("phase %s has no command", k);
	}
	if (nph == 0)
		die("%s", "nothing to run");

	FILE *o = out ? fopen(out, "a") : stdout;
	if (!o)
		die("cannot open %s", out);
	devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
		die("%s", "cannot become a child subreaper");
	signal(SIGPIPE, SIG_IGN);

	for (int i = 0; i < nph; i++) {
		if (ph[i].kind != P_SETUP)
			continue;
		int st = run_argv(ph[i].argv, ph[i].argc, "s", -1, NULL);
		if (st != 0) {
			show_failure("setup", ph[i].argv, ph[i].argc, "s", st);
			teardown(ph, nph);
			return 1;
		}
	}

	uint64_t wall0 = 0;
	for (int it = -warmup; it < runs; it++) {
		char tag[32];
		if (it < 0)
			snprintf(tag, sizeof tag, "w%d", it + warmup + 1);
		else
			snprintf(tag, sizeof tag, "%d", it + 1);
		if (it == 0)
			wall0 = now_ns();
		uint64_t sum = 0;
		for (int i = 0; i < nph; i++) {
			struct phase *p = &ph[i];
			if (p->kind == P_SETUP || p->kind == P_TEARDOWN)
				continue;
			if (p->kind == P_WAIT_STOPPED) {
				if (wait_stopped(p, tag) < 0) {
					teardown(ph, nph);
					return 1;
				}
				continue;
			}
			uint64_t ns = 0;
			int st = run_argv(p->argv, p->argc, tag, -1, &ns);
			if (st != 0) {
				show_failure(p->kind == P_STEP ? p->name : "untimed step", p->argv, p->argc, tag, st);
				teardown(ph, nph);
				return 1;
			}
			if (p->kind == P_STEP) {
				sum += ns;
				if (it >= 0)
					fprintf(o, "%s\t%s\t%s\t%llu\n", label, p->name, tag, (unsigned long long)ns);
			}
			reap_orphans_nohang();
		}
		if (it >= 0)
			fprintf(o, "%s\t@iter\t%s\t%llu\n", label, tag, (unsigned long long)sum);
	}
	if (runs > 0)
		fprintf(o, "%s\t@wall\t-\t%llu\n", label, (unsigned long long)(now_ns() - wall0));
	fflush(o);
	teardown(ph, nph);
	return 0;
}

/* ---- cgwatch ---- */

static volatile sig_atomic_t stop;
static void on_term(int sig) { (void)sig; stop = 1; }

static unsigned seq;

static void copy_out(const char *dir, const char *name, const char *outdir)
{
	char src[PATH_MAX], dst[PATH_MAX];
	snprintf(src, sizeof src, "%s/%s", dir, name);
	snprintf(dst, sizeof dst, "%s/%s@%04u", outdir, name, ++seq);
	int in = open(src, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return;
	int out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (out >= 0) {
		char buf[65536];
		ssize_t n;
		while ((n = read(in, buf, sizeof buf)) > 0)
			if (write(out, buf, (size_t)n) != n)
				break;
		close(out);
	}
	close(in);
}

static int cmd_cgwatch(int argc, char **argv)
{
	if (argc != 3)
		die("%s", "usage: benchtool cgwatch DIR OUTDIR");
	const char *dir = argv[1], *outdir = argv[2];
	struct sigaction sa = { .sa_handler = on_term };
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	int in = inotify_init1(IN_CLOEXEC);
	if (in < 0 || inotify_add_watch(in, dir, IN_CLOSE_WRITE) < 0)
		die("cannot watch %s", dir);
	/* ready: the caller waits for this file */
	char ready[PATH_MAX];
	snprintf(ready, sizeof ready, "%s/.ready", outdir);
	close(open(ready, O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
	char buf[65536] __attribute__((aligned(__alignof__(struct inotify_event))));
	while (!stop) {
		struct pollfd p = { .fd = in, .events = POLLIN };
		if (poll(&p, 1, 200) <= 0)
			continue;
		ssize_t n = read(in, buf, sizeof buf);
		for (ssize_t off = 0; off < n;) {
			struct inotify_event *ev = (struct inotify_event *)(buf + off);
			if (ev->len && !(ev->mask & IN_ISDIR))
				copy_out(dir, ev->name, outdir);
			off += (ssize_t)sizeof *ev + ev->len;
		}
	}
	/* last scan: anything not seen yet (should be nothing) */
	DIR *d = opendir(dir);
	if (d) {
		struct dirent *e;
		while ((e = readdir(d))) {
			if (e->d_name[0] == '.')
				continue;
			char probe[PATH_MAX];
			int seen = 0;
			DIR *o = opendir(outdir);
			struct dirent *f;
			size_t l = strlen(e->d_name);
			snprintf(probe, sizeof probe, "%s@", e->d_name);
			while (o && (f = readdir(o)))
				if (!strncmp(f->d_name, probe, l + 1))
					seen = 1;
			if (o)
				closedir(o);
			if (!seen)
				copy_out(dir, e->d_name, outdir);
		}
		closedir(d);
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "time"))
		return cmd_time(argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "cgwatch"))
		return cmd_cgwatch(argc - 1, argv + 1);
	fprintf(stderr, "usage: benchtool time [-n RUNS] [-w WARMUP] [-l LABEL] [-o OUT] [-e ERRLOG] [-T S] -- PHASE...\n"
			"       benchtool cgwatch DIR OUTDIR\n");
	return 2;
}
