/* Event handlers: notifications when something happens to a token.
 *
 * The configuration's `events` list names an event (token_init,
 * token_enrolled, token_revoked, token_deleted, cert_rejected,
 * cert_expiring), conditions on the token's fields (all must hold) and an
 * action:
 *   email    a message through the sendmail interface (mail.sendmail, run as
 *            SENDMAIL -i -- RECIPIENT, no shell) to the token owner (the
 *            address is the user's mail.address_attribute attribute) or to
 *            a fixed address;
 *   syslog   one line (the body template) at LOG_NOTICE;
 *   command  a program (no shell) whose words are templates, with the
 *            fields also in the environment as CERTTOKEN_EVENT,
 *            CERTTOKEN_USER, CERTTOKEN_SERIAL, ... (upper-cased names).
 * Templates use {event} {user} {serial} {type} {rollout_state} {target}
 * {cert_serial} {not_after} {host} {issuer}; "{{" is a literal brace.
 *
 * Handlers run after the fact ("post" events): a failing action is logged
 * and never undoes or fails what happened.  Every action is bounded in time
 * (mail.timeout, the command's timeout).  Values substituted into a mail
 * header never contain a line break (they are replaced by spaces), and
 * nothing secret is ever in the context. */
#ifndef CT_EVENTS_H
#define CT_EVENTS_H

#include "attrs.h"
#include "conf.h"
#include "tokens.h"

/* The vocabulary of event handlers, kept here once: the configuration
 * loader checks against it, the handlers use it. */
enum ct_event_words {
	CT_EVENT_WORD_EVENT, /* event names: token_init token_enrolled ... */
	CT_EVENT_WORD_FIELD, /* the token fields a condition ('when') tests */
	CT_EVENT_WORD_PLACEHOLDER /* the {placeholders} of templates */
};

/* Is NAME (LEN bytes, no NUL needed) a word of vocabulary V? */
int ct_event_word_valid(enum ct_event_words v, const char *name, size_t len);

#define CT_EVENT_WORDS_LIST 128 /* room for any vocabulary's ct_event_words_list */

/* The words of vocabulary V separated by spaces, for messages, into OUT
 * (OUTSZ bytes with the NUL, at least 1; cut at a word when too small). */
void ct_event_words_list(enum ct_event_words v, char *out, size_t outsz);

/* Is NAME one of the events handlers can name (token_init token_enrolled
 * token_revoked token_deleted cert_rejected cert_expiring)? */
int ct_event_name_valid(const char *name);

/* Is NAME (LEN bytes) a placeholder templates may use ({user} {serial} ...)? */
int ct_event_placeholder_valid(const char *name, size_t len);

/* Is A an address we hand to sendmail (one local@domain of safe
 * characters, not starting with '-')? */
int ct_mail_address_valid(const char *a);

struct ct_event_ctx {
	const char *event; /* one of the event names */
	const char *user;
	const struct ct_token *token; /* its serial, type, rollout state, ... */
	const struct ct_attrs *attrs; /* the owner's attributes; NULL if not looked up */
	const char *issuer; /* the certificate's issuer, "" when none */
};

/* Where handlers report what they did and what failed (PRIO is a syslog
 * priority).  The service logs through syslog, the admin tool to stderr. */
typedef void (*ct_event_log_fn)(void *arg, int prio, const char *line);

/* Do any of CFG's handlers for EVENT need the owner's attributes (an e-mail
 * to "tokenowner")?  Lets callers look them up only when needed. */
int ct_events_need_attrs(const struct ct_config *cfg, const char *event);

/* Run every handler of CFG whose event is CTX->event and whose conditions
 * hold for CTX.  Returns the number of actions that failed (each logged). */
int ct_events_fire(
    const struct ct_config *cfg, const struct ct_event_ctx *ctx, ct_event_log_fn log, void *arg);

/* Expand TEMPLATE with CTX's values into OUT (OUTSZ bytes with the NUL).
 * ONE_LINE replaces CR and LF in values with spaces (for mail headers).
 * CT_EINVAL when it does not fit. */
int ct_event_expand(const char *template, const struct ct_event_ctx *ctx, int one_line, char *out,
    size_t outsz, struct ct_err *err);

/* Does every condition of EV hold for CTX? */
int ct_event_matches(const struct ct_event *ev, const struct ct_event_ctx *ctx);

#endif
