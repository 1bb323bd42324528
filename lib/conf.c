#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <arpa/inet.h>

#include <libconfig.h>
#include <openssl/x509v3.h>

#include "conf.h"
#include "connector.h"
#include "events.h"
#include "sshcert.h"
#include "store.h"
#include "util.h"

#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc"
#endif
#ifndef LOCALSTATEDIR
#define LOCALSTATEDIR "/var"
#endif

#define CT_CONFIG_FILE_MAX (256 * 1024)
#define CT_EMBEDDED_NAME "(embedded default)"

static const char *const key_type_names[] = {
    [CT_KEY_EC_P256] = "ec-p256",
    [CT_KEY_EC_P384] = "ec-p384",
    [CT_KEY_ED25519] = "ed25519",
    [CT_KEY_RSA2048] = "rsa2048",
    [CT_KEY_RSA3072] = "rsa3072",
    [CT_KEY_RSA4096] = "rsa4096",
};

static const char *const ssh_ext_names[] = {"permit-X11-forwarding", "permit-agent-forwarding",
    "permit-port-forwarding", "permit-pty", "permit-user-rc"};

unsigned
ct_ssh_ext_parse(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(ssh_ext_names) / sizeof(ssh_ext_names[0]); i++)
		if (strcmp(name, ssh_ext_names[i]) == 0)
			return 1u << i;
	return 0;
}

const char *
ct_ssh_ext_name(unsigned bit)
{
	size_t i;

	for (i = 0; i < sizeof(ssh_ext_names) / sizeof(ssh_ext_names[0]); i++)
		if (bit & (1u << i))
			return ssh_ext_names[i];
	return NULL;
}

/* State of one load: where problems go. */
struct loader {
	struct ct_config *cfg;
	struct ct_diag *diag;
	struct ct_err *err;
	const char *file;
	int problems;
};

int
ct_key_type_parse(const char *name)
{
	return ct_name_index(
	    key_type_names, sizeof(key_type_names) / sizeof(key_type_names[0]), name, 0);
}

const char *
ct_key_type_name(enum ct_key_type t)
{
	return key_type_names[t];
}

int
ct_name_valid(const char *name)
{
	size_t i, len = strlen(name);

	if (len == 0 || len > CT_NAME_MAX || name[0] == '.')
		return 0;
	for (i = 0; i < len; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		        c == '.' || c == '_' || c == '-'))
			return 0;
	}
	return 1;
}

void
ct_diag_clear(struct ct_diag *d)
{
	size_t i;

	if (d == NULL)
		return;
	for (i = 0; i < d->n; i++)
		free(d->msg[i]);
	memset(d, 0, sizeof(*d));
}

const char *
ct_config_system_path(void)
{
	return SYSCONFDIR "/certtoken.conf";
}

const char *
ct_config_default_path(void)
{
	return ct_config_env_named() ? getenv("CERTTOKEN_CONF") : ct_config_system_path();
}

int
ct_config_env_named(void)
{
	const char *env = getenv("CERTTOKEN_CONF");

	return env != NULL && env[0] != '\0';
}

/* Record one problem, "FILE:LINE: message", in the diag list and the error. */
__attribute__((format(printf, 3, 4))) static void
problem(struct loader *L, const config_setting_t *s, const char *fmt, ...)
{
	char msg[CT_ERR_MAX], line[2 * CT_ERR_MAX];
	va_list ap;
	int n = s != NULL ? (int)config_setting_source_line(s) : 0;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n > 0)
		snprintf(line, sizeof(line), "%s:%d: %s", L->file, n, msg);
	else
		snprintf(line, sizeof(line), "%s: %s", L->file, msg);
	L->problems++;
	ct_err_set(L->err, CT_ECONFIG, "%s", line);
	if (L->diag == NULL)
		return;
	if (L->diag->n < CT_DIAG_MAX && (L->diag->msg[L->diag->n] = strdup(line)) != NULL)
		L->diag->n++;
	else
		L->diag->dropped++;
}

/* Report every member of GROUP whose name is not in ALLOWED. */
static void
check_keys(
    struct loader *L, const config_setting_t *group, const char *const *allowed, const char *where)
{
	const config_setting_t *s;
	const char *name;
	int i, j, n = config_setting_length(group);

	for (i = 0; i < n; i++) {
		s = config_setting_get_elem(group, (unsigned)i);
		name = config_setting_name(s);
		for (j = 0; allowed[j] != NULL; j++)
			if (name != NULL && strcmp(name, allowed[j]) == 0)
				break;
		if (allowed[j] == NULL)
			problem(L, s, "unknown key '%s' in %s", name ? name : "?", where);
	}
}

/* Fetch KEY of GROUP when it is a setting of TYPE (a group or a list);
 * returns NULL (and reports) on a wrong type. */
static const config_setting_t *
get_typed(struct loader *L, const config_setting_t *group, const char *key, int type)
{
	const config_setting_t *s = config_setting_get_member(group, key);

	if (s != NULL && config_setting_type(s) != type) {
		problem(L, s, "'%s' must be %s", key,
		    type == CONFIG_TYPE_GROUP ? "a group { ... }" : "a list ( { ... }, ... )");
		return NULL;
	}
	return s;
}

/* Fetch KEY of GROUP as a group; returns NULL (and reports) on a wrong type. */
static const config_setting_t *
get_group(struct loader *L, const config_setting_t *group, const char *key)
{
	return get_typed(L, group, key, CONFIG_TYPE_GROUP);
}

/* Section KEY of the top level ROOT: a group with no keys but KEYS (others
 * are reported); NULL when it is absent or not a group. */
static const config_setting_t *
get_section(
    struct loader *L, const config_setting_t *root, const char *key, const char *const *keys)
{
	const config_setting_t *g = get_group(L, root, key);

	if (g != NULL)
		check_keys(L, g, keys, key);
	return g;
}

/* Fetch KEY as a list ( ... ); NULL when absent or of a wrong type (reported). */
static const config_setting_t *
get_list(struct loader *L, const config_setting_t *group, const char *key)
{
	const config_setting_t *s = get_typed(L, group, key, CONFIG_TYPE_LIST);

	if (s != NULL && config_setting_length(s) > CT_CONFIG_MAX_ITEMS) {
		problem(L, s, "'%s' has more than %d entries", key, CT_CONFIG_MAX_ITEMS);
		return NULL;
	}
	return s;
}

/* Replace *OUT with KEY's string value if present.  REQUIRED: report absence. */
static void
get_string(
    struct loader *L, const config_setting_t *group, const char *key, int required, char **out)
{
	const config_setting_t *s = config_setting_get_member(group, key);
	char *v;

	if (s == NULL) {
		if (required)
			problem(L, group, "missing required key '%s'", key);
		return;
	}
	if (config_setting_type(s) != CONFIG_TYPE_STRING) {
		problem(L, s, "'%s' must be a string", key);
		return;
	}
	if ((v = strdup(config_setting_get_string(s))) == NULL) {
		problem(L, s, "out of memory");
		return;
	}
	free(*out);
	*out = v;
}

/* Set *OUT from KEY's integer value if present, within [MIN, MAX]. */
static void
get_long(
    struct loader *L, const config_setting_t *group, const char *key, long min, long max, long *out)
{
	const config_setting_t *s = config_setting_get_member(group, key);
	long long v;

	if (s == NULL)
		return;
	if (config_setting_type(s) == CONFIG_TYPE_INT)
		v = config_setting_get_int(s);
	else if (config_setting_type(s) == CONFIG_TYPE_INT64)
		v = config_setting_get_int64(s);
	else {
		problem(L, s, "'%s' must be an integer", key);
		return;
	}
	if (v < min || v > max) {
		problem(L, s, "'%s' must be between %ld and %ld (got %lld)", key, min, max, v);
		return;
	}
	*out = (long)v;
}

static void
get_int(
    struct loader *L, const config_setting_t *group, const char *key, long min, long max, int *out)
{
	long v = *out;

	get_long(L, group, key, min, max, &v);
	*out = (int)v;
}

static void
get_bool(struct loader *L, const config_setting_t *group, const char *key, int *out)
{
	const config_setting_t *s = config_setting_get_member(group, key);

	if (s == NULL)
		return;
	if (config_setting_type(s) != CONFIG_TYPE_BOOL) {
		problem(L, s, "'%s' must be true or false", key);
		return;
	}
	*out = config_setting_get_bool(s);
}

/* KEY as an array or list of strings; returns the setting or NULL (reported). */
static const config_setting_t *
get_string_list(struct loader *L, const config_setting_t *group, const char *key)
{
	const config_setting_t *s = config_setting_get_member(group, key), *e;
	int i, n;

	if (s == NULL)
		return NULL;
	if (config_setting_type(s) != CONFIG_TYPE_ARRAY &&
	    config_setting_type(s) != CONFIG_TYPE_LIST) {
		problem(L, s, "'%s' must be a list of strings [ \"...\", ... ]", key);
		return NULL;
	}
	n = config_setting_length(s);
	for (i = 0; i < n; i++) {
		e = config_setting_get_elem(s, (unsigned)i);
		if (config_setting_type(e) != CONFIG_TYPE_STRING) {
			problem(L, e, "'%s' must be a list of strings", key);
			return NULL;
		}
	}
	return s;
}

/* A name member: required, valid, unique among the first N entries of NAMES. */
static char *
get_name(struct loader *L, const config_setting_t *entry, const char *what, char *const *names,
    size_t stride, size_t n)
{
	char *name = NULL;
	size_t i;

	get_string(L, entry, "name", 1, &name);
	if (name == NULL)
		return NULL;
	if (!ct_name_valid(name)) {
		problem(L, entry, "%s name '%s' is not valid (1-%d of A-Z a-z 0-9 . _ -)", what,
		    name, CT_NAME_MAX);
		free(name);
		return NULL;
	}
	for (i = 0; i < n; i++) {
		const char *other = *(char *const *)((const char *)names + i * stride);
		if (other != NULL && strcmp(other, name) == 0) {
			problem(L, entry, "duplicate %s name '%s'", what, name);
			free(name);
			return NULL;
		}
	}
	return name;
}

static int
is_absolute(const char *p)
{
	return p != NULL && p[0] == '/';
}

/* Where the connection keys of an LDAP group go (attributes.ldap, store.ldap). */
struct ldap_conn_keys {
	char **uri;
	int *starttls;
	char **ca_file;
	char **bind_dn;
	char **bind_password_file;
	int *timeout;
};

/* The connection keys of the LDAP group G, shared by attributes.ldap and
 * store.ldap: uri, starttls, ca_file, the simple bind's pair, timeout. */
static void
load_ldap_conn(struct loader *L, const config_setting_t *g, const struct ldap_conn_keys *k)
{
	get_string(L, g, "uri", 0, k->uri);
	get_bool(L, g, "starttls", k->starttls);
	get_string(L, g, "ca_file", 0, k->ca_file);
	get_string(L, g, "bind_dn", 0, k->bind_dn);
	get_string(L, g, "bind_password_file", 0, k->bind_password_file);
	get_int(L, g, "timeout", 1, 120, k->timeout);
	if ((*k->bind_dn == NULL) != (*k->bind_password_file == NULL))
		problem(
		    L, g, "bind_dn and bind_password_file go together (neither: anonymous bind)");
	if (*k->bind_password_file != NULL && !is_absolute(*k->bind_password_file))
		problem(L, g, "bind_password_file must be an absolute path");
}

/* Report each URI of the space-separated list URIS of store.ldap's KEY
 * that is not one ldap://, ldaps:// or ldapi:// URL, and a list that is
 * empty or longer than CT_LDAP_URIS_MAX (ONE: exactly one URI). */
static void
check_store_uris(
    struct loader *L, const config_setting_t *g, const char *key, const char *uris, int one)
{
	char *copy = strdup(uris), *save = NULL, *u;
	int n = 0;

	if (copy == NULL) {
		problem(L, g, "out of memory");
		return;
	}
	for (u = strtok_r(copy, " \t", &save); u != NULL; u = strtok_r(NULL, " \t", &save)) {
		n++;
		if (!ct_ldap_uri_valid(u))
			problem(L, g,
			    "store.ldap %s '%s' is not an ldap://, ldaps:// or ldapi:// URL", key,
			    u);
	}
	free(copy);
	if (n == 0 || n > (one ? 1 : CT_LDAP_URIS_MAX))
		problem(L, g, "store.ldap %s must be %s", key,
		    one ? "one URL" : "1 to 16 URLs separated by spaces");
}

/* store.ldap: the directory of the ldap backend (checked whenever given). */
static void
load_store_ldap(struct loader *L, const config_setting_t *store)
{
	static const char *const keys[] = {"uri", "write_uri", "starttls", "ca_file", "bind_dn",
	    "bind_password_file", "sasl_external", "base", "timeout", "connections",
	    "cache_max_age", NULL};
	struct ct_store_ldap_conf *sl = &L->cfg->store_ldap;
	const struct ldap_conn_keys k = {&sl->uri, &sl->starttls, &sl->ca_file, &sl->bind_dn,
	    &sl->bind_password_file, &sl->timeout};
	const config_setting_t *g = store != NULL ? get_group(L, store, "ldap") : NULL;

	if (g == NULL) {
		if (strcmp(L->cfg->store_backend, "ldap") == 0)
			problem(L, store, "store backend is ldap but there is no ldap { } group");
		return;
	}
	sl->present = 1;
	check_keys(L, g, keys, "store.ldap");
	load_ldap_conn(L, g, &k);
	get_string(L, g, "write_uri", 0, &sl->write_uri);
	get_bool(L, g, "sasl_external", &sl->sasl_external);
	get_string(L, g, "base", 1, &sl->base);
	get_int(L, g, "connections", 1, 64, &sl->connections);
	get_int(L, g, "cache_max_age", 0, 86400, &sl->cache_max_age);
	if (sl->uri == NULL)
		problem(L, g, "missing required key 'uri'");
	else
		check_store_uris(L, g, "uri", sl->uri, 0);
	if (sl->write_uri != NULL)
		check_store_uris(L, g, "write_uri", sl->write_uri, 1);
	if (sl->sasl_external && sl->bind_dn != NULL)
		problem(L, g, "sasl_external and bind_dn exclude each other");
}

static void
load_store(struct loader *L, const config_setting_t *root)
{
	static const char *const keys[] = {"backend", "path", "lock_timeout", "ldap", NULL};
	const config_setting_t *g = get_section(L, root, "store", keys);
	char names[128];

	if (g != NULL) {
		get_string(L, g, "backend", 0, &L->cfg->store_backend);
		get_string(L, g, "path", 0, &L->cfg->store_path);
		get_int(L, g, "lock_timeout", 1, 60, &L->cfg->store_lock_timeout);
		if (!ct_store_backend_known(L->cfg->store_backend, names, sizeof(names)))
			problem(L, config_setting_get_member(g, "backend"),
			    "store backend '%s' is not supported (supported: %s)",
			    L->cfg->store_backend, names);
		if (!is_absolute(L->cfg->store_path))
			problem(L, g, "store path '%s' must be absolute", L->cfg->store_path);
	}
	load_store_ldap(L, g);
}

static void
load_socket(struct loader *L, const config_setting_t *root)
{
	const config_setting_t *s = config_setting_get_member(root, "socket");

	get_string(L, root, "socket", 0, &L->cfg->socket_path);
	if (s != NULL && (!is_absolute(L->cfg->socket_path) || strlen(L->cfg->socket_path) >= 108))
		problem(L, s, "socket must be an absolute path shorter than 108 bytes");
}

static void
load_ldap_map(struct loader *L, const config_setting_t *ldap, struct ct_ldap_conf *lc)
{
	const config_setting_t *map = get_group(L, ldap, "map"), *s;
	const char *canon, *v;
	int i, n, idx;

	if (map == NULL)
		return;
	n = config_setting_length(map);
	for (i = 0; i < n; i++) {
		s = config_setting_get_elem(map, (unsigned)i);
		canon = ct_attr_canonical(config_setting_name(s));
		idx = canon != NULL ? ct_attr_standard_index(canon) : -1;
		if (idx < 0 || strcmp(canon, "distinguishedname") == 0 ||
		    strcmp(canon, "source") == 0) {
			problem(L, s,
			    "unknown key '%s' in attributes.ldap.map (a mappable "
			    "standard attribute name)",
			    config_setting_name(s));
			continue;
		}
		if (config_setting_type(s) != CONFIG_TYPE_STRING) {
			problem(L, s, "map entry '%s' must be a string", config_setting_name(s));
			continue;
		}
		v = config_setting_get_string(s);
		if (!ct_attr_name_valid(v)) {
			problem(L, s, "map entry '%s': '%s' is not an LDAP attribute name",
			    config_setting_name(s), v);
			continue;
		}
		free(lc->map[idx]);
		lc->map[idx] = strdup(v);
	}
}

static void
load_ldap(struct loader *L, const config_setting_t *attrs)
{
	static const char *const keys[] = {"uri", "starttls", "ca_file", "bind_dn",
	    "bind_password_file", "base", "filter", "timeout", "map", NULL};
	struct ct_ldap_conf *lc = &L->cfg->attributes.ldap;
	const struct ldap_conn_keys k = {&lc->uri, &lc->starttls, &lc->ca_file, &lc->bind_dn,
	    &lc->bind_password_file, &lc->timeout};
	const config_setting_t *g = get_group(L, attrs, "ldap");

	if (g == NULL) {
		if (L->cfg->attributes.source == CT_ATTR_SOURCE_LDAP)
			problem(
			    L, attrs, "attributes source is ldap but there is no ldap { } group");
		return;
	}
	check_keys(L, g, keys, "attributes.ldap");
	load_ldap_conn(L, g, &k);
	get_string(L, g, "base", L->cfg->attributes.source == CT_ATTR_SOURCE_LDAP, &lc->base);
	get_string(L, g, "filter", 0, &lc->filter);
	load_ldap_map(L, g, lc);
	if (strncmp(lc->uri, "ldap://", 7) != 0 && strncmp(lc->uri, "ldaps://", 8) != 0 &&
	    strncmp(lc->uri, "ldapi://", 8) != 0)
		problem(
		    L, g, "ldap uri '%s' must start with ldap://, ldaps:// or ldapi://", lc->uri);
	if (strstr(lc->filter, "%u") == NULL)
		problem(L, g, "ldap filter '%s' must contain %%u (the user name)", lc->filter);
}

static void
load_attributes(struct loader *L, const config_setting_t *root)
{
	static const char *const keys[] = {"source", "ldap", NULL};
	const config_setting_t *g = get_section(L, root, "attributes", keys);
	char *source = NULL;

	if (g == NULL)
		return;
	get_string(L, g, "source", 0, &source);
	if (source != NULL && strcmp(source, "ldap") == 0)
		L->cfg->attributes.source = CT_ATTR_SOURCE_LDAP;
	else if (source != NULL && strcmp(source, "passwd") != 0)
		problem(L, config_setting_get_member(g, "source"),
		    "attributes source '%s' is not supported (passwd or ldap)", source);
	free(source);
	load_ldap(L, g);
}

/* OLD, the name KEY had before, is read as KEY; setting both is an error. */
static void
get_renamed_int(struct loader *L, const config_setting_t *g, const char *key, const char *old,
    long min, long max, int *out)
{
	const config_setting_t *s = config_setting_get_member(g, old);

	if (s != NULL && config_setting_get_member(g, key) != NULL)
		problem(L, s, "'%s' is the old name of '%s': set only '%s'", old, key, key);
	get_int(L, g, old, min, max, out);
	get_int(L, g, key, min, max, out);
}

static void
load_otp(struct loader *L, const config_setting_t *root)
{
	static const char *const keys[] = {"digits", "period", "window", "hotp_lookahead",
	    "throttle_after", "throttle_base", "throttle_max", "refusal_ms", "max_fail",
	    "lock_seconds", NULL};
	const config_setting_t *g = get_section(L, root, "otp", keys);
	struct ct_otp_conf *o = &L->cfg->otp;

	if (g == NULL)
		return;
	get_int(L, g, "digits", 6, 8, &o->digits);
	get_int(L, g, "period", 10, 300, &o->period);
	get_int(L, g, "window", 0, 10, &o->window);
	get_int(L, g, "hotp_lookahead", 0, 1000, &o->hotp_lookahead);
	get_renamed_int(L, g, "throttle_after", "max_fail", 1, 1000, &o->throttle_after);
	get_int(L, g, "throttle_base", 1, 86400, &o->throttle_base);
	get_renamed_int(L, g, "throttle_max", "lock_seconds", 0, 86400, &o->throttle_max);
	get_int(L, g, "refusal_ms", 0, 5000, &o->refusal_ms);
}

static void
load_service(struct loader *L, const config_setting_t *root)
{
	static const char *const keys[] = {
	    "max_clients", "max_per_user", "timeout", "ldap_connections", NULL};
	const config_setting_t *g = get_section(L, root, "service", keys);
	struct ct_service_conf *sv = &L->cfg->service;

	if (g == NULL)
		return;
	get_int(L, g, "max_clients", 1, 1024, &sv->max_clients);
	get_int(L, g, "max_per_user", 1, 1024, &sv->max_per_user);
	get_int(L, g, "timeout", 1, 3600, &sv->timeout);
	get_int(L, g, "ldap_connections", 1, 64, &sv->ldap_connections);
}

static const char embedded_lists[] =
    "access_groups = ( { name = \"default\"; key_type = \"ec-p256\"; ca_days = 3650; } );\n"
    "templates = ( { name = \"client\"; key_usage = [ \"DigitalSignature\" ];\n"
    "                extended_key_usage = [ \"ClientAuth\" ]; } );\n"
    "ca_connectors = ( { name = \"local\"; type = \"local\"; } );\n"
    "targets = ( { name = \"default\"; access_group = \"default\"; template = \"client\";\n"
    "              subject = \"CN=%unix_account%\"; san = \"\"; lifetime = 3600;\n"
    "              backdate = 60; ca_connector = \"local\"; } );\n";

/* The key types of group G's X.509 CA (key_type, ec-p256 by default) and SSH
 * CA (ssh_key_type: ed25519 by default, or ec-p256, also named ecdsa-p256). */
static void
load_group_key_types(struct loader *L, const config_setting_t *e, struct ct_group *g)
{
	char *kt = NULL;
	int t;

	g->key_type = CT_KEY_EC_P256;
	g->ssh_key_type = CT_KEY_ED25519;
	get_string(L, e, "key_type", 0, &kt);
	if (kt != NULL && (t = ct_key_type_parse(kt)) < 0)
		problem(L, config_setting_get_member(e, "key_type"),
		    "key_type '%s' is not one of ec-p256 ec-p384 ed25519 rsa2048 rsa3072 rsa4096",
		    kt);
	else if (kt != NULL)
		g->key_type = (enum ct_key_type)t;
	free(kt);
	kt = NULL;
	get_string(L, e, "ssh_key_type", 0, &kt);
	if (kt != NULL && strcmp(kt, "ecdsa-p256") == 0)
		g->ssh_key_type = CT_KEY_EC_P256;
	else if (kt != NULL && (t = ct_key_type_parse(kt)) != CT_KEY_ED25519 && t != CT_KEY_EC_P256)
		problem(L, config_setting_get_member(e, "ssh_key_type"),
		    "ssh_key_type '%s' is not one of ed25519 ec-p256", kt);
	else if (kt != NULL)
		g->ssh_key_type = (enum ct_key_type)t;
	free(kt);
}

static void
load_group(struct loader *L, const config_setting_t *e, size_t i)
{
	static const char *const keys[] = {
	    "name", "key_type", "ssh_key_type", "ca_days", "unix_groups", NULL};
	struct ct_group *g = &L->cfg->groups[i];
	const config_setting_t *ug;
	const char *v;
	int j, n;

	check_keys(L, e, keys, "access group");
	g->name = get_name(L, e, "access group", &L->cfg->groups[0].name, sizeof(*g), i);
	g->ca_days = 3650;
	load_group_key_types(L, e, g);
	get_long(L, e, "ca_days", 1, 36500, &g->ca_days);
	if ((ug = get_string_list(L, e, "unix_groups")) == NULL)
		return;
	if ((n = config_setting_length(ug)) == 0 || n > CT_GROUP_UNIX_MAX) {
		problem(L, ug,
		    "unix_groups must name 1 to %d groups (leave it out to allow everyone)",
		    CT_GROUP_UNIX_MAX);
		return;
	}
	if ((g->unix_groups = calloc((size_t)n, sizeof(*g->unix_groups))) == NULL) {
		problem(L, ug, "out of memory");
		return;
	}
	for (j = 0; j < n; j++) {
		v = config_setting_get_string_elem(ug, j);
		if (v[0] == '\0' || strlen(v) > 255 || strpbrk(v, " \t\n:,") != NULL) {
			problem(L, config_setting_get_elem(ug, (unsigned)j),
			    "unix_groups: '%s' is not a group name", v);
			continue;
		}
		if ((g->unix_groups[g->n_unix_groups] = strdup(v)) == NULL) {
			problem(L, ug, "out of memory");
			return;
		}
		g->n_unix_groups++;
	}
}

static void
load_template_usages(struct loader *L, const config_setting_t *e, struct ct_template *t)
{
	const config_setting_t *ku = get_string_list(L, e, "key_usage");
	const config_setting_t *eku = get_string_list(L, e, "extended_key_usage");
	struct ct_err err;
	unsigned int bit;
	int i;

	if (ku == NULL && config_setting_get_member(e, "key_usage") == NULL)
		problem(L, e, "missing required key 'key_usage'");
	for (i = 0; ku != NULL && i < config_setting_length(ku); i++) {
		ct_err_clear(&err);
		if (ct_template_key_usage_bit(config_setting_get_string_elem(ku, i), &bit, &err))
			problem(L, config_setting_get_elem(ku, (unsigned)i), "template '%s': %s",
			    t->name ? t->name : "?", err.msg);
		else
			t->key_usage |= bit;
	}
	for (i = 0; eku != NULL && i < config_setting_length(eku); i++) {
		ct_err_clear(&err);
		if (t->n_eku >= CT_TEMPLATE_MAX_EKU)
			problem(L, eku, "template has more than %d extended key usages",
			    CT_TEMPLATE_MAX_EKU);
		else if (ct_template_eku_object(
		             config_setting_get_string_elem(eku, i), &t->eku[t->n_eku], &err))
			problem(L, config_setting_get_elem(eku, (unsigned)i), "template '%s': %s",
			    t->name ? t->name : "?", err.msg);
		else
			t->n_eku++;
	}
	if (ku != NULL && t->key_usage == 0 && config_setting_length(ku) == 0)
		problem(L, ku, "template '%s' has no key usage", t->name ? t->name : "?");
	/* RFC 5280 4.2.1.9: keyCertSign only with cA TRUE, and leaves are never CAs */
	if (t->key_usage & KU_KEY_CERT_SIGN)
		problem(L, ku, "template '%s': CertSign is not allowed in a leaf certificate",
		    t->name ? t->name : "?");
}

static void
load_template(struct loader *L, const config_setting_t *e, size_t i)
{
	static const char *const keys[] = {"name", "key_usage", "extended_key_usage", NULL};
	struct ct_template *t = &L->cfg->templates[i];

	check_keys(L, e, keys, "template");
	t->name = get_name(L, e, "template", &L->cfg->templates[0].name, sizeof(*t), i);
	load_template_usages(L, e, t);
}

/* Words of a command (KEY of E): a list of strings, the first an absolute
 * path; each word is checked by CHECK (templates) when not NULL.  Stored
 * NULL-terminated in *OUT. */
static void
get_argv(struct loader *L, const config_setting_t *e, const char *key, const char *what,
    int (*check)(struct loader *, const config_setting_t *, const char *), char ***out)
{
	const config_setting_t *s = get_string_list(L, e, key);
	const char *w;
	char **v;
	int i, n;

	if (s == NULL) {
		if (config_setting_get_member(e, key) == NULL)
			problem(L, e, "%s needs '%s' (a list: program, then arguments)", what, key);
		return;
	}
	n = config_setting_length(s);
	if (n < 1 || n > CT_ARGV_MAX) {
		problem(L, s, "'%s' must have 1 to %d words", key, CT_ARGV_MAX);
		return;
	}
	if ((v = calloc((size_t)n + 1, sizeof(*v))) == NULL) {
		problem(L, s, "out of memory");
		return;
	}
	for (i = 0; i < n; i++) {
		w = config_setting_get_string_elem(s, i);
		if (i == 0 && !is_absolute(w))
			problem(L, s,
			    "%s: program '%s' must be an absolute path (no shell is used)", what,
			    w);
		if (check != NULL)
			check(L, config_setting_get_elem(s, (unsigned)i), w);
		if ((v[i] = strdup(w)) == NULL)
			problem(L, s, "out of memory");
	}
	*out = v;
}

static void
free_argv(char **v)
{
	for (size_t i = 0; v != NULL && v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

static void
load_connector(struct loader *L, const config_setting_t *e, size_t i)
{
	static const char *const keys[] = {
	    "name", "type", "command", "timeout", "poll_interval", NULL};
	struct ct_connector *c = &L->cfg->connectors[i];
	char *type = NULL;
	int kind;

	check_keys(L, e, keys, "CA connector");
	c->name = get_name(L, e, "CA connector", &L->cfg->connectors[0].name, sizeof(*c), i);
	c->timeout = 30;
	c->poll_interval = 60;
	get_string(L, e, "type", 1, &type);
	if (type != NULL && (kind = ct_connector_type_parse(type)) >= 0)
		c->type = (enum ct_connector_type)kind;
	else if (type != NULL)
		problem(L, config_setting_get_member(e, "type"),
		    "CA connector type '%s' is not supported (%s)", type, ct_connector_type_list());
	if (ct_connector_caps(c) & CT_CX_RUNS_PROGRAM) {
		get_argv(L, e, "command", "command CA connector", NULL, &c->argv);
		get_int(L, e, "timeout", 1, 600, &c->timeout);
	} else if (type != NULL &&
	    (config_setting_get_member(e, "command") != NULL ||
	        config_setting_get_member(e, "timeout") != NULL))
		problem(L, e, "CA connector '%s': 'command' and 'timeout' are for type command",
		    c->name ? c->name : "?");
	if (ct_connector_caps(c) & CT_CX_FETCH)
		get_int(L, e, "poll_interval", 1, 86400, &c->poll_interval);
	else if (type != NULL && config_setting_get_member(e, "poll_interval") != NULL)
		problem(L, e,
		    "CA connector '%s': 'poll_interval' is for types whose CA is asked again on "
		    "fetch (command)",
		    c->name ? c->name : "?");
	free(type);
}

/* ---- events ---- */

/* Report a template whose {placeholders} are unknown or unclosed ("{{" is
 * a literal brace). */
static int
check_template(struct loader *L, const config_setting_t *s, const char *text)
{
	const char *p = text, *close;
	char known[CT_EVENT_WORDS_LIST];

	while ((p = strchr(p, '{')) != NULL) {
		if (p[1] == '{') {
			p += 2;
			continue;
		}
		if ((close = strchr(p, '}')) == NULL) {
			problem(L, s, "'{' without '}' in \"%s\" (write {{ for a brace)", text);
			return -1;
		}
		if (!ct_event_placeholder_valid(p + 1, (size_t)(close - p - 1))) {
			ct_event_words_list(CT_EVENT_WORD_PLACEHOLDER, known, sizeof(known));
			problem(L, s, "unknown placeholder {%.*s} (known: %s)",
			    (int)(close - p - 1), p + 1, known);
			return -1;
		}
		p = close + 1;
	}
	return 0;
}

static void
load_event_when(struct loader *L, const config_setting_t *e, struct ct_event *ev)
{
	const config_setting_t *w = get_group(L, e, "when"), *s;
	char known[CT_EVENT_WORDS_LIST];
	const char *name;
	int i, n;

	if (w == NULL)
		return;
	n = config_setting_length(w);
	if (n > CT_EVENT_CONDS_MAX) {
		problem(L, w, "'when' has more than %d conditions", CT_EVENT_CONDS_MAX);
		return;
	}
	for (i = 0; i < n; i++) {
		s = config_setting_get_elem(w, (unsigned)i);
		name = config_setting_name(s);
		if (!ct_event_word_valid(CT_EVENT_WORD_FIELD, name, strlen(name))) {
			ct_event_words_list(CT_EVENT_WORD_FIELD, known, sizeof(known));
			problem(L, s, "unknown condition '%s' (%s)", name, known);
			continue;
		}
		if (config_setting_type(s) != CONFIG_TYPE_STRING &&
		    config_setting_type(s) != CONFIG_TYPE_BOOL) {
			problem(L, s, "condition '%s' must be a string", name);
			continue;
		}
		ev->when[ev->n_when].field = strdup(name);
		ev->when[ev->n_when].value = strdup(config_setting_type(s) == CONFIG_TYPE_BOOL
		        ? (config_setting_get_bool(s) ? "true" : "false")
		        : config_setting_get_string(s));
		if (ev->when[ev->n_when].field == NULL || ev->when[ev->n_when].value == NULL)
			problem(L, s, "out of memory");
		ev->n_when++;
	}
}

static void
load_event(struct loader *L, const config_setting_t *e, size_t i)
{
	static const char *const keys[] = {
	    "event", "when", "action", "to", "subject", "body", "command", "timeout", NULL};
	struct ct_event *ev = &L->cfg->events[i];
	const config_setting_t *s;
	char known[CT_EVENT_WORDS_LIST], *action = NULL;
	int email = 0;

	check_keys(L, e, keys, "event handler");
	ev->line = (int)config_setting_source_line(e);
	ev->timeout = 30;
	get_string(L, e, "event", 1, &ev->event);
	if (ev->event != NULL && !ct_event_name_valid(ev->event)) {
		ct_event_words_list(CT_EVENT_WORD_EVENT, known, sizeof(known));
		problem(L, config_setting_get_member(e, "event"), "unknown event '%s' (%s)",
		    ev->event, known);
	}
	load_event_when(L, e, ev);
	get_string(L, e, "action", 1, &action);
	if (action != NULL && strcmp(action, "email") == 0)
		ev->action = CT_ACTION_EMAIL, email = 1;
	else if (action != NULL && strcmp(action, "syslog") == 0)
		ev->action = CT_ACTION_SYSLOG;
	else if (action != NULL && strcmp(action, "command") == 0)
		ev->action = CT_ACTION_COMMAND;
	else if (action != NULL)
		problem(L, config_setting_get_member(e, "action"),
		    "unknown action '%s' (email, syslog or command)", action);
	get_string(L, e, "to", email, &ev->to);
	get_string(L, e, "subject", 0, &ev->subject);
	get_string(L, e, "body", 0, &ev->body);
	if (ev->to != NULL && strcmp(ev->to, "tokenowner") != 0 && !ct_mail_address_valid(ev->to))
		problem(L, config_setting_get_member(e, "to"),
		    "'to' must be \"tokenowner\" or an e-mail address (got \"%s\")", ev->to);
	if (ev->subject == NULL)
		ev->subject = strdup("certtoken: {event} for token {serial} of {user}");
	if (ev->body == NULL)
		ev->body =
		    strdup("Event {event} on host {host}:\n"
		           "token {serial} ({type}) of user {user}, target {target},\n"
		           "rollout state {rollout_state}, certificate serial {cert_serial}.\n");
	if ((s = config_setting_get_member(e, "subject")) != NULL && ev->subject != NULL)
		check_template(L, s, ev->subject);
	if ((s = config_setting_get_member(e, "body")) != NULL && ev->body != NULL)
		check_template(L, s, ev->body);
	if (ev->subject != NULL && strpbrk(ev->subject, "\r\n") != NULL)
		problem(L, config_setting_get_member(e, "subject"), "the subject must be one line");
	if (ev->action == CT_ACTION_COMMAND) {
		get_argv(L, e, "command", "command action", check_template, &ev->argv);
		get_int(L, e, "timeout", 1, 600, &ev->timeout);
	} else if (config_setting_get_member(e, "command") != NULL)
		problem(L, e, "'command' is for action command");
	if (action != NULL && !email && config_setting_get_member(e, "to") != NULL)
		problem(L, e, "'to' is for action email");
	free(action);
}

/* The optional events list: absent or empty means no handlers. */
static void
load_events(struct loader *L, const config_setting_t *root)
{
	const config_setting_t *list = get_list(L, root, "events"), *e;
	size_t i, n;

	if (list == NULL || (n = (size_t)config_setting_length(list)) == 0)
		return;
	if ((L->cfg->events = calloc(n, sizeof(*L->cfg->events))) == NULL) {
		problem(L, list, "out of memory");
		return;
	}
	L->cfg->n_events = n;
	for (i = 0; i < n; i++) {
		e = config_setting_get_elem(list, (unsigned)i);
		if (config_setting_type(e) != CONFIG_TYPE_GROUP)
			problem(L, e, "entries of 'events' must be groups { ... }");
		else
			load_event(L, e, i);
	}
}

static void
load_mail(struct loader *L, const config_setting_t *root)
{
	static const char *const keys[] = {
	    "sendmail", "from", "address_attribute", "timeout", NULL};
	const config_setting_t *g = get_section(L, root, "mail", keys);
	struct ct_mail_conf *m = &L->cfg->mail;

	if (g == NULL)
		return;
	get_string(L, g, "sendmail", 0, &m->sendmail);
	get_string(L, g, "from", 0, &m->from);
	get_string(L, g, "address_attribute", 0, &m->address_attribute);
	get_int(L, g, "timeout", 1, 600, &m->timeout);
	if (!is_absolute(m->sendmail))
		problem(L, g, "mail.sendmail '%s' must be an absolute path", m->sendmail);
	if (!ct_mail_address_valid(m->from))
		problem(L, g, "mail.from '%s' is not an e-mail address", m->from);
	if (!ct_attr_name_valid(m->address_attribute))
		problem(L, g, "mail.address_attribute '%s' is not an attribute name",
		    m->address_attribute);
}

static void
load_attestation(struct loader *L, const config_setting_t *root)
{
	static const char *const keys[] = {"ca_dir", NULL};
	const config_setting_t *g = get_section(L, root, "attestation", keys);

	if (g == NULL)
		return;
	get_string(L, g, "ca_dir", 1, &L->cfg->attestation_ca_dir);
	if (L->cfg->attestation_ca_dir != NULL && !is_absolute(L->cfg->attestation_ca_dir))
		problem(L, g, "attestation.ca_dir '%s' must be an absolute path",
		    L->cfg->attestation_ca_dir);
}

/* Is every %attribute% of pattern P provided by the attribute source? */
struct attr_check {
	struct loader *L;
	const config_setting_t *where;
	const char *target;
	const char *which;
};

static int
check_attr_provided(void *ctx, const char *name)
{
	struct attr_check *ac = ctx;
	const struct ct_attr_conf *c = &ac->L->cfg->attributes;

	if (!ct_attr_conf_provides(c, name))
		problem(ac->L, ac->where,
		    "target '%s': %s pattern uses %%%s%%, which the %s "
		    "attribute source does not provide",
		    ac->target, ac->which, name,
		    c->source == CT_ATTR_SOURCE_LDAP ? "ldap" : "passwd");
	return 0;
}

static void
load_target_pattern(
    struct loader *L, const config_setting_t *e, struct ct_target *t, enum ct_pattern_kind kind)
{
	const char *key = kind == CT_PATTERN_SUBJECT ? "subject" : "san";
	char **text = kind == CT_PATTERN_SUBJECT ? &t->subject_text : &t->san_text;
	struct ct_pattern **p = kind == CT_PATTERN_SUBJECT ? &t->subject : &t->san;
	const config_setting_t *s = config_setting_get_member(e, key);
	struct attr_check ac = {L, s ? s : e, t->name ? t->name : "?", key};
	struct ct_err err;

	get_string(L, e, key, kind == CT_PATTERN_SUBJECT, text);
	if (*text == NULL)
		return;
	ct_err_clear(&err);
	if (ct_pattern_parse(kind, *text, p, &err) != CT_OK) {
		problem(L, s, "target '%s': %s pattern '%s': %s", ac.target, key, *text, err.msg);
		return;
	}
	ct_pattern_foreach_attr(*p, check_attr_provided, &ac);
}

/* One address or CIDR block of a source-address option (ADDR/BITS). */
static int
ssh_cidr_ok(char *v)
{
	unsigned char buf[16];
	char *slash = strchr(v, '/'), *end;
	long bits = -1;
	int v6 = strchr(v, ':') != NULL;

	if (slash != NULL) {
		*slash = '\0';
		errno = 0;
		bits = strtol(slash + 1, &end, 10);
		if (slash[1] < '0' || slash[1] > '9' || *end != '\0' || bits > (v6 ? 128 : 32))
			return 0;
	}
	return inet_pton(v6 ? AF_INET6 : AF_INET, v, buf) == 1;
}

/* Is V a source-address option: comma-separated addresses and CIDR blocks? */
static int
ssh_source_ok(const char *v)
{
	char *copy = strdup(v), *p, *save = NULL;
	int ok = copy != NULL && v[0] != '\0' && v[strlen(v) - 1] != ',' && strstr(v, ",,") == NULL;

	for (p = ok ? strtok_r(copy, ",", &save) : NULL; p != NULL && ok;
	     p = strtok_r(NULL, ",", &save))
		ok = ssh_cidr_ok(p);
	free(copy);
	return ok;
}

/* The principals of target T's SSH certificates: patterns over the user's
 * attributes (ssh.principals, default [ "%unix_account%" ]). */
static void
load_ssh_principals(struct loader *L, const config_setting_t *g, struct ct_target *t)
{
	const config_setting_t *list = g != NULL ? get_string_list(L, g, "principals") : NULL;
	struct attr_check ac = {L, list, t->name ? t->name : "?", "ssh principal"};
	const char *text;
	struct ct_err err;
	int i, n = list != NULL ? config_setting_length(list) : 1;

	if (n == 0 || n > CT_SSH_PRINCIPALS_MAX) {
		problem(L, list, "target '%s': ssh.principals must have 1 to %d patterns",
		    ac.target, CT_SSH_PRINCIPALS_MAX);
		return;
	}
	for (i = 0; i < n; i++) {
		text = list != NULL ? config_setting_get_string_elem(list, i) : "%unix_account%";
		ac.where = list != NULL ? config_setting_get_elem(list, (unsigned)i) : NULL;
		ct_err_clear(&err);
		if (ct_pattern_parse(CT_PATTERN_PRINCIPAL, text,
		        &t->ssh.principals[t->ssh.n_principals], &err) != CT_OK) {
			problem(L, ac.where, "target '%s': ssh principal pattern '%s': %s",
			    ac.target, text, err.msg);
			continue;
		}
		ct_pattern_foreach_attr(
		    t->ssh.principals[t->ssh.n_principals++], check_attr_provided, &ac);
	}
}

/* ssh.extensions: names of OpenSSH certificate extensions (default permit-pty). */
static void
load_ssh_extensions(struct loader *L, const config_setting_t *g, struct ct_target *t)
{
	const config_setting_t *list = g != NULL ? get_string_list(L, g, "extensions") : NULL;
	const char *name;
	unsigned bit;
	int i, n;

	t->ssh.extensions = CT_SSH_EXT_DEFAULT;
	if (list == NULL)
		return;
	t->ssh.extensions = 0;
	n = config_setting_length(list);
	for (i = 0; i < n; i++) {
		name = config_setting_get_string_elem(list, i);
		if ((bit = ct_ssh_ext_parse(name)) == 0)
			problem(L, config_setting_get_elem(list, (unsigned)i),
			    "target '%s': ssh extension '%s' is not one of permit-X11-forwarding "
			    "permit-agent-forwarding permit-port-forwarding permit-pty "
			    "permit-user-rc",
			    t->name ? t->name : "?", name);
		t->ssh.extensions |= bit;
	}
}

/* Target T's `ssh`: false (the default), true, or a group of settings. */
/* The critical option KEY of ssh group G fits in a certificate (at most
 * CT_SSHCERT_FIELD_MAX bytes, as ct_sshcert_sign requires): 0, or -1
 * reported. */
static int
ssh_option_length(
    struct loader *L, const config_setting_t *g, const char *key, const struct ct_target *t)
{
	const config_setting_t *s = config_setting_get_member(g, key);
	const char *v = s != NULL ? config_setting_get_string(s) : NULL;

	if (v == NULL || strlen(v) <= CT_SSHCERT_FIELD_MAX)
		return 0;
	problem(L, s, "target '%s': ssh.%s is %zu bytes, over the limit of %d",
	    t->name ? t->name : "?", key, strlen(v), CT_SSHCERT_FIELD_MAX);
	return -1;
}

static void
load_target_ssh(struct loader *L, const config_setting_t *e, struct ct_target *t)
{
	static const char *const keys[] = {
	    "principals", "extensions", "force_command", "source_address", NULL};
	const config_setting_t *s = config_setting_get_member(e, "ssh"), *g = NULL;

	if (s == NULL)
		return;
	if (config_setting_type(s) == CONFIG_TYPE_BOOL)
		t->ssh.enabled = config_setting_get_bool(s);
	else if (config_setting_type(s) == CONFIG_TYPE_GROUP) {
		g = s;
		t->ssh.enabled = 1;
		check_keys(L, g, keys, "ssh");
	} else {
		problem(L, s, "'ssh' must be true, false or a group { ... }");
		return;
	}
	if (!t->ssh.enabled)
		return;
	load_ssh_principals(L, g, t);
	load_ssh_extensions(L, g, t);
	if (g == NULL)
		return;
	get_string(L, g, "force_command", 0, &t->ssh.force_command);
	if (t->ssh.force_command != NULL && t->ssh.force_command[0] == '\0')
		problem(L, config_setting_get_member(g, "force_command"),
		    "target '%s': ssh.force_command is empty", t->name ? t->name : "?");
	ssh_option_length(L, g, "force_command", t);
	get_string(L, g, "source_address", 0, &t->ssh.source_address);
	if (ssh_option_length(L, g, "source_address", t) != 0)
		return;
	if (t->ssh.source_address != NULL && !ssh_source_ok(t->ssh.source_address))
		problem(L, config_setting_get_member(g, "source_address"),
		    "target '%s': ssh.source_address '%s' is not a comma-separated list of "
		    "addresses and CIDR blocks",
		    t->name ? t->name : "?", t->ssh.source_address);
}

/* Resolve a reference KEY (e.g. "access_group") to an entry of a list. */
static const void *
resolve(struct loader *L, const config_setting_t *e, const char *key, const char *dflt,
    const void *base, size_t stride, size_t n, const char *what)
{
	const config_setting_t *s = config_setting_get_member(e, key);
	char *name = NULL;
	const void *found = NULL;
	size_t i;

	get_string(L, e, key, dflt == NULL, &name);
	if (name == NULL && (dflt == NULL || (name = strdup(dflt)) == NULL))
		return NULL;
	for (i = 0; i < n && found == NULL; i++) {
		const char *other = *(char *const *)((const char *)base + i * stride);
		if (other != NULL && strcmp(other, name) == 0)
			found = (const char *)base + i * stride;
	}
	if (found == NULL)
		problem(L, s ? s : e, "%s '%s' is not defined", what, name);
	free(name);
	return found;
}

/* KeyEncipherment is for RSA keys only: not with EC keys (RFC 5480 section
 * 3) nor Ed25519 (RFC 8410 section 5).  Refused for a target whose template
 * has it and whose access group's key type is one of those. */
static void
check_target_key_usage(struct loader *L, const config_setting_t *e, const struct ct_target *t)
{
	const config_setting_t *s = config_setting_get_member(e, "template");
	enum ct_key_type kt;

	if (t->group == NULL || t->template == NULL ||
	    !(t->template->key_usage & KU_KEY_ENCIPHERMENT))
		return;
	kt = t->group->key_type;
	if (kt != CT_KEY_EC_P256 && kt != CT_KEY_EC_P384 && kt != CT_KEY_ED25519)
		return;
	problem(L, s ? s : e,
	    "target '%s': template '%s' has KeyEncipherment, which access group '%s' (key_type "
	    "%s) cannot use: it is for RSA keys only (RFC 5480 section 3, RFC 8410 section 5)",
	    t->name ? t->name : "?", t->template->name ? t->template->name : "?",
	    t->group->name ? t->group->name : "?", ct_key_type_name(kt));
}

static void
load_target(struct loader *L, const config_setting_t *e, size_t i)
{
	static const char *const keys[] = {"name", "access_group", "template", "subject", "san",
	    "lifetime", "backdate", "ca_connector", "require_attestation", "ssh", NULL};
	struct ct_config *c = L->cfg;
	struct ct_target *t = &c->targets[i];

	check_keys(L, e, keys, "target");
	t->name = get_name(L, e, "target", &c->targets[0].name, sizeof(*t), i);
	t->group = resolve(L, e, "access_group", NULL, c->groups, sizeof(c->groups[0]), c->n_groups,
	    "access group");
	t->template = resolve(L, e, "template", "client", c->templates, sizeof(c->templates[0]),
	    c->n_templates, "template");
	check_target_key_usage(L, e, t);
	t->connector = resolve(L, e, "ca_connector", "local", c->connectors,
	    sizeof(c->connectors[0]), c->n_connectors, "CA connector");
	t->lifetime = 3600;
	t->backdate = 60;
	get_long(L, e, "lifetime", 60, 366L * 86400, &t->lifetime);
	get_long(L, e, "backdate", 0, 86400, &t->backdate);
	get_bool(L, e, "require_attestation", &t->require_attestation);
	if (t->require_attestation && c->attestation_ca_dir == NULL)
		problem(L, config_setting_get_member(e, "require_attestation"),
		    "target '%s' requires attestation but no attestation.ca_dir is configured",
		    t->name ? t->name : "?");
	load_target_pattern(L, e, t, CT_PATTERN_SUBJECT);
	load_target_pattern(L, e, t, CT_PATTERN_SAN);
	load_target_ssh(L, e, t);
	if (t->san_text == NULL)
		t->san_text = strdup("");
	if (t->san == NULL && t->san_text != NULL && t->san_text[0] == '\0')
		ct_pattern_parse(CT_PATTERN_SAN, "", &t->san, NULL);
}

typedef void (*load_entry_fn)(struct loader *L, const config_setting_t *e, size_t i);

/* Load list KEY from ROOT, or from the embedded defaults when ROOT lacks it. */
static void
load_list(struct loader *L, const config_setting_t *root, const config_setting_t *dflt,
    const char *key, void **arr, size_t *n, size_t elem, load_entry_fn fn)
{
	const config_setting_t *list = config_setting_get_member(root, key), *e;
	const char *file = L->file;
	size_t i, count;

	if (list == NULL) {
		list = config_setting_get_member(dflt, key);
		L->file = CT_EMBEDDED_NAME;
	} else if ((list = get_list(L, root, key)) == NULL)
		return;
	count = (size_t)config_setting_length(list);
	if (count == 0)
		problem(L, list, "'%s' is empty", key);
	if (count == 0 || (*arr = calloc(count, elem)) == NULL)
		goto out;
	*n = count;
	for (i = 0; i < count; i++) {
		e = config_setting_get_elem(list, (unsigned)i);
		if (config_setting_type(e) != CONFIG_TYPE_GROUP)
			problem(L, e, "entries of '%s' must be groups { ... }", key);
		else
			fn(L, e, i);
	}
out:
	L->file = file;
}

static int
config_defaults(struct ct_config *c)
{
	c->store_backend = strdup("files");
	c->store_path = strdup(LOCALSTATEDIR "/lib/certtoken");
	c->store_lock_timeout = 5;
	c->store_ldap = (struct ct_store_ldap_conf){
	    .starttls = 1, .timeout = 5, .connections = 4, .cache_max_age = 300};
	c->socket_path = strdup("/run/certtoken/enroll.sock");
	c->otp = (struct ct_otp_conf){.digits = 6,
	    .period = 30,
	    .window = 1,
	    .hotp_lookahead = 10,
	    .throttle_after = 5,
	    .throttle_base = 2,
	    .throttle_max = 3600,
	    .refusal_ms = 50};
	c->service = (struct ct_service_conf){
	    .max_clients = 64, .max_per_user = 4, .timeout = 120, .ldap_connections = 4};
	c->mail.sendmail = strdup("/usr/sbin/sendmail");
	c->mail.from = strdup("root@localhost");
	c->mail.address_attribute = strdup("mail");
	c->mail.timeout = 30;
	if (c->store_backend == NULL || c->store_path == NULL || c->socket_path == NULL ||
	    c->mail.sendmail == NULL || c->mail.from == NULL || c->mail.address_attribute == NULL)
		return CT_ENOMEM;
	return ct_attr_conf_defaults(&c->attributes);
}

static void
load_root(struct loader *L, const config_setting_t *root, const config_setting_t *dflt)
{
	static const char *const keys[] = {"store", "socket", "attributes", "otp", "service",
	    "access_groups", "templates", "targets", "ca_connectors", "attestation", "mail",
	    "events", NULL};
	struct ct_config *c = L->cfg;

	check_keys(L, root, keys, "the top level");
	load_store(L, root);
	load_attestation(L, root);
	load_mail(L, root);
	load_events(L, root);
	load_socket(L, root);
	load_attributes(L, root);
	load_otp(L, root);
	load_service(L, root);
	load_list(L, root, dflt, "access_groups", (void **)&c->groups, &c->n_groups,
	    sizeof(*c->groups), load_group);
	load_list(L, root, dflt, "templates", (void **)&c->templates, &c->n_templates,
	    sizeof(*c->templates), load_template);
	load_list(L, root, dflt, "ca_connectors", (void **)&c->connectors, &c->n_connectors,
	    sizeof(*c->connectors), load_connector);
	load_list(L, root, dflt, "targets", (void **)&c->targets, &c->n_targets,
	    sizeof(*c->targets), load_target);
}

/* Does TEXT use libconfig's @include directive (at the start of a line)? */
static int
has_include(const char *text)
{
	const char *p = text;

	for (;;) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (strncmp(p, "@include", 8) == 0)
			return 1;
		if ((p = strchr(p, '\n')) == NULL)
			return 0;
		p++;
	}
}

/* Parse TEXT (named NAME in messages) into a new configuration. */
static int
load_text(const char *text, const char *name, struct ct_config **out, struct ct_diag *diag,
    struct ct_err *err)
{
	struct ct_config *c = calloc(1, sizeof(*c));
	struct loader L = {c, diag, err, name, 0};
	config_t cf, dcf;
	int rc = CT_ECONFIG;

	config_init(&cf);
	config_init(&dcf);
	if (c == NULL || (c->path = strdup(name)) == NULL || config_defaults(c) != CT_OK) {
		rc = ct_err_set(err, CT_ENOMEM, "out of memory");
		goto out;
	}
	if (has_include(text)) {
		problem(&L, NULL,
		    "@include is not supported: included files would escape the "
		    "ownership and mode checks of the configuration");
		goto out;
	}
	if (config_read_string(&cf, text) != CONFIG_TRUE) {
		problem(&L, NULL, "line %d: %s", config_error_line(&cf), config_error_text(&cf));
		goto out;
	}
	if (config_read_string(&dcf, embedded_lists) != CONFIG_TRUE) {
		problem(&L, NULL, "embedded default configuration does not parse");
		goto out;
	}
	load_root(&L, config_root_setting(&cf), config_root_setting(&dcf));
	if (L.problems == 0) {
		*out = c;
		c = NULL;
		rc = CT_OK;
	}
out:
	config_destroy(&dcf);
	config_destroy(&cf);
	ct_config_free(c);
	return rc;
}

int
ct_config_load_string(const char *text, const char *name, struct ct_config **out,
    struct ct_diag *diag, struct ct_err *err)
{
	return load_text(text, name, out, diag, err);
}

/* Read the configuration file: a regular file, owned by root or by us, not
 * writable by group or others.  Symbolic links are followed (configuration
 * management uses them), but the target is checked. */
static int
read_config_file(const char *path, char **text, struct ct_err *err)
{
	static const struct ct_open_policy pol = {CT_OWNER_ROOT, 0, S_IWGRP | S_IWOTH,
	    CT_CONFIG_FILE_MAX, 1, 0, "must be owned by root and not writable by group or others"};
	struct ct_err local = {0};
	unsigned char *buf = NULL;
	size_t len = 0;
	int rc;

	if ((rc = ct_safe_read(path, &pol, &buf, &len, &local)) == CT_ENOENT)
		return ct_err_set(err, CT_ENOENT, "%s: %s", path, strerror(ENOENT));
	if (rc != CT_OK)
		return ct_err_set(err, rc == CT_ENOMEM ? rc : CT_ECONFIG, "%s", local.msg);
	if (memchr(buf, '\0', len) != NULL) {
		free(buf);
		return ct_err_set(err, CT_ECONFIG, "%s: contains a NUL byte", path);
	}
	*text = (char *)buf;
	return CT_OK;
}

int
ct_config_load(const char *path, int explicit_path, struct ct_config **out, struct ct_diag *diag,
    struct ct_err *err)
{
	char *text = NULL;
	int rc;

	rc = read_config_file(path, &text, err);
	if (rc == CT_ENOENT && !explicit_path) {
		ct_err_clear(err);
		return load_text("", CT_EMBEDDED_NAME, out, diag, err);
	}
	if (rc != CT_OK) {
		if (err != NULL)
			err->code = CT_ECONFIG;
		if (diag != NULL && diag->n < CT_DIAG_MAX && err != NULL)
			diag->msg[diag->n++] = strdup(err->msg);
		return CT_ECONFIG;
	}
	rc = load_text(text, path, out, diag, err);
	free(text);
	return rc;
}

/* Free what the lists of C (targets, templates, groups, connectors,
 * events) hold, and the lists. */
static void
free_lists(struct ct_config *c)
{
	size_t i, j;

	for (i = 0; i < c->n_targets; i++) {
		free(c->targets[i].name);
		free(c->targets[i].subject_text);
		free(c->targets[i].san_text);
		ct_pattern_free(c->targets[i].subject);
		ct_pattern_free(c->targets[i].san);
		for (j = 0; j < c->targets[i].ssh.n_principals; j++)
			ct_pattern_free(c->targets[i].ssh.principals[j]);
		free(c->targets[i].ssh.force_command);
		free(c->targets[i].ssh.source_address);
	}
	for (i = 0; i < c->n_templates; i++)
		ct_template_clear(&c->templates[i]);
	for (i = 0; i < c->n_groups; i++) {
		free(c->groups[i].name);
		for (j = 0; j < c->groups[i].n_unix_groups; j++)
			free(c->groups[i].unix_groups[j]);
		free(c->groups[i].unix_groups);
	}
	for (i = 0; i < c->n_connectors; i++) {
		free(c->connectors[i].name);
		free_argv(c->connectors[i].argv);
	}
	for (i = 0; i < c->n_events; i++) {
		for (j = 0; j < c->events[i].n_when; j++) {
			free(c->events[i].when[j].field);
			free(c->events[i].when[j].value);
		}
		free(c->events[i].event);
		free(c->events[i].to);
		free(c->events[i].subject);
		free(c->events[i].body);
		free_argv(c->events[i].argv);
	}
	free(c->events);
	free(c->targets);
	free(c->templates);
	free(c->groups);
	free(c->connectors);
}

void
ct_config_free(struct ct_config *c)
{
	if (c == NULL)
		return;
	free_lists(c);
	free(c->attestation_ca_dir);
	free(c->mail.sendmail);
	free(c->mail.from);
	free(c->mail.address_attribute);
	ct_attr_conf_clear(&c->attributes);
	free(c->path);
	free(c->store_backend);
	free(c->store_path);
	free(c->store_ldap.uri);
	free(c->store_ldap.write_uri);
	free(c->store_ldap.ca_file);
	free(c->store_ldap.bind_dn);
	free(c->store_ldap.bind_password_file);
	free(c->store_ldap.base);
	free(c->socket_path);
	free(c);
}

#define FIND_BY_NAME(arr, n, name)                                                                 \
	do {                                                                                       \
		size_t i_;                                                                         \
		for (i_ = 0; i_ < (n); i_++)                                                       \
			if (strcmp((arr)[i_].name, (name)) == 0)                                   \
				return &(arr)[i_];                                                 \
		return NULL;                                                                       \
	} while (0)

const struct ct_group *
ct_config_group(const struct ct_config *c, const char *name)
{
	FIND_BY_NAME(c->groups, c->n_groups, name);
}

const struct ct_target *
ct_config_target(const struct ct_config *c, const char *name)
{
	FIND_BY_NAME(c->targets, c->n_targets, name);
}

const struct ct_target *
ct_config_default_target(const struct ct_config *c)
{
	const struct ct_target *t = ct_config_target(c, "default");

	return t != NULL || c->n_targets == 0 ? t : &c->targets[0];
}

const struct ct_template *
ct_config_template(const struct ct_config *c, const char *name)
{
	FIND_BY_NAME(c->templates, c->n_templates, name);
}
