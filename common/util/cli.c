/* cli.c: program conventions: messages, exit codes, option values,
 * progress on a terminal, and cleanup of partial outputs on signals. */
#include "cli.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "stream.h"
#include "util.h"

const char *ifg_progname = "ifg";
int ifg_verbosity = 1;

static void on_signal(int sig)
{
	ifg_out_cleanup_all();
	signal(sig, SIG_DFL);
	raise(sig);
}

static void on_exit_cleanup(void) { ifg_out_cleanup_all(); }

void ifg_cli_init(const char *progname)
{
	const char *slash = strrchr(progname, '/');
	ifg_progname = slash ? slash + 1 : progname;
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	/* Temporaries of outputs never closed (ifg_die, exit) are removed. */
	atexit(on_exit_cleanup);
}

static void vmsg(const char *fmt, va_list ap, const char *tail)
{
	ifg_progress_done();
	fprintf(stderr, "%s: ", ifg_progname);
	vfprintf(stderr, fmt, ap);
	if (tail)
		fprintf(stderr, ": %s", tail);
	fputc('\n', stderr);
}

void ifg_die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vmsg(fmt, ap, NULL);
	va_end(ap);
	exit(1);
}

void ifg_die_err(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vmsg(fmt, ap, ifg_err());
	va_end(ap);
	exit(1);
}

void ifg_usage_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vmsg(fmt, ap, NULL);
	va_end(ap);
	fprintf(stderr, "Try '%s --help' for more information.\n", ifg_progname);
	exit(2);
}

void ifg_warn(const char *fmt, ...)
{
	va_list ap;
	if (ifg_verbosity < 1)
		return;
	va_start(ap, fmt);
	vmsg(fmt, ap, NULL);
	va_end(ap);
}

void ifg_info(const char *fmt, ...)
{
	va_list ap;
	if (ifg_verbosity < 2)
		return;
	va_start(ap, fmt);
	vmsg(fmt, ap, NULL);
	va_end(ap);
}

void ifg_version(void)
{
	printf("%s (ifg) %s\n", ifg_progname, IFG_VERSION);
	exit(0);
}

long ifg_opt_long(const char *opt, const char *arg, long lo, long hi)
{
	long v;
	if (ifg_parse_long(arg, lo, hi, &v) < 0)
		ifg_usage_error("option %s: %s", opt, ifg_err());
	return v;
}

double ifg_opt_double(const char *opt, const char *arg, double lo, double hi)
{
	double v;
	if (ifg_parse_double(arg, lo, hi, &v) < 0)
		ifg_usage_error("option %s: %s", opt, ifg_err());
	return v;
}

void ifg_cli_std_option(const struct ifg_cli_std *s, int c, const char *arg)
{
	switch (c) {
	case 'o':
		if (!s->out)
			break;
		*s->out = arg;
		return;
	case 'z':
		if (!s->compress)
			break;
		*s->compress = IFG_COMPRESS_YES;
		return;
	case 'q': ifg_verbosity = 0; return;
	case 'v': ifg_verbosity = 2; return;
	case 'h': s->usage(stdout); exit(0);
	case 'V': ifg_version();
	}
	s->usage(stderr);
	exit(2);
}

double ifg_peak_rss_mib(void)
{
	struct rusage ru;
	if (getrusage(RUSAGE_SELF, &ru) < 0)
		return 0;
	return (double)ru.ru_maxrss / 1024.0;	/* KiB on Linux */
}

static int progress_state = -1;	/* -1 unknown, 0 off, 1 on */
static double progress_last;
static int progress_shown;

bool ifg_progress_enabled(void)
{
	if (progress_state < 0)
		progress_state = isatty(STDERR_FILENO) ? 1 : 0;
	return progress_state == 1 && ifg_verbosity > 0;
}

void ifg_progress(const char *fmt, ...)
{
	if (!ifg_progress_enabled())
		return;
	double t = ifg_now();
	if (progress_shown && t - progress_last < 0.2)
		return;
	progress_last = t;
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "\r\033[K%s: ", ifg_progname);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fflush(stderr);
	progress_shown = 1;
}

void ifg_progress_done(void)
{
	if (progress_shown) {
		fputs("\r\033[K", stderr);
		fflush(stderr);
		progress_shown = 0;
	}
}
