/* textin.c: JSONL / CSV / TSV / plain text documents over ifg_in.  See textin.h. */
#include "textin.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "stream.h"
#include "util.h"

/* A CSV column: index into the record's fields, -1 none. */
struct ifg_textin {
	struct ifg_in *in;
	char *name;
	struct ifg_textin_opts o;
	char *ibuf;		/* input bytes [ipos, ilen) not yet used */
	size_t ipos, ilen;
	int eof;		/* 1 at end of input, -1 after a read error */
	struct ifg_bytes rec;		/* the current line, record or file */
	uint64_t lineno;	/* lines started so far */
	uint64_t recline;	/* first line of the current document */
	json_t *obj;		/* current JSONL object */
	struct ifg_value *carry;
	/* CSV */
	long ncols;
	long text_col, cont_col, alt_col, id_col, *carry_col;
	char sep;		/* ',' or '\t' */
	size_t *foff, *flen, nf, fcap;
	int done;		/* FILE: the file was returned */
};

#define IBUF 65536

int ifg_textin_format_parse(const char *name)
{
	static const char *const names[] = { "jsonl", "csv", "lines", "file", "tsv" };
	for (int i = 0; i < 5; i++)
		if (!strcmp(name, names[i]))
			return i;
	return -1;
}

enum ifg_textin_format ifg_textin_format_of(const char *path)
{
	static const struct {
		const char *ext;
		enum ifg_textin_format format;
	} by_ext[] = { { ".csv", IFG_TEXTIN_CSV }, { ".tsv", IFG_TEXTIN_TSV },
		       { ".txt", IFG_TEXTIN_LINES } };
	size_t n = path ? strlen(path) : 0;
	if (n > 4 && !strcmp(path + n - 4, ".zst"))
		n -= 4;
	for (int i = 0; n > 4 && i < 3; i++)
		if (!strncmp(path + n - 4, by_ext[i].ext, 4))
			return by_ext[i].format;
	return IFG_TEXTIN_JSONL;
}

/* 0 with more bytes in ibuf, 1 at the end, -1 on error. */
static int refill(struct ifg_textin *r)
{
	if (r->eof)
		return r->eof > 0 ? 1 : -1;
	ssize_t k = ifg_in_read(r->in, r->ibuf, IBUF);
	if (k < 0) {
		r->eof = -1;
		return ifg_prefixerr("'%s': line %" PRIu64, r->name, r->lineno + 1);
	}
	if (k == 0) {
		r->eof = 1;
		return 1;
	}
	r->ipos = 0;
	r->ilen = (size_t)k;
	return 0;
}

/* Next byte, -1 at the end, -2 on error. */
static inline int rgetc(struct ifg_textin *r)
{
	if (r->ipos == r->ilen) {
		int rc = refill(r);
		if (rc)
			return rc > 0 ? -1 : -2;
	}
	return (unsigned char)r->ibuf[r->ipos++];
}

static inline int rpeek(struct ifg_textin *r)
{
	int c = rgetc(r);
	if (c >= 0)
		r->ipos--;
	return c;
}

/* The next line into r->rec without its "\n": 1, 0 at the end, -1 error. */
static int read_line(struct ifg_textin *r)
{
	r->rec.n = 0;
	ifg_bytes_append(&r->rec, NULL, 0);
	int any = 0;
	for (;;) {
		if (r->ipos == r->ilen) {
			int rc = refill(r);
			if (rc < 0)
				return -1;
			if (rc > 0) {
				if (any)
					r->lineno++;
				return any;
			}
		}
		any = 1;
		char *s = r->ibuf + r->ipos;
		char *nl = memchr(s, '\n', r->ilen - r->ipos);
		size_t k = nl ? (size_t)(nl - s) : r->ilen - r->ipos;
		ifg_bytes_append(&r->rec, s, k);
		r->ipos += k;
		if (nl) {
			r->ipos++;
			r->lineno++;
			return 1;
		}
	}
}

/* ---- values ---- */

static bool canonical_int(const char *s, size_t n, int64_t *v)
{
	size_t i = s[0] == '-' && n > 1;
	if (n == 0 || n - i > 18 || (s[i] == '0' && n - i > 1) || (i && s[1] == '0'))
		return false;
	int64_t x = 0;
	for (size_t k = i; k < n; k++) {
		if (s[k] < '0' || s[k] > '9')
			return false;
		x = x * 10 + (s[k] - '0');
	}
	*v = i ? -x : x;
	return true;
}

static void csv_value(const char *s, size_t n, struct ifg_value *v)
{
	memset(v, 0, sizeof *v);
	if (canonical_int(s, n, &v->i)) {
		v->type = IFG_VAL_INT;
	} else {
		v->type = IFG_VAL_STR;
		v->s = s;
		v->n = n;
	}
}

static void json_value(json_t *j, struct ifg_value *v)
{
	memset(v, 0, sizeof *v);
	switch (j ? json_typeof(j) : JSON_NULL) {
	case JSON_STRING:
		v->type = IFG_VAL_STR;
		v->s = json_string_value(j);
		v->n = json_string_length(j);
		break;
	case JSON_INTEGER:
		v->type = IFG_VAL_INT;
		v->i = json_integer_value(j);
		break;
	case JSON_REAL:
		v->type = IFG_VAL_REAL;
		v->d = json_real_value(j);
		break;
	case JSON_TRUE:
	case JSON_FALSE:
		v->type = IFG_VAL_BOOL;
		v->b = json_is_true(j);
		break;
	case JSON_OBJECT:
	case JSON_ARRAY:
		v->type = IFG_VAL_JSON;
		v->json = j;
		break;
	default:
		v->type = j ? IFG_VAL_NIL : IFG_VAL_NONE;
	}
}

static void pack_json(msgpack_packer *pk, json_t *j)
{
	switch (json_typeof(j)) {
	case JSON_OBJECT: {
		const char *k;
		json_t *x;
		msgpack_pack_map(pk, json_object_size(j));
		json_object_foreach(j, k, x) {
			size_t n = strlen(k);
			msgpack_pack_str(pk, n);
			msgpack_pack_str_body(pk, k, n);
			pack_json(pk, x);
		}
		break;
	}
	case JSON_ARRAY: {
		size_t i;
		json_t *x;
		msgpack_pack_array(pk, json_array_size(j));
		json_array_foreach(j, i, x)
			pack_json(pk, x);
		break;
	}
	default: {
		struct ifg_value v;
		json_value(j, &v);
		ifg_pack_value(pk, &v);
	}
	}
}

void ifg_pack_value(msgpack_packer *pk, const struct ifg_value *v)
{
	switch (v->type) {
	case IFG_VAL_BOOL:
		if (v->b)
			msgpack_pack_true(pk);
		else
			msgpack_pack_false(pk);
		break;
	case IFG_VAL_INT:
		msgpack_pack_int64(pk, v->i);
		break;
	case IFG_VAL_REAL:
		msgpack_pack_double(pk, v->d);
		break;
	case IFG_VAL_STR:
		msgpack_pack_str(pk, v->n);
		msgpack_pack_str_body(pk, v->s, v->n);
		break;
	case IFG_VAL_JSON:
		pack_json(pk, (json_t *)v->json);
		break;
	default:
		msgpack_pack_nil(pk);
	}
}

/* ---- opening ---- */

static struct ifg_textin *fail_open(struct ifg_textin *r)
{
	ifg_textin_close(r);
	return NULL;
}

static int csv_record(struct ifg_textin *r);

/* Column index of a name: header first, then a 1-based number. */
static long csv_col(struct ifg_textin *r, const char *name)
{
	for (size_t i = 0; i < r->nf; i++)
		if (r->flen[i] == strlen(name) && !memcmp(r->rec.p + r->foff[i], name, r->flen[i]))
			return (long)i;
	long k;
	if (ifg_parse_long(name, 1, (long)r->nf, &k) == 0)
		return k - 1;
	return -1;
}

struct ifg_textin *ifg_textin_open(const char *path, const struct ifg_textin_opts *o)
{
	struct ifg_textin *r = ifg_xcalloc(1, sizeof *r);
	r->o = *o;
	r->in = ifg_in_open(path);
	if (!r->in)
		return fail_open(r);
	r->name = ifg_xstrdup(ifg_in_name(r->in));
	r->ibuf = ifg_xmalloc(IBUF, 1);
	r->carry = ifg_xcalloc(o->ncarry + 1, sizeof *r->carry);
	bool plain = o->format == IFG_TEXTIN_LINES || o->format == IFG_TEXTIN_FILE;
	if (plain && (o->cont || o->alt || o->id || o->ncarry)) {
		ifg_seterr("plain text has no fields to take a continuation, id or carried "
			   "field from");
		return fail_open(r);
	}
	r->sep = o->format == IFG_TEXTIN_TSV ? '\t' : ',';
	if (o->format == IFG_TEXTIN_CSV || o->format == IFG_TEXTIN_TSV) {
		const char *what = o->format == IFG_TEXTIN_TSV ? "TSV" : "CSV";
		int rc = csv_record(r);
		if (rc <= 0) {
			if (rc == 0)
				ifg_seterr("'%s': no %s header row", r->name, what);
			return fail_open(r);
		}
		r->ncols = (long)r->nf;
		r->carry_col = ifg_xcalloc(o->ncarry + 1, sizeof *r->carry_col);
		const char *missing = NULL;
		r->text_col = o->text ? csv_col(r, o->text) : -1;
		if (o->text && r->text_col < 0)
			missing = o->text;
		r->cont_col = o->cont ? csv_col(r, o->cont) : -1;
		if (o->cont && r->cont_col < 0)
			missing = o->cont;
		r->alt_col = o->alt ? csv_col(r, o->alt) : -1;
		if (o->alt && r->alt_col < 0)
			missing = o->alt;
		r->id_col = o->id ? csv_col(r, o->id) : -1;
		if (o->id && r->id_col < 0)
			missing = o->id;
		for (size_t i = 0; i < o->ncarry; i++)
			if ((r->carry_col[i] = csv_col(r, o->carry[i])) < 0)
				missing = o->carry[i];
		if (missing) {
			ifg_seterr("'%s': no column '%s' in the %s header", r->name, missing, what);
			return fail_open(r);
		}
	}
	return r;
}

const char *ifg_textin_name(const struct ifg_textin *r) { return r->name; }

void ifg_textin_close(struct ifg_textin *r)
{
	if (!r)
		return;
	if (r->in)
		ifg_in_close(r->in);
	json_decref(r->obj);
	free(r->name);
	free(r->ibuf);
	ifg_bytes_release(&r->rec);
	free(r->carry);
	free(r->carry_col);
	free(r->foff);
	free(r->flen);
	free(r);
}

/* ---- CSV ---- */

static void field_end(struct ifg_textin *r, size_t start)
{
	if (r->nf == r->fcap) {
		r->fcap = r->fcap ? 2 * r->fcap : 16;
		r->foff = ifg_xrealloc(r->foff, r->fcap, sizeof *r->foff);
		r->flen = ifg_xrealloc(r->flen, r->fcap, sizeof *r->flen);
	}
	r->foff[r->nf] = start;
	r->flen[r->nf] = r->rec.n - start;
	r->nf++;
	ifg_bytes_putc(&r->rec, 0);	/* fields are NUL-terminated in rec */
}

/* One record into rec + foff/flen: 1, 0 at the end, -1 on error. */
static int csv_record(struct ifg_textin *r)
{
	r->rec.n = 0;
	r->nf = 0;
	ifg_bytes_append(&r->rec, NULL, 0);
	int c = rgetc(r);
	if (c == -1)
		return 0;
	uint64_t first = r->recline = ++r->lineno;
	for (;;) {
		size_t start = r->rec.n;
		if (c == '"') {
			for (;;) {
				c = rgetc(r);
				if (c < 0) {
					if (c == -1)
						ifg_seterr("'%s': line %" PRIu64 ": quoted field "
							   "not closed", r->name, first);
					return -1;
				}
				if (c == '"') {
					if (rpeek(r) != '"')
						break;
					rgetc(r);
				} else if (c == '\n') {
					r->lineno++;
				}
				ifg_bytes_putc(&r->rec, (char)c);
			}
			c = rgetc(r);
		}
		/* Unquoted text (or what follows a closing quote: kept as it is). */
		while (c >= 0 && c != r->sep && c != '\n') {
			ifg_bytes_putc(&r->rec, (char)c);
			c = rgetc(r);
		}
		if (c == -2)
			return -1;
		if (c == '\n' && r->rec.n > start && r->rec.p[r->rec.n - 1] == '\r')
			r->rec.p[--r->rec.n] = 0;
		field_end(r, start);
		if (c != r->sep)
			return 1;
		c = rgetc(r);
	}
}

static int csv_next(struct ifg_textin *r, struct ifg_doc *d)
{
	int rc;
	do {
		rc = csv_record(r);
		/* blank lines between records */
	} while (rc == 1 && r->nf == 1 && r->flen[0] == 0 && r->ncols > 1);
	if (rc <= 0)
		return rc;
	uint64_t line = r->recline;
	long need = r->text_col;
	if (r->cont_col > need)
		need = r->cont_col;
	if (r->alt_col > need)
		need = r->alt_col;
	if (r->id_col > need)
		need = r->id_col;
	if ((long)r->nf <= need)
		return ifg_seterr("'%s': line %" PRIu64 ": %zu fields, the header has %ld",
				  r->name, line, r->nf, r->ncols);
	d->text = "";
	if (r->text_col >= 0) {
		d->text = (char *)r->rec.p + r->foff[r->text_col];
		d->text_len = r->flen[r->text_col];
	}
	if (r->cont_col >= 0) {
		d->cont = (char *)r->rec.p + r->foff[r->cont_col];
		d->cont_len = r->flen[r->cont_col];
	}
	if (r->alt_col >= 0) {
		d->alt = (char *)r->rec.p + r->foff[r->alt_col];
		d->alt_len = r->flen[r->alt_col];
	}
	if (r->id_col >= 0)
		csv_value((char *)r->rec.p + r->foff[r->id_col], r->flen[r->id_col], &d->id);
	for (size_t i = 0; i < r->o.ncarry; i++) {
		long k = r->carry_col[i];
		if (k < (long)r->nf)
			csv_value((char *)r->rec.p + r->foff[k], r->flen[k], &r->carry[i]);
	}
	return 1;
}

/* ---- JSONL ---- */

static int jtext(struct ifg_textin *r, const char *field, const char **s, size_t *n)
{
	json_t *v = ifg_json_field(r->obj, field);
	if (!json_is_string(v))
		return ifg_seterr("'%s': line %" PRIu64 ": field '%s' %s", r->name, r->lineno,
				  field, v ? "is not a string" : "is missing");
	*s = json_string_value(v);
	*n = json_string_length(v);
	return 0;
}

static int jsonl_next(struct ifg_textin *r, struct ifg_doc *d)
{
	int rc;
	for (;;) {
		rc = read_line(r);
		if (rc <= 0)
			return rc;
		size_t i = 0;
		while (i < r->rec.n && strchr(" \t\r", r->rec.p[i]))
			i++;
		if (i < r->rec.n)
			break;
	}
	json_error_t je;
	json_decref(r->obj);
	r->obj = json_loadb((char *)r->rec.p, r->rec.n, JSON_ALLOW_NUL, &je);
	if (!r->obj)
		return ifg_seterr("'%s': line %" PRIu64 ": %s", r->name, r->lineno, je.text);
	if (!json_is_object(r->obj))
		return ifg_seterr("'%s': line %" PRIu64 ": not a JSON object", r->name, r->lineno);
	d->text = "";
	if (r->o.text && jtext(r, r->o.text, &d->text, &d->text_len) < 0)
		return -1;
	if (r->o.cont && jtext(r, r->o.cont, &d->cont, &d->cont_len) < 0)
		return -1;
	if (r->o.alt && jtext(r, r->o.alt, &d->alt, &d->alt_len) < 0)
		return -1;
	if (r->o.id) {
		json_t *v = ifg_json_field(r->obj, r->o.id);
		if (!json_is_string(v) && !json_is_integer(v))
			return ifg_seterr("'%s': line %" PRIu64 ": id field '%s' %s", r->name,
					  r->lineno, r->o.id,
					  v ? "is neither a string nor an integer" : "is missing");
		json_value(v, &d->id);
	}
	for (size_t i = 0; i < r->o.ncarry; i++)
		json_value(ifg_json_field(r->obj, r->o.carry[i]), &r->carry[i]);
	return 1;
}

/* ---- plain ---- */

static int file_next(struct ifg_textin *r, struct ifg_doc *d)
{
	if (r->done)
		return 0;
	r->done = 1;
	r->rec.n = 0;
	ifg_bytes_append(&r->rec, NULL, 0);
	for (;;) {
		if (r->ipos < r->ilen)
			ifg_bytes_append(&r->rec, r->ibuf + r->ipos, r->ilen - r->ipos);
		r->ipos = r->ilen;
		int rc = refill(r);
		if (rc < 0)
			return -1;
		if (rc > 0)
			break;
	}
	d->text = (char *)r->rec.p;
	d->text_len = r->rec.n;
	d->id.type = IFG_VAL_STR;
	d->id.s = r->name;
	d->id.n = strlen(r->name);
	r->lineno = 1;
	return 1;
}

int ifg_textin_next(struct ifg_textin *r, struct ifg_doc *d)
{
	memset(d, 0, sizeof *d);
	for (size_t i = 0; i < r->o.ncarry; i++)
		memset(&r->carry[i], 0, sizeof r->carry[i]);
	d->carry = r->carry;
	int rc;
	switch (r->o.format) {
	case IFG_TEXTIN_JSONL:
		rc = jsonl_next(r, d);
		break;
	case IFG_TEXTIN_CSV:
	case IFG_TEXTIN_TSV:
		rc = csv_next(r, d);
		break;
	case IFG_TEXTIN_LINES:
		rc = read_line(r);
		d->text = (char *)r->rec.p;
		d->text_len = r->rec.n;
		break;
	default:
		rc = file_next(r, d);
	}
	d->line = r->o.format == IFG_TEXTIN_CSV || r->o.format == IFG_TEXTIN_TSV ? r->recline
										 : r->lineno;
	return rc;
}
