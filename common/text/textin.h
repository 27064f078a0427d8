/* textin.h: documents from JSONL, CSV or plain text, streamed.
 *
 * Formats:
 *   JSONL  one JSON object a line (jansson); fields named by key, or by a
 *          dotted path into nested objects ("prompt.text", as in
 *          RealToxicityPrompts) when no key has the whole name.  Blank lines
 *          are skipped.
 *   CSV    RFC 4180: a header row of column names, then records; fields
 *          separated by commas, records by LF or CRLF; a quoted field may
 *          hold commas, line breaks and doubled quotes.  A column is named by
 *          its header, or by its 1-based number when no header has that name.
 *          Values that are canonical decimal integers ("42", "-7", not "007")
 *          are integers; the rest are strings.
 *   TSV    as CSV with tabs for commas (the quoting of Python's csv module
 *          and pandas with sep="\t": a field holding a tab, a line break or
 *          a quote is quoted).
 *   LINES  plain text, a document per line (the "\n" removed).
 *   FILE   plain text, a document per input file (all its bytes).
 * Input may be zstd-compressed (stream.h).
 *
 * A document has its text, optionally a continuation (a second field, for
 * prompt/continuation pairs) and an alternative continuation (a third, for
 * preference pairs: chosen and rejected), an id when an id field is named
 * (else the caller numbers documents), and the values of the carried fields.
 * With no text field named (JSONL, CSV, TSV) the text is empty. */
#ifndef IFG_TEXTIN_H
#define IFG_TEXTIN_H

#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum ifg_textin_format { IFG_TEXTIN_JSONL, IFG_TEXTIN_CSV, IFG_TEXTIN_LINES, IFG_TEXTIN_FILE,
			 IFG_TEXTIN_TSV };

/* "jsonl", "csv", "tsv", "lines", "file" -> format; -1 otherwise. */
int ifg_textin_format_parse(const char *name);
/* The format a file's name says, after any ".zst": ".csv" CSV, ".tsv" TSV,
 * ".txt" LINES, anything else (and NULL, standard input) JSONL. */
enum ifg_textin_format ifg_textin_format_of(const char *path);

struct ifg_textin_opts {
	enum ifg_textin_format format;
	const char *text;		/* JSONL key / CSV column of the text; NULL:
					   none, the text is empty (plain text: unused) */
	const char *cont;		/* of the continuation; NULL: none */
	const char *alt;		/* of the alternative continuation; NULL: none */
	const char *id;			/* of the id; NULL: the caller assigns */
	const char *const *carry;	/* fields copied to the record */
	size_t ncarry;
};

enum ifg_value_type {
	IFG_VAL_NONE,	/* absent */
	IFG_VAL_NIL,
	IFG_VAL_BOOL,
	IFG_VAL_INT,
	IFG_VAL_REAL,
	IFG_VAL_STR,
	IFG_VAL_JSON	/* an object or array (json_t *) */
};

struct ifg_value {
	enum ifg_value_type type;
	bool b;
	int64_t i;
	double d;
	const char *s;	/* IFG_VAL_STR: bytes (not NUL-terminated) */
	size_t n;
	const void *json;	/* IFG_VAL_JSON */
};

/* Pointers stay valid until the next ifg_textin_next() call. */
struct ifg_doc {
	const char *text;
	size_t text_len;
	const char *cont;	/* NULL unless opts.cont */
	size_t cont_len;
	const char *alt;	/* NULL unless opts.alt */
	size_t alt_len;
	struct ifg_value id;	/* IFG_VAL_NONE unless opts.id */
	struct ifg_value *carry;	/* [opts.ncarry]; IFG_VAL_NONE when absent */
	uint64_t line;		/* first line of the document in its input (1-based) */
};

struct ifg_textin;

/* path NULL or "-" is stdin.  CSV reads the header row here and checks that
 * the named columns exist.  NULL with a message on failure. */
struct ifg_textin *ifg_textin_open(const char *path, const struct ifg_textin_opts *o);
/* 1 with *d filled, 0 at the end, -1 with a message "'name': line N: why"
 * (unreadable JSON, a missing text field, a text that is not a string). */
int ifg_textin_next(struct ifg_textin *r, struct ifg_doc *d);
const char *ifg_textin_name(const struct ifg_textin *r);
void ifg_textin_close(struct ifg_textin *r);

/* Packs a value as msgpack (JSON objects and arrays recursively); NONE as nil. */
void ifg_pack_value(msgpack_packer *pk, const struct ifg_value *v);

#endif
