#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/objects.h>
#include <openssl/x509v3.h>

#include "attrs.h"
#include "pattern.h"

#define SENTINEL ((struct ct_pattern *)&sentinel_byte)
static const char sentinel_byte;

/* ---- helpers ---- */

static void
assert_msg(const struct ct_err *err, const char *want)
{
	if (strstr(err->msg, want) == NULL)
		fail_msg("message '%s' lacks '%s'", err->msg, want);
	if (strchr(err->msg, '\n') != NULL)
		fail_msg("message '%s' has more than one line", err->msg);
}

static struct ct_attrs *
new_attrs(void)
{
	struct ct_attrs *a = ct_attrs_new();
	struct ct_err err = { 0 };

	assert_non_null(a);
	assert_int_equal(ct_attrs_set(a, "principal", "alice@EXAMPLE.COM", &err), CT_OK);
	assert_int_equal(ct_attrs_set(a, "unix_account", "alice", &err), CT_OK);
	assert_int_equal(ct_attrs_set(a, "name", "Alice Ex/ample", &err), CT_OK);
	assert_int_equal(ct_attrs_set(a, "company", "ACME/Labs=1%x%\\y", &err), CT_OK);
	assert_int_equal(ct_attrs_set(a, "department", "", &err), CT_OK);
	assert_int_equal(ct_attrs_add_raw(a, "employeeNumber", "E-42", &err), CT_OK);
	return a;
}

static struct ct_pattern *
parse_ok(enum ct_pattern_kind kind, const char *text)
{
	struct ct_pattern *p = NULL;
	struct ct_err err = { 0 };
	int rc = ct_pattern_parse(kind, text, &p, &err);

	if (rc != CT_OK)
		fail_msg("parse '%s': %d %s", text, rc, err.msg);
	assert_non_null(p);
	return p;
}

static void
parse_err(enum ct_pattern_kind kind, const char *text, const char *want)
{
	struct ct_pattern *p = SENTINEL;
	struct ct_err err = { 0 };

	if (ct_pattern_parse(kind, text, &p, &err) != CT_EINVAL)
		fail_msg("parse '%s' did not fail with CT_EINVAL", text);
	assert_ptr_equal(p, SENTINEL);
	assert_int_equal(err.code, CT_EINVAL);
	assert_msg(&err, want);
}

static X509_NAME *
subject(const char *text, const struct ct_attrs *a)
{
	struct ct_pattern *p = parse_ok(CT_PATTERN_SUBJECT, text);
	struct ct_err err = { 0 };
	X509_NAME *n = NULL;

	if (ct_pattern_expand_subject(p, a, &n, &err) != CT_OK)
		fail_msg("expand '%s': %s", text, err.msg);
	ct_pattern_free(p);
	assert_non_null(n);
	return n;
}

static void
subject_err(const char *text, const struct ct_attrs *a, const char *want)
{
	struct ct_pattern *p = parse_ok(CT_PATTERN_SUBJECT, text);
	X509_NAME *n = (X509_NAME *)&sentinel_byte;
	struct ct_err err = { 0 };

	assert_int_equal(ct_pattern_expand_subject(p, a, &n, &err), CT_EINVAL);
	assert_ptr_equal(n, &sentinel_byte);
	assert_msg(&err, want);
	ct_pattern_free(p);
}

static void
check_entry(const X509_NAME *n, int i, const char *oid, int type, const char *value)
{
	const X509_NAME_ENTRY *e = X509_NAME_get_entry(n, i);
	const ASN1_STRING *s;
	char buf[128];

	assert_non_null(e);
	OBJ_obj2txt(buf, sizeof(buf), X509_NAME_ENTRY_get_object(e), 1);
	assert_string_equal(buf, oid);
	s = X509_NAME_ENTRY_get_data(e);
	assert_int_equal(ASN1_STRING_type(s), type);
	assert_int_equal(ASN1_STRING_length(s), strlen(value));
	assert_memory_equal(ASN1_STRING_get0_data(s), value, strlen(value));
	assert_int_equal(X509_NAME_ENTRY_set(e), i); /* one attribute per RDN */
}

/* The DER of CERT's extension with OID, and its criticality; NULL when absent. */
static const ASN1_OCTET_STRING *
ext_data(const X509 *cert, const char *oid, int *crit)
{
	ASN1_OBJECT *obj = OBJ_txt2obj(oid, 1);
	X509_EXTENSION *ext;
	int i;

	assert_non_null(obj);
	i = X509_get_ext_by_OBJ(cert, obj, -1);
	ASN1_OBJECT_free(obj);
	if (i < 0)
		return NULL;
	assert_int_equal(X509_get_ext_by_OBJ(cert, X509_EXTENSION_get_object(X509_get_ext(cert, i)),
	    i), -1); /* only one */
	ext = X509_get_ext(cert, i);
	*crit = X509_EXTENSION_get_critical(ext);
	return X509_EXTENSION_get_data(ext);
}

static X509 *
san_cert(const char *text, const struct ct_attrs *a)
{
	struct ct_pattern *p = parse_ok(CT_PATTERN_SAN, text);
	struct ct_err err = { 0 };
	X509 *cert = X509_new();

	assert_non_null(cert);
	if (ct_pattern_apply_san(p, a, cert, &err) != CT_OK)
		fail_msg("apply '%s': %s", text, err.msg);
	ct_pattern_free(p);
	return cert;
}

static void
san_err(const char *text, const struct ct_attrs *a, const char *want)
{
	struct ct_pattern *p = parse_ok(CT_PATTERN_SAN, text);
	struct ct_err err = { 0 };
	X509 *cert = X509_new();

	assert_non_null(cert);
	assert_int_equal(ct_pattern_apply_san(p, a, cert, &err), CT_EINVAL);
	assert_msg(&err, want);
	assert_int_equal(X509_get_ext_count(cert), 0);
	X509_free(cert);
	ct_pattern_free(p);
}

static void
check_san_der(const X509 *cert, const unsigned char *want, size_t len)
{
	const ASN1_OCTET_STRING *d;
	int crit = -1;

	assert_non_null(d = ext_data(cert, "2.5.29.17", &crit));
	assert_int_equal(crit, 0);
	assert_int_equal(ASN1_STRING_length(d), len);
	assert_memory_equal(ASN1_STRING_get0_data(d), want, len);
}

/* Escape '/', '\\', '=' and '%' of IN as a pattern value needs. */
static void
escape(const char *in, char *out, size_t size)
{
	size_t n = 0;

	for (; *in != '\0' && n + 3 < size; in++) {
		if (strchr("/\\=%", *in) != NULL)
			out[n++] = '\\';
		out[n++] = *in;
	}
	out[n] = '\0';
}

/* ---- subject ---- */

static void
test_subject_types(void **state)
{
	static const struct {
		const char *pattern, *oid;
		int type;
		const char *value;
	} t[] = {
		{ "CN=Alice", "2.5.4.3", V_ASN1_UTF8STRING, "Alice" },
		{ "cn=Alice", "2.5.4.3", V_ASN1_UTF8STRING, "Alice" },
		{ "SN=Ex", "2.5.4.4", V_ASN1_UTF8STRING, "Ex" },
		{ "serialNumber=A1 (2)", "2.5.4.5", V_ASN1_PRINTABLESTRING, "A1 (2)" },
		{ "SERIALNUMBER=42", "2.5.4.5", V_ASN1_PRINTABLESTRING, "42" },
		{ "C=FI", "2.5.4.6", V_ASN1_PRINTABLESTRING, "FI" },
		{ "L=Helsinki", "2.5.4.7", V_ASN1_UTF8STRING, "Helsinki" },
		{ "ST=Uusimaa", "2.5.4.8", V_ASN1_UTF8STRING, "Uusimaa" },
		{ "streetAddress=Main St 1", "2.5.4.9", V_ASN1_UTF8STRING, "Main St 1" },
		{ "O=Developers", "2.5.4.10", V_ASN1_UTF8STRING, "Developers" },
		{ "OU=Team A", "2.5.4.11", V_ASN1_UTF8STRING, "Team A" },
		{ "title=Dev", "2.5.4.12", V_ASN1_UTF8STRING, "Dev" },
		{ "postalCode=00100", "2.5.4.17", V_ASN1_UTF8STRING, "00100" },
		{ "GN=Alice", "2.5.4.42", V_ASN1_UTF8STRING, "Alice" },
		{ "initials=AE", "2.5.4.43", V_ASN1_UTF8STRING, "AE" },
		{ "generationQualifier=Jr", "2.5.4.44", V_ASN1_UTF8STRING, "Jr" },
		{ "dnQualifier=q1", "2.5.4.46", V_ASN1_PRINTABLESTRING, "q1" },
		{ "pseudonym=al", "2.5.4.65", V_ASN1_UTF8STRING, "al" },
		{ "DC=example", "0.9.2342.19200300.100.1.25", V_ASN1_IA5STRING, "example" },
		{ "emailAddress=a@b.c", "1.2.840.113549.1.9.1", V_ASN1_IA5STRING, "a@b.c" },
		{ "userid=alice", "0.9.2342.19200300.100.1.1", V_ASN1_UTF8STRING, "alice" },
		{ "1.2.3.4=foo", "1.2.3.4", V_ASN1_UTF8STRING, "foo" },
		{ "2.999.1=J\xc3\xbcrgen", "2.999.1", V_ASN1_UTF8STRING, "J\xc3\xbcrgen" },
		{ "2.5.4.6=SE", "2.5.4.6", V_ASN1_PRINTABLESTRING, "SE" },
		{ "CN=J\xc3\xbcrgen", "2.5.4.3", V_ASN1_UTF8STRING, "J\xc3\xbcrgen" },
	};
	unsigned char *der = NULL;
	const unsigned char *q;
	X509_NAME *n, *back;
	size_t i;
	int len;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		n = subject(t[i].pattern, NULL);
		assert_int_equal(X509_NAME_entry_count(n), 1);
		check_entry(n, 0, t[i].oid, t[i].type, t[i].value);
		/* encodes and round-trips */
		assert_true((len = i2d_X509_NAME(n, &der)) > 0);
		q = der;
		assert_non_null(back = d2i_X509_NAME(NULL, &q, len));
		assert_int_equal(X509_NAME_cmp(n, back), 0);
		X509_NAME_free(back);
		OPENSSL_free(der);
		der = NULL;
		X509_NAME_free(n);
	}
}

static void
test_subject_order(void **state)
{
	X509_NAME *n;

	(void)state;
	n = subject("DC=com/DC=example/O=Developers/OU=Team A/CN=alice", NULL);
	assert_int_equal(X509_NAME_entry_count(n), 5);
	check_entry(n, 0, "0.9.2342.19200300.100.1.25", V_ASN1_IA5STRING, "com");
	check_entry(n, 1, "0.9.2342.19200300.100.1.25", V_ASN1_IA5STRING, "example");
	check_entry(n, 2, "2.5.4.10", V_ASN1_UTF8STRING, "Developers");
	check_entry(n, 3, "2.5.4.11", V_ASN1_UTF8STRING, "Team A");
	check_entry(n, 4, "2.5.4.3", V_ASN1_UTF8STRING, "alice");
	X509_NAME_free(n);

	n = subject("CN=x/CN=y", NULL);
	assert_int_equal(X509_NAME_entry_count(n), 2);
	check_entry(n, 0, "2.5.4.3", V_ASN1_UTF8STRING, "x");
	check_entry(n, 1, "2.5.4.3", V_ASN1_UTF8STRING, "y");
	X509_NAME_free(n);
}

static void
test_subject_escapes(void **state)
{
	X509_NAME *n;

	(void)state;
	n = subject("CN=a\\/b\\\\c\\=d\\%e/O=x=y\\q", NULL);
	assert_int_equal(X509_NAME_entry_count(n), 2);
	check_entry(n, 0, "2.5.4.3", V_ASN1_UTF8STRING, "a/b\\c=d%e");
	check_entry(n, 1, "2.5.4.10", V_ASN1_UTF8STRING, "x=yq");
	X509_NAME_free(n);

	/* escapes in the type part are unescaped too */
	n = subject("C\\N=\\%\\%", NULL);
	check_entry(n, 0, "2.5.4.3", V_ASN1_UTF8STRING, "%%");
	X509_NAME_free(n);

	/* a '%' inside the value that does not open a reference: only via \% */
	n = subject("CN=100\\%", NULL);
	check_entry(n, 0, "2.5.4.3", V_ASN1_UTF8STRING, "100%");
	X509_NAME_free(n);
}

static void
test_subject_parse_errors(void **state)
{
	static const struct {
		const char *text, *want;
	} t[] = {
		{ "", "position 1: empty subject pattern" },
		{ "CN=a//O=b", "position 6: empty item" },
		{ "/CN=a", "position 1: empty item" },
		{ "CN=a/", "position 6: empty item" },
		{ "CN=", "position 4: empty value for 'CN'" },
		{ "CN=a/O=", "position 8: empty value for 'O'" },
		{ "CN", "position 1: item has no '='" },
		{ "CN=a/O", "position 6: item has no '='" },
		{ "CN\\=a", "position 1: item has no '='" },
		{ "=x", "position 1: empty type" },
		{ "XX=a", "position 1: unknown subject type 'XX'" },
		{ "CN=a/XX=b", "position 6: unknown subject type 'XX'" },
		{ "CN=\xc3\xa4/XX=b", "position 6: unknown subject type 'XX'" },
		{ "UPN=a", "position 1: unknown subject type 'UPN'" },
		{ "CN=a\\", "position 5: '\\' at the end of the pattern" },
		{ "CN=%%", "position 4: empty attribute reference" },
		{ "CN=%name", "position 4: unterminated attribute reference" },
		{ "CN=ab%name/O=%x%", "position 6: unterminated attribute reference" },
		{ "CN=%1x%", "position 5: invalid attribute name '1x'" },
		{ "CN=%a b%", "position 5: invalid attribute name 'a b'" },
		{ "%x%=a", "position 1: attribute reference in a type" },
		{ "C%N=a", "position 2: attribute reference in a type" },
		{ "1=a", "position 1: invalid OID '1'" },
		{ "3.1=a", "position 1: invalid OID '3.1'" },
		{ "1.02=a", "position 1: invalid OID '1.02'" },
		{ "01.2=a", "position 1: invalid OID '01.2'" },
		{ "1.40=a", "position 1: invalid OID '1.40'" },
		{ "1.2.=a", "position 1: invalid OID '1.2.'" },
		{ "1..2=a", "position 1: invalid OID '1..2'" },
		{ "1.2.x=a", "position 1: invalid OID '1.2.x'" },
		{ "C=fi", "position 3: value for 'C' must be two uppercase letters" },
		{ "C=FIN", "position 3: value for 'C' must be two uppercase letters" },
		{ "CN=x/C=F", "position 8: value for 'C' must be two uppercase letters" },
		{ "serialNumber=a_b", "position 14: value for 'serialNumber' has characters not "
		  "allowed in a PrintableString" },
		{ "dnQualifier=a@b", "not allowed in a PrintableString" },
		{ "serialNumber=\xc3\xa4", "not allowed in a PrintableString" },
		{ "emailAddress=\xc3\xa4@x", "position 14: value for 'emailAddress' has non-ASCII" },
		{ "DC=a\tb", "value for 'DC' has non-ASCII or control characters" },
		{ "CN=a\x01" "b", "position 4: value for 'CN' is not valid UTF-8" },
		{ "CN=a\nb", "value for 'CN' is not valid UTF-8 or has control characters" },
		{ "CN=\xff", "value for 'CN' is not valid UTF-8" },
		{ "CN=\xc0\xaf", "value for 'CN' is not valid UTF-8" },         /* overlong */
		{ "CN=\xed\xa0\x80", "value for 'CN' is not valid UTF-8" },     /* surrogate */
		{ "CN=\xc3", "value for 'CN' is not valid UTF-8" },             /* truncated */
		{ "CN=\xc2\x85", "value for 'CN' is not valid UTF-8" },         /* C1 control */
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		parse_err(CT_PATTERN_SUBJECT, t[i].text, t[i].want);
}

static void
test_subject_length_bounds(void **state)
{
	static const struct {
		const char *type;
		size_t max;
	} t[] = {
	    {"CN", 64},
	    {"O", 64},
	    {"OU", 64},
	    {"title", 64},
	    {"serialNumber", 64},
	    {"L", 128},
	    {"ST", 128},
	    {"postalCode", 40},
	    {"emailAddress", 255},
	    {"SN", CT_ATTR_VALUE_MAX},
	    {"pseudonym", 128},
	    {"1.2.3", CT_ATTR_VALUE_MAX},
	    {"streetAddress", 128},
	    {"userid", 256},
	    {"GN", CT_ATTR_VALUE_MAX},
	    {"initials", CT_ATTR_VALUE_MAX},
	    {"generationQualifier", CT_ATTR_VALUE_MAX},
	    {"dnQualifier", CT_ATTR_VALUE_MAX},
	    {"DC", 63},
	};
	char text[CT_ATTR_VALUE_MAX + 64], want[64];
	struct ct_pattern *p;
	size_t i, l;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		l = (size_t)snprintf(text, sizeof(text), "%s=", t[i].type);
		memset(text + l, 'a', t[i].max);
		text[l + t[i].max] = '\0';
		p = parse_ok(CT_PATTERN_SUBJECT, text);
		ct_pattern_free(p);
		text[l + t[i].max] = 'a';
		text[l + t[i].max + 1] = '\0';
		snprintf(want, sizeof(want), "is longer than %zu characters", t[i].max);
		parse_err(CT_PATTERN_SUBJECT, text, want);
	}
}

/* The X.520 / RFC 5280 bound is named, and a value made of attributes is
 * refused at expansion, never cut: a 129-character pseudonym or streetAddress
 * is not issued. */
static void
test_subject_upper_bounds(void **state)
{
	static const struct {
		const char *type, *ub;
		size_t max;
	} t[] = {
	    {"CN", "ub-common-name", 64},
	    {"pseudonym", "ub-pseudonym", 128},
	    {"streetAddress", "ub-street-address", 128},
	    {"L", "ub-locality-name", 128},
	    {"ST", "ub-state-name", 128},
	    {"O", "ub-organization-name", 64},
	    {"OU", "ub-organizational-unit-name", 64},
	    {"title", "ub-title", 64},
	    {"serialNumber", "ub-serial-number", 64},
	    {"postalCode", "ub-postal-code", 40},
	    {"emailAddress", "ub-emailaddress-length", 255},
	    {"userid", "ub-user-identifier", 256},
	    {"DC", "one DNS label", 63},
	};
	struct ct_attrs *a = new_attrs();
	struct ct_err err = {0};
	char value[300], text[64], want[160];
	X509_NAME *n;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		memset(value, '1', t[i].max);
		value[t[i].max] = '\0';
		ct_attrs_free(a);
		a = new_attrs();
		assert_int_equal(ct_attrs_add_raw(a, "v", value, &err), CT_OK);
		snprintf(text, sizeof(text), "%s=%%v%%", t[i].type);
		n = subject(text, a);
		assert_int_equal(
		    ASN1_STRING_length(X509_NAME_ENTRY_get_data(X509_NAME_get_entry(n, 0))),
		    (int)t[i].max);
		X509_NAME_free(n);
		strcat(value, "1");
		ct_attrs_free(a);
		a = new_attrs();
		assert_int_equal(ct_attrs_add_raw(a, "v", value, &err), CT_OK);
		snprintf(want, sizeof(want),
		    "value for '%s' is longer than %zu characters "
		    "(subject pattern '%s') (%s)",
		    t[i].type, t[i].max, text, t[i].ub);
		subject_err(text, a, want);
	}
	ct_attrs_free(a);
}

/* A literal part that alone exceeds the bound is refused when the pattern is
 * parsed (at configuration load), with each attribute counted as at least one
 * character. */
static void
test_subject_static_bounds(void **state)
{
	char text[200], p[130];

	(void)state;
	memset(p, 'p', sizeof(p) - 1);
	p[sizeof(p) - 1] = '\0';
	snprintf(text, sizeof(text), "pseudonym=%.128s%%unix_account%%", p);
	parse_err(CT_PATTERN_SUBJECT, text,
	    "position 11: value for 'pseudonym' has at least "
	    "129 characters, longer than 128 (ub-pseudonym)");
	snprintf(text, sizeof(text), "pseudonym=%.127s%%unix_account%%", p);
	ct_pattern_free(parse_ok(CT_PATTERN_SUBJECT, text));
	snprintf(text, sizeof(text), "CN=%%unix_account%%%.64s", p);
	parse_err(CT_PATTERN_SUBJECT, text,
	    "value for 'CN' has at least 65 characters, longer "
	    "than 64 (ub-common-name)");
	snprintf(text, sizeof(text), "streetAddress=%.129s", p);
	parse_err(CT_PATTERN_SUBJECT, text,
	    "position 15: value for 'streetAddress' is longer "
	    "than 128 characters (ub-street-address)");
	snprintf(text, sizeof(text), "streetAddress=%.128s", p);
	ct_pattern_free(parse_ok(CT_PATTERN_SUBJECT, text));
}

static void
test_subject_length_utf8(void **state)
{
	char text[3 + 65 * 2 + 1];
	X509_NAME *n;
	size_t i;

	(void)state;
	/* 64 two-byte characters fit CN (the limit counts characters, not bytes) */
	memcpy(text, "CN=", 3);
	for (i = 0; i < 64; i++)
		memcpy(text + 3 + 2 * i, "\xc3\xa4", 2);
	text[3 + 128] = '\0';
	n = subject(text, NULL);
	assert_int_equal(ASN1_STRING_length(X509_NAME_ENTRY_get_data(X509_NAME_get_entry(n, 0))),
	    128);
	X509_NAME_free(n);
	memcpy(text + 3 + 128, "\xc3\xa4", 3);
	parse_err(CT_PATTERN_SUBJECT, text, "position 4: value for 'CN' is longer than 64");
}

static void
test_pattern_limits(void **state)
{
	char text[CT_PATTERN_MAX_LEN + 16];
	struct ct_pattern *p;
	size_t i, l = 0;

	(void)state;
	/* exactly CT_PATTERN_MAX_ITEMS items is fine, one more is not */
	for (i = 0; i < CT_PATTERN_MAX_ITEMS; i++)
		l += (size_t)snprintf(text + l, sizeof(text) - l, "%sOU=%zu", i ? "/" : "", i);
	p = parse_ok(CT_PATTERN_SUBJECT, text);
	assert_int_equal(ct_pattern_count(p), CT_PATTERN_MAX_ITEMS);
	ct_pattern_free(p);
	snprintf(text + l, sizeof(text) - l, "/CN=x");
	parse_err(CT_PATTERN_SUBJECT, text, "more than 32 items");

	/* CT_PATTERN_MAX_LEN characters is fine, one more is not */
	memcpy(text, "1.2=", 4);
	memset(text + 4, 'a', CT_PATTERN_MAX_LEN - 4);
	text[CT_PATTERN_MAX_LEN] = '\0';
	parse_err(CT_PATTERN_SUBJECT, text, "longer than 1024 characters"); /* the value */
	memset(text, 0, sizeof(text));
	for (l = 0; l + 8 <= CT_PATTERN_MAX_LEN; l += 8)
		memcpy(text + l, l ? "/OU=abcd" : "OU=abcde", 8);
	parse_err(CT_PATTERN_SUBJECT, text, "more than 32 items"); /* 2048 chars parse so far */
	text[CT_PATTERN_MAX_LEN] = 'x';
	text[CT_PATTERN_MAX_LEN + 1] = '\0';
	parse_err(CT_PATTERN_SUBJECT, text, "position 2049: pattern longer than 2048 characters");
}

static void
test_subject_substitution(void **state)
{
	struct ct_attrs *a = new_attrs();
	struct ct_pattern *p;
	X509_NAME *n;

	(void)state;
	/* substituted '/', '=', '%' and '\' are data */
	n = subject("CN=%company%/O=%name%", a);
	assert_int_equal(X509_NAME_entry_count(n), 2);
	check_entry(n, 0, "2.5.4.3", V_ASN1_UTF8STRING, "ACME/Labs=1%x%\\y");
	check_entry(n, 1, "2.5.4.10", V_ASN1_UTF8STRING, "Alice Ex/ample");
	X509_NAME_free(n);

	n = subject("CN=%unix_account%-\\%%unix_account%\\%/OU=x%employeeNumber%y", a);
	check_entry(n, 0, "2.5.4.3", V_ASN1_UTF8STRING, "alice-%alice%");
	check_entry(n, 1, "2.5.4.11", V_ASN1_UTF8STRING, "xE-42y");
	X509_NAME_free(n);

	/* the seed's examples */
	n = subject("CN=root", a);
	check_entry(n, 0, "2.5.4.3", V_ASN1_UTF8STRING, "root");
	X509_NAME_free(n);
	n = subject("CN=%unix_account%/O=Developers/OU=Team A", a);
	assert_int_equal(X509_NAME_entry_count(n), 3);
	check_entry(n, 0, "2.5.4.3", V_ASN1_UTF8STRING, "alice");
	check_entry(n, 1, "2.5.4.10", V_ASN1_UTF8STRING, "Developers");
	check_entry(n, 2, "2.5.4.11", V_ASN1_UTF8STRING, "Team A");
	X509_NAME_free(n);

	/* a literal pattern needs no attributes; the pattern can be expanded twice */
	p = parse_ok(CT_PATTERN_SUBJECT, "CN=%principal%");
	for (int i = 0; i < 2; i++) {
		struct ct_err err = { 0 };
		n = NULL;
		assert_int_equal(ct_pattern_expand_subject(p, a, &n, &err), CT_OK);
		check_entry(n, 0, "2.5.4.3", V_ASN1_UTF8STRING, "alice@EXAMPLE.COM");
		X509_NAME_free(n);
	}
	ct_pattern_free(p);
	ct_attrs_free(a);
}

static void
test_subject_aliases(void **state)
{
	struct ct_attrs *a = new_attrs();
	X509_NAME *n;

	(void)state;
	n = subject("CN=%username%/CN=%userprincipalname%/CN=%PRINCIPAL%/CN=%full_name%", a);
	assert_int_equal(X509_NAME_entry_count(n), 4);
	check_entry(n, 0, "2.5.4.3", V_ASN1_UTF8STRING, "alice@EXAMPLE.COM");
	check_entry(n, 1, "2.5.4.3", V_ASN1_UTF8STRING, "alice@EXAMPLE.COM");
	check_entry(n, 2, "2.5.4.3", V_ASN1_UTF8STRING, "alice@EXAMPLE.COM");
	check_entry(n, 3, "2.5.4.3", V_ASN1_UTF8STRING, "Alice Ex/ample");
	X509_NAME_free(n);
	ct_attrs_free(a);
}

static void
test_subject_custom_attrs(void **state)
{
	struct ct_attrs *a = new_attrs();
	struct ct_err err = { 0 };
	X509_NAME *n;

	(void)state;
	assert_int_equal(ct_attrs_add_raw(a, "mail", "alice@example.com", &err), CT_OK);
	assert_int_equal(ct_attrs_add_raw(a, "c", "FI", &err), CT_OK);
	assert_int_equal(ct_attrs_add_raw(a, "employeeType", "staff", &err), CT_OK);
	n = subject("C=%c%/emailAddress=%mail%/CN=%EMPLOYEETYPE%", a);
	check_entry(n, 0, "2.5.4.6", V_ASN1_PRINTABLESTRING, "FI");
	check_entry(n, 1, "1.2.840.113549.1.9.1", V_ASN1_IA5STRING, "alice@example.com");
	check_entry(n, 2, "2.5.4.3", V_ASN1_UTF8STRING, "staff");
	X509_NAME_free(n);

	/* a raw directory attribute named like a standard one is not read */
	assert_int_equal(ct_attrs_add_raw(a, "telephone", "555", &err), CT_OK);
	subject_err("CN=%telephone%", a, "attribute 'telephone' is not set for this user");
	ct_attrs_free(a);
}

static void
test_subject_missing_attrs(void **state)
{
	struct ct_attrs *a = new_attrs();

	(void)state;
	subject_err("CN=%company%/O=%job_title%", a, "attribute 'job_title' is not set for this "
	    "user (subject pattern 'CN=%company%/O=%job_title%')");
	subject_err("CN=%department%", a, "attribute 'department' is empty for this user "
	    "(subject pattern 'CN=%department%')");
	subject_err("CN=%nosuchattr%", a, "attribute 'nosuchattr' is not set for this user "
	    "(subject pattern 'CN=%nosuchattr%')");
	subject_err("CN=%Company%", NULL, "attribute 'Company' is not set");
	ct_attrs_free(a);
}

static void
test_subject_expanded_violations(void **state)
{
	struct ct_attrs *a = new_attrs();
	struct ct_err err = { 0 };
	char long_value[80];

	(void)state;
	memset(long_value, 'x', 65);
	long_value[65] = '\0';
	assert_int_equal(ct_attrs_add_raw(a, "country", "fi", &err), CT_OK);
	assert_int_equal(ct_attrs_add_raw(a, "long", long_value, &err), CT_OK);
	assert_int_equal(ct_attrs_add_raw(a, "uml", "J\xc3\xbcrgen", &err), CT_OK);
	assert_int_equal(ct_attrs_add_raw(a, "nl", "a\nb", &err), CT_OK);
	assert_int_equal(ct_attrs_add_raw(a, "bad", "\xff\xfe", &err), CT_OK);
	assert_int_equal(ct_attrs_add_raw(a, "under", "a_b", &err), CT_OK);

	subject_err("C=%country%", a, "value for 'C' must be two uppercase letters (subject "
	    "pattern 'C=%country%')");
	subject_err("CN=%long%", a, "value for 'CN' is longer than 64 characters (subject "
	    "pattern 'CN=%long%')");
	subject_err("CN=%unix_account%%long%", a, "value for 'CN' is longer than 64");
	subject_err("DC=%uml%", a, "value for 'DC' has non-ASCII or control characters");
	subject_err("emailAddress=%uml%@x", a, "value for 'emailAddress' has non-ASCII");
	subject_err("serialNumber=%under%", a, "value for 'serialNumber' has characters not "
	    "allowed in a PrintableString");
	subject_err("CN=%nl%", a, "value for 'CN' is not valid UTF-8 or has control characters");
	subject_err("CN=%bad%", a, "value for 'CN' is not valid UTF-8");
	subject_err("O=%name%%name%%name%%name%%name%%name%", a, "is longer than 64 characters");
	ct_attrs_free(a);
}

static int
collect(void *ctx, const char *name)
{
	char *buf = ctx;

	strcat(buf, name);
	strcat(buf, ",");
	return strcmp(name, "stop") == 0 ? 7 : 0;
}

static void
test_foreach_attr(void **state)
{
	struct ct_pattern *p;
	char buf[256];

	(void)state;
	p = parse_ok(CT_PATTERN_SUBJECT, "CN=%Username%-%unix_account%/O=\\%x\\%/OU=%my-attr%");
	buf[0] = '\0';
	assert_int_equal(ct_pattern_foreach_attr(p, collect, buf), 0);
	assert_string_equal(buf, "Username,unix_account,my-attr,");
	ct_pattern_free(p);

	p = parse_ok(CT_PATTERN_SAN, "UPN=%a%/DNS=%stop%.x/URI=x:%b%");
	buf[0] = '\0';
	assert_int_equal(ct_pattern_foreach_attr(p, collect, buf), 7);
	assert_string_equal(buf, "a,stop,");
	ct_pattern_free(p);
}

static void
test_kind_mismatch(void **state)
{
	struct ct_pattern *p;
	struct ct_err err = { 0 };
	X509_NAME *n = NULL;
	X509 *cert = X509_new();

	(void)state;
	p = parse_ok(CT_PATTERN_SAN, "DNS=a.example");
	assert_int_equal(ct_pattern_expand_subject(p, NULL, &n, &err), CT_EINVAL);
	assert_null(n);
	ct_pattern_free(p);
	ct_err_clear(&err);
	p = parse_ok(CT_PATTERN_SUBJECT, "CN=a");
	assert_int_equal(ct_pattern_apply_san(p, NULL, cert, &err), CT_EINVAL);
	assert_int_equal(X509_get_ext_count(cert), 0);
	ct_pattern_free(p);
	X509_free(cert);
	/* a subject type is not a SAN type and vice versa */
	parse_err(CT_PATTERN_SAN, "CN=a", "position 1: unknown SAN type 'CN'");
}

/* ---- SAN ---- */

static void
test_san_empty(void **state)
{
	struct ct_pattern *p;
	X509 *cert;

	(void)state;
	p = parse_ok(CT_PATTERN_SAN, "");
	assert_int_equal(ct_pattern_count(p), 0);
	ct_pattern_free(p);
	cert = san_cert("", NULL);
	assert_int_equal(X509_get_ext_count(cert), 0);
	X509_free(cert);
}

static void
test_san_upn_der(void **state)
{
	static const unsigned char want[] = {
		0x30, 0x18,                       /* GeneralNames */
		0xa0, 0x16,                       /* [0] otherName */
		0x06, 0x0a, 0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x14, 0x02, 0x03,
		0xa0, 0x08,                       /* [0] EXPLICIT */
		0x0c, 0x06, 'u', '@', 'x', '.', 'i', 'o', /* UTF8String */
	};
	struct ct_attrs *a = ct_attrs_new();
	struct ct_err err = { 0 };
	X509 *cert;

	(void)state;
	assert_int_equal(ct_attrs_set(a, "principal", "u@x.io", &err), CT_OK);
	cert = san_cert("UPN=%principal%", a);
	check_san_der(cert, want, sizeof(want));
	assert_int_equal(X509_get_ext_count(cert), 1);
	X509_free(cert);
	cert = san_cert("upn=u@x.io", NULL);
	check_san_der(cert, want, sizeof(want));
	X509_free(cert);
	ct_attrs_free(a);
}

static void
test_san_sid_der(void **state)
{
	static const char want[] =
	    "\x30\x3e"                                         /* GeneralNames */
	    "\xa0\x3c"                                         /* [0] otherName */
	    "\x06\x0a\x2b\x06\x01\x04\x01\x82\x37\x19\x02\x01" /* 1.3.6.1.4.1.311.25.2.1 */
	    "\xa0\x2e"                                         /* [0] EXPLICIT */
	    "\x04\x2c"                                         /* OCTET STRING, the text */
	    "S-1-5-21-3623811015-3361044348-30300820-1013";
	const ASN1_OCTET_STRING *d;
	struct ct_attrs *a = ct_attrs_new();
	struct ct_err err = { 0 };
	int crit = -1;
	X509 *cert;

	(void)state;
	cert = san_cert("SID=S-1-5-21-3623811015-3361044348-30300820-1013", NULL);
	assert_int_equal(X509_get_ext_count(cert), 1); /* a SID alone makes no SAN */
	assert_non_null(d = ext_data(cert, "1.3.6.1.4.1.311.25.2", &crit));
	assert_int_equal(crit, 0);
	assert_int_equal(ASN1_STRING_length(d), sizeof(want) - 1);
	assert_memory_equal(ASN1_STRING_get0_data(d), want, sizeof(want) - 1);
	X509_free(cert);

	assert_int_equal(ct_attrs_add_raw(a, "objectSid",
	    "S-1-5-21-3623811015-3361044348-30300820-1013", &err), CT_OK);
	cert = san_cert("DNS=a.example/sid=%objectSid%", a);
	assert_int_equal(X509_get_ext_count(cert), 2);
	assert_non_null(d = ext_data(cert, "1.3.6.1.4.1.311.25.2", &crit));
	assert_memory_equal(ASN1_STRING_get0_data(d), want, sizeof(want) - 1);
	assert_non_null(ext_data(cert, "2.5.29.17", &crit));
	X509_free(cert);
	ct_attrs_free(a);
}

static void
test_san_othername(void **state)
{
	static const unsigned char want_ia5[] = {
		0x30, 0x25, 0xa0, 0x23,
		0x06, 0x08, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x08, 0x07,
		0xa0, 0x17, 0x16, 0x15,
		'_', 's', 'i', 'p', '.', '_', 't', 'c', 'p', '.', 'e', 'x', 'a', 'm', 'p', 'l',
		'e', '.', 'c', 'o', 'm',
	};
	static const unsigned char want_utf8[] = {
		0x30, 0x0f, 0xa0, 0x0d, 0x06, 0x03, 0x2a, 0x03, 0x04,
		0xa0, 0x06, 0x0c, 0x04, 'a', '/', 0xc3, 0xa4,
	};
	static const unsigned char want_octet[] = {
		0x30, 0x0f, 0xa0, 0x0d, 0x06, 0x03, 0x2a, 0x03, 0x04,
		0xa0, 0x06, 0x04, 0x04, 0xde, 0xad, 0xbe, 0xef,
	};
	X509 *cert;

	(void)state;
	cert = san_cert("othername:1.3.6.1.5.5.7.8.7;IA5String=_sip._tcp.example.com", NULL);
	check_san_der(cert, want_ia5, sizeof(want_ia5));
	X509_free(cert);
	cert = san_cert("othername:1.2.3.4;UTF8String=a\\/\xc3\xa4", NULL);
	check_san_der(cert, want_utf8, sizeof(want_utf8));
	X509_free(cert);
	cert = san_cert("OtherName:1.2.3.4;octetstring=DEADbeef", NULL);
	check_san_der(cert, want_octet, sizeof(want_octet));
	X509_free(cert);
}

static void
test_san_ip(void **state)
{
	static const unsigned char want4[] = { 0x30, 0x06, 0x87, 0x04, 192, 168, 100, 33 };
	static const unsigned char want6[] = {
		0x30, 0x12, 0x87, 0x10,
		0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01,
	};
	struct ct_attrs *a = ct_attrs_new();
	struct ct_err err = { 0 };
	X509 *cert;

	(void)state;
	cert = san_cert("IP=192.168.100.33", NULL);
	check_san_der(cert, want4, sizeof(want4));
	X509_free(cert);
	cert = san_cert("ip=2001:db8::1", NULL);
	check_san_der(cert, want6, sizeof(want6));
	X509_free(cert);

	assert_int_equal(ct_attrs_add_raw(a, "addr", "2001:DB8:0:0:0:0:0:1", &err), CT_OK);
	assert_int_equal(ct_attrs_add_raw(a, "bad", "10.0.0.256", &err), CT_OK);
	cert = san_cert("IP=%addr%", a);
	check_san_der(cert, want6, sizeof(want6));
	X509_free(cert);
	san_err("IP=%bad%", a, "value for 'IP' is not an IPv4 or IPv6 address (SAN pattern "
	    "'IP=%bad%')");

	parse_err(CT_PATTERN_SAN, "IP=300.1.1.1", "position 4: value for 'IP' is not an IPv4");
	parse_err(CT_PATTERN_SAN, "IP=1.2.3", "value for 'IP' is not an IPv4 or IPv6 address");
	parse_err(CT_PATTERN_SAN, "IP=::g", "value for 'IP' is not an IPv4 or IPv6 address");
	parse_err(CT_PATTERN_SAN, "IP= 1.2.3.4", "value for 'IP' is not an IPv4 or IPv6");
	ct_attrs_free(a);
}

static void
test_san_dns_uri(void **state)
{
	static const char *const good_dns[] = {
		"private.privx.io", "*.example.com", "_sip._tcp.example.com", "a-b.c", "localhost",
		"xn--bcher-kva.example",
	};
	static const char *const bad_dns[] = {
		"example.com.", "a..b", "*", "a.*.b", "*.", "x y.com", "ex!ample.com", ".a",
		"b\303\274cher.de", "**.a",
	};
	static const char *const good_uri[] = {
		"https://example.com/x?y=1#z", "urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66",
		"a+b.c-d:x", "mailto:a@b",
	};
	static const char *const bad_uri[] = {
		"1http://x", "http//x", "http://a b", "://x", "http://\xc3\xa4", "ht_tp://x",
		"http://a\tb",
	};
	char text[400];
	struct ct_pattern *p;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good_dns) / sizeof(good_dns[0]); i++) {
		snprintf(text, sizeof(text), "DNS=%s", good_dns[i]);
		ct_pattern_free(parse_ok(CT_PATTERN_SAN, text));
	}
	for (i = 0; i < sizeof(bad_dns) / sizeof(bad_dns[0]); i++) {
		snprintf(text, sizeof(text), "DNS=%s", bad_dns[i]);
		parse_err(CT_PATTERN_SAN, text, "position 5: value for 'DNS' is not a valid DNS name");
	}
	/* label of 63 is fine, 64 is not; total 253 is fine, 254 is not */
	snprintf(text, sizeof(text), "DNS=%063d.x", 0);
	ct_pattern_free(parse_ok(CT_PATTERN_SAN, text));
	snprintf(text, sizeof(text), "DNS=%064d.x", 0);
	parse_err(CT_PATTERN_SAN, text, "is not a valid DNS name");
	snprintf(text, sizeof(text), "DNS=%063d.%063d.%063d.%061d", 0, 0, 0, 0);
	assert_int_equal(strlen(text + 4), 253);
	ct_pattern_free(parse_ok(CT_PATTERN_SAN, text));
	snprintf(text, sizeof(text), "DNS=%063d.%063d.%063d.%062d", 0, 0, 0, 0);
	parse_err(CT_PATTERN_SAN, text, "is not a valid DNS name");

	for (i = 0; i < sizeof(good_uri) / sizeof(good_uri[0]); i++) {
		memcpy(text, "URI=", 4);
		escape(good_uri[i], text + 4, sizeof(text) - 4);
		ct_pattern_free(parse_ok(CT_PATTERN_SAN, text));
	}
	/* an unescaped '/' splits the URI into items */
	parse_err(CT_PATTERN_SAN, "URI=https://x", "position 12: empty item");
	for (i = 0; i < sizeof(bad_uri) / sizeof(bad_uri[0]); i++) {
		memcpy(text, "URI=", 4);
		escape(bad_uri[i], text + 4, sizeof(text) - 4);
		parse_err(CT_PATTERN_SAN, text, "position 5: value for 'URI' is not a valid URI");
	}
	p = parse_ok(CT_PATTERN_SAN, "dns=%unix_account%.example.com/Uri=https:\\/\\/x\\/%name%");
	assert_int_equal(ct_pattern_count(p), 2);
	ct_pattern_free(p);
}

/* email= is an rfc822Name (IA5String): a dot-atom local part and a domain. */
static void
test_san_email(void **state)
{
	static const char *const good[] = {
	    "alice@example.org",
	    "a.b+tag@mail.example.org",
	    "x_y-z@localhost",
	    "o'neil@example.com",
	    "{x}~!@example.com",
	};
	static const char *const bad[] = {
	    "alice",
	    "@example.org",
	    "alice@",
	    "al ice@example.org",
	    ".a@example.org",
	    "a.@example.org",
	    "a..b@example.org",
	    "a@b@example.org",
	    "j\xc3\xbcrgen@example.org",
	    "alice@*.example.org",
	    "alice@example..org",
	    "alice@example.org.",
	    "a\"b@x.org",
	};
	/* GeneralNames { [1] IA5String "a@b.c" } */
	static const unsigned char der[] = {0x30, 0x07, 0x81, 0x05, 'a', '@', 'b', '.', 'c'};
	struct ct_attrs *a = new_attrs();
	char text[400];
	X509 *cert;
	size_t i;
	int crit;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		snprintf(text, sizeof(text), "email=%s", good[i]);
		ct_pattern_free(parse_ok(CT_PATTERN_SAN, text));
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "email=%s", bad[i]);
		parse_err(CT_PATTERN_SAN, text,
		    "position 7: value for 'email' is not an e-mail "
		    "address");
	}
	/* local part of 64 is fine, 65 is not; 254 in all is fine, 255 is not */
	snprintf(text, sizeof(text), "email=%064d@x.org", 0);
	ct_pattern_free(parse_ok(CT_PATTERN_SAN, text));
	snprintf(text, sizeof(text), "email=%065d@x.org", 0);
	parse_err(CT_PATTERN_SAN, text, "is not an e-mail address");
	snprintf(text, sizeof(text), "email=%064d@%063d.%063d.%061d", 0, 0, 0, 0);
	assert_int_equal(strlen(text + 6), 254);
	ct_pattern_free(parse_ok(CT_PATTERN_SAN, text));
	snprintf(text, sizeof(text), "email=%064d@%063d.%063d.%062d", 0, 0, 0, 0);
	parse_err(CT_PATTERN_SAN, text, "is not an e-mail address");

	cert = san_cert("email=a@b.c", NULL);
	check_san_der(cert, der, sizeof(der));
	X509_free(cert);
	cert = san_cert("EMAIL=%unix_account%@example.org/email=%principal%", a);
	assert_non_null(ext_data(cert, "2.5.29.17", &crit));
	X509_free(cert);
	san_err("email=%name%@example.org", a, "value for 'email' is not an e-mail address");
	ct_attrs_free(a);
}

static void
test_san_substitution(void **state)
{
	static const unsigned char want[] = {
		0x30, 0x1c,
		0x86, 0x0e, 'h', 't', 't', 'p', 's', ':', '/', '/', 'x', '/', 'a', '/', 'b', '=',
		0x82, 0x0a, 'a', 'l', 'i', 'c', 'e', '.', 't', 'e', 's', 't',
	};
	struct ct_attrs *a = new_attrs();
	struct ct_err err = { 0 };
	X509 *cert;

	(void)state;
	assert_int_equal(ct_attrs_add_raw(a, "path", "a/b=", &err), CT_OK);
	assert_int_equal(ct_attrs_add_raw(a, "host", "bad host", &err), CT_OK);
	cert = san_cert("URI=https:\\/\\/x\\/%path%/DNS=%unix_account%.test", a);
	check_san_der(cert, want, sizeof(want));
	X509_free(cert);

	san_err("DNS=%host%.example", a, "value for 'DNS' is not a valid DNS name (SAN pattern "
	    "'DNS=%host%.example')");
	san_err("URI=x:%name%", a, "value for 'URI' is not a valid URI");
	/* nothing is added when a later item fails */
	san_err("DNS=ok.example/SID=S-1-5-21-1/UPN=%job_title%", a, "attribute 'job_title' is "
	    "not set for this user (SAN pattern 'DNS=ok.example/SID=S-1-5-21-1/UPN=%job_title%')");
	san_err("UPN=%department%", a, "attribute 'department' is empty for this user");
	san_err("othername:1.2.3;OctetString=%unix_account%", a, "value for "
	    "'othername:1.2.3;OctetString' is not an even number of hex digits");
	san_err("othername:1.2.3;IA5String=%name%\xc3\xa4", a, "has non-ASCII");
	ct_attrs_free(a);
}

static void
test_san_sid_syntax(void **state)
{
	static const char *const good[] = {
		"S-1-5-21-3623811015-3361044348-30300820-1013", "S-1-5-18", "S-1-0-0",
		"S-1-0x000000000005-32-544", "S-1-4294967295-4294967295",
		"S-1-5-1-2-3-4-5-6-7-8-9-10-11-12-13-14-15",
	};
	static const char *const bad[] = {
		"S-1-5", "S-1-5-", "S-2-5-21", "s-1-5-21", "S-1-5-21-4294967296", "S-1-5-01",
		"S-1-5-1-2-3-4-5-6-7-8-9-10-11-12-13-14-15-16", "S-1-0x123-1", "S-1-0x00000000000g-1",
		"S-1--5", "S-1-5-21-", "S-1-5-21 ", "S-1-4294967296-1", "S-1-5-+1", "S-1-05-1",
		"S-1-0x0000000000050-1", "S-1-5-21-1-",
	};
	char text[200];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		snprintf(text, sizeof(text), "SID=%s", good[i]);
		ct_pattern_free(parse_ok(CT_PATTERN_SAN, text));
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "SID=%s", bad[i]);
		parse_err(CT_PATTERN_SAN, text, "position 5: value for 'SID' is not a valid SID");
	}
	parse_err(CT_PATTERN_SAN, "SID=S-1-5-18/DNS=a/sid=S-1-5-19",
	    "position 20: more than one SID item");
}

static void
test_san_parse_errors(void **state)
{
	static const struct {
		const char *text, *want;
	} t[] = {
	    {"RFC822=a@b", "position 1: unknown SAN type 'RFC822'"}, /* email= is known */
	    {"DNS=a//URI=x:y", "position 7: empty item"},
	    {"/DNS=a", "position 1: empty item"},
	    {"DNS=a/", "position 7: empty item"},
	    {"DNS=", "position 5: empty value for 'DNS'"},
	    {"UPN", "position 1: item has no '='"},
	    {"UPN=%%", "position 5: empty attribute reference"},
	    {"UPN=%x", "position 5: unterminated attribute reference"},
	    {"UPN=a\\", "position 6: '\\' at the end"},
	    {"othername:1.2.3=x", "position 1: othername needs 'othername:{oid};{format}'"},
	    {"DNS=a/othername:1.2.3;BMPString=x",
	        "position 7: unknown othername format 'BMPString'"},
	    {"othername:1.2.x;UTF8String=x", "position 1: invalid othername OID '1.2.x'"},
	    {"othername:;UTF8String=x", "position 1: invalid othername OID ''"},
	    {"othername:1.2.3;OctetString=abc",
	        "position 29: value for "
	        "'othername:1.2.3;OctetString' is not an even number of hex digits"},
	    {"othername:1.2.3;OctetString=zz", "is not an even number of hex digits"},
	    {"othername:1.2.3;IA5String=\xc3\xa4", "has non-ASCII or control characters"},
	    {"othername:1.2.3;UTF8String=\x01", "is not valid UTF-8 or has control characters"},
	    {"UPN=a\x7f", "value for 'UPN' is not valid UTF-8 or has control characters"},
	    {"%a%=x", "position 1: attribute reference in a type"},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		parse_err(CT_PATTERN_SAN, t[i].text, t[i].want);
}

static void
test_san_seed_examples(void **state)
{
	static const char *const t[] = {
		"IP=192.168.100.33/DNS=private.privx.io",
		"UPN=%principal%",
		"SID=S-1-5-21-3623811015-3361044348-30300820-1013",
		"othername:1.3.6.1.5.5.7.8.7;IA5String=_sip._tcp.example.com",
	};
	struct ct_attrs *a = new_attrs();
	GENERAL_NAMES *gens;
	GENERAL_NAME *g;
	int crit = -1;
	X509 *cert;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		X509_free(san_cert(t[i], a));

	cert = san_cert("IP=192.168.100.33/DNS=private.privx.io/UPN=%principal%", a);
	assert_non_null(gens = X509_get_ext_d2i(cert, NID_subject_alt_name, &crit, NULL));
	assert_int_equal(crit, 0);
	assert_int_equal(sk_GENERAL_NAME_num(gens), 3);
	g = sk_GENERAL_NAME_value(gens, 0);
	assert_int_equal(g->type, GEN_IPADD);
	assert_int_equal(ASN1_STRING_length(g->d.iPAddress), 4);
	g = sk_GENERAL_NAME_value(gens, 1);
	assert_int_equal(g->type, GEN_DNS);
	assert_string_equal((const char *)ASN1_STRING_get0_data(g->d.dNSName), "private.privx.io");
	g = sk_GENERAL_NAME_value(gens, 2);
	assert_int_equal(g->type, GEN_OTHERNAME);
	assert_int_equal(OBJ_obj2nid(g->d.otherName->type_id), NID_ms_upn);
	assert_int_equal(g->d.otherName->value->type, V_ASN1_UTF8STRING);
	assert_string_equal((const char *)ASN1_STRING_get0_data(
	    g->d.otherName->value->value.utf8string), "alice@EXAMPLE.COM");
	GENERAL_NAMES_free(gens);
	X509_free(cert);
	ct_attrs_free(a);
}

static void
test_san_existing_extension(void **state)
{
	struct ct_pattern *p = parse_ok(CT_PATTERN_SAN, "DNS=a.example");
	struct ct_err err = { 0 };
	X509 *cert = san_cert("DNS=b.example", NULL);

	(void)state;
	assert_int_equal(ct_pattern_apply_san(p, NULL, cert, &err), CT_EEXIST);
	assert_int_equal(X509_get_ext_count(cert), 1);
	ct_pattern_free(p);
	X509_free(cert);
}

/* Principal patterns (OpenSSH certificates): the whole text is one value,
 * '/' and '=' literal; printable ASCII without spaces or commas, checked
 * as written and after substitution; a missing attribute names itself. */
static void
test_principal(void **state)
{
	struct ct_attrs *a = new_attrs();
	struct ct_pattern *p;
	struct ct_err err = { 0 };
	char *v = NULL;

	(void)state;
	p = parse_ok(CT_PATTERN_PRINCIPAL, "%unix_account%/x=y-%employeeNumber%");
	assert_int_equal(ct_pattern_count(p), 1);
	assert_int_equal(ct_pattern_expand_text(p, a, &v, &err), CT_OK);
	assert_string_equal(v, "alice/x=y-E-42");
	free(v);
	ct_pattern_free(p);
	/* a value with a space is refused after substitution */
	p = parse_ok(CT_PATTERN_PRINCIPAL, "%name%");
	assert_int_equal(ct_pattern_expand_text(p, a, &v, &err), CT_EINVAL);
	assert_msg(&err, "principal pattern '%name%'");
	ct_pattern_free(p);
	p = parse_ok(CT_PATTERN_PRINCIPAL, "%department%");
	ct_err_clear(&err);
	assert_int_equal(ct_pattern_expand_text(p, a, &v, &err), CT_EINVAL);
	assert_msg(&err, "attribute 'department' is empty");
	ct_pattern_free(p);
	p = NULL;
	assert_int_equal(ct_pattern_parse(CT_PATTERN_PRINCIPAL, "", &p, &err), CT_EINVAL);
	assert_int_equal(ct_pattern_parse(CT_PATTERN_PRINCIPAL, "a,b", &p, &err), CT_EINVAL);
	assert_int_equal(ct_pattern_parse(CT_PATTERN_PRINCIPAL, "a b", &p, &err), CT_EINVAL);
	assert_int_equal(ct_pattern_parse(CT_PATTERN_PRINCIPAL, "%unix_account", &p, &err),
	    CT_EINVAL);
	assert_null(p);
	/* not a subject or SAN pattern */
	p = parse_ok(CT_PATTERN_SUBJECT, "CN=%unix_account%");
	assert_int_equal(ct_pattern_expand_text(p, a, &v, &err), CT_EINVAL);
	ct_pattern_free(p);
	ct_attrs_free(a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_subject_types),
	    cmocka_unit_test(test_principal),
	    cmocka_unit_test(test_subject_order),
	    cmocka_unit_test(test_subject_escapes),
	    cmocka_unit_test(test_subject_parse_errors),
	    cmocka_unit_test(test_subject_length_bounds),
	    cmocka_unit_test(test_subject_upper_bounds),
	    cmocka_unit_test(test_subject_static_bounds),
	    cmocka_unit_test(test_subject_length_utf8),
	    cmocka_unit_test(test_pattern_limits),
	    cmocka_unit_test(test_subject_substitution),
	    cmocka_unit_test(test_subject_aliases),
	    cmocka_unit_test(test_subject_custom_attrs),
	    cmocka_unit_test(test_subject_missing_attrs),
	    cmocka_unit_test(test_subject_expanded_violations),
	    cmocka_unit_test(test_foreach_attr),
	    cmocka_unit_test(test_kind_mismatch),
	    cmocka_unit_test(test_san_empty),
	    cmocka_unit_test(test_san_upn_der),
	    cmocka_unit_test(test_san_sid_der),
	    cmocka_unit_test(test_san_othername),
	    cmocka_unit_test(test_san_ip),
	    cmocka_unit_test(test_san_dns_uri),
	    cmocka_unit_test(test_san_email),
	    cmocka_unit_test(test_san_substitution),
	    cmocka_unit_test(test_san_sid_syntax),
	    cmocka_unit_test(test_san_parse_errors),
	    cmocka_unit_test(test_san_seed_examples),
	    cmocka_unit_test(test_san_existing_extension),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
