/* ifg-pack: JSON lines to an ifg record stream (the inverse of ifg-show -a).
 *
 * Each input line is one JSON object; the first is the header and must have
 * "kind" and "version".  An object {"dtype", "shape", "data": [numbers]}
 * becomes a typed array (little-endian bin).  For crafting streams by hand,
 * for tests, and for bringing outside data (scores, masks) into a pipeline. */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "json.h"
#include "rec.h"
#include "textin.h"
#include "util.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: ifg-pack [-z] [-o output] [file]\n"
		"Turn JSON lines (header first) into an ifg record stream.\n"
		"  -o, --output FILE  write to FILE (atomically) instead of stdout\n"
		"  -z, --zstd         compress (default for names ending in .zst)\n"
		"      --help, --version\n");
}

int main(int argc, char **argv)
{
	ifg_cli_init(argv[0]);
	static const struct option longopts[] = {
		{ "output", required_argument, NULL, 'o' }, { "zstd", no_argument, NULL, 'z' },
		{ "help", no_argument, NULL, 'h' },	    { "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *output = NULL;
	int compress = IFG_COMPRESS_AUTO, c;
	const struct ifg_cli_std std = { usage, &output, &compress };
	while ((c = getopt_long(argc, argv, "o:z", longopts, NULL)) != -1) {
		switch (c) {
		default: ifg_cli_std_option(&std, c, optarg);
		}
	}
	if (argc - optind > 1)
		ifg_usage_error("at most one input file");
	const char *input = optind < argc ? argv[optind] : "-";
	/* read as every reader reads: zstd detected whatever the name */
	struct ifg_textin_opts to = { .format = IFG_TEXTIN_LINES };
	struct ifg_textin *in = ifg_textin_open(input, &to);
	if (!in)
		ifg_die("%s", ifg_err());
	struct ifg_writer *w = ifg_writer_open(output, compress);
	if (!w)
		ifg_die_err("cannot write");
	struct ifg_doc d;
	int rc;
	while ((rc = ifg_textin_next(in, &d)) > 0) {
		unsigned long long lineno = (unsigned long long)d.line;
		if (strspn(d.text, " \t\r") == d.text_len)
			continue;
		json_error_t err;
		json_t *v = json_loadb(d.text, d.text_len, JSON_ALLOW_NUL, &err);
		if (!v || !json_is_object(v))
			ifg_die("%s:%llu: %s", input, lineno, v ? "not a JSON object" : err.text);
		if (ifg_writer_records(w) == 0 && (!json_is_string(json_object_get(v, "kind")) ||
						   !json_is_integer(json_object_get(v, "version"))))
			ifg_die("%s:%llu: the first line must be a header with kind and version",
				input, lineno);
		if (ifg_json_pack(ifg_writer_pk(w), v) < 0 || ifg_writer_end(w) < 0)
			ifg_die_err("%s:%llu", input, lineno);
		json_decref(v);
	}
	if (rc < 0)
		ifg_die("%s", ifg_err());
	ifg_textin_close(in);
	if (ifg_writer_records(w) == 0)
		ifg_die("%s: empty input: no header line", input);
	if (ifg_writer_close(w) < 0)
		ifg_die_err("cannot finish output");
	return 0;
}
