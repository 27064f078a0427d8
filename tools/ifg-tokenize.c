/* ifg-tokenize: text to token records, and learning a BPE vocabulary.
 *
 * Reads documents (JSONL, CSV or plain text, textin.h) and writes a tokens
 * stream (kinds.h): one record a document {id, tokens, carried fields}, or
 * with --cont a prompt/continuation pair whose "cont" says where the
 * continuation starts, or with --block T fixed T-token records cut from the
 * documents laid end to end.  With --chosen and --rejected it writes a pairs
 * stream instead: a preference pair a document {id, prompt, chosen,
 * rejected}, for ifg-train --dpo.  --learn N instead writes a vocabulary
 * (vocab.json + merges.txt) learnt from the documents.  The tokenizer is
 * common/text/bpe.h; ifg-detok turns records back into text. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bpe.h"
#include "bpe_train.h"
#include "cli.h"
#include "kinds.h"
#include "rec.h"
#include "stream.h"
#include "textin.h"
#include "tokrec.h"
#include "util.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: ifg-tokenize [-qv] -t tokenizer [-f format] [--text field] [--cont field]\n"
		"                    [--id field] [-c field ...] [--block T] [--eot] [--keep-tail]\n"
		"                    [--special | --no-special] [--name name] [-o file] [file ...]\n"
		"       ifg-tokenize [-qv] -t tokenizer [-f format] [--text field] --chosen field\n"
		"                    --rejected field [--bos] [--eot] [--id field] [-c field ...]\n"
		"                    [--special | --no-special] [--name name] [-o file] [file ...]\n"
		"       ifg-tokenize --learn N [-qv] [-f format] [--text field] -o dir [file ...]\n"
		"Encode text as token records, or learn a BPE vocabulary.\n"
		"  -t, --tokenizer PATH  tokenizer.json, or a directory with vocab.json +\n"
		"                        merges.txt (or encoder.json + vocab.bpe)\n"
		"  -f, --format FMT      input: jsonl, csv, tsv, lines (a document a line) or\n"
		"                        file (a document a file); default by name: .csv csv,\n"
		"                        .tsv tsv, .txt lines, else jsonl\n"
		"      --text FIELD      field or column of the text (prompt); default text\n"
		"                        (with --chosen: none, an empty prompt)\n"
		"      --cont FIELD      field of the continuation: query pairs\n"
		"      --chosen FIELD    field of the preferred continuation: preference pairs\n"
		"      --rejected FIELD  field of the dispreferred continuation\n"
		"      --bos             end-of-text token before every prompt (pairs)\n"
		"      --id FIELD        field of the record id; default: numbered from 0\n"
		"  -c, --carry FIELD     copy this field into the record (repeatable)\n"
		"  -b, --block T         concatenate documents, cut T-token records\n"
		"      --eot             end-of-text token after every document (pairs:\n"
		"                        after each continuation)\n"
		"      --keep-tail       with --block: also write the last, short record\n"
		"      --special         text spelling a special token becomes that token\n"
		"      --no-special      special tokens are plain text\n"
		"                        (default: tokenizer.json --special, GPT-2 files not)\n"
		"      --name NAME       tokenizer name in the header\n"
		"      --learn N         learn an N-token vocabulary, write it to -o dir\n"
		"  -o, --output PATH     output file (directory for --learn); default stdout\n"
		"  -q, --quiet           no summary;   -v, --verbose: more\n"
		"      --help, --version\n");
}

struct opts {
	const char *tok, *name, *out, *fmt;
	struct ifg_textin_opts in;
	long block, learn;
	int eot, keep_tail, special, bos, pairs, text_set, cont_set;
};

struct enc {
	const struct opts *o;
	struct ifg_bpe *bpe;
	struct ifg_writer *w;
	struct ifg_ids ids;	/* block mode: tokens not yet written */
	enum ifg_dtype dtype;
	uint64_t docs, skipped, tokens, bytes;
	int64_t nextid;
};

static void pack_ids(struct enc *e, const char *key, const uint32_t *v, size_t n)
{
	ifg_tokrec_pack_ids(ifg_writer_pk(e->w), key, e->dtype, v, n);
}

static void pack_tokens(struct enc *e, const uint32_t *v, size_t n)
{
	pack_ids(e, IFG_K_TOKENS, v, n);
}

static void write_end(struct enc *e)
{
	if (ifg_writer_end(e->w) < 0)
		ifg_die_err("write");
}

/* Full blocks from the front of e->ids (all that is left when tail). */
static void flush_blocks(struct enc *e, int tail)
{
	size_t T = (size_t)e->o->block, at = 0;
	while (e->ids.n - at >= T || (tail && e->ids.n > at)) {
		size_t n = e->ids.n - at < T ? e->ids.n - at : T;
		msgpack_packer *pk = ifg_writer_pk(e->w);
		msgpack_pack_map(pk, 2);
		ifg_pack_kv_i64(pk, IFG_K_ID, e->nextid++);
		pack_tokens(e, e->ids.v + at, n);
		write_end(e);
		at += n;
	}
	if (at) { /* (no documents at all: v is NULL) */
		memmove(e->ids.v, e->ids.v + at, (e->ids.n - at) * sizeof *e->ids.v);
		e->ids.n -= at;
	}
}

static uint32_t ncarried(const struct enc *e, const struct ifg_doc *d)
{
	uint32_t n = 0;
	for (size_t i = 0; i < e->o->in.ncarry; i++)
		n += d->carry[i].type != IFG_VAL_NONE;
	return n;
}

static void pack_id(struct enc *e, const struct ifg_doc *d, uint64_t docno)
{
	msgpack_packer *pk = ifg_writer_pk(e->w);
	ifg_pack_cstr(pk, IFG_K_ID);
	if (d->id.type != IFG_VAL_NONE)
		ifg_pack_value(pk, &d->id);
	else
		msgpack_pack_int64(pk, (int64_t)docno);
}

static void pack_carried(struct enc *e, const struct ifg_doc *d)
{
	msgpack_packer *pk = ifg_writer_pk(e->w);
	for (size_t i = 0; i < e->o->in.ncarry; i++)
		if (d->carry[i].type != IFG_VAL_NONE) {
			ifg_pack_cstr(pk, e->o->in.carry[i]);
			ifg_pack_value(pk, &d->carry[i]);
		}
}

static void encode_doc(struct enc *e, const struct ifg_doc *d, uint64_t docno,
		       const char *where)
{
	const struct opts *o = e->o;
	struct ifg_ids *ids = &e->ids;
	size_t start = o->block ? ids->n : 0, ncont = 0;
	if (!o->block)
		ids->n = 0;
	if (ifg_bpe_encode(e->bpe, d->text, d->text_len, o->special, ids) < 0)
		ifg_die("'%s': line %" PRIu64 ": %s", where, d->line, ifg_err());
	size_t nprompt = ids->n - start;
	if (d->cont) {
		if (ifg_bpe_encode(e->bpe, d->cont, d->cont_len, o->special, ids) < 0)
			ifg_die("'%s': line %" PRIu64 ": %s", where, d->line, ifg_err());
		ncont = ids->n - start - nprompt;
	}
	if (o->eot)
		ifg_ids_push(ids, (uint32_t)ifg_bpe_eot(e->bpe));
	e->docs++;
	e->bytes += d->text_len + d->cont_len;
	e->tokens += ids->n - start;
	if (o->block) {
		flush_blocks(e, 0);
		return;
	}
	if (ids->n == 0 || (d->cont && ncont == 0)) {
		e->skipped++;	/* no tokens, or no continuation to score */
		return;
	}
	msgpack_packer *pk = ifg_writer_pk(e->w);
	msgpack_pack_map(pk, 2 + (d->cont != NULL) + ncarried(e, d));
	pack_id(e, d, docno);
	pack_tokens(e, ids->v, ids->n);
	if (d->cont)
		ifg_pack_kv_i64(pk, IFG_K_CONT, (int64_t)nprompt);
	pack_carried(e, d);
	write_end(e);
}

/* A preference pair: {id, prompt, chosen, rejected, carried fields}.  The
 * three parts are encoded separately (so a pair's prompt is the same tokens
 * in both of its sequences); an empty prompt is an error (nothing to predict
 * the first continuation token from: --bos), an empty continuation skips the
 * pair. */
static void encode_pair(struct enc *e, const struct ifg_doc *d, uint64_t docno,
			const char *where)
{
	const struct opts *o = e->o;
	struct ifg_ids *ids = &e->ids;
	ids->n = 0;
	if (o->bos)
		ifg_ids_push(ids, (uint32_t)ifg_bpe_eot(e->bpe));
	const char *s[3] = { d->text, d->cont, d->alt };
	size_t len[3] = { d->text_len, d->cont_len, d->alt_len }, end[3];
	for (int k = 0; k < 3; k++) {
		size_t before = ids->n;
		if (ifg_bpe_encode(e->bpe, s[k], len[k], o->special, ids) < 0)
			ifg_die("'%s': line %" PRIu64 ": %s", where, d->line, ifg_err());
		if (k > 0 && o->eot && ids->n > before)
			ifg_ids_push(ids, (uint32_t)ifg_bpe_eot(e->bpe));
		end[k] = ids->n;
	}
	e->docs++;
	e->bytes += len[0] + len[1] + len[2];
	e->tokens += ids->n;
	if (end[0] == 0)
		ifg_die("'%s': line %" PRIu64 ": empty prompt: a pair needs a token to predict its "
			"continuations from (--bos)", where, d->line);
	if (end[1] == end[0] || end[2] == end[1]) {
		e->skipped++;
		return;
	}
	msgpack_packer *pk = ifg_writer_pk(e->w);
	msgpack_pack_map(pk, 4 + ncarried(e, d));
	pack_id(e, d, docno);
	pack_ids(e, IFG_K_PROMPT, ids->v, end[0]);
	pack_ids(e, IFG_K_CHOSEN, ids->v + end[0], end[1] - end[0]);
	pack_ids(e, IFG_K_REJECTED, ids->v + end[1], end[2] - end[1]);
	pack_carried(e, d);
	write_end(e);
}

/* Input format: -f, or the file name's (textin.h). */
static enum ifg_textin_format format_of(const struct opts *o, const char *path)
{
	if (o->fmt)
		return (enum ifg_textin_format)ifg_textin_format_parse(o->fmt);
	return ifg_textin_format_of(path);
}

/* Calls fn on every document of every input. */
static void each_doc(struct opts *o, int nfiles, char **files,
		     void (*fn)(void *, const struct ifg_doc *, uint64_t, const char *), void *arg)
{
	uint64_t docno = 0;
	for (int i = 0; i < (nfiles ? nfiles : 1); i++) {
		const char *path = nfiles ? files[i] : NULL;
		o->in.format = format_of(o, path);
		struct ifg_textin *r = ifg_textin_open(path, &o->in);
		if (!r)
			ifg_die_err("input");
		struct ifg_doc d;
		int rc;
		while ((rc = ifg_textin_next(r, &d)) > 0) {
			fn(arg, &d, docno++, ifg_textin_name(r));
			if (ifg_progress_enabled())
				ifg_progress("%" PRIu64 " documents", docno);
		}
		if (rc < 0)
			ifg_die("%s", ifg_err());
		ifg_textin_close(r);
	}
	ifg_progress_done();
}

static void enc_cb(void *arg, const struct ifg_doc *d, uint64_t docno, const char *where)
{
	struct enc *e = arg;
	if (e->o->pairs)
		encode_pair(e, d, docno, where);
	else
		encode_doc(e, d, docno, where);
}

static void learn_cb(void *arg, const struct ifg_doc *d, uint64_t docno, const char *where)
{
	ifg_bpe_trainer_add(arg, d->text, d->text_len);
	if (d->cont)
		ifg_bpe_trainer_add(arg, d->cont, d->cont_len);
}

static void learn(struct opts *o, int nfiles, char **files)
{
	if (!o->out)
		ifg_usage_error("--learn needs -o DIR");
	struct ifg_bpe_trainer *tr = ifg_bpe_trainer_new();
	double t0 = ifg_now();
	each_doc(o, nfiles, files, learn_cb, tr);
	int64_t n = ifg_bpe_trainer_learn(tr, (uint32_t)o->learn);
	if (n < 0)
		ifg_die_err("learning");
	/* made only now, and removed again if the writes fail */
	if (ifg_out_mkdir(o->out) < 0)
		ifg_die_err("-o");
	size_t len = strlen(o->out) + 16;
	char *v = ifg_xmalloc(len, 1), *m = ifg_xmalloc(len, 1);
	snprintf(v, len, "%s/vocab.json", o->out);
	snprintf(m, len, "%s/merges.txt", o->out);
	if (ifg_bpe_trainer_write(tr, v, m) < 0)
		ifg_die_err("writing the vocabulary");
	if (n < o->learn)
		ifg_warn("the text has too few distinct pairs: %" PRId64 " tokens, not %ld", n,
			 o->learn);
	if (ifg_verbosity > 0)
		fprintf(stderr, "ifg-tokenize: learnt %" PRId64 " tokens from %" PRIu64
			" pre-tokens (%" PRIu64 " distinct) in %.1f s\n", n,
			ifg_bpe_trainer_words(tr), ifg_bpe_trainer_distinct(tr), ifg_now() - t0);
	free(v);
	free(m);
	ifg_bpe_trainer_free(tr);
}

static void encode(struct opts *o, struct ifg_bpe *bpe, int nfiles, char **files)
{
	if (o->eot && ifg_bpe_eot(bpe) < 0)
		ifg_usage_error("--eot: the tokenizer has no <|endoftext|>");
	if (o->bos && ifg_bpe_eot(bpe) < 0)
		ifg_usage_error("--bos: the tokenizer has no <|endoftext|>");
	struct enc e = { .o = o, .bpe = bpe };
	e.dtype = ifg_tokrec_dtype(ifg_bpe_vocab_size(bpe));
	e.w = ifg_writer_open(o->out, IFG_COMPRESS_AUTO);
	if (!e.w)
		ifg_die_err("output");
	ifg_tokrec_header(e.w, o->pairs ? IFG_KIND_PAIRS : IFG_KIND_TOKENS, bpe,
			  o->pairs ? -1 : o->block, 0);
	write_end(&e);
	double t0 = ifg_now();
	each_doc(o, nfiles, files, enc_cb, &e);
	if (o->block)
		flush_blocks(&e, o->keep_tail);
	uint64_t nrec = ifg_writer_records(e.w);
	if (ifg_writer_close(e.w) < 0)
		ifg_die_err("output");
	double dt = ifg_now() - t0;
	if (ifg_verbosity > 0)
		fprintf(stderr, "ifg-tokenize: %" PRIu64 " documents (%" PRIu64 " skipped), %" PRIu64
			" tokens, %" PRIu64 " records, %.1f MB/s\n", e.docs, e.skipped, e.tokens,
			nrec > 0 ? nrec - 1 : 0, dt > 0 ? e.bytes / dt / 1e6 : 0.0);
	if (ifg_verbosity > 1)
		fprintf(stderr, "ifg-tokenize: tokenizer %s (%" PRIu32 " tokens, sha256 %s), "
			"%.2f bytes a token\n", ifg_bpe_name(bpe), ifg_bpe_vocab_size(bpe),
			ifg_bpe_sha256(bpe), e.tokens ? (double)e.bytes / e.tokens : 0.0);
	ifg_ids_release(&e.ids);
}

int main(int argc, char **argv)
{
	ifg_cli_init(argv[0]);
	enum { O_TEXT = 256, O_CONT, O_ID, O_EOT, O_TAIL, O_SPECIAL, O_NOSPECIAL, O_NAME, O_LEARN,
	       O_CHOSEN, O_REJECTED, O_BOS };
	static const struct option longopts[] = {
		{ "tokenizer", required_argument, NULL, 't' },
		{ "format", required_argument, NULL, 'f' },
		{ "text", required_argument, NULL, O_TEXT },
		{ "cont", required_argument, NULL, O_CONT },
		{ "chosen", required_argument, NULL, O_CHOSEN },
		{ "rejected", required_argument, NULL, O_REJECTED },
		{ "bos", no_argument, NULL, O_BOS },
		{ "id", required_argument, NULL, O_ID },
		{ "carry", required_argument, NULL, 'c' },
		{ "block", required_argument, NULL, 'b' },
		{ "eot", no_argument, NULL, O_EOT },
		{ "keep-tail", no_argument, NULL, O_TAIL },
		{ "special", no_argument, NULL, O_SPECIAL },
		{ "no-special", no_argument, NULL, O_NOSPECIAL },
		{ "name", required_argument, NULL, O_NAME },
		{ "learn", required_argument, NULL, O_LEARN },
		{ "output", required_argument, NULL, 'o' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct opts o = { .special = IFG_BPE_SPECIAL_DEFAULT };
	o.in.text = "text";
	const char **carry = ifg_xcalloc((size_t)argc + 1, sizeof *carry);
	int c;
	const struct ifg_cli_std std = { usage, &o.out, NULL };
	while ((c = getopt_long(argc, argv, "t:f:c:b:o:qv", longopts, NULL)) != -1) {
		switch (c) {
		case 't': o.tok = optarg; break;
		case 'f':
			if (ifg_textin_format_parse(optarg) < 0)
				ifg_usage_error("-f: '%s' is not jsonl, csv, tsv, lines or file", optarg);
			o.fmt = optarg;
			break;
		case O_TEXT: o.in.text = optarg; o.text_set = 1; break;
		case O_CONT: o.in.cont = optarg; o.cont_set = 1; break;
		case O_CHOSEN: o.in.cont = optarg; o.pairs |= 1; break;
		case O_REJECTED: o.in.alt = optarg; o.pairs |= 2; break;
		case O_BOS: o.bos = 1; break;
		case O_ID: o.in.id = optarg; break;
		case 'c':
			if (!strcmp(optarg, IFG_K_ID) || !strcmp(optarg, IFG_K_TOKENS) ||
			    !strcmp(optarg, IFG_K_CONT) || !strcmp(optarg, IFG_K_MASK) ||
			    !strcmp(optarg, IFG_K_PROMPT) || !strcmp(optarg, IFG_K_CHOSEN) ||
			    !strcmp(optarg, IFG_K_REJECTED))
				ifg_usage_error("-c: '%s' is a key of the record itself", optarg);
			carry[o.in.ncarry++] = optarg;
			break;
		case 'b': o.block = ifg_opt_long("--block", optarg, 1, 1L << 30); break;
		case O_EOT: o.eot = 1; break;
		case O_TAIL: o.keep_tail = 1; break;
		case O_SPECIAL: o.special = IFG_BPE_SPECIAL_ON; break;
		case O_NOSPECIAL: o.special = IFG_BPE_SPECIAL_OFF; break;
		case O_NAME: o.name = optarg; break;
		case O_LEARN: o.learn = ifg_opt_long("--learn", optarg, 257, 1L << 31); break;
		default: ifg_cli_std_option(&std, c, optarg);
		}
	}
	o.in.carry = carry;
	if (o.pairs && o.pairs != 3)
		ifg_usage_error("preference pairs need both --chosen and --rejected");
	if (o.pairs && (o.block || o.learn || o.keep_tail || o.cont_set))
		ifg_usage_error("--chosen and --rejected write pairs: no --cont, --block or --learn");
	if (o.pairs && !o.text_set)
		o.in.text = NULL;	/* no prompt field: an empty prompt (--bos) */
	if (o.bos && !o.pairs)
		ifg_usage_error("--bos is for preference pairs (--chosen, --rejected)");
	if (o.block && (o.in.cont || o.in.ncarry || o.in.id))
		ifg_usage_error("--block packs many documents a record: no --cont, --id or -c");
	if (o.learn) {
		learn(&o, argc - optind, argv + optind);
	} else {
		if (!o.tok)
			ifg_usage_error("no tokenizer (-t)");
		struct ifg_bpe *bpe = ifg_bpe_load(o.tok);
		if (!bpe)
			ifg_die_err("tokenizer");
		if (o.name)
			ifg_bpe_set_name(bpe, o.name);
		encode(&o, bpe, argc - optind, argv + optind);
		ifg_bpe_free(bpe);
	}
	free(carry);
	return 0;
}
