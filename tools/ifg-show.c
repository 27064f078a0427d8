/* ifg-show: print record streams as JSON lines.
 *
 * Reads any ifg stream (plain or zstd) and writes one JSON object a line:
 * the header first, then every record.  Typed arrays are summarised
 * (dtype, shape, n, min, max, mean, first values) unless -a asks for them
 * in full.  Text output: safe on a terminal, made for jq and for eyes. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "json.h"
#include "rec.h"
#include "util.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: ifg-show [-aHq] [-k kind] [-n count] [file ...]\n"
		"Print ifg record streams as JSON lines.\n"
		"  -a, --full         print arrays in full instead of a summary\n"
		"  -H, --no-header    do not print the header record\n"
		"  -k, --kind KIND    fail unless the stream is of this kind\n"
		"  -n, --count N      stop after N records of each file\n"
		"  -q, --quiet        print nothing but errors (check a stream)\n"
		"      --help, --version\n");
}

struct opts {
	int full, no_header, quiet;
	const char *kind;
	long count;
};

static void show(const char *path, const struct opts *o)
{
	struct ifg_reader *r = ifg_reader_open(path);
	if (!r)
		ifg_die_err("cannot read");
	if (ifg_reader_header(r, o->kind) < 0)
		ifg_die("%s", ifg_err());
	if (!o->no_header && !o->quiet) {
		ifg_json_obj(stdout, ifg_reader_hdr(r), o->full);
		putchar('\n');
	}
	const msgpack_object *rec;
	long n = 0;
	int rc = 0;
	while ((o->count < 0 || n < o->count) && (rc = ifg_reader_next(r, &rec)) > 0) {
		if (!o->quiet) {
			ifg_json_obj(stdout, rec, o->full);
			putchar('\n');
			if (ifg_stdio_check(stdout, "<stdout>", 0) < 0)
				ifg_die("%s", ifg_err());
		}
		n++;
	}
	if (o->count < 0 || n < o->count)
		if (rc < 0)
			ifg_die("%s", ifg_err());
	ifg_reader_close(r);
}

int main(int argc, char **argv)
{
	ifg_cli_init(argv[0]);
	static const struct option longopts[] = {
		{ "full", no_argument, NULL, 'a' },	   { "no-header", no_argument, NULL, 'H' },
		{ "kind", required_argument, NULL, 'k' }, { "count", required_argument, NULL, 'n' },
		{ "quiet", no_argument, NULL, 'q' },	   { "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },	   { NULL, 0, NULL, 0 },
	};
	struct opts o = { .count = -1 };
	int c;
	const struct ifg_cli_std std = { usage, NULL, NULL };
	while ((c = getopt_long(argc, argv, "aHk:n:q", longopts, NULL)) != -1) {
		switch (c) {
		case 'a': o.full = 1; break;
		case 'H': o.no_header = 1; break;
		case 'k': o.kind = optarg; break;
		case 'n': o.count = ifg_opt_long("-n", optarg, 0, LONG_MAX); break;
		case 'q': o.quiet = 1; break;
		default: ifg_cli_std_option(&std, c, optarg);
		}
	}
	if (optind == argc)
		show(NULL, &o);
	for (int i = optind; i < argc; i++)
		show(argv[i], &o);
	if (ifg_stdio_check(stdout, "<stdout>", 1) < 0)
		ifg_die("%s", ifg_err());
	return 0;
}
