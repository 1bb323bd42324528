#include "config.h"

#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <unistd.h>

#include <ldap.h>
#include <openssl/crypto.h>

#include "attrs.h"
#include "attrsrc.h"
#include "ldapconn.h"
#include "util.h"

#define CT_USER_MAX 256 /* bytes in a user name */
#define CT_LDAP_FILTER_MAX 4096 /* bytes in a built search filter */
#define CT_LDAP_TIMEOUT_MAX 300 /* seconds */
#define CT_VIS_MAX 128 /* bytes of untrusted text in a message */

struct ct_attrsrc {
	const struct ct_attr_conf *conf;
	const char *uris[1]; /* conf->ldap.uri */
	struct ct_ldap_settings ls; /* the directory connection, from conf->ldap */
	struct ct_ldap *own; /* ct_attrsrc_lookup's connection (ldap source only) */
};

/* The passwd source's pools: their connections never open. */
static const char *const no_uris[] = {"ldapi://"};
static const struct ct_ldap_settings no_ldap = {
    .uris = no_uris, .n_uris = 1, .network_timeout_ms = 1000, .op_timeout_ms = 1000};

/* Default LDAP attribute for each entry of ct_attr_standard_names. */
static const char *const ldap_map_defaults[CT_ATTR_STD_COUNT] = {
    "uid", /* principal */
    "sAMAccountName", /* samaccountname */
    "uid", /* unix_account */
    "sAMAccountName", /* windows_account */
    "cn", /* name */
    "givenName", /* first_name */
    "sn", /* last_name */
    NULL, /* distinguishedname: the entry DN */
    "telephoneNumber", /* telephone */
    "o", /* company */
    "ou", /* department */
    "title", /* job_title */
    NULL, /* source: the constant "ldap" */
    "entryUUID", /* external_id */
};

/* What the passwd source can fill in (canonical names). */
static const char *const passwd_provided[] = {
    "principal", "unix_account", "name", "first_name", "last_name", "telephone", "source", NULL};

/* Directory attributes that hold credentials: never exposed as %attribute%s. */
static const char *const ldap_secret_attrs[] = {"userPassword", "authPassword", "unicodePwd",
    "dBCSPwd", "ntPwdHistory", "lmPwdHistory", "supplementalCredentials", "sambaNTPassword",
    "sambaLMPassword", "sambaPasswordHistory", "krbPrincipalKey", "krbExtraData", NULL};

/* Copy untrusted text S into BUF for a one-line message (controls -> '?'). */
static const char *
vis(const char *s, char *buf, size_t bufsz)
{
	return ct_text_printable(s, SIZE_MAX, 0, buf, bufsz);
}

/* ------------------------------------------------------------------ config */

int
ct_attr_conf_defaults(struct ct_attr_conf *c)
{
	int i;

	memset(c, 0, sizeof(*c));
	c->source = CT_ATTR_SOURCE_PASSWD;
	c->ldap.starttls = 1;
	c->ldap.timeout = 3;
	if ((c->ldap.uri = strdup("ldap://127.0.0.1:389")) == NULL ||
	    (c->ldap.filter = strdup("(uid=%u)")) == NULL)
		goto fail;
	for (i = 0; i < CT_ATTR_STD_COUNT; i++)
		if (ldap_map_defaults[i] != NULL &&
		    (c->ldap.map[i] = strdup(ldap_map_defaults[i])) == NULL)
			goto fail;
	return CT_OK;
fail:
	ct_attr_conf_clear(c);
	return CT_ENOMEM;
}

static void
free_str(char **p)
{
	free(*p);
	*p = NULL;
}

void
ct_attr_conf_clear(struct ct_attr_conf *c)
{
	int i;

	if (c == NULL)
		return;
	free_str(&c->ldap.uri);
	free_str(&c->ldap.ca_file);
	free_str(&c->ldap.bind_dn);
	free_str(&c->ldap.bind_password_file);
	free_str(&c->ldap.base);
	free_str(&c->ldap.filter);
	for (i = 0; i < CT_ATTR_STD_COUNT; i++)
		free_str(&c->ldap.map[i]);
}

int
ct_attr_conf_provides(const struct ct_attr_conf *c, const char *name)
{
	const char *canon = ct_attr_canonical(name);
	int i;

	if (c->source == CT_ATTR_SOURCE_PASSWD) {
		for (i = 0; canon != NULL && passwd_provided[i] != NULL; i++)
			if (strcmp(canon, passwd_provided[i]) == 0)
				return 1;
		return 0;
	}
	if (canon == NULL)
		return ct_attr_name_valid(name);
	if (strcmp(canon, "distinguishedname") == 0 || strcmp(canon, "source") == 0)
		return 1;
	i = ct_attr_standard_index(canon);
	return i >= 0 && i < CT_ATTR_STD_COUNT && c->ldap.map[i] != NULL;
}

/* ------------------------------------------------------------------ passwd */

/* getpwnam_r into a buffer that grows as needed; *BUFP owns the strings. */
static int
pw_fetch(const char *user, struct passwd *pw, char **bufp, struct ct_err *err)
{
	char vbuf[CT_VIS_MAX];
	int rc, e = 0;

	rc = ct_nss_getpwnam(user, pw, bufp, &e);
	if (rc == CT_ENOENT)
		return ct_err_set(
		    err, CT_ENOENT, "no such user '%s'", vis(user, vbuf, sizeof(vbuf)));
	if (rc == CT_EUNAVAIL)
		return ct_err_set(err, CT_EUNAVAIL, "passwd lookup of user '%s' failed: %s",
		    vis(user, vbuf, sizeof(vbuf)), strerror(e));
	return rc == CT_ENOMEM ? ct_err_set(err, CT_ENOMEM, "out of memory") : rc;
}

/* Trim spaces at both ends of S in place. */
static char *
trim(char *s)
{
	char *end;

	while (*s == ' ' || *s == '\t')
		s++;
	end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t'))
		*--end = '\0';
	return s;
}

/* name from the full-name field; first_name/last_name when it has two or more words. */
static int
set_names(struct ct_attrs *a, char *full, struct ct_err *err)
{
	char *sp;
	int rc;

	if (*full == '\0')
		return CT_OK;
	if ((rc = ct_attrs_set(a, "name", full, err)) < 0)
		return rc;
	if ((sp = strpbrk(full, " \t")) == NULL)
		return CT_OK;
	*sp = '\0';
	if ((rc = ct_attrs_set(a, "first_name", full, err)) < 0)
		return rc;
	return ct_attrs_set(a, "last_name", trim(sp + 1), err);
}

/* GECOS: "full name,room,work phone,home phone,other". */
static int
gecos_fill(struct ct_attrs *a, const char *gecos, struct ct_err *err)
{
	char *copy, *fields[3] = {NULL, NULL, NULL}, *p;
	int i, rc;

	if (gecos == NULL || *gecos == '\0')
		return CT_OK;
	if ((copy = strdup(gecos)) == NULL)
		return ct_err_set(err, CT_ENOMEM, "out of memory");
	for (i = 0, p = copy; i < 3 && p != NULL; i++) {
		fields[i] = p;
		if ((p = strchr(p, ',')) != NULL)
			*p++ = '\0';
	}
	if ((rc = set_names(a, trim(fields[0]), err)) < 0)
		goto out;
	if (fields[2] != NULL && *trim(fields[2]) != '\0')
		rc = ct_attrs_set(a, "telephone", trim(fields[2]), err);
out:
	free(copy);
	return rc;
}

int
ct_attrs_from_passwd(const char *user, struct ct_attrs **out, struct ct_err *err)
{
	struct ct_attrs *a = NULL;
	struct passwd pw;
	char *buf = NULL;
	int rc;

	if (user == NULL || *user == '\0' || strlen(user) > CT_USER_MAX)
		return ct_err_set(err, CT_EINVAL, "empty or overlong user name");
	if ((rc = pw_fetch(user, &pw, &buf, err)) < 0)
		goto out;
	if ((a = ct_attrs_new()) == NULL) {
		rc = ct_err_set(err, CT_ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = ct_attrs_set(a, "principal", pw.pw_name, err)) < 0 ||
	    (rc = ct_attrs_set(a, "unix_account", pw.pw_name, err)) < 0 ||
	    (rc = ct_attrs_set(a, "source", "passwd", err)) < 0 ||
	    (rc = gecos_fill(a, pw.pw_gecos, err)) < 0)
		goto out;
	*out = a;
	a = NULL;
out:
	ct_attrs_free(a);
	free(buf);
	return rc;
}

/* ------------------------------------------------------------------ filters */

static int
filter_special(char ch)
{
	return ch == '*' || ch == '(' || ch == ')' || ch == '\\';
}

int
ct_ldap_escape_filter(const char *value, char *out, size_t outsz, struct ct_err *err)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, need = 1, o = 0;

	for (i = 0; value[i] != '\0'; i++)
		need += filter_special(value[i]) ? 3 : 1;
	if (need > outsz)
		return ct_err_set(err, CT_EINVAL,
		    "escaped LDAP filter value needs %zu bytes, more than %zu", need, outsz);
	for (i = 0; value[i] != '\0'; i++) {
		if (filter_special(value[i])) {
			out[o++] = '\\';
			out[o++] = hex[(unsigned char)value[i] >> 4];
			out[o++] = hex[(unsigned char)value[i] & 0xf];
		} else
			out[o++] = value[i];
	}
	out[o] = '\0';
	return CT_OK;
}

int
ct_ldap_build_filter(const char *template, const char *user, char **out, struct ct_err *err)
{
	char esc[CT_LDAP_FILTER_MAX], buf[CT_LDAP_FILTER_MAX];
	size_t o = 0, n;
	const char *p, *piece;
	int rc;

	if (template == NULL || *template == '\0')
		return ct_err_set(err, CT_ECONFIG, "LDAP filter is empty");
	if ((rc = ct_ldap_escape_filter(user, esc, sizeof(esc), err)) < 0)
		return rc;
	for (p = template; *p != '\0'; p++) {
		piece = p;
		n = 1;
		if (*p == '%') {
			if (p[1] == 'u')
				piece = esc, n = strlen(esc);
			else if (p[1] != '%')
				return ct_err_set(err, CT_ECONFIG,
				    "LDAP filter '%.200s': unknown '%%%c' (only %%u and "
				    "%%%% are allowed)",
				    template, p[1] != '\0' ? p[1] : ' ');
			p++;
		}
		if (o + n >= sizeof(buf))
			return ct_err_set(err, CT_EINVAL, "LDAP filter is longer than %d bytes",
			    CT_LDAP_FILTER_MAX - 1);
		memcpy(buf + o, piece, n);
		o += n;
	}
	buf[o] = '\0';
	if ((*out = strdup(buf)) == NULL)
		return ct_err_set(err, CT_ENOMEM, "out of memory");
	return CT_OK;
}

/* ------------------------------------------------------------------ ldap: search */

/* One search for a user's entry, run by ct_ldap_run (perhaps twice). */
struct search {
	const char *base;
	const char *filter;
	LDAPMessage *res;
};

static int
search_op(LDAP *ld, struct timeval *tv, void *arg)
{
	struct search *q = arg;
	char *attrs[] = {"*", "entryUUID", NULL};

	ldap_msgfree(q->res); /* a retry replaces the first answer */
	q->res = NULL;
	return ldap_search_ext_s(
	    ld, q->base, LDAP_SCOPE_SUBTREE, q->filter, attrs, 0, NULL, NULL, tv, 2, &q->res);
}

/* Map the search result code; anything but a clean answer drops the connection. */
static int
search_status(struct ct_ldap *conn, int lrc, const struct search *q, struct ct_err *err)
{
	char what[CT_VIS_MAX * 2 + 32], vf[CT_VIS_MAX], vb[CT_VIS_MAX];
	int code = CT_EUNAVAIL;

	if (lrc == LDAP_SUCCESS || lrc == LDAP_SIZELIMIT_EXCEEDED)
		return CT_OK;
	snprintf(what, sizeof(what), "search for %s under '%s'", vis(q->filter, vf, sizeof(vf)),
	    vis(q->base, vb, sizeof(vb)));
	if (lrc == LDAP_NO_SUCH_OBJECT || lrc == LDAP_FILTER_ERROR || lrc == LDAP_INVALID_DN_SYNTAX)
		code = CT_ECONFIG;
	ct_ldap_fail(conn, what, lrc, code, err);
	ct_ldap_drop(conn);
	return code;
}

/* One entry being copied into an attribute set. */
struct entry_ctx {
	LDAP *ld;
	LDAPMessage *e;
	const char *dn;
	struct ct_attrs *a;
	size_t nvalues; /* values seen, capped at CT_LDAP_MAX_VALUES */
	size_t nraw; /* raw attributes stored */
};

/* Is BV usable as an attribute value (no NUL, not too long)? */
static int
value_ok(const struct berval *bv)
{
	return bv->bv_len <= CT_ATTR_VALUE_MAX && memchr(bv->bv_val, '\0', bv->bv_len) == NULL;
}

/* Read the values of ATTR; *FIRST is its first value as a C string, or "" when absent.
 * Returns 1 when the first value is unusable (NUL byte or too long), else 0. */
static int
first_value(struct entry_ctx *x, const char *attr, char first[CT_ATTR_VALUE_MAX + 1])
{
	struct berval **vals;
	int bad = 0;

	first[0] = '\0';
	if ((vals = ldap_get_values_len(x->ld, x->e, attr)) == NULL)
		return 0;
	x->nvalues += (size_t)ldap_count_values_len(vals);
	if (vals[0] != NULL && !value_ok(vals[0]))
		bad = 1;
	else if (vals[0] != NULL) {
		memcpy(first, vals[0]->bv_val, vals[0]->bv_len);
		first[vals[0]->bv_len] = '\0';
	}
	ldap_value_free_len(vals);
	return bad;
}

/* Every mapped standard attribute, from its first value. */
static int
read_mapped(struct entry_ctx *x, const struct ct_ldap_conf *lc, struct ct_err *err)
{
	char v[CT_ATTR_VALUE_MAX + 1], vbuf[CT_VIS_MAX];
	int i, rc = CT_OK;

	for (i = 0; i < CT_ATTR_STD_COUNT && rc == CT_OK; i++) {
		if (lc->map[i] == NULL)
			continue;
		if (first_value(x, lc->map[i], v))
			rc = ct_err_set(err, CT_EINVAL,
			    "LDAP attribute '%s' of '%s' contains a NUL byte or is longer "
			    "than %d bytes",
			    lc->map[i], vis(x->dn, vbuf, sizeof(vbuf)), CT_ATTR_VALUE_MAX);
		else if (v[0] != '\0')
			rc = ct_attrs_set(x->a, ct_attr_standard_names[i], v, err);
	}
	OPENSSL_cleanse(v, sizeof(v));
	return rc;
}

static int
secret_attr(const char *name)
{
	int i;

	for (i = 0; ldap_secret_attrs[i] != NULL; i++)
		if (strcasecmp(name, ldap_secret_attrs[i]) == 0)
			return 1;
	return 0;
}

/* Every attribute of the entry under its own name (custom %attribute%s).  Names with
 * options, credentials and unusable values are skipped; so is anything past the caps. */
static int
read_raw(struct entry_ctx *x, struct ct_err *err)
{
	char v[CT_ATTR_VALUE_MAX + 1], *name;
	BerElement *ber = NULL;
	int rc = CT_OK;

	for (name = ldap_first_attribute(x->ld, x->e, &ber); name != NULL && rc == CT_OK;
	     name = ldap_next_attribute(x->ld, x->e, ber)) {
		if (x->nvalues < CT_LDAP_MAX_VALUES && x->nraw < CT_ATTRS_MAX - CT_ATTR_STD_COUNT &&
		    ct_attr_name_valid(name) && !secret_attr(name) && !first_value(x, name, v) &&
		    v[0] != '\0') {
			rc = ct_attrs_add_raw(x->a, name, v, err);
			x->nraw++;
		}
		ldap_memfree(name);
	}
	ldap_memfree(name);
	ber_free(ber, 0);
	OPENSSL_cleanse(v, sizeof(v));
	return rc;
}

/* Exactly one entry in RES becomes the attribute set *OUT. */
static int
entry_to_attrs(const struct ct_ldap_conf *lc, struct ct_ldap *conn, LDAPMessage *res,
    const char *user, struct ct_attrs **out, struct ct_err *err)
{
	LDAP *ld = ct_ldap_ld(conn);
	struct entry_ctx x = {.ld = ld};
	char vu[CT_VIS_MAX], vb[CT_VIS_MAX];
	char *dn = NULL;
	int rc, n = ldap_count_entries(ld, res);

	if (n != 1) {
		rc = ct_err_set(err, CT_ENOENT,
		    "no such user '%s' (%s LDAP entries under '%s' on %s)",
		    vis(user, vu, sizeof(vu)), n == 0 ? "no" : "several",
		    vis(lc->base, vb, sizeof(vb)), ct_ldap_uri(conn));
		goto out;
	}
	x.e = ldap_first_entry(ld, res);
	if ((dn = ldap_get_dn(ld, x.e)) == NULL || (x.a = ct_attrs_new()) == NULL) {
		rc = ct_err_set(err, CT_ENOMEM, "out of memory reading LDAP entry");
		goto out;
	}
	x.dn = dn;
	if ((rc = ct_attrs_set(x.a, "distinguishedname", dn, err)) < 0 ||
	    (rc = ct_attrs_set(x.a, "source", "ldap", err)) < 0 ||
	    (rc = read_mapped(&x, lc, err)) < 0 || (rc = read_raw(&x, err)) < 0)
		goto out;
	*out = x.a;
	x.a = NULL;
out:
	ct_attrs_free(x.a);
	ldap_memfree(dn);
	return rc;
}

static int
lsrc_lookup(struct ct_attrsrc *s, struct ct_ldap *conn, int64_t deadline_ms, const char *user,
    struct ct_attrs **out, struct ct_err *err)
{
	struct search q = {.base = s->conf->ldap.base};
	char *filter = NULL;
	int rc, lrc;

	if ((rc = ct_ldap_build_filter(s->conf->ldap.filter, user, &filter, err)) < 0)
		goto out;
	q.filter = filter;
	if ((rc = ct_ldap_run(conn, deadline_ms, search_op, &q, &lrc, err)) < 0 ||
	    (rc = search_status(conn, lrc, &q, err)) < 0)
		goto out;
	rc = entry_to_attrs(&s->conf->ldap, conn, q.res, user, out, err);
out:
	ldap_msgfree(q.res);
	free(filter);
	return rc;
}

/* ------------------------------------------------------------------ sources */

/* Check an LDAP configuration before any network I/O. */
static int
lsrc_conf_check(const struct ct_ldap_conf *lc, struct ct_err *err)
{
	char *filter = NULL;
	int i, rc;

	if (!ct_ldap_uri_valid(lc->uri))
		return ct_err_set(
		    err, CT_ECONFIG, "LDAP uri must be one ldap://, ldaps:// or ldapi:// URL");
	if (lc->base == NULL)
		return ct_err_set(err, CT_ECONFIG, "LDAP %s: no search base configured", lc->uri);
	if (lc->timeout <= 0 || lc->timeout > CT_LDAP_TIMEOUT_MAX)
		return ct_err_set(err, CT_ECONFIG, "LDAP %s: timeout must be 1..%d seconds",
		    lc->uri, CT_LDAP_TIMEOUT_MAX);
	if (lc->bind_dn != NULL && lc->bind_password_file == NULL)
		return ct_err_set(
		    err, CT_ECONFIG, "LDAP %s: bind_dn needs bind_password_file", lc->uri);
	for (i = 0; i < CT_ATTR_STD_COUNT; i++)
		if (lc->map[i] != NULL && !ct_attr_name_valid(lc->map[i]))
			return ct_err_set(
			    err, CT_ECONFIG, "LDAP map: '%s' is not an attribute name", lc->map[i]);
	if ((rc = ct_ldap_build_filter(lc->filter, "x", &filter, err)) == CT_EINVAL) {
		err->code = CT_ECONFIG; /* an overlong filter template is a configuration error */
		return CT_ECONFIG;
	}
	if (rc < 0)
		return rc;
	free(filter);
	return CT_OK;
}

/* The connection settings of the ldap source C (borrowing C's strings). */
static void
lsrc_settings(struct ct_attrsrc *s, const struct ct_ldap_conf *lc)
{
	s->uris[0] = lc->uri;
	s->ls.uris = s->uris;
	s->ls.n_uris = 1;
	s->ls.starttls = lc->starttls;
	s->ls.ca_file = lc->ca_file;
	s->ls.bind = lc->bind_dn != NULL ? CT_LDAP_BIND_SIMPLE : CT_LDAP_BIND_ANONYMOUS;
	s->ls.bind_dn = lc->bind_dn;
	s->ls.bind_password_file = lc->bind_password_file;
	s->ls.network_timeout_ms = lc->timeout * 1000;
	s->ls.op_timeout_ms = lc->timeout * 1000;
}

int
ct_attrsrc_open(const struct ct_attr_conf *c, struct ct_attrsrc **out, struct ct_err *err)
{
	struct ct_attrsrc *s;
	int rc;

	if (c->source == CT_ATTR_SOURCE_LDAP && (rc = lsrc_conf_check(&c->ldap, err)) < 0)
		return rc;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return ct_err_set(err, CT_ENOMEM, "out of memory");
	s->conf = c;
	if (c->source == CT_ATTR_SOURCE_LDAP) {
		lsrc_settings(s, &c->ldap);
		if ((rc = ct_ldap_new(&s->ls, &s->own, err)) < 0) {
			free(s);
			return rc;
		}
	}
	*out = s;
	return CT_OK;
}

int
ct_attrsrc_pool_new(
    const struct ct_attrsrc *s, size_t n, struct ct_ldap_pool **out, struct ct_err *err)
{
	return ct_ldap_pool_new(
	    s->conf->source == CT_ATTR_SOURCE_LDAP ? &s->ls : &no_ldap, n, out, err);
}

int
ct_attrsrc_lookup_on(struct ct_attrsrc *s, struct ct_ldap *conn, int64_t deadline_ms,
    const char *user, struct ct_attrs **out, struct ct_err *err)
{
	if (user == NULL || *user == '\0' || strlen(user) > CT_USER_MAX)
		return ct_err_set(err, CT_EINVAL, "empty or overlong user name");
	if (s->conf->source == CT_ATTR_SOURCE_PASSWD)
		return ct_attrs_from_passwd(user, out, err);
	return lsrc_lookup(s, conn, deadline_ms, user, out, err);
}

int
ct_attrsrc_lookup(struct ct_attrsrc *s, const char *user, struct ct_attrs **out, struct ct_err *err)
{
	return ct_attrsrc_lookup_on(s, s->own, 0, user, out, err);
}

void
ct_attrsrc_close(struct ct_attrsrc *s)
{
	if (s == NULL)
		return;
	ct_ldap_free(s->own);
	free(s);
}
