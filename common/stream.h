/* stream.h: byte streams over files and pipes with transparent zstd.
 *
 * Input is decompressed when it starts with the zstd frame magic
 * (28 b5 2f fd), whatever its name; concatenated frames are read in turn.
 * Output is compressed on request or when the name ends in ".zst".
 *
 * Output files are written atomically: bytes go to "NAME.tmp.XXXXXX" in the
 * same directory, and ifg_out_close() renames it to NAME only after every
 * byte is written and flushed.  A failing program (exit through ifg_die, or
 * SIGINT/SIGTERM/SIGHUP) removes the temporary, so no partial file is left. */
#ifndef IFG_STREAM_H
#define IFG_STREAM_H

#include <stddef.h>
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

/* path NULL or "-" writes stdout.  binary: refuse a terminal as stdout.
 * compress: IFG_COMPRESS_AUTO compresses when the name ends in ".zst". */
struct ifg_out *ifg_out_open(const char *path, int compress, int binary);
int ifg_out_write(struct ifg_out *out, const void *buf, size_t n);
const char *ifg_out_name(const struct ifg_out *out);
/* Finishes the zstd frame, flushes, checks, renames into place.  On error the
 * temporary file is removed and -1 returned.  Frees out either way. */
int ifg_out_close(struct ifg_out *out);
/* Drops the output: removes the temporary file.  Frees out. */
void ifg_out_abort(struct ifg_out *out);

/* Removes every temporary output file not yet renamed (async-signal-safe;
 * called by the exit and signal handlers that cli.c installs). */
void ifg_out_cleanup_all(void);

#endif
