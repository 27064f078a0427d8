/* ifg-cat: concatenate record streams, or cut one shard out of them.
 *
 * Reads streams of one per-document kind (tokens, grads, scores) whose
 * headers are equal and writes one stream: the header once, then every
 * record in input order.  With -s K/N it writes only the K-th of N
 * contiguous runs of records (counted over all inputs), so that
 *   ifg-cat -s 0/4 x; ifg-cat -s 1/4 x; ...  | each through a stage |
 *   ifg-cat shard-0 shard-1 shard-2 shard-3
 * gives back the records of x in their order.  Shards need files: the
 * records are counted in a first pass. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "kinds.h"
#include "rec.h"
#include "util.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: ifg-cat [-qz] [-k kind] [-n count] [-s K/N] [-o file] [file ...]\n"
		"Concatenate record streams of one kind, or cut out one shard.\n"
		"  -k, --kind KIND     fail unless the streams are of this kind\n"
		"  -n, --count N       only the first N records (of the shard, with -s)\n"
		"  -s, --shard K/N     only the K-th (from 0) of N contiguous runs of records\n"
		"  -o, --output FILE   write here instead of stdout (.zst compresses)\n"
		"  -z, --zstd          compress the output\n"
		"  -q, --quiet         no summary line\n"
		"      --help, --version\n");
}

/* Kinds whose records are documents; the others are sums (merge them with
 * ifg-factor merge) or single results. */
static bool per_document(const char *kind)
{
	return !strcmp(kind, IFG_KIND_TOKENS) || !strcmp(kind, IFG_KIND_GRADS) ||
	       !strcmp(kind, IFG_KIND_SCORES);
}

/* The first key whose value differs between two header maps ("" when only
 * the number of keys differs), or NULL when they are equal. */
static char *header_diff(const msgpack_object *a, const msgpack_object *b)
{
	if (msgpack_object_equal(*a, *b))
		return NULL;
	for (uint32_t i = 0; i < a->via.map.size; i++) {
		const msgpack_object *k = &a->via.map.ptr[i].key;
		if (k->type != MSGPACK_OBJECT_STR)
			continue;
		char *key = strndup(k->via.str.ptr, k->via.str.size);
		const msgpack_object *v = ifg_get(b, key);
		if (!v || !msgpack_object_equal(a->via.map.ptr[i].val, *v))
			return key;
		free(key);
	}
	return ifg_xstrdup("");
}

struct cat {
	const char *kind;	/* required kind, or NULL */
	msgpack_sbuffer first_buf; /* the first input's header, packed; */
	msgpack_unpacked first;	/* its objects point into first_buf */
	char *first_name;
	bool have_first;
	uint64_t lo, hi;	/* records [lo, hi) of all inputs are written */
	uint64_t at;		/* records seen so far */
	struct ifg_writer *w;	/* NULL in the counting pass */
};

/* Keeps a copy of header h (the reader's objects die with the reader). */
static void keep_header(struct cat *c, const msgpack_object *h, const char *name)
{
	msgpack_packer pk;
	msgpack_sbuffer_init(&c->first_buf);
	msgpack_packer_init(&pk, &c->first_buf, msgpack_sbuffer_write);
	msgpack_pack_object(&pk, *h);
	msgpack_unpacked_init(&c->first);
	size_t off = 0;
	if (msgpack_unpack_next(&c->first, c->first_buf.data, c->first_buf.size, &off) !=
	    MSGPACK_UNPACK_SUCCESS)
		ifg_die("'%s': cannot copy the header", name);
	c->first_name = ifg_xstrdup(name);
	c->have_first = true;
}

/* One input: checks its header against the first, then counts or copies
 * its records. */
static void cat_file(struct cat *c, const char *path)
{
	struct ifg_reader *r = ifg_reader_open(path);
	if (!r)
		ifg_die_err("cannot read");
	if (ifg_reader_header(r, c->kind) < 0)
		ifg_die("%s", ifg_err());
	const msgpack_object *h = ifg_reader_hdr(r);
	if (!c->have_first) {
		const char *kind = ifg_reader_kind(r);
		if (!per_document(kind))
			ifg_die("'%s': %s streams are not made of documents: they cannot be "
				"concatenated (partial sums merge with ifg-factor merge)",
				ifg_reader_name(r), kind);
		keep_header(c, h, ifg_reader_name(r));
	} else {
		char *key = header_diff(&c->first.data, h);
		if (key)
			ifg_die("'%s': header differs from that of '%s'%s%s%s", ifg_reader_name(r),
				c->first_name, *key ? " in '" : "", key, *key ? "'" : "");
	}
	if (c->w && ifg_writer_records(c->w) == 0) {
		msgpack_pack_object(ifg_writer_pk(c->w), *h);
		if (ifg_writer_end(c->w) < 0)
			ifg_die_err("cannot write the header");
	}
	const msgpack_object *rec;
	int rc = 0;
	/* the writing pass stops reading after the last record it writes */
	while ((!c->w || c->at < c->hi) && (rc = ifg_reader_next(r, &rec)) > 0) {
		if (c->w && c->at >= c->lo) {
			msgpack_pack_object(ifg_writer_pk(c->w), *rec);
			if (ifg_writer_end(c->w) < 0)
				ifg_die_err("cannot write");
		}
		c->at++;
	}
	if (rc < 0)
		ifg_die("%s", ifg_err());
	ifg_reader_close(r);
}

/* "K/N" with 0 <= K < N. */
static void parse_shard(const char *arg, uint64_t *k, uint64_t *n)
{
	const char *slash = strchr(arg, '/');
	char head[32];
	if (!slash || (size_t)(slash - arg) >= sizeof head)
		ifg_usage_error("-s: '%s' is not K/N", arg);
	memcpy(head, arg, (size_t)(slash - arg));
	head[slash - arg] = 0;
	if (ifg_parse_u64(slash + 1, 1, 1u << 30, n) < 0 || ifg_parse_u64(head, 0, *n - 1, k) < 0)
		ifg_usage_error("-s: '%s': %s (K/N with 0 <= K < N)", arg, ifg_err());
}

int main(int argc, char **argv)
{
	ifg_cli_init(argv[0]);
	static const struct option longopts[] = {
		{ "kind", required_argument, NULL, 'k' },   { "shard", required_argument, NULL, 's' },
		{ "count", required_argument, NULL, 'n' },
		{ "output", required_argument, NULL, 'o' }, { "zstd", no_argument, NULL, 'z' },
		{ "quiet", no_argument, NULL, 'q' },	    { "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },	    { NULL, 0, NULL, 0 },
	};
	struct cat c = { .hi = UINT64_MAX };
	const char *output = NULL, *shard = NULL;
	uint64_t count = UINT64_MAX;
	int compress = IFG_COMPRESS_AUTO, ch;
	const struct ifg_cli_std std = { usage, &output, &compress };
	while ((ch = getopt_long(argc, argv, "k:n:s:o:zq", longopts, NULL)) != -1) {
		switch (ch) {
		case 'k': c.kind = optarg; break;
		case 'n': count = (uint64_t)ifg_opt_long("-n", optarg, 0, LONG_MAX); break;
		case 's': shard = optarg; break;
		default: ifg_cli_std_option(&std, ch, optarg);
		}
	}
	static char *const stdin_only[] = { "-" };
	char *const *files = optind < argc ? argv + optind : stdin_only;
	int nfiles = optind < argc ? argc - optind : 1;
	uint64_t k = 0, n = 1, total = 0;
	if (shard) {
		parse_shard(shard, &k, &n);
		for (int i = 0; i < nfiles; i++)
			if (!strcmp(files[i], "-"))
				ifg_usage_error("-s needs files: the records are counted first");
		for (int i = 0; i < nfiles; i++)	/* pass 1: count */
			cat_file(&c, files[i]);
		/* run k of n: [floor(k M / n), floor((k + 1) M / n)) */
		c.lo = c.at / n * k + c.at % n * k / n;
		c.hi = c.at / n * (k + 1) + c.at % n * (k + 1) / n;
		total = c.at;
		c.at = 0;
	}
	if (c.hi - c.lo > count)
		c.hi = c.lo + count;
	c.w = ifg_writer_open(output, compress);
	if (!c.w)
		ifg_die_err("cannot write");
	for (int i = 0; i < nfiles; i++)
		cat_file(&c, files[i]);
	uint64_t written = ifg_writer_records(c.w) - 1;
	if (ifg_writer_close(c.w) < 0)
		ifg_die_err("cannot finish output");
	if (shard)
		ifg_warn("shard %llu/%llu: records %llu to %llu of %llu",
			 (unsigned long long)k, (unsigned long long)n, (unsigned long long)c.lo,
			 (unsigned long long)(c.lo + written), (unsigned long long)total);
	else
		ifg_warn("%llu records from %d streams", (unsigned long long)written, nfiles);
	if (c.have_first) {
		msgpack_unpacked_destroy(&c.first);
		msgpack_sbuffer_destroy(&c.first_buf);
	}
	free(c.first_name);
	return 0;
}
