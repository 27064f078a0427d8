/* stream.c: byte streams over files and pipes, transparent zstd, atomic
 * output files. */
#include "stream.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <time.h>
#include <sys/stat.h>
#include <zstd.h>

#include "util.h"

#define IN_CHUNK (1 << 17)

struct ifg_in {
	int fd;
	char *name;
	int zstd;
	ZSTD_DStream *ds;
	uint8_t *raw;		/* compressed bytes (zstd) or peeked bytes */
	size_t raw_len, raw_pos;
	int eof;		/* raw fd exhausted */
	size_t frame_left;	/* last ZSTD_decompressStream hint; 0 = between frames */
};

static ssize_t read_fd(int fd, void *buf, size_t n)
{
	for (;;) {
		ssize_t r = read(fd, buf, n);
		if (r >= 0 || errno != EINTR)
			return r;
	}
}

/* Refills in->raw when it is consumed; 0 at end of input. */
static ssize_t refill(struct ifg_in *in)
{
	if (in->raw_pos < in->raw_len)
		return (ssize_t)(in->raw_len - in->raw_pos);
	if (in->eof)
		return 0;
	ssize_t r = read_fd(in->fd, in->raw, IN_CHUNK);
	if (r < 0)
		return ifg_seterr("read error: %s", strerror(errno));
	if (r == 0)
		in->eof = 1;
	in->raw_len = (size_t)r;
	in->raw_pos = 0;
	return r;
}

struct ifg_in *ifg_in_open(const char *path)
{
	int use_stdin = !path || !strcmp(path, "-");
	int fd = use_stdin ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ifg_seterr("cannot open '%s': %s", path, strerror(errno));
		return NULL;
	}
	struct ifg_in *in = ifg_xcalloc(1, sizeof *in);
	in->fd = fd;
	in->name = ifg_xstrdup(use_stdin ? "<stdin>" : path);
	in->raw = ifg_xmalloc(IN_CHUNK, 1);
	/* Peek at up to 4 bytes for the zstd frame magic. */
	while (in->raw_len < 4 && !in->eof) {
		ssize_t r = read_fd(fd, in->raw + in->raw_len, 4 - in->raw_len);
		if (r < 0) {
			ifg_seterr("cannot read '%s': %s", in->name, strerror(errno));
			ifg_in_close(in);
			return NULL;
		}
		if (r == 0)
			in->eof = 1;
		in->raw_len += (size_t)r;
	}
	static const uint8_t magic[4] = { 0x28, 0xb5, 0x2f, 0xfd };
	if (in->raw_len == 4 && !memcmp(in->raw, magic, 4)) {
		in->zstd = 1;
		in->ds = ZSTD_createDStream();
		if (!in->ds)
			abort();
		ZSTD_initDStream(in->ds);
	}
	return in;
}

ssize_t ifg_in_read(struct ifg_in *in, void *buf, size_t n)
{
	if (n == 0)
		return 0;
	if (!in->zstd) {
		if (in->raw_pos < in->raw_len) {
			size_t k = in->raw_len - in->raw_pos < n ? in->raw_len - in->raw_pos : n;
			memcpy(buf, in->raw + in->raw_pos, k);
			in->raw_pos += k;
			return (ssize_t)k;
		}
		if (in->eof)
			return 0;
		ssize_t r = read_fd(in->fd, buf, n);
		if (r < 0)
			return ifg_seterr("read error: %s", strerror(errno));
		if (r == 0)
			in->eof = 1;
		return r;
	}
	ZSTD_outBuffer out = { buf, n, 0 };
	while (out.pos == 0) {
		ssize_t avail = refill(in);
		if (avail < 0)
			return -1;
		if (avail == 0) {
			if (in->frame_left)
				return ifg_seterr("truncated zstd frame");
			return 0;
		}
		ZSTD_inBuffer zin = { in->raw, in->raw_len, in->raw_pos };
		size_t ret = ZSTD_decompressStream(in->ds, &out, &zin);
		in->raw_pos = zin.pos;
		if (ZSTD_isError(ret))
			return ifg_seterr("corrupt zstd data: %s", ZSTD_getErrorName(ret));
		in->frame_left = ret;
	}
	return (ssize_t)out.pos;
}

const char *ifg_in_name(const struct ifg_in *in) { return in->name; }
int ifg_in_is_zstd(const struct ifg_in *in) { return in->zstd; }

void ifg_in_close(struct ifg_in *in)
{
	if (!in)
		return;
	if (in->fd != STDIN_FILENO)
		close(in->fd);
	if (in->ds)
		ZSTD_freeDStream(in->ds);
	free(in->raw);
	free(in->name);
	free(in);
}

/* ---- output ----
 *
 * A regular file is replaced atomically.  Where the file system allows it,
 * its bytes go to an unnamed O_TMPFILE in the destination's directory that
 * is linked in only at close (as "NAME.tmp.XXXXXX", renamed to NAME at
 * once), so even SIGKILL leaves nothing behind; elsewhere a named
 * "NAME.tmp.XXXXXX" is written and removed on failure and on signals.
 * Anything else at the path (a character device, FIFO or socket) is written
 * in place, as is stdout; a symlink is followed to the file it names. */

#define MAX_TMP 32
#define TMP_PATH 4096
#define MAX_DIRS 8
/* Temporaries not yet renamed, and directories made by ifg_out_mkdir, for
 * the signal and exit handlers. */
static char tmp_paths[MAX_TMP][TMP_PATH];
static volatile sig_atomic_t tmp_used[MAX_TMP];
static char dir_paths[MAX_DIRS][TMP_PATH];
static volatile sig_atomic_t dir_used[MAX_DIRS];

void ifg_out_cleanup_all(void)
{
	for (int i = 0; i < MAX_TMP; i++)
		if (tmp_used[i]) {
			unlink(tmp_paths[i]);
			tmp_used[i] = 0;
		}
	for (int i = MAX_DIRS - 1; i >= 0; i--)
		if (dir_used[i]) {
			rmdir(dir_paths[i]);	/* only if empty */
			dir_used[i] = 0;
		}
}

void ifg_out_epipe(void)
{
	ifg_out_cleanup_all();
	signal(SIGPIPE, SIG_DFL);
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	raise(SIGPIPE);
	_exit(128 + SIGPIPE);
}

int ifg_out_mkdir(const char *dir)
{
	if (mkdir(dir, 0777) == 0) {
		for (int i = 0; i < MAX_DIRS; i++)
			if (!dir_used[i] && strlen(dir) < TMP_PATH) {
				snprintf(dir_paths[i], TMP_PATH, "%s", dir);
				dir_used[i] = 1;
				break;
			}
		return 0;
	}
	if (errno != EEXIST)
		return ifg_seterr("cannot create directory '%s': %s", dir, strerror(errno));
	struct stat st;
	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
		return ifg_seterr("cannot create directory '%s': a file of that name exists", dir);
	return 0;
}

/* "NAME.tmp." followed by six letters or digits: a temporary of ours. */
static int is_tmp_name(const char *name)
{
	const char *t = strstr(name, ".tmp.");
	if (!t || t == name)
		return 0;
	for (;;) {
		const char *next = strstr(t + 1, ".tmp.");
		if (!next)
			break;
		t = next;
	}
	const char *x = t + 5;
	if (strlen(x) != 6)
		return 0;
	for (int i = 0; i < 6; i++)
		if (!((x[i] >= 'a' && x[i] <= 'z') || (x[i] >= 'A' && x[i] <= 'Z') ||
		      (x[i] >= '0' && x[i] <= '9')))
			return 0;
	return 1;
}

int ifg_out_remove_stale(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d && errno == ENOENT)
		return 0;
	if (!d)
		return ifg_seterr("cannot read directory '%s': %s", dir, strerror(errno));
	int rc = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!is_tmp_name(e->d_name))
			continue;
		if (unlinkat(dirfd(d), e->d_name, 0) != 0 && errno != ENOENT) {
			rc = ifg_seterr("cannot remove '%s/%s': %s", dir, e->d_name,
					strerror(errno));
			break;
		}
	}
	closedir(d);
	return rc;
}

struct ifg_out {
	FILE *f;
	char *name;		/* as given, or "<stdout>": for messages */
	char *dest;		/* the regular file replaced at close; NULL: in place */
	int slot;		/* index in tmp_paths while a named temporary exists */
	int unnamed;		/* f is an O_TMPFILE, linked in at close */
	int is_stdout;
	ZSTD_CStream *cs;
	uint8_t *zbuf;
	size_t zcap;
	int failed;
};

static int ends_with(const char *s, const char *suf)
{
	size_t a = strlen(s), b = strlen(suf);
	return a >= b && !strcmp(s + a - b, suf);
}

static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	if (!slash)
		return ifg_xstrdup(".");
	if (slash == path)
		return ifg_xstrdup("/");
	char *d = ifg_xstrdup(path);
	d[slash - path] = 0;
	return d;
}

/* The path that output to path lands on: path, or the file a symlink there
 * names (followed through up to 40 links, whether or not it exists yet).
 * *st is filled and *exists set; NULL with a message on error. */
static char *resolve_dest(const char *path, struct stat *st, int *exists)
{
	char *p = ifg_xstrdup(path);
	for (int depth = 0;; depth++) {
		if (lstat(p, st) != 0) {
			if (errno == ENOENT) {
				*exists = 0;
				return p;
			}
			ifg_seterr("cannot open '%s': %s", p, strerror(errno));
			break;
		}
		if (!S_ISLNK(st->st_mode)) {
			*exists = 1;
			return p;
		}
		if (depth == 40) {
			ifg_seterr("cannot open '%s': %s", path, strerror(ELOOP));
			break;
		}
		char target[TMP_PATH];
		ssize_t n = readlink(p, target, sizeof target - 1);
		if (n < 0) {
			ifg_seterr("cannot read the link '%s': %s", p, strerror(errno));
			break;
		}
		target[n] = 0;
		char *next;
		if (target[0] == '/' || !strchr(p, '/')) {
			next = ifg_xstrdup(target);
		} else {
			char *d = dir_of(p);
			size_t k = strlen(d) + strlen(target) + 2;
			next = ifg_xmalloc(k, 1);
			snprintf(next, k, "%s/%s", d, target);
			free(d);
		}
		free(p);
		p = next;
	}
	free(p);
	return NULL;
}

static unsigned long long clock_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (unsigned long long)ts.tv_sec * 1000000000ull + (unsigned long long)ts.tv_nsec;
}

static int take_slot(void)
{
	for (int i = 0; i < MAX_TMP; i++)
		if (!tmp_used[i])
			return i;
	return -1;
}

/* Opens the temporary that replaces dest at close. */
static int open_tmp(struct ifg_out *out)
{
	if (strlen(out->dest) + 16 > TMP_PATH)
		return ifg_seterr("cannot open '%s': path too long", out->name);
	char *dir = dir_of(out->dest);
	/* O_TMPFILE applies the umask to 0666, as a plain create would. */
	int fd = open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0666);
	free(dir);
	if (fd >= 0) {
		out->unnamed = 1;
	} else {
		int slot = take_slot();
		if (slot < 0)
			return ifg_seterr("cannot open '%s': too many outputs", out->name);
		snprintf(tmp_paths[slot], TMP_PATH, "%s.tmp.XXXXXX", out->dest);
		fd = mkstemp(tmp_paths[slot]);
		if (fd < 0)
			return ifg_seterr("cannot create '%s': %s", out->name,
					  strerror(errno));
		tmp_used[slot] = 1;
		out->slot = slot;
		/* mkstemp makes 0600; give the file the mode a plain create would. */
		mode_t mask = umask(0);
		umask(mask);
		fchmod(fd, 0666 & ~mask);
	}
	if (!(out->f = fdopen(fd, "wb"))) {
		close(fd);
		return ifg_seterr("cannot open '%s': %s", out->name, strerror(errno));
	}
	return 0;
}

static struct ifg_out *open_common(const char *path, int compress, int binary, int log_mode)
{
	int use_stdout = !path || !strcmp(path, "-");
	if (use_stdout && binary && isatty(STDOUT_FILENO)) {
		ifg_seterr("refusing to write binary records to a terminal "
			   "(redirect stdout, or use -o FILE)");
		return NULL;
	}
	struct ifg_out *out = ifg_xcalloc(1, sizeof *out);
	out->slot = -1;
	if (use_stdout) {
		out->f = stdout;
		out->is_stdout = 1;
		out->name = ifg_xstrdup("<stdout>");
	} else {
		out->name = ifg_xstrdup(path);
		struct stat st;
		int exists;
		char *dest = resolve_dest(path, &st, &exists);
		if (!dest)
			goto fail;
		if (exists && S_ISDIR(st.st_mode)) {
			ifg_seterr("cannot write '%s': it is a directory", path);
			free(dest);
			goto fail;
		}
		if (log_mode || (exists && !S_ISREG(st.st_mode))) {
			/* a device, FIFO or socket (or a log): write in place */
			int flags = O_WRONLY | O_CLOEXEC | O_NOCTTY;
			if (log_mode)
				flags |= O_CREAT | (log_mode == 2 ? O_APPEND : O_TRUNC);
			int fd = open(dest, flags, 0666);
			free(dest);
			if (fd < 0) {
				ifg_seterr("cannot open '%s': %s", path, strerror(errno));
				goto fail;
			}
			if (binary && isatty(fd)) {
				close(fd);
				ifg_seterr("refusing to write binary records to the terminal '%s'",
					   path);
				goto fail;
			}
			if (!(out->f = fdopen(fd, log_mode == 2 ? "ab" : "wb"))) {
				close(fd);
				ifg_seterr("cannot open '%s': %s", path, strerror(errno));
				goto fail;
			}
		} else {
			out->dest = dest;
			if (open_tmp(out) < 0)
				goto fail;
		}
		if (compress == IFG_COMPRESS_AUTO)
			compress = ends_with(path, ".zst");
	}
	if (compress == IFG_COMPRESS_YES) {
		out->cs = ZSTD_createCStream();
		if (!out->cs)
			abort();
		ZSTD_CCtx_setParameter(out->cs, ZSTD_c_compressionLevel, 3);
		out->zcap = ZSTD_CStreamOutSize();
		out->zbuf = ifg_xmalloc(out->zcap, 1);
	}
	return out;
fail:
	free(out->dest);
	free(out->name);
	free(out);
	return NULL;
}

struct ifg_out *ifg_out_open(const char *path, int compress, int binary)
{
	return open_common(path, compress, binary, 0);
}

struct ifg_out *ifg_out_open_log(const char *path, int append)
{
	return open_common(path, IFG_COMPRESS_NO, 0, append ? 2 : 1);
}

/* A failed write: a reader that went away ends the program quietly (the
 * end SIGPIPE's default action gives, whatever its disposition). */
static int write_failed(struct ifg_out *out, int err, const char *what)
{
	if (err == EPIPE && !out->dest)
		ifg_out_epipe();
	out->failed = 1;
	return ifg_seterr("%s '%s' failed: %s", what, out->name,
			  err ? strerror(err) : "I/O error");
}

static int write_raw(struct ifg_out *out, const void *buf, size_t n)
{
	if (n && fwrite(buf, 1, n, out->f) != n)
		return write_failed(out, errno, "write to");
	return 0;
}

static int zstd_push(struct ifg_out *out, const void *buf, size_t n, ZSTD_EndDirective end)
{
	ZSTD_inBuffer in = { buf, n, 0 };
	for (;;) {
		ZSTD_outBuffer zo = { out->zbuf, out->zcap, 0 };
		size_t rem = ZSTD_compressStream2(out->cs, &zo, &in, end);
		if (ZSTD_isError(rem)) {
			out->failed = 1;
			return ifg_seterr("zstd compression of '%s' failed: %s", out->name,
					  ZSTD_getErrorName(rem));
		}
		if (write_raw(out, out->zbuf, zo.pos) < 0)
			return -1;
		if (end == ZSTD_e_continue ? in.pos == in.size : rem == 0)
			return 0;
	}
}

int ifg_out_write(struct ifg_out *out, const void *buf, size_t n)
{
	if (out->failed)
		return -1;
	if (out->cs)
		return zstd_push(out, buf, n, ZSTD_e_continue);
	return write_raw(out, buf, n);
}

int ifg_out_printf(struct ifg_out *out, const char *fmt, ...)
{
	char small[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(small, sizeof small, fmt, ap);
	va_end(ap);
	if (n < 0)
		return ifg_seterr("formatting output for '%s' failed", out->name);
	if ((size_t)n < sizeof small)
		return ifg_out_write(out, small, (size_t)n);
	char *big = ifg_xmalloc((size_t)n + 1, 1);
	va_start(ap, fmt);
	vsnprintf(big, (size_t)n + 1, fmt, ap);
	va_end(ap);
	int rc = ifg_out_write(out, big, (size_t)n);
	free(big);
	return rc;
}

int ifg_out_flush(struct ifg_out *out)
{
	if (out->failed)
		return -1;
	if (fflush(out->f) != 0 || ferror(out->f))
		return write_failed(out, errno, "write to");
	return 0;
}

int ifg_stdio_check(FILE *f, const char *name, int flush)
{
	int err = errno;
	if (!ferror(f)) {
		if (!flush || fflush(f) == 0)
			return 0;
		err = errno;
	}
	if (err == EPIPE)
		ifg_out_epipe();
	return ifg_seterr("write to '%s' failed: %s", name, err ? strerror(err) : "I/O error");
}

const char *ifg_out_name(const struct ifg_out *out) { return out->name; }

static void out_free(struct ifg_out *out)
{
	if (out->cs)
		ZSTD_freeCStream(out->cs);
	free(out->zbuf);
	free(out->dest);
	free(out->name);
	free(out);
}

static void drop_tmp(struct ifg_out *out)
{
	if (out->slot >= 0) {
		unlink(tmp_paths[out->slot]);
		tmp_used[out->slot] = 0;
		out->slot = -1;
	}
}

/* Gives an unnamed temporary the name "DEST.tmp.XXXXXX" (a slot, so that
 * signals remove it) for the rename into place. */
static int link_tmp(struct ifg_out *out, int fd)
{
	int slot = take_slot();
	if (slot < 0)
		return ifg_seterr("cannot write '%s': too many outputs", out->name);
	static const char az[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
	static unsigned long counter;
	char proc[64];
	snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
	for (int attempt = 0; attempt < 100; attempt++) {
		unsigned long long x = (unsigned long long)getpid() * 2654435761u ^
				       (unsigned long long)clock_ns() ^ ++counter * 40503u;
		char sfx[7];
		for (int i = 0; i < 6; i++, x /= 62)
			sfx[i] = az[x % 62];
		sfx[6] = 0;
		snprintf(tmp_paths[slot], TMP_PATH, "%s.tmp.%s", out->dest, sfx);
		int rc = linkat(AT_FDCWD, proc, AT_FDCWD, tmp_paths[slot], AT_SYMLINK_FOLLOW);
		if (rc != 0 && errno == ENOENT)	/* no /proc: needs CAP_DAC_READ_SEARCH */
			rc = linkat(fd, "", AT_FDCWD, tmp_paths[slot], AT_EMPTY_PATH);
		if (rc == 0) {
			tmp_used[slot] = 1;
			out->slot = slot;
			return 0;
		}
		if (errno != EEXIST)
			return ifg_seterr("cannot write '%s': linking its temporary: %s", out->name,
					  strerror(errno));
	}
	return ifg_seterr("cannot write '%s': no free temporary name", out->name);
}

/* Everything but the rename: finish the frame, flush, fsync, close.  -1
 * with a message on error (the temporary is removed). */
static int out_finish(struct ifg_out *out)
{
	int rc = out->failed ? -1 : 0;
	if (!rc && out->cs)
		rc = zstd_push(out, NULL, 0, ZSTD_e_end);
	if (!rc && (fflush(out->f) != 0 || ferror(out->f)))
		rc = write_failed(out, errno, "write to");
	if (out->is_stdout)
		return rc;
	if (!rc && fsync(fileno(out->f)) != 0 && errno != EINVAL && errno != EROFS)
		rc = ifg_seterr("fsync of '%s' failed: %s", out->name, strerror(errno));
	/* Signals are held from linking the name until the rename, so that
	 * an interrupt leaves neither the name nor a half-renamed output. */
	if (!rc && out->unnamed)
		rc = link_tmp(out, fileno(out->f));
	if (fclose(out->f) != 0 && !rc)
		rc = write_failed(out, errno, "close of");
	out->f = NULL;
	if (rc)
		drop_tmp(out);
	return rc;
}

static int out_commit(struct ifg_out *out)
{
	int rc = 0;
	if (out->dest && rename(tmp_paths[out->slot], out->dest) != 0)
		rc = ifg_seterr("cannot rename to '%s': %s", out->dest, strerror(errno));
	if (rc)
		drop_tmp(out);
	else if (out->slot >= 0)
		tmp_used[out->slot] = 0;
	out_free(out);
	return rc;
}

static void hold_signals(sigset_t *old, int hold)
{
	if (hold) {
		sigset_t set;
		sigemptyset(&set);
		sigaddset(&set, SIGINT);
		sigaddset(&set, SIGTERM);
		sigaddset(&set, SIGHUP);
		sigprocmask(SIG_BLOCK, &set, old);
	} else {
		sigprocmask(SIG_SETMASK, old, NULL);
	}
}

int ifg_out_close(struct ifg_out *out)
{
	return ifg_out_close_all(&out, 1);
}

int ifg_out_close_all(struct ifg_out *const *outs, int n)
{
	sigset_t old;
	hold_signals(&old, 1);
	int rc = 0;
	for (int i = 0; i < n && !rc; i++)
		rc = out_finish(outs[i]);
	if (rc) {
		char msg[1024];
		snprintf(msg, sizeof msg, "%s", ifg_err());
		for (int i = 0; i < n; i++)
			ifg_out_abort(outs[i]);
		hold_signals(&old, 0);
		return ifg_seterr("%s", msg);
	}
	for (int i = 0; i < n; i++)
		if (out_commit(outs[i]) < 0 && !rc)
			rc = -1;
	hold_signals(&old, 0);
	return rc;
}

void ifg_out_abort(struct ifg_out *out)
{
	if (!out)
		return;
	if (out->is_stdout)
		fflush(out->f);
	else if (out->f)
		fclose(out->f);
	drop_tmp(out);
	out_free(out);
}

/* ---- inputs read more than once ---- */

/* The temporary copy: its descriptor, or -1 with a message. */
static int spill_fd(int fd_in, const char *name)
{
	const char *dir = getenv("TMPDIR");
	if (!dir || !*dir)
		dir = "/tmp";
	size_t n = strlen(dir) + 32;
	char *tmpl = ifg_xmalloc(n, 1);
	snprintf(tmpl, n, "%s/ifg.XXXXXX", dir);
	int fd = mkstemp(tmpl);
	if (fd < 0) {
		ifg_seterr("temporary file in '%s': %s", dir, strerror(errno));
		free(tmpl);
		return -1;
	}
	/* Unlinked at once: nothing is left behind whatever ends the program. */
	unlink(tmpl);
	free(tmpl);
	char buf[1 << 16];
	for (;;) {
		ssize_t k = read(fd_in, buf, sizeof buf);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			ifg_seterr("%s: %s", name, strerror(errno));
			close(fd);
			return -1;
		}
		if (k == 0)
			break;
		for (ssize_t o = 0; o < k;) {
			ssize_t m = write(fd, buf + o, (size_t)(k - o));
			if (m < 0 && errno == EINTR)
				continue;
			if (m < 0) {
				ifg_seterr("temporary copy of %s in '%s': %s", name, dir,
					   strerror(errno));
				close(fd);
				return -1;
			}
			o += m;
		}
	}
	return fd;
}

char *ifg_in_spill(int fd_in, const char *name)
{
	int fd = spill_fd(fd_in, name);
	if (fd < 0)
		return NULL;
	char *path = ifg_xmalloc(32, 1);
	snprintf(path, 32, "/proc/self/fd/%d", fd);
	return path;
}

int ifg_in_stdin_rereadable(void)
{
	struct stat st;
	if (fstat(0, &st) == 0 && S_ISREG(st.st_mode) && lseek(0, 0, SEEK_CUR) == 0)
		return 0;
	int fd = spill_fd(0, "<stdin>");
	if (fd < 0)
		return -1;
	int rc = dup2(fd, 0) < 0 || lseek(0, 0, SEEK_SET) < 0
			 ? ifg_seterr("<stdin>: %s", strerror(errno)) : 0;
	close(fd);
	return rc;
}

int ifg_in_rereadable(const char *path, char **out)
{
	struct stat st;
	*out = NULL;
	if (!path || strcmp(path, "-") == 0)
		return ifg_in_stdin_rereadable();
	if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
		*out = ifg_xstrdup(path);
		return 0;
	}
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return ifg_seterr("'%s': %s", path, strerror(errno));
	*out = ifg_in_spill(fd, path);
	close(fd);
	return *out ? 0 : -1;
}
