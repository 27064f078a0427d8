/* ifg-detok: token records back to text.
 *
 * Reads tokens streams (kinds.h), checks that they were made with the
 * tokenizer given, and writes each record's text followed by a separator,
 * or its ids as a line of numbers, or a JSON line {id, text} ({id, prompt,
 * continuation} for query pairs).  For inspection, for sampling, and for the
 * round trip ifg-tokenize | ifg-detok, which gives the text back. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bpe.h"
#include "cli.h"
#include "json.h"
#include "kinds.h"
#include "rec.h"
#include "stream.h"
#include "util.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: ifg-detok [-q] [-t tokenizer] [--as text|ids|jsonl] [--sep string]\n"
		"                 [--skip-special] [-o file] [file ...]\n"
		"Write the text of token records.\n"
		"  -t, --tokenizer PATH  the tokenizer the records were made with (not\n"
		"                        needed for --as ids)\n"
		"      --as FORM         text (default): the text, then the separator;\n"
		"                        ids: a line of token ids a record;\n"
		"                        jsonl: {\"id\", \"text\"} or {\"id\", \"prompt\",\n"
		"                        \"continuation\"} a line\n"
		"      --sep STRING      after each text (\\n, \\t, \\\\ understood); default \\n\n"
		"      --skip-special    leave special tokens (<|endoftext|>) out\n"
		"  -o, --output FILE     output file; default stdout\n"
		"  -q, --quiet           print nothing but errors\n"
		"      --help, --version\n");
}

enum form { F_TEXT, F_IDS, F_JSONL };

struct ctx {
	struct ifg_bpe *bpe;
	enum form form;
	struct ifg_bytes sep;
	bool skip_special;
	struct ifg_out *out;
	struct ifg_bytes buf;	/* output not yet written */
	uint32_t *ids;
	size_t capids;
	uint64_t records, tokens;
};

static void put(struct ctx *c, const void *p, size_t n)
{
	ifg_bytes_append(&c->buf, p, n);
	if (c->buf.n >= 1 << 16) {
		if (ifg_out_write(c->out, c->buf.p, c->buf.n) < 0)
			ifg_die_err("output");
		c->buf.n = 0;
	}
}

/* A JSON string of bytes, through json.h's writer. */
static void put_json_str(struct ctx *c, const uint8_t *s, size_t n)
{
	char *mem = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&mem, &len);
	if (!f)
		ifg_die("out of memory");
	ifg_json_str(f, (const char *)s, n);
	fclose(f);
	put(c, mem, len);
	free(mem);
}

static void decode_range(struct ctx *c, const uint32_t *ids, size_t n, struct ifg_bytes *text,
			 const struct ifg_reader *r)
{
	text->n = 0;
	if (ifg_bpe_decode(c->bpe, ids, n, c->skip_special, text) < 0) {
		ifg_reader_err(r, "%s", ifg_err());
		ifg_die("%s", ifg_err());
	}
}

static void one_record(struct ctx *c, const struct ifg_reader *r, const msgpack_object *rec)
{
	struct ifg_array a;
	if (ifg_get_array(r, rec, IFG_K_TOKENS, 1, &a) < 0)
		ifg_die("%s", ifg_err());
	if (a.n > c->capids) {
		c->capids = a.n;
		c->ids = ifg_xrealloc(c->ids, c->capids, sizeof *c->ids);
	}
	uint32_t max = c->bpe ? ifg_bpe_vocab_size(c->bpe) - 1 : UINT32_MAX;
	if (ifg_array_to_u32(&a, c->ids, max) < 0) {
		ifg_reader_err(r, "tokens: %s", ifg_err());
		ifg_die("%s", ifg_err());
	}
	size_t n = (size_t)a.n;
	c->records++;
	c->tokens += n;
	if (c->form == F_IDS) {
		char num[16];
		for (size_t i = 0; i < n; i++) {
			int k = snprintf(num, sizeof num, i ? " %" PRIu32 : "%" PRIu32, c->ids[i]);
			put(c, num, (size_t)k);
		}
		put(c, "\n", 1);
		return;
	}
	int64_t cont = -1;
	if (ifg_get(rec, IFG_K_CONT) &&
	    ifg_get_i64(r, rec, IFG_K_CONT, 0, (int64_t)n, &cont) < 0)
		ifg_die("%s", ifg_err());
	struct ifg_bytes text = { 0 };
	if (c->form == F_TEXT) {
		decode_range(c, c->ids, n, &text, r);
		put(c, text.p, text.n);
		put(c, c->sep.p, c->sep.n);
	} else {
		char *idj = NULL;
		size_t idn = 0;
		FILE *f = open_memstream(&idj, &idn);
		const msgpack_object *id = ifg_get(rec, IFG_K_ID);
		if (!f)
			ifg_die("out of memory");
		if (id)
			ifg_json_obj(f, id, false);
		else
			fputs("null", f);
		fclose(f);
		put(c, "{\"id\": ", 7);
		put(c, idj, idn);
		free(idj);
		size_t split = cont >= 0 ? (size_t)cont : n;
		decode_range(c, c->ids, split, &text, r);
		put(c, cont >= 0 ? ", \"prompt\": " : ", \"text\": ", cont >= 0 ? 12 : 10);
		put_json_str(c, text.p, text.n);
		if (cont >= 0) {
			decode_range(c, c->ids + split, n - split, &text, r);
			put(c, ", \"continuation\": ", 18);
			put_json_str(c, text.p, text.n);
		}
		put(c, "}\n", 2);
	}
	ifg_bytes_release(&text);
}

static void detok(struct ctx *c, const char *path)
{
	struct ifg_reader *r = ifg_reader_open(path);
	if (!r)
		ifg_die_err("input");
	if (ifg_reader_header(r, IFG_KIND_TOKENS) < 0)
		ifg_die("%s", ifg_err());
	if (c->bpe) {
		const msgpack_object *tok = ifg_get(ifg_reader_hdr(r), IFG_K_TOKENIZER);
		if (ifg_bpe_check_identity(c->bpe, tok) < 0)
			ifg_die("'%s': %s", ifg_reader_name(r), ifg_err());
	}
	const msgpack_object *rec;
	int rc;
	while ((rc = ifg_reader_next(r, &rec)) > 0)
		one_record(c, r, rec);
	if (rc < 0)
		ifg_die("%s", ifg_err());
	ifg_reader_close(r);
}

/* --sep with backslash escapes. */
static void parse_sep(const char *s, struct ifg_bytes *out)
{
	out->n = 0;
	for (; *s; s++) {
		char ch = *s;
		if (ch == '\\' && s[1]) {
			s++;
			ch = *s == 'n' ? '\n' : *s == 't' ? '\t' : *s == '0' ? '\0' : *s;
		}
		ifg_bytes_append(out, &ch, 1);
	}
}

int main(int argc, char **argv)
{
	ifg_cli_init(argv[0]);
	enum { O_AS = 256, O_SEP, O_SKIP };
	static const struct option longopts[] = {
		{ "tokenizer", required_argument, NULL, 't' },
		{ "as", required_argument, NULL, O_AS },
		{ "sep", required_argument, NULL, O_SEP },
		{ "skip-special", no_argument, NULL, O_SKIP },
		{ "output", required_argument, NULL, 'o' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct ctx c = { .form = F_TEXT };
	const char *tok = NULL, *out = NULL;
	parse_sep("\\n", &c.sep);
	int ch;
	const struct ifg_cli_std std = { usage, &out, NULL };
	while ((ch = getopt_long(argc, argv, "t:o:q", longopts, NULL)) != -1) {
		switch (ch) {
		case 't': tok = optarg; break;
		case O_AS:
			if (!strcmp(optarg, "text"))
				c.form = F_TEXT;
			else if (!strcmp(optarg, "ids"))
				c.form = F_IDS;
			else if (!strcmp(optarg, "jsonl"))
				c.form = F_JSONL;
			else
				ifg_usage_error("--as: '%s' is not text, ids or jsonl", optarg);
			break;
		case O_SEP: parse_sep(optarg, &c.sep); break;
		case O_SKIP: c.skip_special = true; break;
		default: ifg_cli_std_option(&std, ch, optarg);
		}
	}
	if (!tok && c.form != F_IDS)
		ifg_usage_error("no tokenizer (-t)");
	if (tok && !(c.bpe = ifg_bpe_load(tok)))
		ifg_die_err("tokenizer");
	if (!(c.out = ifg_out_open(out, IFG_COMPRESS_AUTO, 0)))
		ifg_die_err("output");
	if (optind == argc)
		detok(&c, NULL);
	for (int i = optind; i < argc; i++)
		detok(&c, argv[i]);
	if (c.buf.n && ifg_out_write(c.out, c.buf.p, c.buf.n) < 0)
		ifg_die_err("output");
	if (ifg_out_close(c.out) < 0)
		ifg_die_err("output");
	ifg_info("%" PRIu64 " records, %" PRIu64 " tokens", c.records, c.tokens);
	ifg_bpe_free(c.bpe);
	ifg_bytes_release(&c.sep);
	ifg_bytes_release(&c.buf);
	free(c.ids);
	return 0;
}
