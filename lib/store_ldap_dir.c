/* The LDAP backend's talk with the directory: deadlines, result codes, DNs,
 * GeneralizedTime, and the five operations the backend's files use (read
 * one entry, search one level, add, modify and delete, the last two with an
 * optional assertion), each on a connection of the read or write pool and
 * bounded by store.ldap.timeout.  See store_ldap.h. */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "proto.h"
#include "store_ldap.h"
#include "util.h"

#define WHAT_MAX 512 /* "OPERATION DN" in messages */

/* ------------------------------------------------------------------ basics */

int64_t
ct_lstore_deadline(const struct ct_ldap_store *ls, int64_t deadline_ms)
{
	int64_t own = ct_now_ms() + ls->timeout_ms;

	return deadline_ms > 0 && deadline_ms < own ? deadline_ms : own;
}

int
ct_lstore_code(int lrc)
{
	switch (lrc) {
	case LDAP_SUCCESS: return CT_OK;
	case LDAP_NO_SUCH_OBJECT: return CT_ENOENT;
	case LDAP_ALREADY_EXISTS: return CT_EEXIST;
	case LDAP_ASSERTION_FAILED: return CT_ECONFLICT;
	case LDAP_NO_MEMORY: return CT_ENOMEM;
	case LDAP_INSUFFICIENT_ACCESS:
	case LDAP_STRONG_AUTH_REQUIRED:
	case LDAP_CONFIDENTIALITY_REQUIRED:
	case LDAP_INAPPROPRIATE_AUTH: return CT_EPERM;
	case LDAP_SERVER_DOWN:
	case LDAP_TIMEOUT:
	case LDAP_CONNECT_ERROR:
	case LDAP_TIMELIMIT_EXCEEDED:
	case LDAP_BUSY:
	case LDAP_UNAVAILABLE:
	case LDAP_UNWILLING_TO_PERFORM:
	case LDAP_REFERRAL: return CT_EUNAVAIL;
	case LDAP_UNDEFINED_TYPE:
	case LDAP_INAPPROPRIATE_MATCHING:
	case LDAP_INVALID_SYNTAX:
	case LDAP_OBJECT_CLASS_VIOLATION:
	case LDAP_CONSTRAINT_VIOLATION: return CT_ECONFIG;
	default: return CT_EIO;
	}
}

/* Append VALUE escaped as an RDN value (RFC 4514) to OUT (SIZE bytes at
 * least 3 * strlen(VALUE) + 1). */
static void
rdn_escape(const char *value, char *out)
{
	size_t i, n = strlen(value), o = 0;
	unsigned char c;

	for (i = 0; i < n; i++) {
		c = (unsigned char)value[i];
		if (c < 0x20 || c == 0x7f || (c == ' ' && (i == 0 || i == n - 1)) ||
		    (c == '#' && i == 0)) {
			o += (size_t)sprintf(out + o, "\\%02x", c);
			continue;
		}
		if (strchr("\"+,;<>\\=", c) != NULL)
			out[o++] = '\\';
		out[o++] = (char)c;
	}
	out[o] = '\0';
}

int
ct_lstore_dn(const struct ct_ldap_store *ls, const char *attr, const char *value,
    const char *container, char **out, struct ct_err *err)
{
	size_t size = strlen(attr) + 3 * strlen(value) + strlen(ls->base_dn) +
	    (container != NULL ? strlen(container) : 0) + 4;
	char *dn, *esc;

	if ((dn = malloc(size)) == NULL || (esc = malloc(3 * strlen(value) + 1)) == NULL) {
		free(dn);
		return ct_err_set(err, CT_ENOMEM, "out of memory");
	}
	rdn_escape(value, esc);
	snprintf(dn, size, "%s=%s,%s%s%s", attr, esc, container != NULL ? container : "",
	    container != NULL ? "," : "", ls->base_dn);
	free(esc);
	*out = dn;
	return CT_OK;
}

int
ct_lstore_container(
    const struct ct_ldap_store *ls, const char *container, char **out, struct ct_err *err)
{
	size_t size = strlen(container) + strlen(ls->base_dn) + 2;

	if ((*out = malloc(size)) == NULL)
		return ct_err_set(err, CT_ENOMEM, "out of memory");
	snprintf(*out, size, "%s,%s", container, ls->base_dn);
	return CT_OK;
}

int
ct_lstore_time_format(int64_t t, char out[CT_LSTORE_TIME_LEN])
{
	time_t tt = (time_t)t;
	struct tm tm;

	/* 253402300799: 9999-12-31T23:59:59Z, the last GeneralizedTime of 4 digits */
	if (t < 0 || t > INT64_C(253402300799) || gmtime_r(&tt, &tm) == NULL ||
	    strftime(out, CT_LSTORE_TIME_LEN, "%Y%m%d%H%M%SZ", &tm) != CT_LSTORE_TIME_LEN - 1)
		return -1;
	return 0;
}

/* The LEN decimal digits at S as a number in [MIN, MAX], or -1. */
static int
digits(const char *s, size_t len, int min, int max)
{
	int v = 0;
	size_t i;

	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v >= min && v <= max ? v : -1;
}

int
ct_lstore_time_parse(const char *text, size_t len, int64_t *out)
{
	struct tm tm = {0};
	char back[CT_LSTORE_TIME_LEN];
	time_t t;

	if (len != CT_LSTORE_TIME_LEN - 1 || text[len - 1] != 'Z')
		return -1;
	tm.tm_year = digits(text, 4, 1970, 9999) - 1900;
	tm.tm_mon = digits(text + 4, 2, 1, 12) - 1;
	tm.tm_mday = digits(text + 6, 2, 1, 31);
	tm.tm_hour = digits(text + 8, 2, 0, 23);
	tm.tm_min = digits(text + 10, 2, 0, 59);
	tm.tm_sec = digits(text + 12, 2, 0, 59);
	if (tm.tm_year < 70 || tm.tm_mon < 0 || tm.tm_mday < 0 || tm.tm_hour < 0 || tm.tm_min < 0 ||
	    tm.tm_sec < 0 || (t = timegm(&tm)) == (time_t)-1)
		return -1;
	/* a day that does not exist (February 30) does not come back the same */
	if (ct_lstore_time_format((int64_t)t, back) != 0 || memcmp(back, text, len) != 0)
		return -1;
	*out = (int64_t)t;
	return 0;
}

/* ------------------------------------------------------------------ running */

/* Run OP(ARG) on H until DL: the LDAP result as a CT_ code; a connection
 * that failed is dropped. */
static int
run_on(struct ct_ldap *h, int64_t dl, ct_ldap_op_fn op, void *arg, const char *what,
    struct ct_err *err)
{
	int rc, lrc = LDAP_OTHER;

	if ((rc = ct_ldap_run(h, dl, op, arg, &lrc, err)) == CT_OK && lrc != LDAP_SUCCESS) {
		rc = ct_ldap_fail(h, what, lrc, ct_lstore_code(lrc), err);
		if (rc == CT_EUNAVAIL)
			ct_ldap_drop(h); /* it may still owe us an answer */
	} else if (rc != CT_OK)
		ct_ldap_drop(h);
	return rc;
}

/* CT_EUNAVAIL with the last failure's message while WHERE is let be after
 * it did not answer; else CT_OK. */
static int
still_down(struct ct_ldap_store *ls, enum ct_lstore_dir where, struct ct_err *err)
{
	int rc = CT_OK;

	pthread_mutex_lock(&ls->down_mu);
	if (ls->down_until[where] > ct_now_ms())
		rc = ct_err_set(err, CT_EUNAVAIL, "%s", ls->down_msg[where]);
	pthread_mutex_unlock(&ls->down_mu);
	return rc;
}

/* Remember that WHERE did not answer (ERR says how). */
static void
mark_down(struct ct_ldap_store *ls, enum ct_lstore_dir where, const struct ct_err *err)
{
	pthread_mutex_lock(&ls->down_mu);
	ls->down_until[where] = ct_now_ms() + CT_LSTORE_DOWN_MS;
	snprintf(ls->down_msg[where], sizeof(ls->down_msg[where]), "%s", err->msg);
	pthread_mutex_unlock(&ls->down_mu);
}

/* Run OP(ARG) on a connection of WHERE's pool until DEADLINE_MS (cut to
 * the store's timeout); WHAT names the operation in messages.  The LDAP
 * result becomes a CT_ code; a connection that failed is dropped. */
static int
lrun(struct ct_ldap_store *ls, enum ct_lstore_dir where, int64_t deadline_ms, ct_ldap_op_fn op,
    void *arg, const char *what, struct ct_err *err)
{
	struct ct_ldap_pool *p = where == CT_LSTORE_WRITE ? ls->write : ls->read;
	int64_t dl = ct_lstore_deadline(ls, deadline_ms);
	struct ct_ldap *h = NULL;
	struct ct_err local = {0};
	int rc;

	if ((rc = still_down(ls, where, err)) < 0 || (rc = ct_ldap_pool_get(p, dl, &h, err)) < 0)
		return rc;
	rc = run_on(h, dl, op, arg, what, &local);
	ct_ldap_pool_put(p, h);
	if (rc == CT_EUNAVAIL)
		mark_down(ls, where, &local);
	return rc < 0 ? ct_err_set(err, rc, "%s", local.msg) : rc;
}

/* "OP DN" into BUF for messages. */
static const char *
what_dn(char *buf, const char *op, const char *dn)
{
	char vis[WHAT_MAX - 32];

	snprintf(buf, WHAT_MAX, "%s %s", op, ct_text_printable(dn, SIZE_MAX, 0, vis, sizeof(vis)));
	return buf;
}

/* ------------------------------------------------------------------ entries */

void
ct_lstore_entry_clear(struct ct_lstore_entry *e)
{
	size_t i;

	for (i = 0; i < e->n; i++)
		if (e->vals[i] != NULL)
			ldap_value_free_len(e->vals[i]);
	ldap_memfree(e->dn);
	memset(e, 0, sizeof(*e));
}

void
ct_lstore_entries_free(struct ct_lstore_entry *e, size_t n)
{
	size_t i;

	for (i = 0; e != NULL && i < n; i++)
		ct_lstore_entry_clear(&e[i]);
	free(e);
}

/* Copy the attributes ATTRS of the entry MSG into OUT. */
static int
take_entry(LDAP *ld, LDAPMessage *msg, const char *const *attrs, struct ct_lstore_entry *out)
{
	size_t i;

	memset(out, 0, sizeof(*out));
	if ((out->dn = ldap_get_dn(ld, msg)) == NULL)
		return LDAP_NO_MEMORY;
	for (i = 0; attrs[i] != NULL && i < CT_LSTORE_ATTRS_MAX; i++) {
		out->names[i] = attrs[i];
		out->vals[i] = ldap_get_values_len(ld, msg, attrs[i]);
		out->n = i + 1;
	}
	return LDAP_SUCCESS;
}

struct search_op {
	const char *base;
	int scope;
	const char *filter;
	const char *const *attrs;
	int64_t dl; /* every page ends by then (ct_now_ms clock) */
	struct ct_lstore_entry *entries;
	size_t n, cap;
};

/* Forget what S holds: a search run again (after a reconnect) starts over. */
static void
search_reset(struct search_op *s)
{
	ct_lstore_entries_free(s->entries, s->n);
	s->entries = NULL;
	s->n = s->cap = 0;
}

/* Append every entry of RES to S->entries. */
static int
take_entries(LDAP *ld, LDAPMessage *res, struct search_op *s)
{
	LDAPMessage *m;
	struct ct_lstore_entry *grown;
	int count = ldap_count_entries(ld, res), lrc;
	size_t want;

	if (count < 0)
		return LDAP_DECODING_ERROR;
	if ((size_t)count > CT_LSTORE_ENTRIES_MAX - s->n)
		return LDAP_SIZELIMIT_EXCEEDED;
	if ((want = s->n + (size_t)count) > s->cap) {
		want = want < 2 * s->cap ? 2 * s->cap : want;
		if ((grown = realloc(s->entries, want * sizeof(*grown))) == NULL)
			return LDAP_NO_MEMORY;
		s->entries = grown;
		s->cap = want;
	}
	for (m = ldap_first_entry(ld, res); m != NULL && count > 0; m = ldap_next_entry(ld, m)) {
		if ((lrc = take_entry(ld, m, s->attrs, &s->entries[s->n])) != LDAP_SUCCESS)
			return lrc;
		s->n++;
		count--;
	}
	return LDAP_SUCCESS;
}

/* The time left until DL in TV: 0 when there is none. */
static int
time_left(int64_t dl, struct timeval *tv)
{
	int64_t left = dl - ct_now_ms();

	if (left <= 0)
		return 0;
	tv->tv_sec = (time_t)(left / 1000);
	tv->tv_usec = (suseconds_t)(left % 1000) * 1000;
	return 1;
}

/* The paged-results cookie of the search result RES into COOKIE (emptied
 * when the server sent none: the last page, or a server that does not page). */
static int
next_cookie(LDAP *ld, LDAPMessage *res, struct berval *cookie)
{
	LDAPControl **ctrls = NULL, *page;
	ber_int_t estimate = 0;
	int lrc, code = LDAP_SUCCESS;

	ber_memfree(cookie->bv_val);
	cookie->bv_val = NULL;
	cookie->bv_len = 0;
	lrc = ldap_parse_result(ld, res, &code, NULL, NULL, NULL, &ctrls, 0);
	if (lrc == LDAP_SUCCESS && code != LDAP_SUCCESS)
		lrc = code;
	page =
	    lrc == LDAP_SUCCESS ? ldap_control_find(LDAP_CONTROL_PAGEDRESULTS, ctrls, NULL) : NULL;
	if (page != NULL)
		lrc = ldap_parse_pageresponse_control(ld, page, &estimate, cookie);
	ldap_controls_free(ctrls);
	return lrc;
}

/* One page of S from COOKIE on (empty: the first), each ending by S->dl;
 * COOKIE becomes the next page's, empty after the last.  PAGED 0: the
 * whole search at once. */
static int
search_page(LDAP *ld, struct search_op *s, struct berval *cookie, int paged)
{
	LDAPControl *page = NULL, *ctrls[2] = {NULL, NULL};
	LDAPMessage *res = NULL;
	struct timeval tv;
	int lrc;

	if (!time_left(s->dl, &tv))
		return LDAP_TIMEOUT;
	/* not critical: a server without paging answers the whole search; a
	 * read of one entry is not paged */
	if (paged && s->scope != LDAP_SCOPE_BASE &&
	    (lrc = ldap_create_page_control(ld, CT_LSTORE_PAGE, cookie, 0, &page)) != LDAP_SUCCESS)
		return lrc;
	ctrls[0] = page;
	lrc = ldap_search_ext_s(ld, s->base, s->scope, s->filter, (char **)(uintptr_t)s->attrs, 0,
	    ctrls, NULL, &tv, LDAP_NO_LIMIT, &res);
	if (lrc == LDAP_SUCCESS)
		lrc = take_entries(ld, res, s);
	if (lrc == LDAP_SUCCESS)
		lrc = next_cookie(ld, res, cookie);
	ldap_msgfree(res);
	if (page != NULL)
		ldap_control_free(page);
	return lrc;
}

/* The search S, page by page (RFC 2696) until the server has no more. */
static int
search_op(LDAP *ld, struct timeval *tv, void *arg)
{
	struct search_op *s = arg;
	struct berval cookie = {0, NULL};
	int lrc;

	(void)tv; /* each page is bounded by s->dl */
	search_reset(s);
	lrc = search_page(ld, s, &cookie, 1);
	/* a server that refuses the control (slapd with size.prtotal=disabled)
	 * is asked once more without it */
	if (lrc == LDAP_ADMINLIMIT_EXCEEDED || lrc == LDAP_UNAVAILABLE_CRITICAL_EXTENSION) {
		search_reset(s);
		lrc = search_page(ld, s, &cookie, 0);
	}
	while (lrc == LDAP_SUCCESS && cookie.bv_len > 0)
		lrc = search_page(ld, s, &cookie, 1);
	ber_memfree(cookie.bv_val);
	return lrc;
}

static int
attrs_check(const char *const *attrs, struct ct_err *err)
{
	size_t n = 0;

	while (attrs[n] != NULL)
		n++;
	if (n > CT_LSTORE_ATTRS_MAX)
		return ct_err_set(err, CT_EINVAL, "LDAP store: more than %d attributes asked for",
		    CT_LSTORE_ATTRS_MAX);
	return CT_OK;
}

/* A base-scope read that keeps the matchedDN of a noSuchObject. */
struct get_op {
	struct search_op s;
	char *matched; /* ldap_memfree */
};

static int
get_op(LDAP *ld, struct timeval *tv, void *arg)
{
	struct get_op *g = arg;
	struct search_op *s = &g->s;
	LDAPMessage *res = NULL;
	int lrc;

	lrc = ldap_search_ext_s(ld, s->base, s->scope, s->filter, (char **)(uintptr_t)s->attrs, 0,
	    NULL, NULL, tv, LDAP_NO_LIMIT, &res);
	if (lrc == LDAP_SUCCESS)
		lrc = take_entries(ld, res, s);
	else if (lrc == LDAP_NO_SUCH_OBJECT && res != NULL)
		ldap_parse_result(ld, res, NULL, &g->matched, NULL, NULL, NULL, 0);
	ldap_msgfree(res);
	return lrc;
}

/* DN in LDAPv3 form (spaces and escapes as libldap writes them), without
 * its first SKIP RDNs, in a new string (ldap_memfree); NULL when DN is not
 * one or has fewer RDNs. */
static char *
dn_form(const char *dn, size_t skip)
{
	LDAPDN d = NULL;
	char *out = NULL;
	size_t i;

	if (dn == NULL || ldap_str2dn(dn, &d, LDAP_DN_FORMAT_LDAPV3) != LDAP_SUCCESS)
		return NULL;
	for (i = 0; i < skip && d != NULL && d[i] != NULL; i++)
		;
	if (i == skip && d != NULL &&
	    ldap_dn2str(d + skip, &out, LDAP_DN_FORMAT_LDAPV3) != LDAP_SUCCESS)
		out = NULL;
	ldap_dnfree(d);
	return out;
}

/* Is the DN A the same as B (both in LDAPv3 form, from dn_form)? */
static int
same_dn(const char *a, const char *b)
{
	return a != NULL && b != NULL && strcasecmp(a, b) == 0;
}

/* The noSuchObject of DN is "no such entry" only when the directory
 * matched DN's parent (the container exists and we may see it), or, for a
 * store that creates its containers on its first write (CT_STORE_CREATE),
 * the base: else CT_EIO naming DN and what was matched (a wrong base,
 * missing containers, a directory still loading, an ACL that does not
 * disclose). */
static int
check_matched(const struct ct_ldap_store *ls, const char *dn, const char *matched, const char *what,
    struct ct_err *err)
{
	char *parent = dn_form(dn, 1), *got = dn_form(matched, 0), *base = NULL;
	char vis[WHAT_MAX];
	int same = same_dn(parent, got);

	if (!same && (ls->base.flags & CT_STORE_CREATE) && (base = dn_form(ls->base_dn, 0)) != NULL)
		same = same_dn(base, got);
	ldap_memfree(parent);
	ldap_memfree(got);
	ldap_memfree(base);
	if (same)
		return CT_ENOENT;
	return ct_err_set(err, CT_EIO,
	    "LDAP %s: no such entry, and the directory matched only \"%s\", not its container "
	    "(a wrong store.ldap.base, the store's containers are missing: certtoken-admin store "
	    "init, or not allowed to see them)",
	    what, ct_text_printable(matched != NULL ? matched : "", SIZE_MAX, 0, vis, sizeof(vis)));
}

/* ct_lstore_get, the entry also matching FILTER (no match: CT_ENOENT);
 * with CHILD, a noSuchObject goes through check_matched. */
static int
get_entry(struct ct_ldap_store *ls, enum ct_lstore_dir where, int64_t deadline_ms, const char *dn,
    const char *filter, int child, const char *const *attrs, struct ct_lstore_entry *out,
    struct ct_err *err)
{
	struct get_op g = {
	    {dn, LDAP_SCOPE_BASE, filter, attrs, ct_lstore_deadline(ls, deadline_ms), NULL, 0, 0},
	    NULL};
	struct ct_err local = {0};
	char what[WHAT_MAX];
	int rc;

	if ((rc = attrs_check(attrs, err)) < 0)
		return rc;
	rc = lrun(ls, where, deadline_ms, get_op, &g, what_dn(what, "read", dn), &local);
	if (rc == CT_ENOENT && child)
		rc = check_matched(ls, dn, g.matched, what, err);
	else if (rc < 0)
		ct_err_set(err, rc, "%s", local.msg);
	else if (rc == CT_OK && g.s.n == 0 && strcmp(filter, "(objectClass=*)") != 0)
		rc = ct_err_set(err, CT_ENOENT, "LDAP %s: does not match %s", what, filter);
	else if (rc == CT_OK && g.s.n != 1)
		rc = ct_err_set(err, CT_EIO, "LDAP %s: %zu entries", what, g.s.n);
	if (rc == CT_OK) {
		*out = g.s.entries[0];
		memset(&g.s.entries[0], 0, sizeof(g.s.entries[0]));
	}
	ct_lstore_entries_free(g.s.entries, g.s.n);
	ldap_memfree(g.matched);
	return rc;
}

int
ct_lstore_get(struct ct_ldap_store *ls, enum ct_lstore_dir where, int64_t deadline_ms,
    const char *dn, const char *const *attrs, struct ct_lstore_entry *out, struct ct_err *err)
{
	return get_entry(ls, where, deadline_ms, dn, "(objectClass=*)", 0, attrs, out, err);
}

int
ct_lstore_get_child(struct ct_ldap_store *ls, enum ct_lstore_dir where, int64_t deadline_ms,
    const char *dn, const char *filter, const char *const *attrs, struct ct_lstore_entry *out,
    struct ct_err *err)
{
	return get_entry(ls, where, deadline_ms, dn, filter != NULL ? filter : "(objectClass=*)", 1,
	    attrs, out, err);
}

int
ct_lstore_search(struct ct_ldap_store *ls, enum ct_lstore_dir where, int64_t deadline_ms,
    const char *base_dn, const char *filter, const char *const *attrs, struct ct_lstore_entry **out,
    size_t *n, struct ct_err *err)
{
	struct search_op s = {base_dn, LDAP_SCOPE_ONELEVEL, filter, attrs,
	    ct_lstore_deadline(ls, deadline_ms), NULL, 0, 0};
	struct ct_err local = {0};
	char what[WHAT_MAX];
	int rc;

	if ((rc = attrs_check(attrs, err)) < 0)
		return rc;
	rc = lrun(ls, where, deadline_ms, search_op, &s, what_dn(what, "search", base_dn), &local);
	/* no container: nothing in it for a store that makes its containers on
	 * its first write; else a wrong base or missing containers, never an
	 * empty list (a copy that copied nothing, revocations missed) */
	if (rc == CT_ENOENT && (ls->base.flags & CT_STORE_CREATE))
		rc = CT_OK;
	else if (rc == CT_ENOENT)
		rc = ct_err_set(err, CT_EIO,
		    "LDAP %s: no such container (a wrong store.ldap.base, or the store's "
		    "containers are missing: certtoken-admin store init)",
		    what);
	else if (rc != CT_OK)
		ct_err_set(err, rc, "%s", local.msg);
	if (rc != CT_OK) {
		ct_lstore_entries_free(s.entries, s.n);
		return rc;
	}
	*out = s.entries;
	*n = s.n;
	return CT_OK;
}

struct berval **
ct_lstore_values(const struct ct_lstore_entry *e, const char *attr)
{
	size_t i;

	for (i = 0; i < e->n; i++)
		if (strcasecmp(e->names[i], attr) == 0)
			return e->vals[i];
	return NULL;
}

int
ct_lstore_value(const struct ct_lstore_entry *e, const char *attr, const struct berval **out,
    struct ct_err *err)
{
	struct berval **v = ct_lstore_values(e, attr);
	char vis[WHAT_MAX];

	if (v == NULL || v[0] == NULL)
		return ct_err_set(err, CT_ENOENT, "%s: no %s",
		    ct_text_printable(e->dn, SIZE_MAX, 0, vis, sizeof(vis)), attr);
	if (v[1] != NULL)
		return ct_err_set(err, CT_EIO, "%s: %s has %d values, not one",
		    ct_text_printable(e->dn, SIZE_MAX, 0, vis, sizeof(vis)), attr,
		    ldap_count_values_len(v));
	*out = v[0];
	return CT_OK;
}

/* CT_EIO "DN: ATTR: WHY". */
static int
bad_value(const struct ct_lstore_entry *e, const char *attr, const char *why, struct ct_err *err)
{
	char vis[WHAT_MAX];

	return ct_err_set(err, CT_EIO, "%s: %s: %s",
	    ct_text_printable(e->dn, SIZE_MAX, 0, vis, sizeof(vis)), attr, why);
}

/* The one value of the required ATTR: CT_EIO naming the DN when E has none. */
static int
required(
    const struct ct_lstore_entry *e, const char *attr, const struct berval **v, struct ct_err *err)
{
	if (ct_lstore_values(e, attr) == NULL)
		return bad_value(e, attr, "missing", err);
	return ct_lstore_value(e, attr, v, err);
}

int
ct_lstore_string(
    const struct ct_lstore_entry *e, const char *attr, char *buf, size_t size, struct ct_err *err)
{
	const struct berval *v;
	int rc;

	if ((rc = required(e, attr, &v, err)) < 0)
		return rc;
	if (v->bv_len >= size || memchr(v->bv_val, '\0', v->bv_len) != NULL)
		return bad_value(e, attr, "too long or holds a NUL byte", err);
	memcpy(buf, v->bv_val, v->bv_len);
	buf[v->bv_len] = '\0';
	return CT_OK;
}

int
ct_lstore_integer(const struct ct_lstore_entry *e, const char *attr, int64_t min, int64_t max,
    int64_t *out, struct ct_err *err)
{
	char buf[24], *end;
	long long v;
	int rc;

	if ((rc = ct_lstore_string(e, attr, buf, sizeof(buf), err)) < 0)
		return rc;
	v = strtoll(buf, &end, 10);
	if (buf[0] == '\0' || *end != '\0' || (buf[0] == '0' && buf[1] != '\0') || v < min ||
	    v > max)
		return bad_value(e, attr, "not an integer in range", err);
	*out = v;
	return CT_OK;
}

int
ct_lstore_time(const struct ct_lstore_entry *e, const char *attr, int64_t *out, struct ct_err *err)
{
	const struct berval *v;
	int rc;

	if ((rc = required(e, attr, &v, err)) < 0)
		return rc;
	if (ct_lstore_time_parse(v->bv_val, v->bv_len, out) != 0)
		return bad_value(e, attr, "not a GeneralizedTime YYYYMMDDHHMMSSZ", err);
	return CT_OK;
}

/* ------------------------------------------------------------------ changes */

void
ct_lstore_mods_init(struct ct_lstore_mods *m)
{
	memset(m, 0, sizeof(*m));
}

void
ct_lstore_mods_add(struct ct_lstore_mods *m, int op, const char *attr, const void *val, size_t len)
{
	LDAPMod *last = m->n_mod > 0 ? &m->mod[m->n_mod - 1] : NULL;

	if (m->full)
		return;
	if (last == NULL || last->mod_op != (op | LDAP_MOD_BVALUES) ||
	    strcmp(last->mod_type, attr) != 0 || val == NULL) {
		if (m->n_mod == CT_LSTORE_MODS_MAX) {
			m->full = 1;
			return;
		}
		if (last != NULL)
			m->n_vals++; /* past the previous change's NULL */
		last = &m->mod[m->n_mod];
		last->mod_op = op | LDAP_MOD_BVALUES;
		last->mod_type = (char *)(uintptr_t)attr;
		last->mod_bvalues = &m->vals[m->n_vals];
		m->vals[m->n_vals] = NULL;
		m->list[m->n_mod++] = last;
	}
	if (val == NULL)
		return;
	if (m->n_bv == CT_LSTORE_VALS_MAX) {
		m->full = 1;
		return;
	}
	m->bv[m->n_bv].bv_val = (char *)(uintptr_t)val;
	m->bv[m->n_bv].bv_len = len;
	m->vals[m->n_vals++] = &m->bv[m->n_bv++];
	m->vals[m->n_vals] = NULL;
}

void
ct_lstore_mods_str(struct ct_lstore_mods *m, int op, const char *attr, const char *val)
{
	ct_lstore_mods_add(m, op, attr, val, strlen(val));
}

struct change_op {
	int kind; /* 'a'dd, 'm'odify, 'd'elete */
	const char *dn;
	LDAPMod **mods;
	const char *assertion;
};

static int
change_op(LDAP *ld, struct timeval *tv, void *arg)
{
	struct change_op *c = arg;
	LDAPControl *ctrl = NULL, *ctrls[2] = {NULL, NULL};
	int lrc;

	(void)tv; /* the operation timeout set on LD bounds the _s calls */
	if (c->assertion != NULL) {
		if ((lrc = ldap_create_assertion_control(
		         ld, (char *)(uintptr_t)c->assertion, 1, &ctrl)) != LDAP_SUCCESS)
			return lrc;
		ctrls[0] = ctrl;
	}
	if (c->kind == 'a')
		lrc = ldap_add_ext_s(ld, c->dn, c->mods, NULL, NULL);
	else if (c->kind == 'm')
		lrc = ldap_modify_ext_s(ld, c->dn, c->mods, ctrls, NULL);
	else
		lrc = ldap_delete_ext_s(ld, c->dn, ctrls, NULL);
	if (ctrl != NULL)
		ldap_control_free(ctrl);
	return lrc;
}

/* Run the change C on the provider. */
static int
change(struct ct_ldap_store *ls, int64_t deadline_ms, struct change_op *c,
    const struct ct_lstore_mods *m, const char *op, struct ct_err *err)
{
	char what[WHAT_MAX];

	what_dn(what, op, c->dn);
	if (m != NULL && (m->full || m->n_mod == 0))
		return ct_err_set(err, CT_EINVAL, "LDAP store: %s: %s changes", what,
		    m->full ? "too many" : "no");
	return lrun(ls, CT_LSTORE_WRITE, deadline_ms, change_op, c, what, err);
}

/* Add DN with M's values (M's valueless changes left out). */
static int
add_raw(struct ct_ldap_store *ls, int64_t deadline_ms, const char *dn, struct ct_lstore_mods *m,
    struct ct_err *err)
{
	struct change_op c = {'a', dn, m->list, NULL};
	size_t i, n = 0;

	for (i = 0; i < m->n_mod; i++) {
		m->mod[i].mod_op = LDAP_MOD_ADD | LDAP_MOD_BVALUES;
		if (m->mod[i].mod_bvalues[0] != NULL)
			m->list[n++] = &m->mod[i];
	}
	m->list[n] = NULL;
	return change(ls, deadline_ms, &c, m, "add", err);
}

int
ct_lstore_add(struct ct_ldap_store *ls, int64_t deadline_ms, const char *dn,
    struct ct_lstore_mods *m, struct ct_err *err)
{
	struct ct_err local = {0};
	int rc;

	rc = add_raw(ls, deadline_ms, dn, m, &local);
	/* a container missing: made when the store may create what is missing */
	if (rc == CT_ENOENT && (ls->base.flags & CT_STORE_CREATE) &&
	    ct_lstore_init_tree(ls, deadline_ms, err) == CT_OK) {
		ct_err_clear(&local);
		rc = add_raw(ls, deadline_ms, dn, m, &local);
	}
	return rc < 0 ? ct_err_set(err, rc, "%s", local.msg) : rc;
}

int
ct_lstore_modify(struct ct_ldap_store *ls, int64_t deadline_ms, const char *dn,
    struct ct_lstore_mods *m, const char *assertion, struct ct_err *err)
{
	struct change_op c = {'m', dn, m->list, assertion};

	return change(ls, deadline_ms, &c, m, "modify", err);
}

int
ct_lstore_delete(struct ct_ldap_store *ls, int64_t deadline_ms, const char *dn,
    const char *assertion, struct ct_err *err)
{
	struct change_op c = {'d', dn, NULL, assertion};

	return change(ls, deadline_ms, &c, NULL, "delete", err);
}

int
ct_lstore_init_tree(struct ct_ldap_store *ls, int64_t deadline_ms, struct ct_err *err)
{
	static const char *const ous[] = {
	    "users", "certs", "revoked", "requests", "uploads", "groups", NULL};
	struct ct_lstore_mods m;
	struct ct_err local;
	char *dn = NULL;
	size_t i;
	int rc = CT_OK;

	for (i = 0; ous[i] != NULL && rc == CT_OK; i++) {
		if ((rc = ct_lstore_dn(ls, "ou", ous[i], NULL, &dn, err)) < 0)
			break;
		ct_lstore_mods_init(&m);
		ct_lstore_mods_str(&m, LDAP_MOD_ADD, "objectClass", "organizationalUnit");
		ct_lstore_mods_str(&m, LDAP_MOD_ADD, "ou", ous[i]);
		ct_err_clear(&local);
		if ((rc = add_raw(ls, deadline_ms, dn, &m, &local)) == CT_EEXIST)
			rc = CT_OK;
		else if (rc < 0)
			ct_err_set(err, rc, "%s", local.msg);
		free(dn);
	}
	return rc;
}
