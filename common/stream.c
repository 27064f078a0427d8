/* stream.c: byte streams over files and pipes, transparent zstd, atomic
 * output files. */
#include "stream.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
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

/* ---- output ---- */

#define MAX_TMP 32
#define TMP_PATH 4096
/* Temporaries not yet renamed, for the signal and exit handlers. */
static char tmp_paths[MAX_TMP][TMP_PATH];
static volatile sig_atomic_t tmp_used[MAX_TMP];

void ifg_out_cleanup_all(void)
{
	for (int i = 0; i < MAX_TMP; i++)
		if (tmp_used[i]) {
			unlink(tmp_paths[i]);
			tmp_used[i] = 0;
		}
}

struct ifg_out {
	FILE *f;
	char *name;		/* final path, or "<stdout>" */
	int slot;		/* index in tmp_paths, -1 for stdout */
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

struct ifg_out *ifg_out_open(const char *path, int compress, int binary)
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
		out->name = ifg_xstrdup("<stdout>");
	} else {
		int slot = -1;
		for (int i = 0; i < MAX_TMP; i++)
			if (!tmp_used[i]) {
				slot = i;
				break;
			}
		if (slot < 0 || strlen(path) + 16 > TMP_PATH) {
			ifg_seterr("cannot open '%s': too many outputs or path too long", path);
			free(out);
			return NULL;
		}
		snprintf(tmp_paths[slot], TMP_PATH, "%s.tmp.XXXXXX", path);
		int fd = mkstemp(tmp_paths[slot]);
		if (fd < 0) {
			ifg_seterr("cannot create '%s': %s", tmp_paths[slot], strerror(errno));
			free(out);
			return NULL;
		}
		tmp_used[slot] = 1;
		/* mkstemp makes 0600; give the file the mode a plain create would. */
		mode_t mask = umask(0);
		umask(mask);
		fchmod(fd, 0666 & ~mask);
		out->f = fdopen(fd, "wb");
		out->slot = slot;
		out->name = ifg_xstrdup(path);
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
}

static int write_raw(struct ifg_out *out, const void *buf, size_t n)
{
	if (n && fwrite(buf, 1, n, out->f) != n) {
		out->failed = 1;
		return ifg_seterr("write to '%s' failed: %s", out->name, strerror(errno));
	}
	return 0;
}

static int zstd_push(struct ifg_out *out, const void *buf, size_t n, ZSTD_EndDirective end)
{
	ZSTD_inBuffer in = { buf, n, 0 };
	for (;;) {
		ZSTD_outBuffer zo = { out->zbuf, out->zcap, 0 };
		size_t rem = ZSTD_compressStream2(out->cs, &zo, &in, end);
		if (ZSTD_isError(rem))
			return ifg_seterr("zstd compression of '%s' failed: %s", out->name,
					  ZSTD_getErrorName(rem));
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

const char *ifg_out_name(const struct ifg_out *out) { return out->name; }

static void out_free(struct ifg_out *out)
{
	if (out->cs)
		ZSTD_freeCStream(out->cs);
	free(out->zbuf);
	free(out->name);
	free(out);
}

int ifg_out_close(struct ifg_out *out)
{
	int rc = out->failed ? -1 : 0;
	if (!rc && out->cs)
		rc = zstd_push(out, NULL, 0, ZSTD_e_end);
	if (!rc && fflush(out->f) != 0)
		rc = ifg_seterr("write to '%s' failed: %s", out->name, strerror(errno));
	if (out->slot >= 0) {
		if (!rc && fsync(fileno(out->f)) != 0 && errno != EINVAL)
			rc = ifg_seterr("fsync of '%s' failed: %s", out->name, strerror(errno));
		if (fclose(out->f) != 0 && !rc)
			rc = ifg_seterr("close of '%s' failed: %s", out->name, strerror(errno));
		if (!rc && rename(tmp_paths[out->slot], out->name) != 0)
			rc = ifg_seterr("cannot rename to '%s': %s", out->name, strerror(errno));
		if (rc)
			unlink(tmp_paths[out->slot]);
		tmp_used[out->slot] = 0;
	} else if (!rc && ferror(out->f)) {
		rc = ifg_seterr("write to '%s' failed", out->name);
	}
	out_free(out);
	return rc;
}

void ifg_out_abort(struct ifg_out *out)
{
	if (!out)
		return;
	if (out->slot >= 0) {
		fclose(out->f);
		unlink(tmp_paths[out->slot]);
		tmp_used[out->slot] = 0;
	} else {
		fflush(out->f);
	}
	out_free(out);
}
