/* certtoken-enroll: what its command files share. */
#ifndef CT_ENROLL_H
#define CT_ENROLL_H

#include <stddef.h>

#include "ct.h"

#define PROG "certtoken-enroll"

/* $XDG_CONFIG_HOME/certtoken/TARGET (XDG_CONFIG_HOME: ~/.config) into OUT. */
int enroll_target_dir(const char *target, char *out, size_t size, struct ct_err *err);

/* certtoken-enroll respond [--whole] [CHALLENGE...]: the exit status. */
int cmd_respond(int argc, char **argv);

#endif
