/* tools/config.c - the configuration file (accounts, defaults, keys and
 * their values) and how the flags and the account give the server to
 * reach. See config.h and man/postie.5. */
#include "config.h"
#include "common.h"
#include "deliver.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

tool_tls_mode tool_tls_parse(const char *s)
{
    if (!s)
        return TOOL_TLS_UNSET;
    if (strcmp(s, "off") == 0)
        return TOOL_TLS_OFF;
    if (strcmp(s, "starttls") == 0)
        return TOOL_TLS_STARTTLS;
    if (strcmp(s, "implicit") == 0)
        return TOOL_TLS_IMPLICIT;
    return TOOL_TLS_UNSET;
}

char *tool_cfg_default_path(void)
{
    const char *x = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
    char *r;
    if (x && x[0] == '/') {
        r = malloc(strlen(x) + sizeof "/postie/config");
        if (r)
            sprintf(r, "%s/postie/config", x);
        return r;
    }
    if (!home || !home[0])
        return NULL;
    r = malloc(strlen(home) + sizeof "/.config/postie/config");
    if (r)
        sprintf(r, "%s/.config/postie/config", home);
    return r;
}

/* Keys an account may set. Each of the PROTO ones may also be written as
 * pop3_KEY or smtp_KEY, which wins for that protocol. */
static const char *const proto_keys[] = {
    "host", "port", "tls", "cafile", "user", "passwordeval", "password_env", "netrc",
    "timeout", NULL
};
static const char *const other_keys[] = {
    "from", "delete", "new_only", "max_size", "state", "pipelining",
    /* postie-send's outbox (tools/outbox.c) */
    "outbox", "outbox_retry_min", "outbox_retry_max", "outbox_max_age",
    NULL
};

/* OAuth 2.0 (oauth.h): PROTO keys too. */
static const char *const oauth_keys[] = {
    "oauth_provider", "oauth_client_id", "oauth_client_secret", "oauth_tenant", "oauth_scope",
    "oauth_flow", "oauth_token_file", "oauth_mechanism", NULL
};

static int in_list(const char *const *l, const char *k)
{
    for (; *l; l++)
        if (strcmp(*l, k) == 0)
            return 1;
    return 0;
}

static int key_known(const char *k, const char **base)
{
    *base = k;
    if (strncmp(k, "pop3_", 5) == 0 || strncmp(k, "smtp_", 5) == 0) {
        *base = k + 5;
        return in_list(proto_keys, k + 5) || in_list(oauth_keys, k + 5);
    }
    /* and one key per delivery target: "maildir", "mbox", "mda" */
    return in_list(proto_keys, k) || in_list(other_keys, k) || in_list(oauth_keys, k) ||
           tool_target_find(k) != NULL;
}

static int parse_bool(const char *v)
{
    if (!strcmp(v, "yes") || !strcmp(v, "on") || !strcmp(v, "true") || !strcmp(v, "1"))
        return 1;
    if (!strcmp(v, "no") || !strcmp(v, "off") || !strcmp(v, "false") || !strcmp(v, "0"))
        return 0;
    return -1;
}

int tool_parse_size(const char *v, unsigned long long *out)
{
    char *end;
    unsigned long long n;
    if (!isdigit((unsigned char)v[0]))
        return -1;
    errno = 0;
    n = strtoull(v, &end, 10);
    if (errno)
        return -1;
    if (*end == 'k' || *end == 'K') {
        n *= 1024ull;
        end++;
    } else if (*end == 'm' || *end == 'M') {
        n *= 1024ull * 1024ull;
        end++;
    } else if (*end == 'g' || *end == 'G') {
        n *= 1024ull * 1024ull * 1024ull;
        end++;
    }
    if (*end != '\0')
        return -1;
    *out = n;
    return 0;
}

static const char *check_value(const char *base, const char *v)
{
    if (strcmp(base, "tls") == 0 && tool_tls_parse(v) == TOOL_TLS_UNSET)
        return "tls must be off, starttls or implicit";
    if (strcmp(base, "port") == 0) {
        char *end;
        long p = strtol(v, &end, 10);
        if (!isdigit((unsigned char)v[0]) || *end || p < 1 || p > 65535)
            return "port must be a number from 1 to 65535";
    }
    if (strcmp(base, "timeout") == 0) {
        char *end;
        long t = strtol(v, &end, 10);
        if (!isdigit((unsigned char)v[0]) || *end || t < 1 || t > 3600)
            return "timeout must be a number of seconds from 1 to 3600";
    }
    if ((strcmp(base, "delete") == 0 || strcmp(base, "new_only") == 0 ||
         strcmp(base, "pipelining") == 0) &&
        parse_bool(v) < 0)
        return "expected yes or no";
    if (strcmp(base, "max_size") == 0) {
        unsigned long long n;
        if (tool_parse_size(v, &n) != 0)
            return "max_size must be a number of bytes (suffix k, M or G allowed)";
    }
    if (v[0] == '\0')
        return "missing value";
    return NULL;
}

int tool_cfg_bool(const tool_cfg *cfg, const char *key, int dflt)
{
    const char *v = tool_cfg_get(cfg, NULL, key);
    int b;
    if (!v)
        return dflt;
    b = parse_bool(v);
    return b < 0 ? dflt : b;
}

typedef struct raw_line {
    char *section; /* NULL: defaults */
    char *key, *value;
    int line;
} raw_line;

static void raw_free(raw_line *r, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) {
        free(r[i].section);
        free(r[i].key);
        free(r[i].value);
    }
    free(r);
}

static int cfg_add(tool_cfg *cfg, const raw_line *r, int dflt)
{
    if (cfg->n == cfg->cap) {
        size_t nc = cfg->cap ? cfg->cap * 2 : 16;
        tool_kv *k = realloc(cfg->kv, nc * sizeof *k);
        if (!k)
            return -1;
        cfg->kv = k;
        cfg->cap = nc;
    }
    cfg->kv[cfg->n].key = tool_strdup(r->key);
    cfg->kv[cfg->n].value = tool_strdup(r->value);
    cfg->kv[cfg->n].line = r->line;
    cfg->kv[cfg->n].dflt = dflt;
    if (!cfg->kv[cfg->n].key || !cfg->kv[cfg->n].value)
        return -1;
    cfg->n++;
    return 0;
}

/* Unquotes a value in place: "a \"b\" c" -> a "b" c. Returns NULL when a
 * quote is not closed. Unquoted values are kept as they are (trailing space
 * already trimmed). */
static char *unquote(char *v)
{
    char *r, *w;
    if (*v != '"')
        return v;
    /* only \" and \\ are escapes; any other backslash is kept (commands in
     * passwordeval often hold printf formats) */
    for (r = v + 1, w = v; *r && *r != '"'; r++) {
        if (*r == '\\' && (r[1] == '"' || r[1] == '\\'))
            r++;
        *w++ = *r;
    }
    if (*r != '"' || r[1] != '\0')
        return NULL;
    *w = '\0';
    return v;
}

/* The file as it is read: every setting with its section, the accounts
 * seen, the "default" line. */
typedef struct cfg_parser {
    const char *name;       /* the file, for messages */
    raw_line *raw;
    size_t nraw, capraw;
    char *section;          /* current account, NULL in "defaults" / before any */
    char **accounts;
    size_t nacc;
    char *dflt_name;
    int dflt_line;
    char *err;
    size_t errcap;
} cfg_parser;

/* Splits a line in place into key and (unquoted) value. 1 a setting, 0 a
 * blank or comment line, -1 an unterminated quote. */
static int split_line(char *line, char **key, char **val)
{
    char *s = line, *e;
    while (*s == ' ' || *s == '\t')
        s++;
    e = s + strlen(s);
    while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
        *--e = '\0';
    if (*s == '\0' || *s == '#')
        return 0;
    *key = s;
    while (*s && *s != ' ' && *s != '\t')
        s++;
    if (*s)
        *s++ = '\0';
    while (*s == ' ' || *s == '\t')
        s++;
    *val = unquote(s);
    return *val ? 1 : -1;
}

static int parser_error(cfg_parser *ps, int lineno, const char *what, const char *arg)
{
    snprintf(ps->err, ps->errcap, "%s:%d: %s%s%s", ps->name, lineno, what, arg ? arg : "",
             arg ? "'" : "");
    return -1;
}

static int parser_oom(cfg_parser *ps)
{
    snprintf(ps->err, ps->errcap, "%s: out of memory", ps->name);
    return -1;
}

/* "account NAME": a new section. */
static int cfg_account(cfg_parser *ps, int lineno, const char *val)
{
    char **na;
    size_t i;
    if (!*val || strchr(val, ' ') || strchr(val, '\t'))
        return parser_error(ps, lineno, "'account' needs one name", NULL);
    for (i = 0; i < ps->nacc; i++)
        if (strcmp(ps->accounts[i], val) == 0) {
            snprintf(ps->err, ps->errcap, "%s:%d: account '%s' defined twice", ps->name,
                     lineno, val);
            return -1;
        }
    na = realloc(ps->accounts, (ps->nacc + 1) * sizeof *na);
    if (!na)
        return parser_oom(ps);
    ps->accounts = na;
    if (!(ps->accounts[ps->nacc] = tool_strdup(val)))
        return parser_oom(ps);
    ps->nacc++;
    free(ps->section);
    ps->section = tool_strdup(val);
    return ps->section ? 0 : parser_oom(ps);
}

/* A setting of the current section, checked. */
static int cfg_setting(cfg_parser *ps, int lineno, const char *key, const char *val)
{
    const char *base, *why;
    raw_line *r;
    if (strcmp(key, "password") == 0)
        return parser_error(ps, lineno, "passwords are not kept in the file; use "
                                        "passwordeval, password_env or ~/.netrc", NULL);
    if (!key_known(key, &base))
        return parser_error(ps, lineno, "unknown setting '", key);
    if ((why = check_value(base, val)) != NULL) {
        snprintf(ps->err, ps->errcap, "%s:%d: %s: %s", ps->name, lineno, key, why);
        return -1;
    }
    if (ps->nraw == ps->capraw) {
        size_t nc = ps->capraw ? ps->capraw * 2 : 32;
        raw_line *nr = realloc(ps->raw, nc * sizeof *nr);
        if (!nr)
            return parser_oom(ps);
        ps->raw = nr;
        ps->capraw = nc;
    }
    r = &ps->raw[ps->nraw++];
    r->section = ps->section ? tool_strdup(ps->section) : NULL;
    r->key = tool_strdup(key);
    r->value = tool_strdup(val);
    r->line = lineno;
    if ((ps->section && !r->section) || !r->key || !r->value)
        return parser_oom(ps);
    return 0;
}

/* One line of the file. 0 or -1 (ps->err set). */
static int cfg_line(cfg_parser *ps, int lineno, char *line)
{
    char *key, *val;
    int k = split_line(line, &key, &val);
    if (k <= 0)
        return k == 0 ? 0 : parser_error(ps, lineno, "unterminated quoted value", NULL);
    if (strcmp(key, "defaults") == 0) {
        if (*val)
            return parser_error(ps, lineno, "'defaults' takes no value", NULL);
        free(ps->section);
        ps->section = NULL;
        return 0;
    }
    if (strcmp(key, "account") == 0)
        return cfg_account(ps, lineno, val);
    if (strcmp(key, "default") == 0) {
        if (!*val)
            return parser_error(ps, lineno, "'default' needs an account name", NULL);
        free(ps->dflt_name);
        ps->dflt_name = tool_strdup(val);
        ps->dflt_line = lineno;
        return ps->dflt_name ? 0 : parser_oom(ps);
    }
    return cfg_setting(ps, lineno, key, val);
}

/* Chooses the account (the one asked for, else "default NAME", else the
 * first) and fills cfg: the defaults, then that account's settings. */
static int cfg_select(cfg_parser *ps, tool_cfg *cfg, const char *account)
{
    const char *chosen = account ? account : ps->dflt_name ? ps->dflt_name
                                           : ps->nacc ? ps->accounts[0] : NULL;
    size_t i;
    if (chosen) {
        int found = 0;
        for (i = 0; i < ps->nacc; i++)
            found |= strcmp(ps->accounts[i], chosen) == 0;
        if (!found) {
            if (account)
                snprintf(ps->err, ps->errcap, "%s: no account '%s'", ps->name, chosen);
            else
                snprintf(ps->err, ps->errcap, "%s:%d: default account '%s' is not defined",
                         ps->name, ps->dflt_line, chosen);
            return -1;
        }
        if (!(cfg->account = tool_strdup(chosen)))
            return parser_oom(ps);
    }
    for (i = 0; i < ps->nraw; i++)
        if (!ps->raw[i].section && cfg_add(cfg, &ps->raw[i], 1) != 0)
            return parser_oom(ps);
    if (chosen)
        for (i = 0; i < ps->nraw; i++)
            if (ps->raw[i].section && strcmp(ps->raw[i].section, chosen) == 0 &&
                cfg_add(cfg, &ps->raw[i], 0) != 0)
                return parser_oom(ps);
    if (!(cfg->path = tool_strdup(ps->name)))
        return parser_oom(ps);
    return 0;
}

int tool_cfg_parse(tool_cfg *cfg, const char *name, const char *text, const char *account,
                   char *err, size_t errcap)
{
    cfg_parser ps;
    const char *p = text;
    int lineno = 0, rc = 0;
    size_t i;

    memset(cfg, 0, sizeof *cfg);
    memset(&ps, 0, sizeof ps);
    ps.name = name;
    ps.err = err;
    ps.errcap = errcap;
    while (*p && rc == 0) {
        const char *eol = strchr(p, '\n');
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        char *line = tool_strndup(p, len);
        p += len + (eol ? 1 : 0);
        rc = line ? cfg_line(&ps, ++lineno, line) : parser_oom(&ps);
        free(line);
    }
    if (rc == 0)
        rc = cfg_select(&ps, cfg, account);
    raw_free(ps.raw, ps.nraw);
    for (i = 0; i < ps.nacc; i++)
        free(ps.accounts[i]);
    free(ps.accounts);
    free(ps.section);
    free(ps.dflt_name);
    if (rc != 0)
        tool_cfg_free(cfg);
    return rc;
}

int tool_cfg_load(tool_cfg *cfg, const char *path, const char *account, int required,
                  char *err, size_t errcap)
{
    FILE *f;
    char *text = NULL;
    size_t len = 0, cap = 0;
    int rc;

    memset(cfg, 0, sizeof *cfg);
    if (!path) {
        if (required) {
            snprintf(err, errcap, "no configuration file (set HOME or XDG_CONFIG_HOME)");
            return -1;
        }
        return 0;
    }
    f = fopen(path, "r");
    if (!f) {
        if (errno == ENOENT && !required)
            return 0;
        snprintf(err, errcap, "%s: %s", path, strerror(errno));
        return -1;
    }
    for (;;) {
        size_t got;
        if (cap - len < 4096) {
            char *nt = realloc(text, cap + 8192);
            if (!nt) {
                free(text);
                fclose(f);
                snprintf(err, errcap, "%s: out of memory", path);
                return -1;
            }
            text = nt;
            cap += 8192;
        }
        got = fread(text + len, 1, cap - len - 1, f);
        len += got;
        if (got == 0)
            break;
    }
    if (ferror(f)) {
        snprintf(err, errcap, "%s: read error", path);
        free(text);
        fclose(f);
        return -1;
    }
    fclose(f);
    text[len] = '\0';
    if (strlen(text) != len) {
        snprintf(err, errcap, "%s: contains a NUL byte", path);
        free(text);
        return -1;
    }
    rc = tool_cfg_parse(cfg, path, text, account, err, errcap);
    free(text);
    return rc;
}

const char *tool_cfg_get(const tool_cfg *cfg, const char *proto, const char *key)
{
    char pk[64];
    int pass;
    size_t i;
    if (!cfg || !cfg->kv)
        return NULL;
    if (proto)
        snprintf(pk, sizeof pk, "%s_%s", proto, key);
    /* account lines, then defaults; in each the protocol's own key first;
     * the last occurrence wins */
    for (pass = 0; pass < 4; pass++) {
        int dflt = pass >= 2;
        const char *k = (pass % 2 == 0) ? (proto ? pk : NULL) : key;
        if (!k)
            continue;
        for (i = cfg->n; i-- > 0;)
            if (cfg->kv[i].dflt == dflt && strcmp(cfg->kv[i].key, k) == 0)
                return cfg->kv[i].value;
    }
    return NULL;
}

void tool_cfg_free(tool_cfg *cfg)
{
    size_t i;
    for (i = 0; i < cfg->n; i++) {
        free(cfg->kv[i].key);
        free(cfg->kv[i].value);
    }
    free(cfg->kv);
    free(cfg->path);
    free(cfg->account);
    memset(cfg, 0, sizeof *cfg);
}


static const char *flag_or_cfg(const char *flag, const tool_cfg *cfg, const char *proto,
                               const char *key)
{
    return flag ? flag : tool_cfg_get(cfg, proto, key);
}

int tool_server_resolve(tool_server *sv, const tool_server_flags *o, const tool_cfg *cfg,
                        const char *proto, const char *const ports[3])
{
    const char *v;

    sv->host = flag_or_cfg(o->host, cfg, proto, "host");
    sv->user = flag_or_cfg(o->user, cfg, proto, "user");
    v = flag_or_cfg(o->tls, cfg, proto, "tls");
    sv->tls = v ? tool_tls_parse(v) : TOOL_TLS_STARTTLS; /* TLS required by default */
    if (sv->tls == TOOL_TLS_UNSET) {
        tool_err("--tls must be off, starttls or implicit, not '%s'", v);
        return TOOL_EX_USAGE;
    }
    sv->port = flag_or_cfg(o->port, cfg, proto, "port");
    if (sv->port) {
        char *end;
        long p = strtol(sv->port, &end, 10);
        if (!isdigit((unsigned char)sv->port[0]) || *end || p < 1 || p > 65535) {
            tool_err("--port must be a number from 1 to 65535, not '%s'", sv->port);
            return TOOL_EX_USAGE;
        }
    } else
        sv->port = ports[sv->tls == TOOL_TLS_OFF ? 0 : sv->tls == TOOL_TLS_STARTTLS ? 1 : 2];
    sv->cafile = flag_or_cfg(o->cafile, cfg, proto, "cafile");
    sv->timeout_ms = 60000;
    v = flag_or_cfg(o->timeout, cfg, proto, "timeout");
    if (v) {
        char *end;
        long t = strtol(v, &end, 10);
        if (*end || t < 1 || t > 3600) {
            tool_err("--timeout must be 1 to 3600 seconds");
            return TOOL_EX_USAGE;
        }
        sv->timeout_ms = (unsigned)t * 1000u;
    }
    return 0;
}
