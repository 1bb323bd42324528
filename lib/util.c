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

const char *
ct_text_printable(const char *s, size_t len, unsigned flags, char *buf, size_t size)
{
	unsigned char c;
	size_t i;

	if (s == NULL)
		s = "";
	for (i = 0; i < len && s[i] != '\0' && i + 1 < size; i++) {
		c = (unsigned char)s[i];
		buf[i] =
		    c < 0x20 || c == 0x7f || (c > 0x7f && (flags & CT_TEXT_ASCII)) ? '?' : s[i];
	}
	buf[i] = '\0';
	if ((flags & CT_TEXT_ELLIPSIS) && i < len && s[i] != '\0' && size > 4)
		memcpy(buf + size - 4, "...", 4);
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
