/* The small helpers: NSS lookups, printable text for messages, UTC times,
 * command options. */
#include "config.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <getopt.h>

#include "util.h"

#define NO_SUCH_NAME "ct-no-such-entry-7f3a"

/* ---- NSS ---- */

static void
test_nss_user(void **state)
{
	struct passwd pw, *ref;
	char *buf = NULL, *buf2 = NULL, name[256];
	int e = -1;

	(void)state;
	/* our own entry, by uid and then by its name */
	ref = getpwuid(getuid());
	assert_non_null(ref);
	snprintf(name, sizeof(name), "%s", ref->pw_name);
	assert_int_equal(ct_nss_getpwuid(getuid(), &pw, &buf, &e), CT_OK);
	assert_int_equal(e, 0);
	assert_non_null(buf);
	assert_string_equal(pw.pw_name, name);
	assert_int_equal(pw.pw_uid, getuid());
	assert_int_equal(ct_nss_getpwnam(name, &pw, &buf2, NULL), CT_OK);
	assert_int_equal(pw.pw_uid, getuid());
	free(buf);
	free(buf2);

	assert_int_equal(ct_nss_getpwnam("root", &pw, &buf, NULL), CT_OK);
	assert_int_equal(pw.pw_uid, 0);
	assert_string_equal(pw.pw_name, "root");
	free(buf);
}

static void
test_nss_group(void **state)
{
	struct group gr;
	char *buf = NULL;
	int e = -1;

	(void)state;
	assert_int_equal(ct_nss_getgrnam("root", &gr, &buf, &e), CT_OK);
	assert_int_equal(e, 0);
	assert_int_equal(gr.gr_gid, 0);
	assert_string_equal(gr.gr_name, "root");
	free(buf);
}

/* No entry is CT_ENOENT, not a failure, and leaves the outputs alone. */
static void
test_nss_missing(void **state)
{
	struct passwd pw;
	struct group gr;
	char *buf = (char *)"untouched";
	int e = -1;

	(void)state;
	assert_int_equal(ct_nss_getpwnam(NO_SUCH_NAME, &pw, &buf, &e), CT_ENOENT);
	assert_true(e == 0 || e == ENOENT || e == ESRCH || e == EBADF || e == EPERM);
	assert_string_equal(buf, "untouched");
	assert_int_equal(ct_nss_getgrnam(NO_SUCH_NAME, &gr, &buf, NULL), CT_ENOENT);
	assert_string_equal(buf, "untouched");
	/* the largest uid: nobody has it */
	assert_int_equal(ct_nss_getpwuid((uid_t)-2, &pw, &buf, NULL), CT_ENOENT);
	assert_string_equal(buf, "untouched");
}

/* ---- printable text ---- */

static void
test_printable_controls(void **state)
{
	char buf[64];

	(void)state;
	assert_string_equal(
	    ct_text_printable("a\tb\nc\rd\x1b[0m\x7f", SIZE_MAX, 0, buf, sizeof(buf)),
	    "a?b?c?d?[0m?");
	/* UTF-8 stays unless only ASCII is asked for */
	assert_string_equal(
	    ct_text_printable("caf\xc3\xa9", SIZE_MAX, 0, buf, sizeof(buf)), "caf\xc3\xa9");
	assert_string_equal(
	    ct_text_printable("caf\xc3\xa9\x01", SIZE_MAX, CT_TEXT_ASCII, buf, sizeof(buf)),
	    "caf???");
	assert_string_equal(ct_text_printable(NULL, SIZE_MAX, 0, buf, sizeof(buf)), "");
	assert_ptr_equal(ct_text_printable("x", SIZE_MAX, 0, buf, sizeof(buf)), buf);
}

static void
test_printable_bounds(void **state)
{
	char buf[8], one[1] = {'z'};

	(void)state;
	/* cut at SIZE-1 bytes, always terminated */
	assert_string_equal(
	    ct_text_printable("0123456789", SIZE_MAX, 0, buf, sizeof(buf)), "0123456");
	assert_string_equal(ct_text_printable("abc", SIZE_MAX, 0, one, sizeof(one)), "");
	/* at most LEN bytes: the rest of the line is not read */
	assert_string_equal(ct_text_printable("ab\ncd", 2, 0, buf, sizeof(buf)), "ab");
	assert_string_equal(ct_text_printable("ab\x01", 3, 0, buf, sizeof(buf)), "ab?");
	assert_string_equal(ct_text_printable("abc", 0, 0, buf, sizeof(buf)), "");
}

static void
test_printable_ellipsis(void **state)
{
	char buf[8], tiny[4];

	(void)state;
	assert_string_equal(
	    ct_text_printable("0123456789", SIZE_MAX, CT_TEXT_ELLIPSIS, buf, sizeof(buf)),
	    "0123...");
	/* text that fits is not marked, even when it fills the buffer */
	assert_string_equal(
	    ct_text_printable("0123456", SIZE_MAX, CT_TEXT_ELLIPSIS, buf, sizeof(buf)), "0123456");
	assert_string_equal(
	    ct_text_printable("0123456789", 7, CT_TEXT_ELLIPSIS, buf, sizeof(buf)), "0123456");
	/* too small a buffer for the mark: plainly cut */
	assert_string_equal(
	    ct_text_printable("0123456789", SIZE_MAX, CT_TEXT_ELLIPSIS, tiny, sizeof(tiny)), "012");
}

/* each class of code point that disguises or breaks a line is one '?' */
static void
test_printable_unicode_classes(void **state)
{
	static const char *const unsafe[] = {"\xc2\x80", "\xc2\x9b", "\xc2\x9f", /* C1 */
	    "\xd8\x9c", "\xe2\x80\x8e", "\xe2\x80\x8f", /* ALM LRM RLM */
	    "\xe2\x80\xaa", "\xe2\x80\xab", "\xe2\x80\xac", "\xe2\x80\xad",
	    "\xe2\x80\xae", /* LRE RLE PDF LRO RLO */
	    "\xe2\x81\xa6", "\xe2\x81\xa7", "\xe2\x81\xa8", "\xe2\x81\xa9", /* isolates */
	    "\xe2\x80\xa8", "\xe2\x80\xa9", /* line and paragraph separators */
	    "\xe2\x80\x8b", "\xe2\x80\x8c", "\xe2\x80\x8d", /* ZWSP ZWNJ ZWJ */
	    "\xe2\x81\xa0", "\xe2\x81\xa4", "\xef\xbb\xbf", /* WJ, invisible plus, BOM */
	    "\x7f", "\x1b", "\t"};
	/* their neighbours, and other UTF-8, stay */
	static const char *const safe[] = {"\xc2\xa0", "\xc3\xa9", "\xd8\x9b", "\xe2\x80\x8a",
	    "\xef\xbb\xbe", "\xe2\x81\x9f", "\xe2\x80\xa7", "\xe2\x80\xaf", "\xe2\x81\xa5",
	    "\xe2\x81\xaa", "\xf0\x9f\x94\x91", "\xf4\x8f\xbf\xbf", "~"};
	char in[16], buf[16];

	(void)state;
	for (size_t i = 0; i < sizeof(unsafe) / sizeof(unsafe[0]); i++) {
		snprintf(in, sizeof(in), "a%sb", unsafe[i]);
		assert_string_equal(ct_text_printable(in, SIZE_MAX, 0, buf, sizeof(buf)), "a?b");
	}
	for (size_t i = 0; i < sizeof(safe) / sizeof(safe[0]); i++) {
		snprintf(in, sizeof(in), "a%sb", safe[i]);
		assert_string_equal(ct_text_printable(in, SIZE_MAX, 0, buf, sizeof(buf)), in);
	}
	assert_string_equal(
	    ct_text_printable("Caf\xc3\xa9", SIZE_MAX, 0, buf, sizeof(buf)), "Caf\xc3\xa9");
}

/* what is not well-formed UTF-8 becomes '?' byte by byte */
static void
test_printable_malformed_utf8(void **state)
{
	char buf[32];

	(void)state;
	/* overlong: '/' in two, three and four bytes; U+009B in three */
	assert_string_equal(ct_text_printable("a\xc0\xaf"
	                                      "b\xc1\xbf",
	                        SIZE_MAX, 0, buf, sizeof(buf)),
	    "a??b??");
	assert_string_equal(
	    ct_text_printable("\xe0\x80\xaf|\xf0\x80\x80\xaf", SIZE_MAX, 0, buf, sizeof(buf)),
	    "???|????");
	assert_string_equal(
	    ct_text_printable("\xe0\x82\x9b", SIZE_MAX, 0, buf, sizeof(buf)), "???");
	/* surrogates, above U+10FFFF, bytes that never start a character */
	assert_string_equal(
	    ct_text_printable("\xed\xa0\x80\xed\xbf\xbf", SIZE_MAX, 0, buf, sizeof(buf)), "??????");
	assert_string_equal(
	    ct_text_printable("\xf4\x90\x80\x80|\xf5\xff\xfe", SIZE_MAX, 0, buf, sizeof(buf)),
	    "????|???");
	assert_string_equal(ct_text_printable("\x80\xbfx", SIZE_MAX, 0, buf, sizeof(buf)), "??x");
	/* truncated: at the end, before another character, by LEN */
	assert_string_equal(ct_text_printable("a\xe2\x80", SIZE_MAX, 0, buf, sizeof(buf)), "a??");
	assert_string_equal(ct_text_printable("\xe2\x80"
	                                      "b",
	                        SIZE_MAX, 0, buf, sizeof(buf)),
	    "??b");
	assert_string_equal(
	    ct_text_printable("\xf0\x9f\x94", SIZE_MAX, 0, buf, sizeof(buf)), "???");
	assert_string_equal(ct_text_printable("\xe2\x80\xa9", 2, 0, buf, sizeof(buf)), "??");
	assert_string_equal(ct_text_printable("\xc3\xa9", 1, 0, buf, sizeof(buf)), "?");
}

static void
test_printable_hex_and_keep_ascii(void **state)
{
	char buf[64], small[4];

	(void)state;
	/* HEX: the UTF-8 bytes of what is escaped, as OpenSSL writes a control in a name */
	assert_string_equal(ct_text_printable("CN=a\xc2\x9b"
	                                      "b\xe2\x80\xae"
	                                      "c\xe2\x80\xa8\x01",
	                        SIZE_MAX, CT_TEXT_HEX, buf, sizeof(buf)),
	    "CN=a\\C2\\9Bb\\E2\\80\\AEc\\E2\\80\\A8\\01");
	assert_string_equal(
	    ct_text_printable("caf\xc3\xa9\xff", SIZE_MAX, CT_TEXT_HEX, buf, sizeof(buf)),
	    "caf\xc3\xa9\\FF");
	/* escaped text escapes to itself */
	assert_string_equal(
	    ct_text_printable("CN=a\\C2\\9B\\\\", SIZE_MAX, CT_TEXT_HEX, buf, sizeof(buf)),
	    "CN=a\\C2\\9B\\\\");
	/* KEEP_ASCII: line breaks are the caller's business, the rest is not */
	assert_string_equal(ct_text_printable("a\r\n\x7f\xc2\x9b\xe2\x80\xae", SIZE_MAX,
	                        CT_TEXT_KEEP_ASCII, buf, sizeof(buf)),
	    "a\r\n\x7f??");
	/* an escape that does not fit is left out whole */
	assert_string_equal(
	    ct_text_printable("ab\xc2\x9b", SIZE_MAX, CT_TEXT_HEX, small, sizeof(small)), "ab");
}

static void
test_printable_cuts_between_characters(void **state)
{
	char buf[8], four[4];

	(void)state;
	assert_string_equal(
	    ct_text_printable("ab\xc3\xa9\xc3\xa9", SIZE_MAX, 0, four, sizeof(four)), "ab");
	assert_string_equal(ct_text_printable("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", SIZE_MAX,
	                        CT_TEXT_ELLIPSIS, buf, sizeof(buf)),
	    "\xc3\xa9\xc3\xa9...");
	assert_string_equal(ct_text_printable("a\xf0\x9f\x94\x91\xf0\x9f\x94\x91", SIZE_MAX,
	                        CT_TEXT_ELLIPSIS, buf, sizeof(buf)),
	    "a...");
	/* the whole length, as snprintf counts it */
	assert_int_equal(ct_text_escape("a\xc2\x9b"
	                                "b",
	                     SIZE_MAX, CT_TEXT_HEX, four, sizeof(four)),
	    8);
	assert_string_equal(four, "a");
	assert_int_equal(ct_text_escape("a\xc2\x9b"
	                                "b",
	                     SIZE_MAX, 0, four, sizeof(four)),
	    3);
	assert_string_equal(four, "a?b");
	assert_int_equal(ct_text_escape(NULL, SIZE_MAX, 0, four, sizeof(four)), 0);
}

/* ---- time ---- */

static void
test_time_styles(void **state)
{
	char out[32];

	(void)state;
	assert_string_equal(
	    ct_time_utc(1700000000, CT_TIME_ISO, out, sizeof(out)), "2023-11-14T22:13:20Z");
	assert_string_equal(
	    ct_time_utc(1700000000, CT_TIME_SPACED, out, sizeof(out)), "2023-11-14 22:13:20Z");
	assert_string_equal(ct_time_utc(1, CT_TIME_ISO, out, sizeof(out)), "1970-01-01T00:00:01Z");
	assert_string_equal(
	    ct_time_utc(-86400, CT_TIME_ISO, out, sizeof(out)), "1969-12-31T00:00:00Z");
	assert_ptr_equal(ct_time_utc(1, CT_TIME_ISO, out, sizeof(out)), out);
}

static void
test_time_never(void **state)
{
	char out[32], small[8];

	(void)state;
	/* 0 means "never" in the store */
	assert_string_equal(ct_time_utc(0, CT_TIME_ISO, out, sizeof(out)), "-");
	assert_string_equal(ct_time_utc(0, CT_TIME_SPACED, out, sizeof(out)), "-");
	/* no calendar date, or no room for it */
	assert_string_equal(ct_time_utc(INT64_MAX, CT_TIME_ISO, out, sizeof(out)), "-");
	assert_string_equal(ct_time_utc(1700000000, CT_TIME_ISO, small, sizeof(small)), "-");
}

/* ---- command options ---- */

/* Values, flags and operands in any order; optind ends at the first operand
 * after getopt has moved the operands behind the options. */
static void
test_opts_parse(void **state)
{
	char *argv[] = {"keygen", "--out", "x.p12", "rest", "--pin", "--target=t1", NULL};
	const char *out = NULL, *target = NULL;
	int pin = 0, legacy = 0;
	const struct ct_opt opts[] = {{"target", &target, NULL}, {"out", &out, NULL},
	    {"pin", NULL, &pin}, {"legacy", NULL, &legacy}, {NULL, NULL, NULL}};

	(void)state;
	optind = 0;
	assert_int_equal(ct_opts_parse(6, argv, opts), CT_OK);
	assert_string_equal(out, "x.p12");
	assert_string_equal(target, "t1");
	assert_int_equal(pin, 1);
	assert_int_equal(legacy, 0);
	assert_int_equal(optind, 5);
	assert_string_equal(argv[optind], "rest");
}

/* An unknown option, a value missing or given to a flag: CT_EUSAGE. */
static void
test_opts_refused(void **state)
{
	char *unknown[] = {"cmd", "--json", "--bogus", NULL};
	char *missing[] = {"cmd", "--out", NULL};
	char *valued[] = {"cmd", "--json=yes", NULL};
	const char *out = NULL;
	int json = 0;
	const struct ct_opt opts[] = {
	    {"out", &out, NULL}, {"json", NULL, &json}, {NULL, NULL, NULL}};

	(void)state;
	opterr = 0; /* the refusals are expected: keep getopt quiet */
	optind = 0;
	assert_int_equal(ct_opts_parse(3, unknown, opts), CT_EUSAGE);
	assert_int_equal(json, 1);
	optind = 0;
	assert_int_equal(ct_opts_parse(2, missing, opts), CT_EUSAGE);
	assert_null(out);
	optind = 0;
	assert_int_equal(ct_opts_parse(2, valued, opts), CT_EUSAGE);
	opterr = 1;
}

/* No options at all; a table longer than CT_OPTS_MAX is refused. */
static void
test_opts_bounds(void **state)
{
	char *argv[] = {"cmd", "a", "b", NULL};
	const struct ct_opt none[] = {{NULL, NULL, NULL}};
	struct ct_opt many[CT_OPTS_MAX + 2];
	int flag = 0;
	size_t i;

	(void)state;
	optind = 0;
	assert_int_equal(ct_opts_parse(3, argv, none), CT_OK);
	assert_int_equal(optind, 1);
	for (i = 0; i < CT_OPTS_MAX + 1; i++)
		many[i] = (struct ct_opt){"x", NULL, &flag};
	many[CT_OPTS_MAX + 1] = (struct ct_opt){NULL, NULL, NULL};
	optind = 0;
	assert_int_equal(ct_opts_parse(3, argv, many), CT_EINVAL);
	assert_int_equal(flag, 0);
}

/* Text that fits is appended; the first that does not marks the buffer
 * full and nothing after it is added, even what would fit. */
static void
test_textbuf(void **state)
{
	char mem[12];
	struct ct_textbuf b = {mem, 0, sizeof(mem), 0};

	(void)state;
	ct_textbuf_add(&b, "%s=%d", "ab", 7);
	assert_false(b.full);
	assert_int_equal(b.len, 4);
	assert_string_equal(mem, "ab=7");
	ct_textbuf_add(&b, "%s", "12345678");
	assert_true(b.full);
	assert_int_equal(b.len, 4);
	ct_textbuf_add(&b, "x");
	assert_int_equal(b.len, 4);
	assert_true(b.full);
}

static void
test_name_index(void **state)
{
	static const char *const names[] = {"hotp", "totp", "certificate"};

	(void)state;
	assert_int_equal(ct_name_index(names, 3, "totp", 0), 1);
	assert_int_equal(ct_name_index(names, 3, "TOTP", 0), -1);
	assert_int_equal(ct_name_index(names, 3, "TOTP", 1), 1);
	assert_int_equal(ct_name_index(names, 3, "certificat", 1), -1);
	assert_int_equal(ct_name_index(names, 2, "certificate", 0), -1);
}

/* command-line numbers: digits only, inside the range, or refused */
static void
test_parse_long(void **state)
{
	static const char *const bad[] = {
	    "", "-1", "+5", " 5", "5 ", "5x", "0x10", "9", "100", "99999999999999999999999"};
	long v = 42;
	size_t i;

	(void)state;
	assert_int_equal(ct_parse_long("0", 0, 8, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(ct_parse_long("8", 0, 8, &v), 0);
	assert_int_equal(v, 8);
	assert_int_equal(ct_parse_long("007", 0, 8, &v), 0);
	assert_int_equal(v, 7);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		v = 42;
		assert_int_equal(ct_parse_long(bad[i], 0, 8, &v), -1);
		assert_int_equal(v, 42); /* untouched */
	}
	assert_int_equal(ct_parse_long(NULL, 0, 8, &v), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_nss_user),
	    cmocka_unit_test(test_nss_group),
	    cmocka_unit_test(test_nss_missing),
	    cmocka_unit_test(test_printable_controls),
	    cmocka_unit_test(test_printable_bounds),
	    cmocka_unit_test(test_printable_ellipsis),
	    cmocka_unit_test(test_printable_unicode_classes),
	    cmocka_unit_test(test_printable_malformed_utf8),
	    cmocka_unit_test(test_printable_hex_and_keep_ascii),
	    cmocka_unit_test(test_printable_cuts_between_characters),
	    cmocka_unit_test(test_time_styles),
	    cmocka_unit_test(test_time_never),
	    cmocka_unit_test(test_opts_parse),
	    cmocka_unit_test(test_opts_refused),
	    cmocka_unit_test(test_opts_bounds),
	    cmocka_unit_test(test_textbuf),
	    cmocka_unit_test(test_name_index),
	    cmocka_unit_test(test_parse_long),
	};

	return cmocka_run_group_tests_name("util", tests, NULL, NULL);
}
