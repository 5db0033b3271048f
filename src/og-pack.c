/* og-pack: add records to a store, or repair one. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "og.h"

static const char usage_text[] =
    "usage: og-pack [-q] [-c SECONDS] [-j THREADS] STORE [FILE...]\n"
    "       og-pack -R STORE [KEY...]\n"
    "Add records (KEY TAB TIME TAB VALUE) from FILEs or stdin to STORE.\n"
    "  -c SECONDS  a stream: commit what was read at least every SECONDS\n"
    "  -j THREADS  encode chunks on THREADS threads (default: one a CPU)\n"
    "  -R          repair STORE: keep every whole chunk, drop the rest\n"
    "  -q          quiet: no progress line on a terminal\n"
    "  -h  this help    -V  version\n";

#define STREAM_BUFFER 65536
#define STREAM_LINE_MAX (1 << 20)
#define STREAM_BATCH_MAX (1 << 20)	/* records: memory stays bounded */

#define THREADS_MAX 64

static struct og_pack pack;
static uintmax_t total;
static int progress, threads;

/* og_die exits: what the pack wrote so far is taken back on the way out. */
static void
abort_pack(void)
{
	og_pack_abort(&pack);
}

static void
add(void *ctx, struct og_record *r, const struct og_reader *rd)
{
	(void)ctx, (void)rd;
	og_pack_add(&pack, r);
	if (progress && ++total % (1 << 20) == 0)
		fprintf(stderr, "\rog-pack: %ju records, %zu keys", total,
		    pack.nkeys);
}

static void
begin(const char *store)
{
	og_pack_begin(&pack, store);
	pack.threads = threads;
}

/* One batch: all of the input, or nothing of it. */
static int
pack_batch(const char *store, int argc, char **argv)
{
	int status;

	begin(store);
	og_record_loop(argc, argv, add, NULL);
	status = og_pack_commit(&pack);
	if (progress && total >= (1 << 20))
		fprintf(stderr, "\rog-pack: %ju records, %zu keys\n", total,
		    pack.nkeys);
	return status;
}

/*
 * -c: a stream, committed at least every SECONDS after a record is read,
 * whether more input comes or not, and every STREAM_BATCH_MAX records: it
 * is read as it comes, with poll.
 */
struct stream {
	int fd;
	const char *name;
	char *buf;
	size_t cap, start, end;
	uintmax_t lineno;
	int eof;
};

static const char *store_path;
static int64_t commit_ms, deadline;	/* deadline 0: nothing to commit */
static size_t batch_records;
static int stream_status;
static volatile sig_atomic_t stopping;

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
stop(int sig)
{
	(void)sig;
	stopping = 1;
}

static void
commit_stream(void)
{
	if (pack.open)
		stream_status |= og_pack_commit(&pack);
	deadline = 0;
	batch_records = 0;
}

/* The next whole line in the buffer, without its LF, or NULL. */
static char *
stream_line(struct stream *st, size_t *len)
{
	char *line = st->buf + st->start, *nl;

	if (!(nl = memchr(line, '\n', st->end - st->start)))
		return NULL;
	*nl = '\0';
	*len = nl - line;
	st->start = nl + 1 - st->buf;
	st->lineno++;
	return line;
}

/* Reads what there is; never blocks when poll said so. */
static void
stream_fill(struct stream *st)
{
	ssize_t n;

	if (st->start > 0) {
		memmove(st->buf, st->buf + st->start, st->end - st->start);
		st->end -= st->start;
		st->start = 0;
	}
	if (st->end == st->cap) {
		if (st->cap >= STREAM_LINE_MAX) {
			commit_stream();
			og_die("%s:%ju: line too long (over %d bytes)",
			    st->name, st->lineno + 1, STREAM_LINE_MAX - 1);
		}
		st->cap *= 2;
		st->buf = og_realloc(st->buf, st->cap + 1);
	}
	if ((n = read(st->fd, st->buf + st->end, st->cap - st->end)) < 0) {
		if (errno == EINTR || errno == EAGAIN)
			return;
		og_die("%s: read error:", st->name);
	}
	if (n == 0)
		st->eof = 1;
	st->end += n;
}

/* A record for the current batch; a bad line commits what was read
 * before it and ends the stream. */
static void
stream_record(struct stream *st, char *line, size_t len)
{
	char why[256];
	struct og_record r;
	const char *err;

	if ((err = og_parse_record(line, len, &r, why, sizeof why))) {
		commit_stream();
		og_die("%s:%ju: %s", st->name, st->lineno, err);
	}
	if (!pack.open)
		begin(store_path);
	if (deadline == 0)
		deadline = now_ms() + commit_ms;
	og_pack_add(&pack, &r);
	if (++batch_records >= STREAM_BATCH_MAX)
		commit_stream();
}

/* Waits for input until the next commit is due: 1 when there is some. */
static int
stream_wait(struct stream *st)
{
	struct pollfd pfd = { .fd = st->fd, .events = POLLIN };
	int64_t left = deadline ? deadline - now_ms() : -1;
	int got;

	if (deadline && left <= 0) {
		commit_stream();
		return 0;
	}
	got = poll(&pfd, 1, left > INT32_MAX ? INT32_MAX : (int)left);
	if (got < 0 && errno != EINTR)
		og_die("%s: poll:", st->name);
	return got > 0;
}

static void
stream_input(const char *path)
{
	struct stream st = { .name = "<stdin>", .cap = STREAM_BUFFER };
	char *line;
	size_t len;

	if (path && strcmp(path, "-") != 0 &&
	    (st.fd = open(st.name = path, O_RDONLY | O_CLOEXEC)) < 0)
		og_die("%s:", path);
	st.buf = og_malloc(st.cap + 1);
	for (;;) {
		if ((line = stream_line(&st, &len))) {
			stream_record(&st, line, len);
		} else if (stopping) {
			break;
		} else if (st.eof) {
			if (st.end > st.start)
				og_warn("%s:%ju: line cut at end of input:"
				    " dropped", st.name, st.lineno + 1);
			break;
		} else if (stream_wait(&st)) {
			stream_fill(&st);
		}
	}
	if (st.fd > 0)
		close(st.fd);
	free(st.buf);
}

/* SIGTERM, SIGINT and SIGHUP end the stream with a commit, unless they
 * were ignored when og-pack started (nohup, a background job). */
static void
catch_stops(void)
{
	static const int sigs[] = { SIGTERM, SIGINT, SIGHUP };
	struct sigaction sa = { .sa_handler = stop }, old;
	size_t i;

	sigemptyset(&sa.sa_mask);
	for (i = 0; i < sizeof sigs / sizeof *sigs; i++)
		if (sigaction(sigs[i], NULL, &old) == 0 &&
		    old.sa_handler != SIG_IGN)
			sigaction(sigs[i], &sa, NULL);
}

static int
pack_stream(const char *store, int argc, char **argv)
{
	int i;

	catch_stops();
	store_path = store;
	begin(store);
	for (i = 0; i < (argc > 0 ? argc : 1) && !stopping; i++)
		stream_input(argc > 0 ? argv[i] : NULL);
	commit_stream();
	return stream_status;
}

/* A whole number of 1 to max for option -opt, what it counts named in
 * the error. */
static int
count_option(const char *arg, int opt, const char *what, long max)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(arg, &end, 10);
	if (errno || end == arg || *end || n < 1 || n > max)
		og_usage_error("bad -%c '%s': %s, 1 to %ld", opt, arg, what, max);
	return (int)n;
}

int
main(int argc, char *argv[])
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	int c, quiet = 0, repair = 0, seconds = 0;

	og_setprog(argv[0]);
	threads = cpus < 1 ? 1 : cpus > THREADS_MAX ? THREADS_MAX : (int)cpus;
	while ((c = getopt_long(argc, argv, "c:hj:qRV",
	    og_long_options, NULL)) != -1) {
		switch (c) {
		case 'c':
			seconds = count_option(optarg, c, "seconds", 86400);
			break;
		case 'h':
			og_usage(usage_text, 0);
		case 'j':
			threads = count_option(optarg, c, "threads", THREADS_MAX);
			break;
		case 'q':
			quiet = 1;
			break;
		case 'R':
			repair = 1;
			break;
		case 'V':
			og_version();
		default:
			og_usage(usage_text, OG_EXIT_USAGE);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1 || !*argv[0] || (repair && seconds))
		og_usage(usage_text, OG_EXIT_USAGE);
	if (repair) {
		c = og_pack_repair(argv[0], argv + 1, argc - 1);
		og_out_close();
		return c;
	}
	progress = !quiet && !seconds && isatty(2);
	atexit(abort_pack);
	if (seconds) {
		commit_ms = (int64_t)seconds * 1000;
		return pack_stream(argv[0], argc - 1, argv + 1);
	}
	return pack_batch(argv[0], argc - 1, argv + 1);
}
