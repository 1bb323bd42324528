/* Small helpers every layer needs: NSS lookups, printable text, UTC times,
 * command options. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "util.h"

#define NSS_BUF_FIRST 16384 /* bytes: enough for nearly every entry */

/* ---- NSS ---- */

/* One reentrant lookup of KEY into ENT with BUF of LEN bytes: 0 or an
 * errno value, *FOUND whether there is an entry. */
typedef int (*nss_fn)(const void *key, void *ent, char *buf, size_t len, int *found);

static int
pw_by_name(const void *key, void *ent, char *buf, size_t len, int *found)
{
	struct passwd *res = NULL;
	int e = getpwnam_r(key, ent, buf, len, &res);

	*found = res != NULL;
	return e;
}

static int
pw_by_uid(const void *key, void *ent, char *buf, size_t len, int *found)
{
	struct passwd *res = NULL;
	int e = getpwuid_r(*(const uid_t *)key, ent, buf, len, &res);

	*found = res != NULL;
	return e;
}

static int
gr_by_name(const void *key, void *ent, char *buf, size_t len, int *found)
{
	struct group *res = NULL;
	int e = getgrnam_r(key, ent, buf, len, &res);

	*found = res != NULL;
	return e;
}

/* Run LOOKUP with a buffer doubled while the entry does not fit. */
static int
nss_lookup(nss_fn lookup, const void *key, void *ent, char **bufp, int *errnum)
{
	char *buf = NULL, *bigger;
	size_t len;
	int e = ERANGE, found = 0, rc;

	for (len = NSS_BUF_FIRST; e == ERANGE && len <= CT_NSS_BUF_MAX; len *= 2) {
		if ((bigger = realloc(buf, len)) == NULL) {
			free(buf);
			if (errnum != NULL)
				*errnum = ENOMEM;
			return CT_ENOMEM;
		}
		buf = bigger;
		e = lookup(key, ent, buf, len, &found);
	}
	if (errnum != NULL)
		*errnum = e;
	if (found)
		rc = CT_OK;
	/* no entry: 0, or one of the values POSIX allows for it */
	else if (e == 0 || e == ENOENT || e == ESRCH || e == EBADF || e == EPERM)
		rc = CT_ENOENT;
	else
		rc = CT_EUNAVAIL;
	if (rc == CT_OK)
		*bufp = buf;
	else
		free(buf);
	return rc;
}

int
ct_nss_getpwnam(const char *name, struct passwd *pw, char **buf, int *errnum)
{
	return nss_lookup(pw_by_name, name, pw, buf, errnum);
}

int
ct_nss_getpwuid(uid_t uid, struct passwd *pw, char **buf, int *errnum)
{
	return nss_lookup(pw_by_uid, &uid, pw, buf, errnum);
}

int
ct_nss_getgrnam(const char *name, struct group *gr, char **buf, int *errnum)
{
	return nss_lookup(gr_by_name, name, gr, buf, errnum);
}

/* ---- text ---- */

/* The length of the well-formed UTF-8 sequence at S (at most LEFT bytes,
 * stopping at a NUL), its code point in *CP; 0 when it is not one: a stray
 * or invalid byte, overlong, a surrogate, above U+10FFFF, or cut short. */
static size_t
utf8_decode(const unsigned char *s, size_t left, uint32_t *cp)
{
	size_t n, i;
	uint32_t c;

	if (s[0] < 0x80)
		n = 1, c = s[0];
	else if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, c = s[0] & 0x1fu;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, c = s[0] & 0x0fu;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, c = s[0] & 0x07u;
	else
		return 0;
	if (n > left)
		return 0;
	for (i = 1; i < n; i++) { /* a NUL is no continuation byte: never read past it */
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3fu);
	}
	if ((n == 3 && c < 0x800) || (n == 4 && (c < 0x10000 || c > 0x10ffff)) ||
	    (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return n;
}

/* Code points that rearrange, break or hide part of a line when shown: C0
 * and C1 controls, DEL, the bidi marks, embeddings, overrides and
 * isolates, the line and paragraph separators, and the invisible ones
 * (zero-width spaces and joiners, word joiner, invisible operators, BOM). */
static int
unsafe_code_point(uint32_t c)
{
	return c < 0x20 || (c >= 0x7f && c <= 0x9f) || c == 0x061c ||
	    (c >= 0x200b && c <= 0x200f) || (c >= 0x2028 && c <= 0x202e) ||
	    (c >= 0x2060 && c <= 0x2064) || (c >= 0x2066 && c <= 0x2069) || c == 0xfeff;
}

/* Write the escape of the N bytes at S into BUF at *O (when it fits in
 * SIZE), as FLAGS say; returns the bytes the escape takes. */
static size_t
put_escape(const unsigned char *s, size_t n, unsigned flags, char *buf, size_t size, size_t o)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t w = flags & CT_TEXT_HEX ? 3 * n : 1, i;

	if (o + w >= size)
		return w;
	if (!(flags & CT_TEXT_HEX)) {
		buf[o] = '?';
		return w;
	}
	for (i = 0; i < n; i++) {
		buf[o + 3 * i] = '\\';
		buf[o + 3 * i + 1] = hex[s[i] >> 4];
		buf[o + 3 * i + 2] = hex[s[i] & 15];
	}
	return w;
}

/* ct_text_escape, which stops at the first unit that does not fit unless
 * COUNT_ALL. */
static size_t
escape_text(const char *s, size_t len, unsigned flags, char *buf, size_t size, int count_all)
{
	const unsigned char *p = (const unsigned char *)(s != NULL ? s : "");
	size_t i = 0, o = 0, cut = 0, n, w;
	uint32_t cp = 0;
	int full = 0, bad;

	for (; i < len && p[i] != '\0' && (count_all || !full); o += w, i += n) {
		n = utf8_decode(p + i, len - i, &cp);
		bad = n == 0 || unsafe_code_point(cp);
		if (n == 0 || (n > 1 && (flags & CT_TEXT_ASCII)))
			n = 1, bad = 1; /* byte by byte */
		if ((flags & CT_TEXT_KEEP_ASCII) && n == 1 && p[i] < 0x80)
			bad = 0;
		if (!full && o + 3 < size)
			cut = o; /* where "..." would go */
		w = bad ? put_escape(p + i, n, flags, buf, size, o) : n;
		if (full || o + w < size) {
			if (!full && !bad)
				memcpy(buf + o, p + i, n);
			continue;
		}
		full = 1;
		buf[o] = '\0';
		if ((flags & CT_TEXT_ELLIPSIS) && size > 4)
			memcpy(buf + cut, "...", 4);
	}
	if (!full)
		buf[o] = '\0';
	return o;
}

size_t
ct_text_escape(const char *s, size_t len, unsigned flags, char *buf, size_t size)
{
	return escape_text(s, len, flags, buf, size, 1);
}

const char *
ct_text_printable(const char *s, size_t len, unsigned flags, char *buf, size_t size)
{
	escape_text(s, len, flags, buf, size, 0);
	return buf;
}

/* ---- time ---- */

const char *
ct_time_utc(int64_t t, enum ct_time_style style, char *out, size_t size)
{
	time_t tt = (time_t)t;
	struct tm tm;
	size_t n;

	if (t == 0 || gmtime_r(&tt, &tm) == NULL)
		n = 0;
	else if (style == CT_TIME_SPACED)
		n = strftime(out, size, "%Y-%m-%d %H:%M:%SZ", &tm);
	else
		n = strftime(out, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (n == 0)
		snprintf(out, size, "-");
	return out;
}

/* ---- command options ---- */

int
ct_opts_parse(int argc, char **argv, const struct ct_opt *opts)
{
	struct option lo[CT_OPTS_MAX + 1];
	size_t n;
	int c;

	for (n = 0; opts[n].name != NULL; n++) {
		if (n == CT_OPTS_MAX)
			return CT_EINVAL;
		/* getopt_long answers option N with N + 1: never '?' nor -1 */
		lo[n] = (struct option){opts[n].name,
		    opts[n].arg != NULL ? required_argument : no_argument, NULL, (int)n + 1};
	}
	lo[n] = (struct option){NULL, 0, NULL, 0};
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		if (c < 1 || c > (int)n)
			return CT_EUSAGE;
		if (opts[c - 1].arg != NULL)
			*opts[c - 1].arg = optarg;
		else
			*opts[c - 1].flag = 1;
	}
	return CT_OK;
}

void
ct_textbuf_add(struct ct_textbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->full)
		return;
	va_start(ap, fmt);
	n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= b->cap - b->len)
		b->full = 1;
	else
		b->len += (size_t)n;
}

int
ct_name_index(const char *const *names, size_t n, const char *name, int nocase)
{
	for (size_t i = 0; i < n; i++)
		if ((nocase ? strcasecmp(name, names[i]) : strcmp(name, names[i])) == 0)
			return (int)i;
	return -1;
}

int
ct_parse_long(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	if (s == NULL || s[0] < '0' || s[0] > '9')
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}
