/*
 * tools/password.h - password sources, in order.
 */
#ifndef POSTIE_TOOLS_PASSWORD_H
#define POSTIE_TOOLS_PASSWORD_H

#include <stddef.h>

/* ---- password sources -------------------------------------------------- */

typedef struct tool_pass_src {
    const char *eval;     /* passwordeval: shell command, first line of stdout */
    const char *env_name; /* password_env: name of an environment variable */
    const char *netrc;    /* path of the netrc file, NULL for ~/.netrc */
    const char *host, *user;
} tool_pass_src;

/* In order: $POSTIE_PASSWORD, eval (when set), env_name (when set), netrc.
 * Returns a malloc'd password, or NULL with a reason in err. */
char *tool_password(const tool_pass_src *src, char *err, size_t errcap);

#endif /* POSTIE_TOOLS_PASSWORD_H */
