/* tools/password.c - where a password comes from: POSTIE_PASSWORD,
 * passwordeval, password_env, ~/.netrc. See password.h. */
#include "password.h"
#include "common.h"
#include "files.h"
#include "netrc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

static char *first_line(char *s)
{
    s[strcspn(s, "\r\n")] = '\0';
    return s;
}

static char *pass_eval(const char *cmd, char *err, size_t errcap)
{
    FILE *f;
    char buf[4096];
    size_t n;
    int st;
    fflush(NULL);
    f = popen(cmd, "r");
    if (!f) {
        snprintf(err, errcap, "passwordeval: cannot run the command: %s", strerror(errno));
        return NULL;
    }
    n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    { /* read to the end so the command never gets SIGPIPE */
        char sink[512];
        while (fread(sink, 1, sizeof sink, f) > 0)
            ;
    }
    st = pclose(f);
    if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        snprintf(err, errcap, "passwordeval: command failed (%s %d)",
                 (st != -1 && WIFEXITED(st)) ? "exit status" : "status",
                 (st != -1 && WIFEXITED(st)) ? WEXITSTATUS(st) : st);
        return NULL;
    }
    first_line(buf);
    if (!buf[0]) {
        snprintf(err, errcap, "passwordeval: the command printed no password");
        return NULL;
    }
    return tool_strdup(buf);
}

char *tool_password(const tool_pass_src *src, char *err, size_t errcap)
{
    const char *v;
    char *path, *r = NULL;
    FILE *f;
    struct stat sb;

    /* POSTIE_PASSWORD is set for one invocation (like a flag), so it wins
     * over the configuration file */
    v = getenv("POSTIE_PASSWORD");
    if (v && v[0])
        return tool_strdup(v);
    if (src->eval && src->eval[0])
        return pass_eval(src->eval, err, errcap);
    if (src->env_name && src->env_name[0]) {
        v = getenv(src->env_name);
        if (!v || !v[0]) {
            snprintf(err, errcap, "password_env: variable %s is not set", src->env_name);
            return NULL;
        }
        return tool_strdup(v);
    }

    path = tool_expand_home(src->netrc ? src->netrc : "~/.netrc");
    if (!path) {
        snprintf(err, errcap, "out of memory");
        return NULL;
    }
    f = fopen(path, "r");
    if (f) {
        char *text = NULL;
        size_t len = 0, cap = 0, got;
        if (fstat(fileno(f), &sb) == 0 && (sb.st_mode & 077)) {
            snprintf(err, errcap, "%s: readable by others; chmod 600 it", path);
            fclose(f);
            free(path);
            return NULL;
        }
        do {
            if (cap - len < 1024) {
                char *nt = realloc(text, cap + 4096);
                if (!nt)
                    break;
                text = nt;
                cap += 4096;
            }
            got = fread(text + len, 1, cap - len - 1, f);
            len += got;
        } while (got > 0);
        fclose(f);
        if (text) {
            text[len] = '\0';
            r = tool_netrc_lookup(text, src->host ? src->host : "", src->user);
            memset(text, 0, len);
            free(text);
        }
    }
    if (!r)
        snprintf(err, errcap,
                 "no password: set POSTIE_PASSWORD, or passwordeval/password_env in the "
                 "configuration, or an entry for %s in %s",
                 src->host ? src->host : "the host", path);
    free(path);
    return r;
}
