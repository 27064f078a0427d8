/* cli.h: the conventions every ifg program follows (doc/records.md).
 *
 *   exit 0 success, 1 runtime or data error, 2 usage error;
 *   messages on stderr as "ifg-x: what failed: why";
 *   progress on stderr only when it is a terminal (-q silences, -v says more).
 *
 * A program calls ifg_cli_init() first; it installs the signal handlers that
 * remove half-written output files (see stream.h) on SIGINT, SIGTERM, SIGHUP.
 * SIGPIPE keeps its disposition; a write that fails with EPIPE ends the
 * program quietly either way (stream.h), so `ifg-x | head` ends quietly even
 * when SIGPIPE was ignored by whoever started it. */
#ifndef IFG_CLI_H
#define IFG_CLI_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>

extern const char *ifg_progname;
extern int ifg_verbosity;	/* 0 quiet (-q), 1 normal, 2 verbose (-v) */

void ifg_cli_init(const char *progname);

/* "prog: message\n" then exit 1.  ifg_die_err appends ": <ifg_err()>". */
_Noreturn void ifg_die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
_Noreturn void ifg_die_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "prog: message\nTry 'prog --help'.\n" then exit 2. */
_Noreturn void ifg_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "prog: message" on stderr, no exit (unless quiet). */
void ifg_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A message for -v only. */
void ifg_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* "prog (ifg) VERSION" on stdout, exit 0. */
_Noreturn void ifg_version(void);

/* The options every program spells alike, in one place.  A program calls
 * ifg_cli_std_option from the default: of its getopt_long switch, after its
 * own cases (so a letter it spells otherwise, such as ifg-influence's -q, stays
 * its own):
 *   'o' FILE   *s->out = FILE          (a program without -o sets out NULL)
 *   'z'        *s->compress = IFG_COMPRESS_YES (stream.h; NULL: no -z)
 *   'q'        ifg_verbosity = 0       'v'  ifg_verbosity = 2
 *   'h'        --help: s->usage(stdout), exit 0
 *   'V'        --version: ifg_version()
 *   any other  (getopt's '?' for an unknown option or a missing argument)
 *              s->usage(stderr), exit 2. */
struct ifg_cli_std {
	void (*usage)(FILE *f);
	const char **out;
	int *compress;
};
void ifg_cli_std_option(const struct ifg_cli_std *s, int c, const char *arg);

/* Option values: range-checked, exit 2 with a message naming the option. */
long ifg_opt_long(const char *opt, const char *arg, long lo, long hi);
double ifg_opt_double(const char *opt, const char *arg, double lo, double hi);

/* Progress on a terminal: ifg_progress rewrites one status line at most
 * every 200 ms; ifg_progress_done clears it.  No-ops unless stderr is a tty
 * and verbosity > 0. */
bool ifg_progress_enabled(void);
void ifg_progress(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void ifg_progress_done(void);

/* (Monotonic seconds: ifg_now in util.h.) */
/* The process's peak resident memory so far in MiB (getrusage). */
double ifg_peak_rss_mib(void);

#endif
