/* tools/common.c - configuration, ~/.netrc, password sources, exit codes,
 * protocol trace. See common.h. */
#include "common.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

const char *tool_progname = "postie";
int tool_verbosity = 0;

/* Length of the UTF-8 sequence at p (n bytes available) when it is a valid
 * one for a printable character (no C1 control), else 0. */
static size_t utf8_printable(const unsigned char *p, size_t n)
{
    size_t len, i;
    if (p[0] >= 0xC2 && p[0] <= 0xDF)
        len = 2;
    else if (p[0] >= 0xE0 && p[0] <= 0xEF)
        len = 3;
    else if (p[0] >= 0xF0 && p[0] <= 0xF4)
        len = 4;
    else
        return 0;
    if (len > n)
        return 0;
    for (i = 1; i < len; i++)
        if ((p[i] & 0xC0) != 0x80)
            return 0;
    if (p[0] == 0xC2 && p[1] < 0xA0)
        return 0; /* U+0080..U+009F: C1 controls (CSI and friends) */
    if ((p[0] == 0xE0 && p[1] < 0xA0) || (p[0] == 0xF0 && p[1] < 0x90) ||
        (p[0] == 0xF4 && p[1] > 0x8F) || (p[0] == 0xED && p[1] > 0x9F))
        return 0; /* overlong, beyond U+10FFFF, surrogates */
    return len;
}

void tool_escape(FILE *out, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        size_t u;
        if (p[i] >= 0x20 && p[i] < 0x7f) {
            fputc(p[i], out);
            i++;
        } else if (p[i] == '\t') {
            fputs("\\t", out);
            i++;
        } else if (p[i] >= 0x80 && (u = utf8_printable(p + i, n - i)) > 0) {
            fwrite(p + i, 1, u, out);
            i += u;
        } else {
            fprintf(out, "\\x%02x", p[i]);
            i++;
        }
    }
}

/* "progname: message" with every byte that could drive a terminal (ESC,
 * BEL, CR, C1 controls, invalid UTF-8) shown as \xNN: server replies, UIDs
 * and TLS details reach these messages. */
static void emit(const char *fmt, va_list ap)
{
    char buf[4096];
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    if (n < 0)
        n = 0;
    if ((size_t)n >= sizeof buf)
        n = (int)sizeof buf - 1;
    fprintf(stderr, "%s: ", tool_progname);
    tool_escape(stderr, buf, (size_t)n);
    fputc('\n', stderr);
}

void tool_err(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    emit(fmt, ap);
    va_end(ap);
}

void tool_info(const char *fmt, ...)
{
    va_list ap;
    if (tool_verbosity < 1)
        return;
    va_start(ap, fmt);
    emit(fmt, ap);
    va_end(ap);
}

int tool_exit_for_status(postie_status st)
{
    switch (st) {
    case POSTIE_OK:
    case POSTIE_DONE:
        return TOOL_EX_OK;
    case POSTIE_ERR_RESOLVE:
        return TOOL_EX_NOHOST;
    case POSTIE_ERR_CONNECT:
    case POSTIE_ERR_TIMEOUT:
    case POSTIE_ERR_CLOSED:
    case POSTIE_ERR_IO:
    case POSTIE_ERR_TRANSIENT:
        return TOOL_EX_TEMPFAIL;
    case POSTIE_ERR_AUTH:
    case POSTIE_ERR_INSECURE:
        return TOOL_EX_NOPERM;
    case POSTIE_ERR_TLS:
    case POSTIE_ERR_TLS_VERIFY:
    case POSTIE_ERR_TLS_REQUIRED:
    case POSTIE_ERR_PROTOCOL:
    case POSTIE_ERR_LINE_TOO_LONG:
        return TOOL_EX_PROTOCOL;
    case POSTIE_ERR_SERVER:
    case POSTIE_ERR_UNSUPPORTED:
    case POSTIE_ERR_TOO_BIG:
        return TOOL_EX_UNAVAILABLE;
    case POSTIE_ERR_RECIPIENTS:
        return TOOL_EX_NOUSER;
    case POSTIE_ERR_PARAM:
        return TOOL_EX_DATAERR;
    default:
        return TOOL_EX_SOFTWARE;
    }
}

char *tool_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

static char *strndup_(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

char *tool_expand_home(const char *path)
{
    const char *home;
    char *r;
    if (path[0] != '~' || (path[1] != '/' && path[1] != '\0'))
        return tool_strdup(path);
    home = getenv("HOME");
    if (!home)
        home = "";
    r = malloc(strlen(home) + strlen(path) + 1);
    if (r) {
        strcpy(r, home);
        strcat(r, path + 1);
    }
    return r;
}

int tool_mkdirs(const char *path, unsigned mode)
{
    char *p = tool_strdup(path), *s;
    int rc = 0;
    if (!p)
        return -1;
    for (s = p + 1; ; s++) {
        if (*s == '/' || *s == '\0') {
            char c = *s;
            *s = '\0';
            if (mkdir(p, (mode_t)mode) != 0 && errno != EEXIST) {
                rc = -1;
                break;
            }
            *s = c;
            if (c == '\0')
                break;
        }
    }
    if (rc == 0) {
        struct stat sb;
        if (stat(path, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
            if (errno == 0)
                errno = ENOTDIR;
            rc = -1;
        }
    }
    {
        int e = errno;
        free(p);
        errno = e;
    }
    return rc;
}

int tool_fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    int rc;
    if (fd < 0)
        return -1;
    rc = fsync(fd);
    if (rc != 0 && (errno == EINVAL || errno == EROFS))
        rc = 0; /* file systems that cannot sync a directory */
    {
        int e = errno;
        close(fd);
        errno = e;
    }
    return rc;
}

void tool_fmt_bytes(double b, char *out, size_t cap)
{
    static const char *unit[] = { "B", "KiB", "MiB", "GiB", "TiB" };
    int u = 0;
    while (b >= 1024.0 && u < 4) {
        b /= 1024.0;
        u++;
    }
    if (u == 0)
        snprintf(out, cap, "%.0f %s", b, unit[u]);
    else
        snprintf(out, cap, "%.1f %s", b, unit[u]);
}

/* ---- configuration ----------------------------------------------------- */

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
    "from", "maildir", "mbox", "mda", "delete", "new_only", "max_size", "state", "pipelining",
    NULL
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
        return in_list(proto_keys, k + 5);
    }
    return in_list(proto_keys, k) || in_list(other_keys, k);
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

int tool_cfg_parse(tool_cfg *cfg, const char *name, const char *text, const char *account,
                   char *err, size_t errcap)
{
    raw_line *raw = NULL;
    size_t nraw = 0, capraw = 0, i;
    char *section = NULL, *dflt_name = NULL;
    int dflt_line = 0, lineno = 0, rc = -1, have_section = 0;
    const char *p = text;
    char **accounts = NULL;
    size_t nacc = 0;
    const char *chosen = NULL;

    memset(cfg, 0, sizeof *cfg);
    while (*p) {
        const char *eol = strchr(p, '\n');
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        char *line = strndup_(p, len), *s, *e, *key, *val, *uq;
        const char *base;
        p += len + (eol ? 1 : 0);
        lineno++;
        if (!line)
            goto oom;
        for (s = line; *s == ' ' || *s == '\t'; s++)
            ;
        e = s + strlen(s);
        while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
            *--e = '\0';
        if (*s == '\0' || *s == '#') {
            free(line);
            continue;
        }
        key = s;
        while (*s && *s != ' ' && *s != '\t')
            s++;
        if (*s)
            *s++ = '\0';
        while (*s == ' ' || *s == '\t')
            s++;
        val = s;
        uq = unquote(val);
        if (!uq) {
            snprintf(err, errcap, "%s:%d: unterminated quoted value", name, lineno);
            free(line);
            goto out;
        }
        val = uq;
        if (strcmp(key, "defaults") == 0) {
            if (*val) {
                snprintf(err, errcap, "%s:%d: 'defaults' takes no value", name, lineno);
                free(line);
                goto out;
            }
            free(section);
            section = NULL;
            have_section = 1;
            free(line);
            continue;
        }
        if (strcmp(key, "account") == 0) {
            char **na;
            if (!*val || strchr(val, ' ') || strchr(val, '\t')) {
                snprintf(err, errcap, "%s:%d: 'account' needs one name", name, lineno);
                free(line);
                goto out;
            }
            for (i = 0; i < nacc; i++)
                if (strcmp(accounts[i], val) == 0) {
                    snprintf(err, errcap, "%s:%d: account '%s' defined twice", name, lineno, val);
                    free(line);
                    goto out;
                }
            na = realloc(accounts, (nacc + 1) * sizeof *na);
            if (!na) {
                free(line);
                goto oom;
            }
            accounts = na;
            accounts[nacc++] = tool_strdup(val);
            free(section);
            section = tool_strdup(val);
            have_section = 1;
            free(line);
            continue;
        }
        if (strcmp(key, "default") == 0) {
            if (!*val) {
                snprintf(err, errcap, "%s:%d: 'default' needs an account name", name, lineno);
                free(line);
                goto out;
            }
            free(dflt_name);
            dflt_name = tool_strdup(val);
            dflt_line = lineno;
            free(line);
            continue;
        }
        if (strcmp(key, "password") == 0) {
            snprintf(err, errcap,
                     "%s:%d: passwords are not kept in the file; use passwordeval, "
                     "password_env or ~/.netrc", name, lineno);
            free(line);
            goto out;
        }
        if (!key_known(key, &base)) {
            snprintf(err, errcap, "%s:%d: unknown setting '%s'", name, lineno, key);
            free(line);
            goto out;
        }
        {
            const char *why = check_value(base, val);
            if (why) {
                snprintf(err, errcap, "%s:%d: %s: %s", name, lineno, key, why);
                free(line);
                goto out;
            }
        }
        (void)have_section;
        if (nraw == capraw) {
            size_t nc = capraw ? capraw * 2 : 32;
            raw_line *nr = realloc(raw, nc * sizeof *nr);
            if (!nr) {
                free(line);
                goto oom;
            }
            raw = nr;
            capraw = nc;
        }
        raw[nraw].section = section ? tool_strdup(section) : NULL;
        raw[nraw].key = tool_strdup(key);
        raw[nraw].value = tool_strdup(val);
        raw[nraw].line = lineno;
        nraw++;
        free(line);
    }

    if (account)
        chosen = account;
    else if (dflt_name)
        chosen = dflt_name;
    else if (nacc > 0)
        chosen = accounts[0];
    if (chosen) {
        int found = 0;
        for (i = 0; i < nacc; i++)
            if (strcmp(accounts[i], chosen) == 0)
                found = 1;
        if (!found) {
            if (account)
                snprintf(err, errcap, "%s: no account '%s'", name, chosen);
            else
                snprintf(err, errcap, "%s:%d: default account '%s' is not defined", name,
                         dflt_line, chosen);
            goto out;
        }
        cfg->account = tool_strdup(chosen);
    }
    for (i = 0; i < nraw; i++)
        if (!raw[i].section && cfg_add(cfg, &raw[i], 1) != 0)
            goto oom;
    if (chosen)
        for (i = 0; i < nraw; i++)
            if (raw[i].section && strcmp(raw[i].section, chosen) == 0 &&
                cfg_add(cfg, &raw[i], 0) != 0)
                goto oom;
    cfg->path = tool_strdup(name);
    rc = 0;
    goto out;
oom:
    snprintf(err, errcap, "%s: out of memory", name);
out:
    raw_free(raw, nraw);
    for (i = 0; i < nacc; i++)
        free(accounts[i]);
    free(accounts);
    free(section);
    free(dflt_name);
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

/* ---- ~/.netrc ---------------------------------------------------------- */

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

/* ---- password sources -------------------------------------------------- */

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

/* ---- protocol trace ---------------------------------------------------- */

static int word_is(const char *line, const char *w)
{
    size_t n = strlen(w), i;
    for (i = 0; i < n; i++)
        if (toupper((unsigned char)line[i]) != w[i])
            return 0;
    return line[n] == ' ' || line[n] == '\0';
}

void tool_trace_redact(const char *line, int *in_auth, char *out, size_t cap)
{
    if (*in_auth) {
        snprintf(out, cap, "<redacted>");
        return;
    }
    if (word_is(line, "PASS")) {
        snprintf(out, cap, "%.4s <redacted>", line);
        return;
    }
    if (word_is(line, "APOP")) {
        /* APOP user digest: keep the user */
        const char *u = line + 4, *ue;
        while (*u == ' ')
            u++;
        ue = strchr(u, ' ');
        snprintf(out, cap, "%.4s %.*s <redacted>", line, (int)(ue ? (size_t)(ue - u) : strlen(u)),
                 u);
        return;
    }
    if (word_is(line, "AUTH")) {
        const char *m = line + 4, *me;
        while (*m == ' ')
            m++;
        if (!*m) { /* POP3 "AUTH" alone lists the mechanisms */
            snprintf(out, cap, "%s", line);
            return;
        }
        me = strchr(m, ' ');
        *in_auth = 1;
        if (me)
            snprintf(out, cap, "%.4s %.*s <redacted>", line, (int)(me - m), m);
        else
            snprintf(out, cap, "%s", line);
        return;
    }
    snprintf(out, cap, "%s", line);
}

void tool_trace_server_line(const char *line, int *in_auth)
{
    if (!*in_auth)
        return;
    if (line[0] == '+' && (line[1] == ' ' || line[1] == '\0'))
        return; /* POP3 SASL continuation */
    if (strncmp(line, "334", 3) == 0)
        return; /* SMTP SASL continuation */
    *in_auth = 0;
}

/* One line (or the first part of one too long for the buffer) of either
 * direction. A client line's redaction is decided on its start; when the
 * line goes on past the buffer and its start was redacted, the rest of it
 * is not shown either (t->cdrop), whatever its length. */
static void trace_emit(tool_trace *t, int client, char *line, size_t len, int complete)
{
    char red[1100];
    while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
        len--;
    line[len] = '\0';
    if (client) {
        int *cont = &t->ccont;
        if (*cont) { /* the rest of a long line */
            if (!t->cdrop) {
                fputs("C: ... ", t->out);
                tool_escape(t->out, line, len);
                fputc('\n', t->out);
            }
        } else {
            tool_trace_redact(line, &t->in_auth, red, sizeof red);
            t->cdrop = strcmp(red, line) != 0;
            fputs("C: ", t->out);
            tool_escape(t->out, red, strlen(red));
            fputc('\n', t->out);
        }
        *cont = !complete;
        if (complete)
            t->cdrop = 0;
    } else {
        if (!t->scont)
            tool_trace_server_line(line, &t->in_auth);
        fputs(t->scont ? "S: ... " : "S: ", t->out);
        tool_escape(t->out, line, len);
        fputc('\n', t->out);
        t->scont = !complete;
    }
}

static void trace_feed(tool_trace *t, int client, const char *b, size_t n)
{
    char *buf = client ? t->cbuf : t->sbuf;
    size_t *len = client ? &t->clen : &t->slen;
    size_t i;
    for (i = 0; i < n; i++) {
        buf[(*len)++] = b[i];
        if (b[i] == '\n' || *len == sizeof t->cbuf - 1) {
            trace_emit(t, client, buf, *len, b[i] == '\n');
            *len = 0;
        }
    }
    fflush(t->out);
}

static long trace_send(void *ctx, const void *buf, size_t len, unsigned timeout_ms)
{
    tool_trace *t = ctx;
    long r = t->inner.send(t->inner.ctx, buf, len, timeout_ms);
    if (r > 0)
        trace_feed(t, 1, buf, (size_t)r);
    return r;
}

static long trace_recv(void *ctx, void *buf, size_t len, unsigned timeout_ms)
{
    tool_trace *t = ctx;
    long r = t->inner.recv(t->inner.ctx, buf, len, timeout_ms);
    if (r > 0)
        trace_feed(t, 0, buf, (size_t)r);
    else if (r < 0)
        fprintf(t->out, "-- receive failed: %s\n", postie_strerror((postie_status)r));
    else
        fprintf(t->out, "-- connection closed by the server\n");
    return r;
}

static postie_status trace_start_tls(void *ctx, const char *server_name)
{
    tool_trace *t = ctx;
    postie_status st = t->inner.start_tls(t->inner.ctx, server_name);
    fprintf(t->out, "-- TLS %s\n", st == POSTIE_OK ? "started" : postie_strerror(st));
    return st;
}

static void trace_close(void *ctx)
{
    tool_trace *t = ctx;
    fprintf(t->out, "-- connection closed\n");
    if (t->inner.close)
        t->inner.close(t->inner.ctx);
}

void tool_trace_wrap(tool_trace *t, const postie_transport *inner, FILE *out,
                     postie_transport *wrapped)
{
    memset(t, 0, sizeof *t);
    t->inner = *inner;
    t->out = out;
    wrapped->ctx = t;
    wrapped->send = trace_send;
    wrapped->recv = trace_recv;
    wrapped->start_tls = inner->start_tls ? trace_start_tls : NULL;
    wrapped->close = trace_close;
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
