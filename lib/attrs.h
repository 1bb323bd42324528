/* User attributes: the values %name% in a pattern is replaced with.
 *
 * A set holds two kinds of entries: the standard (PrivX) attributes under
 * their canonical names (principal, unix_account, name, ...), and raw
 * directory attributes under their LDAP names (for custom %attribute%s).
 * Lookups are case-insensitive; aliases resolve to canonical names. */
#ifndef CT_ATTRS_H
#define CT_ATTRS_H

#include <stddef.h>

#include "ct.h"

#define CT_ATTRS_MAX 256 /* entries per set */
#define CT_ATTR_VALUE_MAX 1024 /* bytes per value */
#define CT_ATTR_NAME_MAX 64 /* bytes per attribute name */

struct ct_attrs;

/* Canonical standard names, NULL-terminated, in documentation order. */
extern const char *const ct_attr_standard_names[];

/* Allocate an empty set; NULL when out of memory. */
struct ct_attrs *ct_attrs_new(void);
void ct_attrs_free(struct ct_attrs *a);

/* Resolve an alias to its canonical standard name ("username" -> "principal");
 * returns NULL when NAME is not a standard attribute or alias (i.e. custom). */
const char *ct_attr_canonical(const char *name);

/* Is NAME syntactically an attribute name: a letter, then letters, digits, '-' or '_'? */
int ct_attr_name_valid(const char *name);

/* Set standard attribute CANON (a canonical name) to VALUE, replacing any old value. */
int ct_attrs_set(struct ct_attrs *a, const char *canon, const char *value, struct ct_err *err);

/* Add a raw directory attribute value; only the first value of a name is kept. */
int ct_attrs_add_raw(struct ct_attrs *a, const char *name, const char *value, struct ct_err *err);

/* Look NAME up (alias-aware).  Standard names read only the standard entries;
 * other names read the raw entries.  Returns the value, or NULL if absent. */
const char *ct_attrs_get(const struct ct_attrs *a, const char *name);

/* Iterate: entry I (0-based) as (*kind 's' standard / 'r' raw, *name, *value);
 * returns 0, or -1 past the end. */
int ct_attrs_entry(
    const struct ct_attrs *a, size_t i, char *kind, const char **name, const char **value);

#endif
