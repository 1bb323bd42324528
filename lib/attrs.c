#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "attrs.h"
#include "attrsrc.h"

const char *const ct_attr_standard_names[] = {"principal", "samaccountname", "unix_account",
    "windows_account", "name", "first_name", "last_name", "distinguishedname", "telephone",
    "company", "department", "job_title", "source", "external_id", NULL};

static const struct {
	const char *alias;
	const char *canon;
} attr_aliases[] = {
    {"username", "principal"},
    {"userprincipalname", "principal"},
    {"full_name", "name"},
};

struct ct_attr_entry {
	char kind; /* 's' standard, 'r' raw */
	char *name;
	char *value;
};

struct ct_attrs {
	struct ct_attr_entry e[CT_ATTRS_MAX];
	size_t n;
};

struct ct_attrs *
ct_attrs_new(void)
{
	return calloc(1, sizeof(struct ct_attrs));
}

void
ct_attrs_free(struct ct_attrs *a)
{
	size_t i;

	if (a == NULL)
		return;
	for (i = 0; i < a->n; i++) {
		free(a->e[i].name);
		/* attribute values can be personal data: wipe them */
		OPENSSL_clear_free(a->e[i].value, strlen(a->e[i].value));
	}
	free(a);
}

int
ct_attr_standard_index(const char *name)
{
	int i;

	for (i = 0; ct_attr_standard_names[i] != NULL; i++)
		if (strcasecmp(name, ct_attr_standard_names[i]) == 0)
			return i;
	return -1;
}

const char *
ct_attr_canonical(const char *name)
{
	size_t i;
	int idx;

	if ((idx = ct_attr_standard_index(name)) >= 0)
		return ct_attr_standard_names[idx];
	for (i = 0; i < sizeof(attr_aliases) / sizeof(attr_aliases[0]); i++)
		if (strcasecmp(name, attr_aliases[i].alias) == 0)
			return attr_aliases[i].canon;
	return NULL;
}

int
ct_attr_name_valid(const char *name)
{
	size_t i, len = strlen(name);

	if (len == 0 || len > CT_ATTR_NAME_MAX)
		return 0;
	if (!((name[0] >= 'a' && name[0] <= 'z') || (name[0] >= 'A' && name[0] <= 'Z')))
		return 0;
	for (i = 1; i < len; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		        c == '-' || c == '_'))
			return 0;
	}
	return 1;
}

static struct ct_attr_entry *
attrs_find(const struct ct_attrs *a, char kind, const char *name)
{
	size_t i;

	for (i = 0; i < a->n; i++)
		if (a->e[i].kind == kind && strcasecmp(a->e[i].name, name) == 0)
			return (struct ct_attr_entry *)&a->e[i];
	return NULL;
}

static int
attrs_put(struct ct_attrs *a, char kind, const char *name, const char *value, int replace,
    struct ct_err *err)
{
	struct ct_attr_entry *e;
	char *v;

	if (strlen(value) > CT_ATTR_VALUE_MAX)
		return ct_err_set(err, CT_EINVAL, "attribute '%s' is longer than %d bytes", name,
		    CT_ATTR_VALUE_MAX);
	if ((e = attrs_find(a, kind, name)) != NULL && !replace)
		return CT_OK;
	if ((v = strdup(value)) == NULL)
		return ct_err_set(err, CT_ENOMEM, "out of memory");
	if (e != NULL) {
		OPENSSL_clear_free(e->value, strlen(e->value));
		e->value = v;
		return CT_OK;
	}
	if (a->n >= CT_ATTRS_MAX) {
		free(v);
		return ct_err_set(err, CT_EINVAL, "more than %d attributes", CT_ATTRS_MAX);
	}
	if ((a->e[a->n].name = strdup(name)) == NULL) {
		free(v);
		return ct_err_set(err, CT_ENOMEM, "out of memory");
	}
	a->e[a->n].kind = kind;
	a->e[a->n].value = v;
	a->n++;
	return CT_OK;
}

int
ct_attrs_set(struct ct_attrs *a, const char *canon, const char *value, struct ct_err *err)
{
	const char *c = ct_attr_canonical(canon);

	if (c == NULL)
		return ct_err_set(err, CT_EINVAL, "'%s' is not a standard attribute", canon);
	return attrs_put(a, 's', c, value, 1, err);
}

int
ct_attrs_add_raw(struct ct_attrs *a, const char *name, const char *value, struct ct_err *err)
{
	if (!ct_attr_name_valid(name))
		return ct_err_set(err, CT_EINVAL, "'%s' is not a valid attribute name", name);
	return attrs_put(a, 'r', name, value, 0, err);
}

const char *
ct_attrs_get(const struct ct_attrs *a, const char *name)
{
	const char *canon = ct_attr_canonical(name);
	struct ct_attr_entry *e;

	e = canon != NULL ? attrs_find(a, 's', canon) : attrs_find(a, 'r', name);
	return e != NULL ? e->value : NULL;
}

int
ct_attrs_entry(
    const struct ct_attrs *a, size_t i, char *kind, const char **name, const char **value)
{
	if (i >= a->n)
		return -1;
	*kind = a->e[i].kind;
	*name = a->e[i].name;
	*value = a->e[i].value;
	return 0;
}
