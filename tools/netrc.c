/* tools/netrc.c - password lookup in ~/.netrc text. See netrc.h. */
#include "netrc.h"
#include "common.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* Next token of netrc text: a word, or a "quoted string" with \ escapes.
 * Returns a malloc'd token or NULL at the end. */
static char *netrc_token(const char **pp)
{
    const char *p = *pp;
    char *tok;
    size_t n = 0;
    while (*p && isspace((unsigned char)*p))
        p++;
    if (!*p) {
        *pp = p;
        return NULL;
    }
    tok = malloc(strlen(p) + 1);
    if (!tok)
        return NULL;
    if (*p == '"') {
        p++;
        while (*p && *p != '"') {
            if (*p == '\\' && p[1])
                p++;
            tok[n++] = *p++;
        }
        if (*p == '"')
            p++;
    } else {
        while (*p && !isspace((unsigned char)*p))
            tok[n++] = *p++;
    }
    tok[n] = '\0';
    *pp = p;
    return tok;
}

static int ascii_casecmp(const char *a, const char *b)
{
    while (*a && tolower((unsigned char)*a) == tolower((unsigned char)*b)) {
        a++;
        b++;
    }
    return tolower((unsigned char)*a) - tolower((unsigned char)*b);
}

typedef struct netrc_entry {
    int active, is_default, host_match;
    char *login, *password;
} netrc_entry;

/* Ranks of a finished entry: 3 machine+login match (or machine, no user
 * asked), 2 machine without a login, 1 default; 0 no use. */
static int netrc_rank(const netrc_entry *e, const char *user)
{
    if (!e->active || !e->password)
        return 0;
    if (user && e->login && strcmp(e->login, user) != 0)
        return 0;
    if (e->host_match)
        return (!user || e->login) ? 3 : 2;
    if (e->is_default)
        return 1;
    return 0;
}

static void netrc_finish(netrc_entry *e, const char *user, char **best, int *best_rank)
{
    int r = netrc_rank(e, user);
    if (r > *best_rank) {
        free(*best);
        *best = tool_strdup(e->password);
        *best_rank = r;
    }
    free(e->login);
    free(e->password);
    memset(e, 0, sizeof *e);
}

char *tool_netrc_lookup(const char *text, const char *host, const char *user)
{
    const char *p = text;
    char *tok, *best = NULL;
    int best_rank = 0;
    netrc_entry e;

    memset(&e, 0, sizeof e);
    while (best_rank < 3 && (tok = netrc_token(&p)) != NULL) {
        if (strcmp(tok, "machine") == 0) {
            char *m;
            netrc_finish(&e, user, &best, &best_rank);
            m = netrc_token(&p);
            e.active = 1;
            e.host_match = m && ascii_casecmp(m, host) == 0;
            free(m);
        } else if (strcmp(tok, "default") == 0) {
            netrc_finish(&e, user, &best, &best_rank);
            e.active = 1;
            e.is_default = 1;
        } else if (strcmp(tok, "login") == 0) {
            free(e.login);
            e.login = netrc_token(&p);
        } else if (strcmp(tok, "password") == 0) {
            free(e.password);
            e.password = netrc_token(&p);
        } else if (strcmp(tok, "account") == 0 || strcmp(tok, "port") == 0) {
            free(netrc_token(&p));
        } else if (strcmp(tok, "macdef") == 0) {
            const char *end;
            netrc_finish(&e, user, &best, &best_rank);
            free(netrc_token(&p)); /* macro name */
            end = strstr(p, "\n\n");
            p = end ? end + 2 : p + strlen(p);
        }
        free(tok);
    }
    netrc_finish(&e, user, &best, &best_rank);
    return best;
}
