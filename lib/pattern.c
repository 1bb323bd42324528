#include "config.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/x509v3.h>

#include "pattern.h"
#include "util.h"

#define PAT_OID_MAX 128                            /* characters in a dotted OID */
#define PAT_MAX_BYTES (4 * CT_PATTERN_MAX_LEN)     /* bytes of UTF-8 in a pattern */
#define PAT_VALUE_MAX_BYTES (4 * CT_ATTR_VALUE_MAX) /* bytes in an expanded value */
#define PAT_SHOW_MAX 200                           /* pattern text quoted in messages */
#define PAT_WHY_MAX 96

#define OID_UPN "1.3.6.1.4.1.311.20.2.3"
#define OID_NTDS_CA_SECURITY_EXT "1.3.6.1.4.1.311.25.2"
#define OID_NTDS_OBJECTSID "1.3.6.1.4.1.311.25.2.1"

enum pat_form {
	PAT_DN, /* subject attribute */
	PAT_IP, /* iPAddress */
	PAT_DNS, /* dNSName */
	PAT_URI, /* uniformResourceIdentifier */
	PAT_EMAIL, /* rfc822Name */
	PAT_OTHERNAME, /* otherName (UPN and othername:) */
	PAT_SID, /* the Microsoft SID extension, not a SAN */
	PAT_PRINCIPAL /* an OpenSSH certificate principal */
};

struct pat_seg {
	int ref;                  /* 1: attribute name as written; 0: literal text */
	char *s;
};

struct pat_item {
	char *type;               /* type as written (unescaped), for messages */
	enum pat_form form;
	ASN1_OBJECT *obj;         /* attribute type, or otherName type-id */
	int str_type;             /* V_ASN1_* of the value */
	int country;              /* value must be two uppercase letters */
	size_t max_chars;
	const char *ub; /* the name of the bound max_chars comes from, or NULL */
	struct pat_seg *segs;
	size_t n_segs;
};

struct ct_pattern {
	enum ct_pattern_kind kind;
	char *text;
	int has_sid;
	size_t n;
	struct pat_item items[CT_PATTERN_MAX_ITEMS];
};

/* A bounded reader over the pattern text. */
struct pat_cur {
	const char *s;
	size_t len;
	size_t off;
	int slash_literal; /* a principal: '/' does not end a value */
};

/* The subject attribute types and their upper bounds, in characters (X.520
 * counts characters, not bytes): ub-* values from RFC 5280 Appendix A and
 * X.520 (ub-pseudonym, ub-street-address), ub-user-identifier from COSINE
 * (RFC 1274, kept by RFC 4519).  dnQualifier has no bound in the standards:
 * CT_ATTR_VALUE_MAX.  DC has none either (RFC 4519): it holds one label of a
 * domain name, so 63, the longest DNS label (RFC 1035 section 2.3.4). */
static const struct subj_type {
	const char *name;
	const char *oid;
	int str_type;
	size_t max;
	const char *ub; /* the bound's name, for messages */
} subj_types[] = {
    {"CN", "2.5.4.3", V_ASN1_UTF8STRING, 64, "ub-common-name"},
    {"SN", "2.5.4.4", V_ASN1_UTF8STRING, 32768, "ub-name"},
    {"serialNumber", "2.5.4.5", V_ASN1_PRINTABLESTRING, 64, "ub-serial-number"},
    {"C", "2.5.4.6", V_ASN1_PRINTABLESTRING, 2, "ub-country-name-alpha-length"},
    {"L", "2.5.4.7", V_ASN1_UTF8STRING, 128, "ub-locality-name"},
    {"ST", "2.5.4.8", V_ASN1_UTF8STRING, 128, "ub-state-name"},
    {"streetAddress", "2.5.4.9", V_ASN1_UTF8STRING, 128, "ub-street-address"},
    {"O", "2.5.4.10", V_ASN1_UTF8STRING, 64, "ub-organization-name"},
    {"OU", "2.5.4.11", V_ASN1_UTF8STRING, 64, "ub-organizational-unit-name"},
    {"title", "2.5.4.12", V_ASN1_UTF8STRING, 64, "ub-title"},
    {"postalCode", "2.5.4.17", V_ASN1_UTF8STRING, 40, "ub-postal-code"},
    {"GN", "2.5.4.42", V_ASN1_UTF8STRING, 32768, "ub-name"},
    {"initials", "2.5.4.43", V_ASN1_UTF8STRING, 32768, "ub-name"},
    {"generationQualifier", "2.5.4.44", V_ASN1_UTF8STRING, 32768, "ub-name"},
    {"dnQualifier", "2.5.4.46", V_ASN1_PRINTABLESTRING, CT_ATTR_VALUE_MAX, NULL},
    {"pseudonym", "2.5.4.65", V_ASN1_UTF8STRING, 128, "ub-pseudonym"},
    {"DC", "0.9.2342.19200300.100.1.25", V_ASN1_IA5STRING, 63, "one DNS label"},
    {"emailAddress", "1.2.840.113549.1.9.1", V_ASN1_IA5STRING, 255, "ub-emailaddress-length"},
    {"userid", "0.9.2342.19200300.100.1.1", V_ASN1_UTF8STRING, 256, "ub-user-identifier"},
};

static const struct san_type {
	const char *name;
	enum pat_form form;
	const char *oid;
	int str_type;
} san_types[] = {
    {"IP", PAT_IP, NULL, V_ASN1_OCTET_STRING},
    {"DNS", PAT_DNS, NULL, V_ASN1_IA5STRING},
    {"URI", PAT_URI, NULL, V_ASN1_IA5STRING},
    {"email", PAT_EMAIL, NULL, V_ASN1_IA5STRING},
    {"UPN", PAT_OTHERNAME, OID_UPN, V_ASN1_UTF8STRING},
    {"SID", PAT_SID, OID_NTDS_OBJECTSID, V_ASN1_OCTET_STRING},
};

static const struct othername_format {
	const char *name;
	int str_type;
} othername_formats[] = {
	{ "UTF8String", V_ASN1_UTF8STRING },
	{ "IA5String", V_ASN1_IA5STRING },
	{ "OctetString", V_ASN1_OCTET_STRING },
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* ---- character classes and value syntax ---- */

static int
is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static int
is_alpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int
is_xdigit(int c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static int
hex_val(int c)
{
	if (is_digit(c))
		return c - '0';
	return (c | 0x20) - 'a' + 10;
}

/* Decode one UTF-8 sequence of S (LEN bytes left): 0 and *ADV, *CP, or -1. */
static int
utf8_decode(const unsigned char *s, size_t len, size_t *adv, unsigned long *cp)
{
	unsigned long v, min;
	size_t n, i;

	if (s[0] < 0x80) {
		n = 1, v = s[0], min = 0;
	} else if ((s[0] & 0xe0) == 0xc0) {
		n = 2, v = s[0] & 0x1f, min = 0x80;
	} else if ((s[0] & 0xf0) == 0xe0) {
		n = 3, v = s[0] & 0x0f, min = 0x800;
	} else if ((s[0] & 0xf8) == 0xf0) {
		n = 4, v = s[0] & 0x07, min = 0x10000;
	} else {
		return -1;
	}
	if (n > len)
		return -1;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return -1;
		v = (v << 6) | (s[i] & 0x3f);
	}
	if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return -1;
	*adv = n;
	*cp = v;
	return 0;
}

/* Is S valid UTF-8 without control characters (C0, DEL, C1)?  Counts characters. */
static int
utf8_text_ok(const char *s, size_t *nchars)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t len = strlen(s), i, adv, n = 0;
	unsigned long cp;

	for (i = 0; i < len; i += adv, n++) {
		if (utf8_decode(u + i, len - i, &adv, &cp) != 0)
			return 0;
		if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f))
			return 0;
	}
	*nchars = n;
	return 1;
}

/* Printable ASCII (IA5String without control characters). */
static int
ascii_text_ok(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			return 0;
	return 1;
}

static int
printable_ok(const char *s)
{
	for (; *s != '\0'; s++)
		if (!is_alpha(*s) && !is_digit(*s) && strchr(" '()+,-./:=?", *s) == NULL)
			return 0;
	return 1;
}

static int
country_ok(const char *s)
{
	return s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z' && s[2] == '\0';
}

static int
hex_ok(const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++)
		if (!is_xdigit(s[i]))
			return 0;
	return i > 0 && i % 2 == 0;
}

/* LDH labels (plus '_'), 1-63 characters, optional leading "*.", <= 253, no trailing dot. */
static int
dns_ok(const char *s)
{
	size_t len = strlen(s), i = 0, lab;

	if (len == 0 || len > 253)
		return 0;
	if (strncmp(s, "*.", 2) == 0)
		i = 2;
	for (;;) {
		for (lab = 0; i < len && s[i] != '.'; i++, lab++)
			if (!is_alpha(s[i]) && !is_digit(s[i]) && s[i] != '-' && s[i] != '_')
				return 0;
		if (lab == 0 || lab > 63)
			return 0;
		if (i == len)
			return 1;
		i++;
	}
}

/* An addr-spec without quoting or comments (RFC 5321 section 4.1.2, and its
 * limits in 4.5.3.1): a dot-atom local part of 1-64 characters, '@', a domain
 * name as dns_ok without a wildcard; at most 254 characters in all. */
static int
email_ok(const char *s)
{
	const char *at = strchr(s, '@'), *p;

	if (at == NULL || at == s || at - s > 64 || strlen(s) > 254)
		return 0;
	if (s[0] == '.' || at[-1] == '.' || at[1] == '*')
		return 0;
	for (p = s; p < at; p++) {
		if (*p == '.' && p[1] == '.')
			return 0;
		if (!is_alpha(*p) && !is_digit(*p) && strchr(".!#$%&'*+-/=?^_`{|}~", *p) == NULL)
			return 0;
	}
	return dns_ok(at + 1);
}

/* A scheme "[A-Za-z][A-Za-z0-9+.-]*:" then printable ASCII without spaces. */
static int
uri_ok(const char *s)
{
	size_t i;

	if (!is_alpha(s[0]))
		return 0;
	for (i = 1; s[i] != ':'; i++)
		if (!is_alpha(s[i]) && !is_digit(s[i]) && s[i] != '+' && s[i] != '.' &&
		    s[i] != '-')
			return 0;
	for (i++; s[i] != '\0'; i++)
		if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e)
			return 0;
	return 1;
}

/* An OpenSSH principal: printable ASCII, no space, no comma. */
static int
principal_ok(const char *s)
{
	for (; *s != '\0'; s++)
		if (*s <= ' ' || *s > '~' || *s == ',')
			return 0;
	return 1;
}

/* A decimal 0..4294967295 without leading zeros at S + *I; advances *I. */
static int
dec_u32(const char *s, size_t *i)
{
	unsigned long long v = 0;
	size_t j = *i;

	if (!is_digit(s[j]) || (s[j] == '0' && is_digit(s[j + 1])))
		return -1;
	for (; is_digit(s[j]); j++) {
		v = v * 10 + (unsigned)(s[j] - '0');
		if (v > 0xffffffffULL)
			return -1;
	}
	*i = j;
	return 0;
}

/* "S-1-" authority (decimal, or 0x + 12 hex digits), then 1..15 "-" sub-authorities. */
static int
sid_ok(const char *s)
{
	size_t i = 4, n;

	if (strncmp(s, "S-1-", 4) != 0)
		return 0;
	if (s[4] == '0' && (s[5] == 'x' || s[5] == 'X')) {
		for (i = 6; i < 18; i++)
			if (!is_xdigit(s[i]))
				return 0;
	} else if (dec_u32(s, &i) != 0) {
		return 0;
	}
	for (n = 0; s[i] == '-'; n++) {
		i++;
		if (dec_u32(s, &i) != 0)
			return 0;
	}
	return s[i] == '\0' && n >= 1 && n <= 15;
}

/* An IPv4 or IPv6 address in BUF (16 bytes): its length, or 0 when not one. */
static size_t
ip_parse(const char *s, unsigned char *buf)
{
	if (inet_pton(AF_INET, s, buf) == 1)
		return 4;
	if (inet_pton(AF_INET6, s, buf) == 1)
		return 16;
	return 0;
}

static int
oid_syntax_ok(const char *s)
{
	size_t i = 0, start, arcs = 0;

	if (strnlen(s, PAT_OID_MAX + 1) > PAT_OID_MAX)
		return 0;
	for (;;) {
		for (start = i; is_digit(s[i]); i++)
			;
		if (i == start || (s[start] == '0' && i - start > 1))
			return 0;
		if (arcs == 0 && (i - start != 1 || s[start] > '2'))
			return 0;
		if (arcs == 1 && s[0] != '2' && (i - start > 2 || atoi(s + start) > 39))
			return 0;
		arcs++;
		if (s[i] == '\0')
			return arcs >= 2;
		if (s[i++] != '.')
			return 0;
	}
}

int
ct_oid_parse(const char *text, ASN1_OBJECT **out)
{
	ASN1_OBJECT *obj;

	if (!oid_syntax_ok(text))
		return CT_EINVAL;
	if ((obj = OBJ_txt2obj(text, 1)) == NULL) {
		ERR_clear_error();
		return CT_ENOMEM;
	}
	*out = obj;
	return CT_OK;
}

/* ---- messages ---- */

/* Copy S into BUF for a message: control characters become '?', long text is cut. */
static const char *
pat_show(const char *s, char *buf, size_t size)
{
	return ct_text_printable(s, SIZE_MAX, CT_TEXT_ELLIPSIS, buf, size);
}

static const char *
pat_kind_name(const struct ct_pattern *p)
{
	return p->kind == CT_PATTERN_SUBJECT ? "subject"
	    : p->kind == CT_PATTERN_SAN      ? "SAN"
	                                     : "principal";
}

/* 1-based character position of byte offset OFF. */
static size_t
pat_pos(const struct pat_cur *c, size_t off)
{
	size_t i, n = 1;

	for (i = 0; i < off && i < c->len; i++)
		if (((unsigned char)c->s[i] & 0xc0) != 0x80)
			n++;
	return n;
}

/* ---- value checks ---- */

static const char *
pat_check_string(const struct pat_item *it, const char *v, size_t *nchars)
{
	switch (it->str_type) {
	case V_ASN1_PRINTABLESTRING:
		if (it->country && !country_ok(v))
			return "must be two uppercase letters";
		return printable_ok(v) ? NULL : "has characters not allowed in a PrintableString";
	case V_ASN1_IA5STRING:
		return ascii_text_ok(v) ? NULL : "has non-ASCII or control characters";
	case V_ASN1_OCTET_STRING:
		return hex_ok(v) ? NULL : "is not an even number of hex digits";
	default:
		return utf8_text_ok(v, nchars) ? NULL :
		    "is not valid UTF-8 or has control characters";
	}
}

/* Does V fit item IT?  -1 with the reason in WHY when not; -2 when it is
 * too long (pat_ub names the bound). */
static int
pat_check_value(const struct pat_item *it, const char *v, char *why, size_t size)
{
	unsigned char ip[16];
	size_t nchars = strlen(v);
	const char *bad = NULL;

	if (it->form == PAT_IP && ip_parse(v, ip) == 0)
		bad = "is not an IPv4 or IPv6 address";
	else if (it->form == PAT_DNS && !dns_ok(v))
		bad = "is not a valid DNS name";
	else if (it->form == PAT_URI && !uri_ok(v))
		bad = "is not a valid URI";
	else if (it->form == PAT_EMAIL && !email_ok(v))
		bad = "is not an e-mail address (local-part@domain, ASCII)";
	else if (it->form == PAT_SID && !sid_ok(v))
		bad = "is not a valid SID";
	else if (it->form == PAT_PRINCIPAL && !principal_ok(v))
		bad = "is not printable ASCII without spaces and commas";
	else if (it->form == PAT_DN || it->form == PAT_OTHERNAME)
		bad = pat_check_string(it, v, &nchars);
	if (bad != NULL) {
		snprintf(why, size, "%s", bad);
		return -1;
	}
	if (nchars > it->max_chars) {
		snprintf(why, size, "is longer than %zu characters", it->max_chars);
		return -2;
	}
	return 0;
}

/* " (NAME-OF-THE-BOUND)" after a length error RC (-2) of IT, or "". */
static const char *
pat_ub(const struct pat_item *it, int rc, char *buf, size_t size)
{
	if (rc != -2 || it->ub == NULL)
		return "";
	snprintf(buf, size, " (%s)", it->ub);
	return buf;
}

/* The fewest characters item IT's value can have: its literal text, and at
 * least one character per attribute (an empty attribute is an error). */
static size_t
pat_min_chars(const struct pat_item *it)
{
	size_t i, n = 0;
	const char *s;

	for (i = 0; i < it->n_segs; i++) {
		if (it->segs[i].ref) {
			n++;
			continue;
		}
		for (s = it->segs[i].s; *s != '\0'; s++)
			if (((unsigned char)*s & 0xc0) != 0x80)
				n++;
	}
	return n;
}

/* Can item IT's value stay within its bound?  Checked at parse time: a
 * literal value whole, a value with attributes by its fewest characters. */
static int
pat_check_static(
    const struct pat_item *it, const struct pat_cur *c, size_t vstart, struct ct_err *err)
{
	char why[PAT_WHY_MAX], ub[PAT_WHY_MAX];
	size_t min;
	int rc;

	if (it->n_segs == 1 && !it->segs[0].ref) {
		if ((rc = pat_check_value(it, it->segs[0].s, why, sizeof(why))) != 0)
			return ct_err_set(err, CT_EINVAL, "position %zu: value for '%s' %s%s",
			    pat_pos(c, vstart), it->type, why, pat_ub(it, rc, ub, sizeof(ub)));
		return CT_OK;
	}
	if ((min = pat_min_chars(it)) > it->max_chars)
		return ct_err_set(err, CT_EINVAL,
		    "position %zu: value for '%s' has at least %zu "
		    "characters, longer than %zu%s",
		    pat_pos(c, vstart), it->type, min, it->max_chars,
		    pat_ub(it, -2, ub, sizeof(ub)));
	return CT_OK;
}

/* ---- parsing ---- */

static void
pat_item_clear(struct pat_item *it)
{
	size_t i;

	for (i = 0; i < it->n_segs; i++)
		free(it->segs[i].s);
	free(it->segs);
	free(it->type);
	ASN1_OBJECT_free(it->obj);
	memset(it, 0, sizeof(*it));
}

void
ct_pattern_free(struct ct_pattern *p)
{
	size_t i;

	if (p == NULL)
		return;
	for (i = 0; i < p->n; i++)
		pat_item_clear(&p->items[i]);
	free(p->text);
	free(p);
}

/* Next character, with '\' escaping the one after it. */
static int
pat_getc(struct pat_cur *c, char *ch, int *escaped, struct ct_err *err)
{
	if (c->s[c->off] != '\\') {
		*ch = c->s[c->off++];
		*escaped = 0;
		return CT_OK;
	}
	if (c->off + 1 >= c->len)
		return ct_err_set(err, CT_EINVAL, "position %zu: '\\' at the end of the pattern",
		    pat_pos(c, c->off));
	*ch = c->s[c->off + 1];
	*escaped = 1;
	c->off += 2;
	return CT_OK;
}

static int
pat_add_seg(struct pat_item *it, int ref, const char *s, size_t n, struct ct_err *err)
{
	struct pat_seg *segs;
	char *copy;

	if (n == 0)
		return CT_OK;
	if ((copy = strndup(s, n)) == NULL)
		return ct_err_set(err, CT_ENOMEM, "out of memory");
	if ((segs = reallocarray(it->segs, it->n_segs + 1, sizeof(*segs))) == NULL) {
		free(copy);
		return ct_err_set(err, CT_ENOMEM, "out of memory");
	}
	it->segs = segs;
	segs[it->n_segs].ref = ref;
	segs[it->n_segs].s = copy;
	it->n_segs++;
	return CT_OK;
}

/* Read the TYPE of an item up to the first unescaped '=', which is consumed. */
static int
pat_read_type(struct pat_cur *c, char **out, struct ct_err *err)
{
	size_t start = c->off, at, n = 0;
	int escaped = 0, rc = CT_OK;
	char *buf, ch = '\0';

	if ((buf = malloc(c->len - c->off + 1)) == NULL)
		return ct_err_set(err, CT_ENOMEM, "out of memory");
	for (;;) {
		if (c->off == c->len || c->s[c->off] == '/') {
			rc = ct_err_set(err, CT_EINVAL, "position %zu: item has no '='",
			    pat_pos(c, start));
			goto out;
		}
		at = c->off;
		if ((rc = pat_getc(c, &ch, &escaped, err)) != CT_OK)
			goto out;
		if (!escaped && ch == '=')
			break;
		if (!escaped && ch == '%') {
			rc = ct_err_set(err, CT_EINVAL, "position %zu: attribute reference in a type",
			    pat_pos(c, at));
			goto out;
		}
		buf[n++] = ch;
	}
	if (n == 0) {
		rc = ct_err_set(err, CT_EINVAL, "position %zu: empty type", pat_pos(c, start));
		goto out;
	}
	buf[n] = '\0';
	*out = buf;
	buf = NULL;
out:
	free(buf);
	return rc;
}

/* Read "name%" after a '%' at byte offset AT. */
static int
pat_read_ref(struct pat_cur *c, size_t at, struct pat_item *it, struct ct_err *err)
{
	char show[CT_ATTR_NAME_MAX + 8], *name;
	size_t j;
	int rc;

	for (j = c->off; j < c->len && c->s[j] != '%' && c->s[j] != '/'; j++)
		;
	if (j == c->len || c->s[j] != '%')
		return ct_err_set(err, CT_EINVAL, "position %zu: unterminated attribute reference",
		    pat_pos(c, at));
	if (j == c->off)
		return ct_err_set(err, CT_EINVAL, "position %zu: empty attribute reference '%%%%'",
		    pat_pos(c, at));
	if ((name = strndup(c->s + c->off, j - c->off)) == NULL)
		return ct_err_set(err, CT_ENOMEM, "out of memory");
	if (!ct_attr_name_valid(name))
		rc = ct_err_set(err, CT_EINVAL, "position %zu: invalid attribute name '%s'",
		    pat_pos(c, at + 1), pat_show(name, show, sizeof(show)));
	else
		rc = pat_add_seg(it, 1, name, j - c->off, err);
	free(name);
	c->off = j + 1;
	return rc;
}

/* Read the VALUE of an item into segments, up to an unescaped '/' or the end. */
static int
pat_read_value(struct pat_cur *c, struct pat_item *it, struct ct_err *err)
{
	size_t n = 0, at;
	int escaped = 0, rc = CT_OK;
	char *lit, ch = '\0';

	if ((lit = malloc(c->len - c->off + 1)) == NULL)
		return ct_err_set(err, CT_ENOMEM, "out of memory");
	while (c->off < c->len && (c->slash_literal || c->s[c->off] != '/')) {
		at = c->off;
		if ((rc = pat_getc(c, &ch, &escaped, err)) != CT_OK)
			goto out;
		if (escaped || ch != '%') {
			lit[n++] = ch;
			continue;
		}
		if ((rc = pat_add_seg(it, 0, lit, n, err)) != CT_OK)
			goto out;
		n = 0;
		if ((rc = pat_read_ref(c, at, it, err)) != CT_OK)
			goto out;
	}
	rc = pat_add_seg(it, 0, lit, n, err);
out:
	free(lit);
	return rc;
}

static int
pat_builtin_obj(const char *oid, ASN1_OBJECT **out, struct ct_err *err)
{
	if (ct_oid_parse(oid, out) != CT_OK)
		return ct_err_set(err, CT_ENOMEM, "cannot create object %s", oid);
	return CT_OK;
}

static int
pat_subject_type(struct pat_item *it, size_t pos, struct ct_err *err)
{
	const struct subj_type *st = NULL;
	char show[PAT_SHOW_MAX];
	size_t i;

	for (i = 0; i < NELEM(subj_types) && st == NULL; i++)
		if (strcasecmp(it->type, subj_types[i].name) == 0 ||
		    strcmp(it->type, subj_types[i].oid) == 0)
			st = &subj_types[i];
	if (st == NULL && !is_digit(it->type[0]))
		return ct_err_set(err, CT_EINVAL, "position %zu: unknown subject type '%s'", pos,
		    pat_show(it->type, show, sizeof(show)));
	if (st == NULL && ct_oid_parse(it->type, &it->obj) != CT_OK)
		return ct_err_set(err, CT_EINVAL, "position %zu: invalid OID '%s'", pos,
		    pat_show(it->type, show, sizeof(show)));
	it->form = PAT_DN;
	it->str_type = st != NULL ? st->str_type : V_ASN1_UTF8STRING;
	/* certtoken's own cap on a value applies under the standards' bound */
	it->max_chars = CT_ATTR_VALUE_MAX;
	if (st != NULL && st->max <= CT_ATTR_VALUE_MAX) {
		it->max_chars = st->max;
		it->ub = st->ub;
	}
	it->country = st != NULL && strcmp(st->oid, "2.5.4.6") == 0;
	if (st != NULL)
		return pat_builtin_obj(st->oid, &it->obj, err);
	return CT_OK;
}

/* "othername:{oid};{format}" */
static int
pat_othername_type(struct pat_item *it, size_t pos, struct ct_err *err)
{
	char show[PAT_SHOW_MAX], *oid, *semi;
	size_t i;
	int rc;

	if ((semi = strchr(it->type + 10, ';')) == NULL)
		return ct_err_set(err, CT_EINVAL, "position %zu: othername needs "
		    "'othername:{oid};{format}'", pos);
	for (i = 0; i < NELEM(othername_formats); i++)
		if (strcasecmp(semi + 1, othername_formats[i].name) == 0)
			break;
	if (i == NELEM(othername_formats))
		return ct_err_set(err, CT_EINVAL, "position %zu: unknown othername format '%s' "
		    "(UTF8String, IA5String or OctetString)", pos,
		    pat_show(semi + 1, show, sizeof(show)));
	if ((oid = strndup(it->type + 10, (size_t)(semi - it->type - 10))) == NULL)
		return ct_err_set(err, CT_ENOMEM, "out of memory");
	if ((rc = ct_oid_parse(oid, &it->obj)) != CT_OK)
		rc = ct_err_set(err, rc, "position %zu: invalid othername OID '%s'", pos,
		    pat_show(oid, show, sizeof(show)));
	free(oid);
	it->form = PAT_OTHERNAME;
	it->str_type = othername_formats[i].str_type;
	it->max_chars = CT_ATTR_VALUE_MAX;
	return rc;
}

static int
pat_san_type(struct ct_pattern *p, struct pat_item *it, size_t pos, struct ct_err *err)
{
	const struct san_type *st = NULL;
	char show[PAT_SHOW_MAX];
	size_t i;

	if (strncasecmp(it->type, "othername:", 10) == 0)
		return pat_othername_type(it, pos, err);
	for (i = 0; i < NELEM(san_types) && st == NULL; i++)
		if (strcasecmp(it->type, san_types[i].name) == 0)
			st = &san_types[i];
	if (st == NULL)
		return ct_err_set(err, CT_EINVAL, "position %zu: unknown SAN type '%s'", pos,
		    pat_show(it->type, show, sizeof(show)));
	if (st->form == PAT_SID && p->has_sid)
		return ct_err_set(err, CT_EINVAL, "position %zu: more than one SID item", pos);
	p->has_sid |= st->form == PAT_SID;
	it->form = st->form;
	it->str_type = st->str_type;
	it->max_chars = CT_ATTR_VALUE_MAX;
	if (st->oid != NULL)
		return pat_builtin_obj(st->oid, &it->obj, err);
	return CT_OK;
}

/* A principal has no type: the whole text is its value. */
static int
pat_principal_type(struct pat_item *it, struct pat_cur *c, struct ct_err *err)
{
	if ((it->type = strdup("principal")) == NULL)
		return ct_err_set(err, CT_ENOMEM, "out of memory");
	it->form = PAT_PRINCIPAL;
	it->str_type = V_ASN1_IA5STRING;
	it->max_chars = CT_ATTR_VALUE_MAX;
	c->slash_literal = 1;
	return CT_OK;
}

static int
pat_parse_item(struct ct_pattern *p, struct pat_cur *c, struct pat_item *it,
    struct ct_err *err)
{
	size_t pos = pat_pos(c, c->off), vstart;
	int rc;

	if (c->off == c->len || c->s[c->off] == '/')
		return ct_err_set(err, CT_EINVAL, "position %zu: empty item", pos);
	if (p->kind == CT_PATTERN_PRINCIPAL)
		rc = pat_principal_type(it, c, err);
	else if ((rc = pat_read_type(c, &it->type, err)) != CT_OK)
		return rc;
	else if (p->kind == CT_PATTERN_SUBJECT)
		rc = pat_subject_type(it, pos, err);
	else
		rc = pat_san_type(p, it, pos, err);
	vstart = c->off;
	if (rc != CT_OK || (rc = pat_read_value(c, it, err)) != CT_OK)
		return rc;
	if (it->n_segs == 0)
		return ct_err_set(err, CT_EINVAL, "position %zu: empty value for '%s'",
		    pat_pos(c, vstart), it->type);
	return pat_check_static(it, c, vstart, err);
}

/* Byte length of TEXT, or an error when it has more than CT_PATTERN_MAX_LEN characters. */
static int
pat_length(const char *text, size_t *len, struct ct_err *err)
{
	size_t n = strnlen(text, PAT_MAX_BYTES + 1), i, chars = 0;

	for (i = 0; i < n; i++)
		if (((unsigned char)text[i] & 0xc0) != 0x80)
			chars++;
	if (n > PAT_MAX_BYTES || chars > CT_PATTERN_MAX_LEN)
		return ct_err_set(err, CT_EINVAL, "position %d: pattern longer than %d characters",
		    CT_PATTERN_MAX_LEN + 1, CT_PATTERN_MAX_LEN);
	*len = n;
	return CT_OK;
}

static int
pat_parse_items(struct ct_pattern *p, struct pat_cur *c, struct ct_err *err)
{
	struct pat_item it;
	int rc;

	for (;;) {
		if (p->n == CT_PATTERN_MAX_ITEMS)
			return ct_err_set(err, CT_EINVAL, "position %zu: more than %d items",
			    pat_pos(c, c->off), CT_PATTERN_MAX_ITEMS);
		memset(&it, 0, sizeof(it));
		if ((rc = pat_parse_item(p, c, &it, err)) != CT_OK) {
			pat_item_clear(&it);
			return rc;
		}
		p->items[p->n++] = it;
		if (c->off == c->len)
			return CT_OK;
		c->off++; /* the '/' */
	}
}

int
ct_pattern_parse(enum ct_pattern_kind kind, const char *text, struct ct_pattern **out,
    struct ct_err *err)
{
	struct ct_pattern *p = NULL;
	struct pat_cur c;
	int rc;

	if (text == NULL)
		text = "";
	memset(&c, 0, sizeof(c));
	c.s = text;
	if ((rc = pat_length(text, &c.len, err)) != CT_OK)
		return rc;
	if (c.len == 0 && kind != CT_PATTERN_SAN)
		return ct_err_set(err, CT_EINVAL, "position 1: empty %s pattern",
		    kind == CT_PATTERN_SUBJECT ? "subject" : "principal");
	if ((p = calloc(1, sizeof(*p))) == NULL || (p->text = strdup(text)) == NULL) {
		rc = ct_err_set(err, CT_ENOMEM, "out of memory");
		goto out;
	}
	p->kind = kind;
	if (c.len > 0 && (rc = pat_parse_items(p, &c, err)) != CT_OK)
		goto out;
	*out = p;
	p = NULL;
out:
	ct_pattern_free(p);
	return rc;
}

size_t
ct_pattern_count(const struct ct_pattern *p)
{
	return p->n;
}

int
ct_pattern_foreach_attr(const struct ct_pattern *p, int (*fn)(void *ctx, const char *name),
    void *ctx)
{
	size_t i, j;
	int rc;

	for (i = 0; i < p->n; i++)
		for (j = 0; j < p->items[i].n_segs; j++)
			if (p->items[i].segs[j].ref &&
			    (rc = fn(ctx, p->items[i].segs[j].s)) != 0)
				return rc;
	return 0;
}

/* ---- expansion ---- */

static void
pat_free_value(char *v)
{
	if (v != NULL)
		OPENSSL_clear_free(v, strlen(v));
}

/* Text of segment SEG: the literal, or the attribute's value. */
static int
pat_seg_text(const struct ct_pattern *p, const struct pat_seg *seg, const struct ct_attrs *a,
    const char **out, struct ct_err *err)
{
	char show[PAT_SHOW_MAX];
	const char *v;

	if (!seg->ref) {
		*out = seg->s;
		return CT_OK;
	}
	v = a != NULL ? ct_attrs_get(a, seg->s) : NULL;
	if (v == NULL || v[0] == '\0')
		return ct_err_set(err, CT_EINVAL, "attribute '%s' is %s for this user "
		    "(%s pattern '%s')", seg->s, v == NULL ? "not set" : "empty",
		    pat_kind_name(p), pat_show(p->text, show, sizeof(show)));
	*out = v;
	return CT_OK;
}

/* Substitute the attributes of item IT into a new string (wipe it after use). */
static int
pat_substitute(const struct ct_pattern *p, const struct pat_item *it, const struct ct_attrs *a,
    char **out, struct ct_err *err)
{
	char show[PAT_SHOW_MAX], *buf;
	const char *s = NULL;
	size_t i, n = 0, l;
	int rc = CT_OK;

	if ((buf = malloc(PAT_VALUE_MAX_BYTES + 1)) == NULL)
		return ct_err_set(err, CT_ENOMEM, "out of memory");
	for (i = 0; i < it->n_segs; i++) {
		if ((rc = pat_seg_text(p, &it->segs[i], a, &s, err)) != CT_OK)
			goto out;
		if ((l = strlen(s)) > PAT_VALUE_MAX_BYTES - n) {
			rc = ct_err_set(err, CT_EINVAL, "value for '%s' is longer than %d bytes "
			    "(%s pattern '%s')", it->type, PAT_VALUE_MAX_BYTES,
			    pat_kind_name(p), pat_show(p->text, show, sizeof(show)));
			goto out;
		}
		memcpy(buf + n, s, l);
		n += l;
	}
	buf[n] = '\0';
	*out = buf;
	buf = NULL;
out:
	if (buf != NULL)
		OPENSSL_clear_free(buf, PAT_VALUE_MAX_BYTES + 1);
	return rc;
}

/* Expand item IT and check the result against its type. */
static int
pat_expand(const struct ct_pattern *p, const struct pat_item *it, const struct ct_attrs *a,
    char **out, struct ct_err *err)
{
	char why[PAT_WHY_MAX], show[PAT_SHOW_MAX], ub[PAT_WHY_MAX], *v = NULL;
	int rc;

	if ((rc = pat_substitute(p, it, a, &v, err)) != CT_OK)
		return rc;
	if ((rc = pat_check_value(it, v, why, sizeof(why))) != 0) {
		pat_free_value(v);
		return ct_err_set(err, CT_EINVAL, "value for '%s' %s (%s pattern '%s')%s", it->type,
		    why, pat_kind_name(p), pat_show(p->text, show, sizeof(show)),
		    pat_ub(it, rc, ub, sizeof(ub)));
	}
	*out = v;
	return CT_OK;
}

int
ct_pattern_expand_text(
    const struct ct_pattern *p, const struct ct_attrs *a, char **out, struct ct_err *err)
{
	if (p->kind != CT_PATTERN_PRINCIPAL || p->n != 1)
		return ct_err_set(err, CT_EINVAL, "not a principal pattern");
	return pat_expand(p, &p->items[0], a, out, err);
}

int
ct_pattern_expand_subject(const struct ct_pattern *p, const struct ct_attrs *a,
    X509_NAME **out, struct ct_err *err)
{
	const struct pat_item *it;
	X509_NAME *name = NULL;
	char *v = NULL;
	size_t i;
	int rc = CT_OK;

	if (p->kind != CT_PATTERN_SUBJECT)
		return ct_err_set(err, CT_EINVAL, "not a subject pattern");
	if ((name = X509_NAME_new()) == NULL) {
		rc = ct_err_set(err, CT_ENOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < p->n; i++) {
		it = &p->items[i];
		if ((rc = pat_expand(p, it, a, &v, err)) != CT_OK)
			goto out;
		if (X509_NAME_add_entry_by_OBJ(name, it->obj, it->str_type,
		    (const unsigned char *)v, (int)strlen(v), -1, 0) != 1) {
			rc = ct_err_set(err, CT_ECRYPTO, "cannot add '%s' to the subject", it->type);
			ct_err_openssl(err);
			goto out;
		}
		pat_free_value(v);
		v = NULL;
	}
	*out = name;
	name = NULL;
out:
	pat_free_value(v);
	X509_NAME_free(name);
	return rc;
}

static ASN1_STRING *
pat_asn1_string(int type, const unsigned char *b, size_t n)
{
	ASN1_STRING *s;

	if ((s = ASN1_STRING_type_new(type)) == NULL)
		return NULL;
	if (ASN1_STRING_set(s, b, (int)n) != 1) {
		ASN1_STRING_free(s);
		return NULL;
	}
	return s;
}

/* otherName { OID, [0] EXPLICIT value of STR_TYPE } */
static GENERAL_NAME *
san_othername(const ASN1_OBJECT *oid, int str_type, const unsigned char *b, size_t n)
{
	GENERAL_NAME *gen = NULL, *ret = NULL;
	ASN1_OBJECT *o = NULL;
	ASN1_TYPE *t = NULL;
	ASN1_STRING *s;

	if ((s = pat_asn1_string(str_type, b, n)) == NULL)
		goto out;
	if ((t = ASN1_TYPE_new()) == NULL) {
		ASN1_STRING_free(s);
		goto out;
	}
	ASN1_TYPE_set(t, str_type, s);
	if ((o = OBJ_dup(oid)) == NULL || (gen = GENERAL_NAME_new()) == NULL)
		goto out;
	if (GENERAL_NAME_set0_othername(gen, o, t) != 1)
		goto out;
	o = NULL;
	t = NULL;
	ret = gen;
	gen = NULL;
out:
	GENERAL_NAME_free(gen);
	ASN1_OBJECT_free(o);
	ASN1_TYPE_free(t);
	return ret;
}

/* Hex digits of an OctetString othername value as bytes (V was checked). */
static GENERAL_NAME *
san_othername_hex(const ASN1_OBJECT *oid, const char *v)
{
	size_t i, n = strlen(v) / 2;
	GENERAL_NAME *gen;
	unsigned char *b;

	if ((b = malloc(n)) == NULL)
		return NULL;
	for (i = 0; i < n; i++)
		b[i] = (unsigned char)(hex_val(v[2 * i]) << 4 | hex_val(v[2 * i + 1]));
	gen = san_othername(oid, V_ASN1_OCTET_STRING, b, n);
	OPENSSL_clear_free(b, n);
	return gen;
}

/* A GeneralName (iPAddress, dNSName, URI) whose value is the string STR. */
static GENERAL_NAME *
san_simple(int gen_type, int str_type, const unsigned char *b, size_t n)
{
	GENERAL_NAME *gen;
	ASN1_STRING *s;

	if ((s = pat_asn1_string(str_type, b, n)) == NULL)
		return NULL;
	if ((gen = GENERAL_NAME_new()) == NULL) {
		ASN1_STRING_free(s);
		return NULL;
	}
	GENERAL_NAME_set0_value(gen, gen_type, s);
	return gen;
}

/* The GeneralName for SAN item IT with the (checked) value V; NULL when out of memory. */
static GENERAL_NAME *
san_general_name(const struct pat_item *it, const char *v)
{
	unsigned char ip[16];
	size_t n;

	switch (it->form) {
	case PAT_IP:
		n = ip_parse(v, ip);
		return san_simple(GEN_IPADD, V_ASN1_OCTET_STRING, ip, n);
	case PAT_DNS:
		return san_simple(GEN_DNS, V_ASN1_IA5STRING, (const unsigned char *)v, strlen(v));
	case PAT_URI:
		return san_simple(GEN_URI, V_ASN1_IA5STRING, (const unsigned char *)v, strlen(v));
	case PAT_EMAIL:
		return san_simple(GEN_EMAIL, V_ASN1_IA5STRING, (const unsigned char *)v, strlen(v));
	default:
		if (it->str_type == V_ASN1_OCTET_STRING)
			return san_othername_hex(it->obj, v);
		return san_othername(it->obj, it->str_type, (const unsigned char *)v, strlen(v));
	}
}

static int
san_push(GENERAL_NAMES **gens, GENERAL_NAME *gen)
{
	if (gen == NULL)
		return CT_ENOMEM;
	if (*gens == NULL && (*gens = sk_GENERAL_NAME_new_null()) == NULL) {
		GENERAL_NAME_free(gen);
		return CT_ENOMEM;
	}
	if (sk_GENERAL_NAME_push(*gens, gen) == 0) {
		GENERAL_NAME_free(gen);
		return CT_ENOMEM;
	}
	return CT_OK;
}

/* szOID_NTDS_CA_SECURITY_EXT: GeneralNames { otherName { objectSid, OCTET STRING sid } } */
static int
sid_extension(const struct pat_item *it, const char *v, X509_EXTENSION **out,
    struct ct_err *err)
{
	GENERAL_NAMES *gens = NULL;
	ASN1_OCTET_STRING *os = NULL;
	ASN1_OBJECT *obj = NULL;
	unsigned char *der = NULL;
	int len, rc = CT_ENOMEM;

	if (san_push(&gens, san_othername(it->obj, V_ASN1_OCTET_STRING,
	    (const unsigned char *)v, strlen(v))) != CT_OK)
		goto out;
	if ((len = i2d_GENERAL_NAMES(gens, &der)) <= 0 ||
	    (os = pat_asn1_string(V_ASN1_OCTET_STRING, der, (size_t)len)) == NULL)
		goto out;
	if (ct_oid_parse(OID_NTDS_CA_SECURITY_EXT, &obj) != CT_OK ||
	    (*out = X509_EXTENSION_create_by_OBJ(NULL, obj, 0, os)) == NULL)
		goto out;
	rc = CT_OK;
out:
	if (rc != CT_OK)
		ct_err_set(err, rc, "cannot build the SID extension");
	ERR_clear_error();
	ASN1_OBJECT_free(obj);
	ASN1_OCTET_STRING_free(os);
	OPENSSL_free(der);
	GENERAL_NAMES_free(gens);
	return rc;
}

/* Expand every item: the GeneralNames (NULL when none) and the SID extension (or NULL). */
static int
san_build(const struct ct_pattern *p, const struct ct_attrs *a, GENERAL_NAMES **san,
    X509_EXTENSION **sid, struct ct_err *err)
{
	GENERAL_NAMES *gens = NULL;
	X509_EXTENSION *ext = NULL;
	char *v = NULL;
	size_t i;
	int rc = CT_OK;

	for (i = 0; i < p->n; i++) {
		if ((rc = pat_expand(p, &p->items[i], a, &v, err)) != CT_OK)
			goto out;
		if (p->items[i].form == PAT_SID)
			rc = sid_extension(&p->items[i], v, &ext, err);
		else if ((rc = san_push(&gens, san_general_name(&p->items[i], v))) != CT_OK)
			ct_err_set(err, rc, "out of memory");
		pat_free_value(v);
		v = NULL;
		if (rc != CT_OK)
			goto out;
	}
	*san = gens;
	*sid = ext;
	gens = NULL;
	ext = NULL;
out:
	GENERAL_NAMES_free(gens);
	X509_EXTENSION_free(ext);
	return rc;
}

int
ct_pattern_apply_san(const struct ct_pattern *p, const struct ct_attrs *a, X509 *cert,
    struct ct_err *err)
{
	GENERAL_NAMES *san = NULL;
	X509_EXTENSION *sid = NULL;
	int rc;

	if (p->kind != CT_PATTERN_SAN)
		return ct_err_set(err, CT_EINVAL, "not a SAN pattern");
	if ((rc = san_build(p, a, &san, &sid, err)) != CT_OK)
		goto out;
	if ((san != NULL && X509_get_ext_by_NID(cert, NID_subject_alt_name, -1) >= 0) ||
	    (sid != NULL && X509_get_ext_by_OBJ(cert, X509_EXTENSION_get_object(sid), -1) >= 0)) {
		rc = ct_err_set(err, CT_EEXIST, "certificate already has a SAN or SID extension");
		goto out;
	}
	if ((san != NULL &&
	    X509_add1_ext_i2d(cert, NID_subject_alt_name, san, 0, X509V3_ADD_DEFAULT) != 1) ||
	    (sid != NULL && X509_add_ext(cert, sid, -1) != 1)) {
		rc = ct_err_set(err, CT_ECRYPTO, "cannot add the SAN extensions");
		ct_err_openssl(err);
		goto out;
	}
out:
	GENERAL_NAMES_free(san);
	X509_EXTENSION_free(sid);
	return rc;
}
