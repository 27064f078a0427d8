/* check_lexicon.c: profanity lexicons (cuss, swearjar) and word matching on
 * hand-made lines with known scores. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lexicon.h"
#include "testutil.h"
#include "util.h"

static const char cuss_src[] =
	"/**\n * Map of English profane words to a rating of sureness.\n */\n"
	"export const cuss = {\n"
	"  african: 0,\n"
	"  ass: 2,\n"
	"  asshat: 1,\n"
	"  bitch: 2,\n"
	"  bum: 1,\n"
	"  'bum boy': 2,\n"
	"  \"camel jockey\": 2,\n"
	"  damn: 1,\n"
	"  fuck: 2,\n"
	"  hoe: 1,\n"
	"  rape: 2,\n"
	"  shit: 2,\n"
	"  spic: 2,\n"
	"  Yank: 1\n"
	"}\n";

static struct ifg_toxlex *cuss(void)
{
	struct ifg_toxlex *lx = ifg_toxlex_parse_cuss(cuss_src, strlen(cuss_src), "t.js");
	ck_assert_msg(lx != NULL, "%s", ifg_err());
	return lx;
}

static double sc(const struct ifg_toxlex *lx, const char *s)
{
	return ifg_toxlex_scan(lx, s, strlen(s), NULL, NULL);
}

START_TEST(test_cuss_parse)
{
	struct ifg_toxlex *lx = cuss();
	ck_assert_uint_eq(ifg_toxlex_size(lx), 14);
	ck_assert_str_eq(ifg_toxlex_kind(lx), "cuss");
	ck_assert_double_eq(sc(lx, "damn"), 0.5);	/* rating 1 of 2 */
	ck_assert_double_eq(sc(lx, "yank"), 0.5);	/* entries are lower-cased */
	ifg_toxlex_free(lx);
	/* a rating out of range, a line that is no entry: the line is named */
	const char *bad = "export const cuss = {\n  ass: 2,\n  foo: 3,\n}\n";
	ck_assert_ptr_null(ifg_toxlex_parse_cuss(bad, strlen(bad), "b.js"));
	ck_assert_msg(strstr(ifg_err(), "'b.js': line 3:"), "%s", ifg_err());
	bad = "export const cuss = {\n  ass 2,\n}\n";
	ck_assert_ptr_null(ifg_toxlex_parse_cuss(bad, strlen(bad), "b.js"));
	ck_assert_msg(strstr(ifg_err(), "line 2:"), "%s", ifg_err());
	bad = "module.exports = 42\n";
	ck_assert_ptr_null(ifg_toxlex_parse_cuss(bad, strlen(bad), "b.js"));
	ck_assert_msg(strstr(ifg_err(), "no entries"), "%s", ifg_err());
}
END_TEST

START_TEST(test_forms)
{
	struct ifg_toxlex *lx = cuss();
	/* case and punctuation */
	ck_assert_double_eq(sc(lx, "You ASS!!!"), 1);
	ck_assert_double_eq(sc(lx, "(bitch)"), 1);
	ck_assert_double_eq(sc(lx, "what a lovely day"), 0);
	ck_assert_double_eq(sc(lx, ""), 0);
	/* repeated letters: runs of 3+ cut, runs of 2 kept */
	ck_assert_double_eq(sc(lx, "fuuuuuck"), 1);
	ck_assert_double_eq(sc(lx, "asssss"), 1);
	ck_assert_double_eq(sc(lx, "as"), 0);
	ck_assert_double_eq(sc(lx, "assess the damage"), 0);
	/* plural, -ing, -ed */
	ck_assert_double_eq(sc(lx, "bitches"), 1);
	ck_assert_double_eq(sc(lx, "fucking"), 1);
	ck_assert_double_eq(sc(lx, "FUCKED"), 1);
	ck_assert_double_eq(sc(lx, "raped"), 1);
	ck_assert_double_eq(sc(lx, "shitting"), 1);
	ck_assert_double_eq(sc(lx, "hoes"), 0.5);
	ck_assert_double_eq(sc(lx, "asses"), 1);
	/* not inflections of an entry */
	ck_assert_double_eq(sc(lx, "spiced rum at fair prices"), 0);
	ck_assert_double_eq(sc(lx, "assessed"), 0);
	/* multi-word entries, whatever separates the words */
	ck_assert_double_eq(sc(lx, "those camel jockeys"), 1);
	ck_assert_double_eq(sc(lx, "a Camel-Jockey"), 1);
	ck_assert_double_eq(sc(lx, "a camel and a jockey"), 0);
	ifg_toxlex_free(lx);
}
END_TEST

struct seen {
	int n;
	struct ifg_toxlex_match m[8];
};

static void collect(void *arg, const struct ifg_toxlex_match *m)
{
	struct seen *s = arg;
	if (s->n < 8)
		s->m[s->n++] = *m;
}

START_TEST(test_matches)
{
	struct ifg_toxlex *lx = cuss();
	struct seen s = { 0 };
	const char *t = "oh SHIIIT, a bum boy and an African bum";
	ck_assert_double_eq(ifg_toxlex_scan(lx, t, strlen(t), collect, &s), 1);
	ck_assert_int_eq(s.n, 4);
	ck_assert_uint_eq(s.m[0].off, 3);	/* "SHIIIT" */
	ck_assert_uint_eq(s.m[0].len, 6);
	ck_assert_str_eq(s.m[0].entry, "shit");
	ck_assert_str_eq(s.m[1].entry, "bum boy");	/* the longest entry wins */
	ck_assert_uint_eq(s.m[1].off, 13);
	ck_assert_uint_eq(s.m[1].len, 7);
	ck_assert_double_eq(s.m[1].severity, 1);
	ck_assert_str_eq(s.m[2].entry, "african");	/* a match of severity 0 */
	ck_assert_double_eq(s.m[2].severity, 0);
	ck_assert_str_eq(s.m[3].entry, "bum");
	ck_assert_double_eq(s.m[3].severity, 0.5);
	/* text with NUL bytes and non-ASCII: scanned by length */
	ck_assert_double_eq(sc(lx, "caf\xc3\xa9 d\xc3\xa4mn"), 0);
	ck_assert_double_eq(ifg_toxlex_scan(lx, "ok\0shit", 7, NULL, NULL), 1);
	ifg_toxlex_free(lx);
}
END_TEST

START_TEST(test_swearjar)
{
	const char *src = "{\n  \"damn\": [\"inappropriate\"],\n  \"ass-hat\": [\"insult\"],\n"
			  "  \"shit\": [\"sexual\",\"inappropriate\"],\n  \"goddamn\": "
			  "[\"inappropriate\",\"blasphemy\"],\n  \"odd\": [\"weird\"]\n}\n";
	struct ifg_toxlex *lx = ifg_toxlex_parse_swearjar(src, strlen(src), "en.json");
	ck_assert_msg(lx != NULL, "%s", ifg_err());
	ck_assert_str_eq(ifg_toxlex_kind(lx), "swearjar");
	ck_assert_uint_eq(ifg_toxlex_size(lx), 5);
	ck_assert_double_eq(sc(lx, "damn it"), 0.5);
	ck_assert_double_eq(sc(lx, "goddamned"), 0.5);
	ck_assert_double_eq(sc(lx, "shit"), 1);	/* the largest category weight */
	ck_assert_double_eq(sc(lx, "odd"), 1);	/* an unknown category weighs 1 */
	ck_assert_double_eq(sc(lx, "an ass-hat"), 1);
	ck_assert_double_eq(sc(lx, "an ass hat"), 1);
	ck_assert_double_eq(sc(lx, "asshats"), 1);	/* hyphenated entries also solid */
	ck_assert_double_eq(sc(lx, "a hat"), 0);
	ifg_toxlex_free(lx);
	const char *bad = "{\n \"a\": [\"x\"],\n \"b\": \n";
	ck_assert_ptr_null(ifg_toxlex_parse_swearjar(bad, strlen(bad), "bad.json"));
	ck_assert_msg(strstr(ifg_err(), "'bad.json': line "), "%s", ifg_err());
	bad = "{\"a\": \"insult\"}";
	ck_assert_ptr_null(ifg_toxlex_parse_swearjar(bad, strlen(bad), "bad.json"));
	ck_assert_msg(strstr(ifg_err(), "word 'a'"), "%s", ifg_err());
	ck_assert_ptr_null(ifg_toxlex_parse_swearjar("[]", 2, "bad.json"));
}
END_TEST

START_TEST(test_load)
{
	ck_assert_ptr_null(ifg_toxlex_load("/nonexistent/cuss"));
	ck_assert_msg(strstr(ifg_err(), "/nonexistent/cuss"), "%s", ifg_err());
	char *d = ifg_test_tmpdir();
	ck_assert_ptr_null(ifg_toxlex_load(d));	/* a directory with neither file */
	ck_assert_msg(strstr(ifg_err(), "index.js"), "%s", ifg_err());
	char path[512];
	snprintf(path, sizeof path, "%s/index.js", d);
	FILE *f = fopen(path, "w");
	fputs(cuss_src, f);
	fclose(f);
	struct ifg_toxlex *lx = ifg_toxlex_load(d);
	ck_assert_msg(lx != NULL, "%s", ifg_err());
	ck_assert_uint_eq(ifg_toxlex_size(lx), 14);
	ifg_toxlex_free(lx);
	remove(path);
	rmdir(d);
	free(d);
	/* the fetched packages, when there */
	const char *data = getenv("IFG_DATA");
	snprintf(path, sizeof path, "%s/cuss/index.js", data ? data : "data");
	if (access(path, R_OK) != 0)
		return;
	snprintf(path, sizeof path, "%s/cuss", data ? data : "data");
	lx = ifg_toxlex_load(path);
	ck_assert_msg(lx != NULL, "%s", ifg_err());
	ck_assert_uint_gt(ifg_toxlex_size(lx), 1500);
	ck_assert_double_eq(sc(lx, "you stupid fuuuucking bitches"), 1);
	ck_assert_double_eq(sc(lx, "The committee meets on Tuesday."), 0);
	ifg_toxlex_free(lx);
	snprintf(path, sizeof path, "%s/swearjar", data ? data : "data");
	lx = ifg_toxlex_load(path);
	ck_assert_msg(lx != NULL, "%s", ifg_err());
	ck_assert_str_eq(ifg_toxlex_kind(lx), "swearjar");
	ck_assert_uint_gt(ifg_toxlex_size(lx), 300);
	ck_assert_double_eq(sc(lx, "damn"), 0.5);
	ifg_toxlex_free(lx);
}
END_TEST

Suite *make_suite(void)
{
	Suite *s = suite_create("lexicon");
	TCase *tc = tcase_create("lexicon");
	tcase_add_test(tc, test_cuss_parse);
	tcase_add_test(tc, test_forms);
	tcase_add_test(tc, test_matches);
	tcase_add_test(tc, test_swearjar);
	tcase_add_test(tc, test_load);
	suite_add_tcase(s, tc);
	return s;
}

IFG_TEST_MAIN
