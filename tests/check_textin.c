/* check_textin.c: JSONL, CSV (RFC 4180) and plain text documents. */
#include <unistd.h>

#include "textin.h"
#include "testutil.h"
#include "util.h"

static char *write_tmp(const char *content, size_t n)
{
	char *dir = ifg_test_tmpdir();
	size_t len = strlen(dir) + 16;
	char *p = malloc(len);
	snprintf(p, len, "%s/in", dir);
	FILE *f = fopen(p, "wb");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(content, 1, n, f), n);
	fclose(f);
	free(dir);
	return p;
}

static void remove_tmp(char *p)
{
	unlink(p);
	char *slash = strrchr(p, '/');
	*slash = 0;
	rmdir(p);
	free(p);
}

#define STREQ(ptr, len, want) \
	do { ck_assert_uint_eq(len, strlen(want)); ck_assert(!memcmp(ptr, want, len)); } while (0)

START_TEST(test_jsonl)
{
	const char in[] = "{\"id\": \"a1\", \"text\": \"hello\\u0000x\", \"label\": 3, \"s\": 0.5}\n"
			  "\n"
			  "{\"id\": 7, \"prompt\": {\"text\": \"P\", \"tox\": 0.9}, \"text\": \"t\","
			  " \"cont\": {\"text\": \"C\"}, \"label\": [1, {\"k\": null}]}";
	char *p = write_tmp(in, sizeof in - 1);
	const char *carry[] = { "label", "s", "prompt.tox" };
	struct ifg_textin_opts o = { .format = IFG_TEXTIN_JSONL, .text = "text", .id = "id",
				     .carry = carry, .ncarry = 3 };
	struct ifg_textin *r = ifg_textin_open(p, &o);
	ck_assert_ptr_nonnull(r);
	struct ifg_doc d;
	ck_assert_int_eq(ifg_textin_next(r, &d), 1);
	ck_assert_uint_eq(d.text_len, 7);	/* embedded NUL kept */
	ck_assert(!memcmp(d.text, "hello\0x", 7));
	ck_assert_int_eq(d.id.type, IFG_VAL_STR);
	STREQ(d.id.s, d.id.n, "a1");
	ck_assert_int_eq(d.carry[0].type, IFG_VAL_INT);
	ck_assert_int_eq(d.carry[0].i, 3);
	ck_assert_int_eq(d.carry[1].type, IFG_VAL_REAL);
	ck_assert_int_eq(d.carry[2].type, IFG_VAL_NONE);
	ck_assert_uint_eq(d.line, 1);
	ck_assert_int_eq(ifg_textin_next(r, &d), 1);	/* blank line skipped */
	ck_assert_uint_eq(d.line, 3);
	ck_assert_int_eq(d.id.type, IFG_VAL_INT);
	ck_assert_int_eq(d.carry[0].type, IFG_VAL_JSON);
	ck_assert_int_eq(d.carry[2].type, IFG_VAL_REAL);	/* dotted path */
	/* the value packs as msgpack */
	msgpack_sbuffer sb;
	msgpack_sbuffer_init(&sb);
	msgpack_packer pk;
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	ifg_pack_value(&pk, &d.carry[0]);
	msgpack_unpacked u;
	msgpack_unpacked_init(&u);
	ck_assert_int_eq(msgpack_unpack_next(&u, sb.data, sb.size, NULL), MSGPACK_UNPACK_SUCCESS);
	ck_assert_int_eq(u.data.type, MSGPACK_OBJECT_ARRAY);
	ck_assert_uint_eq(u.data.via.array.size, 2);
	ck_assert_int_eq(u.data.via.array.ptr[1].type, MSGPACK_OBJECT_MAP);
	msgpack_unpacked_destroy(&u);
	msgpack_sbuffer_destroy(&sb);
	ck_assert_int_eq(ifg_textin_next(r, &d), 0);
	ifg_textin_close(r);

	/* prompt/continuation by dotted path */
	struct ifg_textin_opts q = { .format = IFG_TEXTIN_JSONL, .text = "prompt.text",
				     .cont = "cont.text" };
	r = ifg_textin_open(p, &q);
	ck_assert_int_eq(ifg_textin_next(r, &d), -1);	/* line 1 has no prompt */
	ck_assert_msg(strstr(ifg_err(), "line 1: field 'prompt.text' is missing"), "%s",
		      ifg_err());
	ifg_textin_close(r);
	remove_tmp(p);
}
END_TEST

START_TEST(test_jsonl_errors)
{
	const char in[] = "{\"text\": \"ok\"}\n{\"text\": 5}\n";
	char *p = write_tmp(in, sizeof in - 1);
	struct ifg_textin_opts o = { .format = IFG_TEXTIN_JSONL, .text = "text" };
	struct ifg_textin *r = ifg_textin_open(p, &o);
	struct ifg_doc d;
	ck_assert_int_eq(ifg_textin_next(r, &d), 1);
	ck_assert_int_eq(ifg_textin_next(r, &d), -1);
	ck_assert_msg(strstr(ifg_err(), "line 2: field 'text' is not a string"), "%s", ifg_err());
	ifg_textin_close(r);
	remove_tmp(p);
	const char bad[] = "{\"text\": \"ok\"\n";
	p = write_tmp(bad, sizeof bad - 1);
	r = ifg_textin_open(p, &o);
	ck_assert_int_eq(ifg_textin_next(r, &d), -1);
	ck_assert_msg(strstr(ifg_err(), "line 1:"), "%s", ifg_err());
	ifg_textin_close(r);
	remove_tmp(p);
}
END_TEST

START_TEST(test_csv)
{
	/* RFC 4180: quotes, doubled quotes, commas and line breaks inside,
	 * CRLF records, an empty first header name (as in Davidson's file). */
	const char in[] = ",class,tweet,n\r\n"
			  "0,2,\"said \"\"hi\"\", then, left\",007\r\n"
			  "1,1,\"two\nlines\",-3\n"
			  "\n"
			  "2,0,plain \"quote\" inside,x\n"
			  "3,0,\"\",\n"
			  "4,1,\"last\"";
	char *p = write_tmp(in, sizeof in - 1);
	const char *carry[] = { "class", "n" };
	struct ifg_textin_opts o = { .format = IFG_TEXTIN_CSV, .text = "tweet", .id = "1",
				     .carry = carry, .ncarry = 2 };
	struct ifg_textin *r = ifg_textin_open(p, &o);
	ck_assert_msg(r != NULL, "%s", ifg_err());
	struct ifg_doc d;
	ck_assert_int_eq(ifg_textin_next(r, &d), 1);
	STREQ(d.text, d.text_len, "said \"hi\", then, left");
	ck_assert_int_eq(d.id.type, IFG_VAL_INT);
	ck_assert_int_eq(d.id.i, 0);
	ck_assert_int_eq(d.carry[0].type, IFG_VAL_INT);
	ck_assert_int_eq(d.carry[0].i, 2);
	ck_assert_int_eq(d.carry[1].type, IFG_VAL_STR);	/* "007" is not canonical */
	STREQ(d.carry[1].s, d.carry[1].n, "007");
	ck_assert_uint_eq(d.line, 2);
	ck_assert_int_eq(ifg_textin_next(r, &d), 1);
	STREQ(d.text, d.text_len, "two\nlines");
	ck_assert_int_eq(d.carry[1].i, -3);
	ck_assert_uint_eq(d.line, 3);
	ck_assert_int_eq(ifg_textin_next(r, &d), 1);
	STREQ(d.text, d.text_len, "plain \"quote\" inside");
	ck_assert_uint_eq(d.line, 6);
	ck_assert_int_eq(ifg_textin_next(r, &d), 1);
	ck_assert_uint_eq(d.text_len, 0);
	ck_assert_int_eq(ifg_textin_next(r, &d), 1);
	STREQ(d.text, d.text_len, "last");
	ck_assert_int_eq(ifg_textin_next(r, &d), 0);
	ifg_textin_close(r);

	struct ifg_textin_opts bad = { .format = IFG_TEXTIN_CSV, .text = "nope" };
	ck_assert_ptr_null(ifg_textin_open(p, &bad));
	ck_assert_msg(strstr(ifg_err(), "no column 'nope'"), "%s", ifg_err());
	remove_tmp(p);

	const char open_quote[] = "a,b\n1,\"never closed\n";
	p = write_tmp(open_quote, sizeof open_quote - 1);
	struct ifg_textin_opts ob = { .format = IFG_TEXTIN_CSV, .text = "b" };
	r = ifg_textin_open(p, &ob);
	ck_assert_int_eq(ifg_textin_next(r, &d), -1);
	ck_assert_msg(strstr(ifg_err(), "line 2: quoted field not closed"), "%s", ifg_err());
	ifg_textin_close(r);
	remove_tmp(p);
}
END_TEST

/* TSV as ParaDetox is written (Python's csv with a tab delimiter): quoted
 * fields with line breaks and commas; no text field, a continuation and an
 * alternative (preference pairs); the same fields from JSONL. */
START_TEST(test_tsv_pairs)
{
	const char in[] = "toxic\tneutral1\tneutral2\n"
			  "you are dumb , ok\t\"you are\nwrong\"\t\n"
			  "\"say \"\"hi\"\"\"\tsay hello\tx\n";
	char *p = write_tmp(in, sizeof in - 1);
	struct ifg_textin_opts o = { .format = IFG_TEXTIN_TSV, .cont = "neutral1", .alt = "toxic" };
	struct ifg_textin *r = ifg_textin_open(p, &o);
	ck_assert_msg(r != NULL, "%s", ifg_err());
	struct ifg_doc d;
	ck_assert_int_eq(ifg_textin_next(r, &d), 1);
	ck_assert_uint_eq(d.text_len, 0);
	STREQ(d.cont, d.cont_len, "you are\nwrong");
	STREQ(d.alt, d.alt_len, "you are dumb , ok");
	ck_assert_uint_eq(d.line, 2);
	ck_assert_int_eq(ifg_textin_next(r, &d), 1);
	STREQ(d.cont, d.cont_len, "say hello");
	STREQ(d.alt, d.alt_len, "say \"hi\"");
	ck_assert_uint_eq(d.line, 4);
	ck_assert_int_eq(ifg_textin_next(r, &d), 0);
	ifg_textin_close(r);
	struct ifg_textin_opts bad = { .format = IFG_TEXTIN_TSV, .cont = "neutral1", .alt = "nope" };
	ck_assert_ptr_null(ifg_textin_open(p, &bad));
	ck_assert_msg(strstr(ifg_err(), "no column 'nope' in the TSV header"), "%s", ifg_err());
	remove_tmp(p);

	const char js[] = "{\"p\": \"Q:\", \"c\": \" yes\", \"r\": \" no\"}\n{\"p\": \"Q:\", \"c\": \" y\"}\n";
	p = write_tmp(js, sizeof js - 1);
	struct ifg_textin_opts oj = { .format = IFG_TEXTIN_JSONL, .text = "p", .cont = "c", .alt = "r" };
	r = ifg_textin_open(p, &oj);
	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(ifg_textin_next(r, &d), 1);
	STREQ(d.text, d.text_len, "Q:");
	STREQ(d.cont, d.cont_len, " yes");
	STREQ(d.alt, d.alt_len, " no");
	ck_assert_int_eq(ifg_textin_next(r, &d), -1);
	ck_assert_msg(strstr(ifg_err(), "line 2: field 'r' is missing"), "%s", ifg_err());
	ifg_textin_close(r);
	struct ifg_textin_opts op = { .format = IFG_TEXTIN_LINES, .alt = "r" };
	ck_assert_ptr_null(ifg_textin_open(p, &op));	/* plain text has no fields */
	remove_tmp(p);
	ck_assert_int_eq(ifg_textin_format_parse("tsv"), IFG_TEXTIN_TSV);
}
END_TEST

START_TEST(test_plain)
{
	const char in[] = "one\ntwo \xff\r\n\nlast";
	char *p = write_tmp(in, sizeof in - 1);
	struct ifg_textin_opts o = { .format = IFG_TEXTIN_LINES };
	struct ifg_textin *r = ifg_textin_open(p, &o);
	struct ifg_doc d;
	ck_assert_int_eq(ifg_textin_next(r, &d), 1);
	STREQ(d.text, d.text_len, "one");
	ck_assert_int_eq(d.id.type, IFG_VAL_NONE);
	ck_assert_int_eq(ifg_textin_next(r, &d), 1);
	STREQ(d.text, d.text_len, "two \xff\r");
	ck_assert_int_eq(ifg_textin_next(r, &d), 1);
	ck_assert_uint_eq(d.text_len, 0);
	ck_assert_int_eq(ifg_textin_next(r, &d), 1);
	STREQ(d.text, d.text_len, "last");
	ck_assert_uint_eq(d.line, 4);
	ck_assert_int_eq(ifg_textin_next(r, &d), 0);
	ifg_textin_close(r);

	struct ifg_textin_opts f = { .format = IFG_TEXTIN_FILE };
	r = ifg_textin_open(p, &f);
	ck_assert_int_eq(ifg_textin_next(r, &d), 1);
	ck_assert_uint_eq(d.text_len, sizeof in - 1);
	ck_assert(!memcmp(d.text, in, d.text_len));
	ck_assert_int_eq(d.id.type, IFG_VAL_STR);
	STREQ(d.id.s, d.id.n, p);
	ck_assert_int_eq(ifg_textin_next(r, &d), 0);
	ifg_textin_close(r);

	struct ifg_textin_opts bad = { .format = IFG_TEXTIN_LINES, .id = "x" };
	ck_assert_ptr_null(ifg_textin_open(p, &bad));
	remove_tmp(p);
	ck_assert_int_eq(ifg_textin_format_parse("csv"), IFG_TEXTIN_CSV);
	ck_assert_int_eq(ifg_textin_format_parse("xml"), -1);
}
END_TEST

/* The format of a name: by its ending, after any .zst; JSONL otherwise. */
START_TEST(test_format_of)
{
	static const struct {
		const char *path;
		enum ifg_textin_format want;
	} cases[] = {
		{ "a.csv", IFG_TEXTIN_CSV },	   { "dir/a.tsv.zst", IFG_TEXTIN_TSV },
		{ "a.txt", IFG_TEXTIN_LINES },	   { "a.csv.zst", IFG_TEXTIN_CSV },
		{ "a.jsonl", IFG_TEXTIN_JSONL },   { "a.jsonl.zst", IFG_TEXTIN_JSONL },
		{ ".csv", IFG_TEXTIN_JSONL },	   /* no name before the ending */
		{ "a.zst", IFG_TEXTIN_JSONL },	   { "a.csvx", IFG_TEXTIN_JSONL },
		{ "a.CSV", IFG_TEXTIN_JSONL },	   { "acsv", IFG_TEXTIN_JSONL },
		{ "a.txt.gz", IFG_TEXTIN_JSONL },  { "-", IFG_TEXTIN_JSONL },
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
		ck_assert_msg(ifg_textin_format_of(cases[i].path) == cases[i].want, "%s: %d",
			      cases[i].path, ifg_textin_format_of(cases[i].path));
	ck_assert_int_eq(ifg_textin_format_of(NULL), IFG_TEXTIN_JSONL);
}
END_TEST

Suite *make_suite(void)
{
	Suite *s = suite_create("textin");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_jsonl);
	tcase_add_test(tc, test_jsonl_errors);
	tcase_add_test(tc, test_csv);
	tcase_add_test(tc, test_tsv_pairs);
	tcase_add_test(tc, test_plain);
	tcase_add_test(tc, test_format_of);
	suite_add_tcase(s, tc);
	return s;
}

IFG_TEST_MAIN
