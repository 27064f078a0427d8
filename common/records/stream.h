/* stream.h: byte streams over files and pipes with transparent zstd.
 *
 * Input is decompressed when it starts with the zstd frame magic
 * (28 b5 2f fd), whatever its name; concatenated frames are read in turn.
 * Output is compressed on request or when the name ends in ".zst".
 *
 * Output files are written atomically: bytes go to an unnamed temporary in
 * the same directory (O_TMPFILE; where the file system lacks it, to
 * "NAME.tmp.XXXXXX"), and ifg_out_close() links and renames it to NAME only
 * after every byte is written and flushed.  A failing program (exit through
 * ifg_die, or SIGINT/SIGTERM/SIGHUP) removes a named temporary, and an
 * unnamed one vanishes even on SIGKILL, so no partial file is left. */
#ifndef IFG_STREAM_H
#define IFG_STREAM_H

#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include <sys/types.h>

struct ifg_in;
struct ifg_out;

enum { IFG_COMPRESS_AUTO = -1, IFG_COMPRESS_NO = 0, IFG_COMPRESS_YES = 1 };

/* path NULL or "-" reads stdin.  NULL with a message on failure. */
struct ifg_in *ifg_in_open(const char *path);
/* Up to n decompressed bytes; 0 at end of input; -1 on error (the message
 * says what failed; callers add the name and place). */
ssize_t ifg_in_read(struct ifg_in *in, void *buf, size_t n);
/* Name for messages: the path, or "<stdin>". */
const char *ifg_in_name(const struct ifg_in *in);
int ifg_in_is_zstd(const struct ifg_in *in);
void ifg_in_close(struct ifg_in *in);

/* Copies everything readable from fd (a pipe, a terminal) to a new,
 * already unlinked temporary file in $TMPDIR (or /tmp), so that it can be
 * read more than once, and returns a path that opens it ("/proc/self/fd/N";
 * caller frees), or NULL with a message naming `name`.  Nothing is left on
 * disk however the program ends. */
char *ifg_in_spill(int fd, const char *name);
/* Makes standard input readable once per pass, from its start: kept when
 * it is a regular file read from offset 0, otherwise copied as above to a
 * temporary file that then takes the place of file descriptor 0, rewound.
 * A reader rewinds standard input itself before each further pass.
 * 0, or -1 with a message. */
int ifg_in_stdin_rereadable(void);
/* For a program that reads its input once per pass: *out = a copy of path
 * when it is a regular file; NULL for standard input (path NULL or "-"),
 * made rereadable; for anything else (a named pipe) the path of a copy.
 * 0, or -1 with a message. */
int ifg_in_rereadable(const char *path, char **out);

/* path NULL or "-" writes stdout.  binary: refuse a terminal as stdout.
 * compress: IFG_COMPRESS_AUTO compresses when the name ends in ".zst".
 * A regular file at path (or where a symlink at path leads) is replaced
 * atomically at close; a character device, FIFO or socket is written in
 * place; a directory is refused. */
struct ifg_out *ifg_out_open(const char *path, int compress, int binary);
/* A log: written in place as it goes (truncated, or appended to), so that
 * it can be followed; flush it with ifg_out_flush. */
struct ifg_out *ifg_out_open_log(const char *path, int append);
/* Every write is checked: -1 with a message ("write to 'NAME' failed: why").
 * After a failure every later call fails.  EPIPE on stdout or on a FIFO
 * ends the program quietly (ifg_out_epipe). */
int ifg_out_write(struct ifg_out *out, const void *buf, size_t n);
int ifg_out_printf(struct ifg_out *out, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int ifg_out_flush(struct ifg_out *out);
const char *ifg_out_name(const struct ifg_out *out);
/* Finishes the zstd frame, flushes, checks, renames into place.  On error the
 * temporary file is removed and -1 returned.  Frees out either way. */
int ifg_out_close(struct ifg_out *out);
/* Outputs that land together (a checkpoint's files): every one is finished
 * and checked before any is renamed into place, so a failure (a full disk)
 * leaves all the previous files.  Frees every out either way. */
int ifg_out_close_all(struct ifg_out *const *outs, int n);
/* Drops the output: removes the temporary file.  Frees out. */
void ifg_out_abort(struct ifg_out *out);

/* Checks text written to a stdio stream (stdout) by other means: 0, or -1
 * with "write to 'NAME' failed: why" once a write failed (flush: flush
 * first).  Call it right after the writes, while errno still says why.
 * EPIPE ends the program quietly (ifg_out_epipe). */
int ifg_stdio_check(FILE *f, const char *name, int flush);

/* Creates directory dir for outputs (an existing one is fine).  A directory
 * created here is removed again at exit or on a signal if it is still empty
 * then, so a failed run leaves no empty directory behind. */
int ifg_out_mkdir(const char *dir);
/* Removes the temporaries ("NAME.tmp.XXXXXX") that a killed writer left in
 * dir, e.g. before resuming into it (a missing dir has none). */
int ifg_out_remove_stale(const char *dir);

/* Removes every temporary output file not yet renamed and every empty
 * directory that ifg_out_mkdir created (async-signal-safe; called by the
 * exit and signal handlers that cli.c installs). */
void ifg_out_cleanup_all(void);

/* A reader went away (EPIPE): cleans up as above and ends the program the
 * way SIGPIPE's default action does, quietly, even when SIGPIPE was
 * ignored by whoever started it. */
_Noreturn void ifg_out_epipe(void);

#endif
