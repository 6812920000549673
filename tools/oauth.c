/*
 * tools/oauth.c - OAuth 2.0 for the tools: providers, the authorize
 * command, the token file, refresh. See oauth.h and docs/providers.md.
 *
 * The token file (JSON, mode 0600, in a folder of mode 0700) holds the
 * refresh token, the access token and its expiry, and what a refresh needs
 * (token endpoint, client id), so that a refresh never needs discovery. It
 * is replaced atomically (a new file written and fsync'd, renamed over the
 * old one, the folder fsync'd), under an flock on FILE.lock so that
 * postie-fetch and postie-send refreshing at once never lose a rotated
 * refresh token: the second one reads what the first saved. A refresh token
 * the provider rotated is on disk before the access token that came with it
 * is used.
 */
#include "oauth.h"
#include "common.h"
#include "files.h"
#include "http.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "postie/base64.h"
#include "postie/sasl.h"
#include "postie/posix_random.h"
#include "postie/sha256.h"

#define TOKEN_FILE_MAX (64 * 1024)
#define DEVICE_WAIT_MAX 1800  /* seconds a device code is waited for, at most */
#define BROWSER_WAIT 300      /* seconds the loopback redirect is waited for */
#define REQUEST_MAX 8192      /* bytes of the browser's request line and headers */

/* ---- small helpers --------------------------------------------------------- */

static char *dupn(const char *s)
{
    return s ? tool_strdup(s) : NULL;
}

static void wipe_free(char *s)
{
    if (s) {
        memset(s, 0, strlen(s));
        free(s);
    }
}

static long long now_s(void)
{
    return (long long)time(NULL);
}

/* A token as RFC 6750's b64token would have it, a little wider: printable
 * ASCII without spaces, 1 to 16 KiB. Anything else never reaches the wire
 * (no CR/LF/^A injection into the SASL response). */
static int token_ok(const char *t)
{
    size_t n = 0;
    if (!t || !*t)
        return 0;
    for (; *t; t++, n++)
        if ((unsigned char)*t <= 0x20 || (unsigned char)*t >= 0x7f || n > 16384)
            return 0;
    return 1;
}

/* base64url without padding (RFC 7636 appendix A) of n bytes into out. */
static void b64url(const unsigned char *in, size_t n, char *out, size_t cap)
{
    size_t len = 0, i, o = 0;
    (void)postie_base64_encode(in, n, out, cap, &len);
    for (i = 0; i < len; i++) {
        char c = out[i];
        if (c == '=')
            break;
        out[o++] = c == '+' ? '-' : c == '/' ? '_' : c;
    }
    out[o] = '\0';
}

static int random_b64url(size_t nbytes, char *out, size_t cap)
{
    unsigned char r[64];
    if (nbytes > sizeof r || postie_posix_random(NULL, r, nbytes) != POSTIE_OK)
        return -1;
    b64url(r, nbytes, out, cap);
    memset(r, 0, sizeof r);
    return 0;
}

static const char *json_str(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsString(v) && v->valuestring ? v->valuestring : NULL;
}

/* A number, or a string of digits (some providers send "3599"); dflt else. */
static long long json_num(const cJSON *o, const char *name, long long dflt, long long max)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    long long r = dflt;
    if (cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble < 1e15)
        r = (long long)v->valuedouble;
    else if (cJSON_IsString(v) && v->valuestring && *v->valuestring &&
             strspn(v->valuestring, "0123456789") == strlen(v->valuestring) &&
             strlen(v->valuestring) < 15)
        r = atoll(v->valuestring);
    return r > max ? max : r;
}

/* The provider's error code and description, shortened and escaped by the
 * message functions: never a token (only the provider's own words). */
static void provider_error(const cJSON *j, char *buf, size_t cap)
{
    const char *e = j ? json_str(j, "error") : NULL, *d = j ? json_str(j, "error_description") : NULL;
    if (e && d)
        snprintf(buf, cap, "%.64s: %.200s", e, d);
    else if (e)
        snprintf(buf, cap, "%.64s", e);
    else
        snprintf(buf, cap, "no error code");
}

/* ---- settings ---------------------------------------------------------------- */

int tool_oauth_wanted(const tool_cfg *cfg, const char *proto)
{
    return tool_cfg_get(cfg, proto, "oauth_provider") != NULL;
}

char *tool_oauth_hint(const char *prog, const char *config, const char *account)
{
    size_t n = strlen(prog) + 64 + (config ? strlen(config) : 0) + (account ? strlen(account) : 0);
    char *h = malloc(n);
    if (!h)
        return NULL;
    snprintf(h, n, "%s --authorize%s%s%s%s", prog, config ? " -C " : "", config ? config : "",
             account ? " -a " : "", account ? account : "");
    return h;
}

/* $XDG_STATE_HOME/postie/oauth/USER.json (else ~/.local/state/...), the
 * user name with anything but [A-Za-z0-9@._+-] written as '_'. */
static char *default_token_path(const char *user)
{
    const char *xdg = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
    char base[PATH_MAX], *r, *p;
    size_t n;
    if (xdg && xdg[0] == '/')
        snprintf(base, sizeof base, "%s/postie/oauth", xdg);
    else if (home && home[0])
        snprintf(base, sizeof base, "%s/.local/state/postie/oauth", home);
    else
        return NULL;
    n = strlen(base) + strlen(user) + 8;
    r = malloc(n);
    if (!r)
        return NULL;
    snprintf(r, n, "%s/", base);
    p = r + strlen(r);
    for (; *user; user++)
        *p++ = (strchr("@._+-", *user) || (*user >= 'a' && *user <= 'z') ||
                (*user >= 'A' && *user <= 'Z') || (*user >= '0' && *user <= '9'))
                   ? *user : '_';
    strcpy(p, ".json");
    if (r[strlen(base) + 1] == '.')
        r[strlen(base) + 1] = '_'; /* never a hidden or "..": */
    return r;
}

static int set_endpoints(tool_oauth *o, const char *auth, const char *token, const char *device)
{
    o->auth_ep = dupn(auth);
    o->token_ep = dupn(token);
    o->device_ep = dupn(device);
    return (auth && !o->auth_ep) || (token && !o->token_ep) || (device && !o->device_ep) ? -1 : 0;
}

int tool_oauth_setup(tool_oauth *o, const tool_cfg *cfg, const char *proto, const char *user,
                     unsigned timeout_ms, const char *hint)
{
    const char *prov = tool_cfg_get(cfg, proto, "oauth_provider");
    const char *cid = tool_cfg_get(cfg, proto, "oauth_client_id");
    const char *sec = tool_cfg_get(cfg, proto, "oauth_client_secret");
    const char *scope = tool_cfg_get(cfg, proto, "oauth_scope");
    const char *tenant = tool_cfg_get(cfg, proto, "oauth_tenant");
    const char *file = tool_cfg_get(cfg, proto, "oauth_token_file");
    const char *flow = tool_cfg_get(cfg, proto, "oauth_flow");
    const char *mech = tool_cfg_get(cfg, proto, "oauth_mechanism");
    const char *dscope = "offline_access";

    memset(o, 0, sizeof *o);
    o->lock_fd = -1;
    o->user = user;
    o->timeout_ms = timeout_ms;
    if (!prov) {
        tool_err("no oauth_provider in the account");
        return TOOL_EX_CONFIG;
    }
    if (!cid || !*cid) {
        tool_err("oauth_provider is set but oauth_client_id is not: register an application "
                 "with the provider and give its client id (docs/providers.md)");
        return TOOL_EX_CONFIG;
    }
    if (!user || !*user) {
        tool_err("OAuth 2.0 needs the account's user (the mailbox address)");
        return TOOL_EX_CONFIG;
    }
    if (flow && strcmp(flow, "device") != 0 && strcmp(flow, "browser") != 0) {
        tool_err("oauth_flow '%s': give device or browser", flow);
        return TOOL_EX_CONFIG;
    }
    o->flow = flow;
    if (!mech || strcmp(mech, "auto") == 0) {
        o->mechs = POSTIE_SASL_TOKEN_MECHS;
    } else if (strcasecmp(mech, "xoauth2") == 0) {
        o->mechs = POSTIE_SASL_XOAUTH2;
    } else if (strcasecmp(mech, "oauthbearer") == 0) {
        o->mechs = POSTIE_SASL_OAUTHBEARER;
    } else {
        tool_err("oauth_mechanism '%s': give auto, oauthbearer or xoauth2", mech);
        return TOOL_EX_CONFIG;
    }
    if (strcmp(prov, "microsoft") == 0) {
        char a[256], t[256], d[256];
        const char *tn = tenant ? tenant : "common";
        if (!*tn || strspn(tn, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") !=
                        strlen(tn) || strlen(tn) > 100) {
            tool_err("oauth_tenant '%s' is not a tenant name or id", tn);
            return TOOL_EX_CONFIG;
        }
        snprintf(a, sizeof a, "https://login.microsoftonline.com/%s/oauth2/v2.0/authorize", tn);
        snprintf(t, sizeof t, "https://login.microsoftonline.com/%s/oauth2/v2.0/token", tn);
        snprintf(d, sizeof d, "https://login.microsoftonline.com/%s/oauth2/v2.0/devicecode", tn);
        if (set_endpoints(o, a, t, d) != 0)
            goto oom;
        dscope = "offline_access https://outlook.office.com/POP.AccessAsUser.All "
                 "https://outlook.office.com/SMTP.Send";
    } else if (strcmp(prov, "google") == 0) {
        /* Google's device flow does not grant the mail scope: browser only */
        if (set_endpoints(o, "https://accounts.google.com/o/oauth2/v2/auth",
                          "https://oauth2.googleapis.com/token", NULL) != 0)
            goto oom;
        dscope = "https://mail.google.com/";
        /* a refresh token is given only with these */
        o->extra_auth = "access_type=offline&prompt=consent";
    } else if (strncasecmp(prov, "https://", 8) == 0 || strncasecmp(prov, "http://", 7) == 0) {
        if (!tool_http_url_ok(prov) || strchr(prov, '?') || strchr(prov, '#')) {
            tool_err("oauth_provider %s: an issuer is an https URL without query or fragment "
                     "(plain http only on this machine)", prov);
            return TOOL_EX_CONFIG;
        }
        o->issuer = dupn(prov);
        if (!o->issuer)
            goto oom;
    } else {
        tool_err("oauth_provider '%s': give microsoft, google, or the provider's issuer URL", prov);
        return TOOL_EX_CONFIG;
    }
    o->provider = dupn(prov);
    o->client_id = dupn(cid);
    o->client_secret = sec ? dupn(sec) : NULL;
    o->scope = dupn(scope ? scope : dscope);
    o->token_path = file ? tool_expand_home(file) : default_token_path(user);
    o->hint = dupn(hint);
    if (!o->provider || !o->client_id || (sec && !o->client_secret) || !o->scope || !o->hint) {
        if (!o->token_path && !file) {
            tool_err("no place for the OAuth 2.0 tokens: set oauth_token_file, HOME or "
                     "XDG_STATE_HOME");
            return TOOL_EX_CONFIG;
        }
        goto oom;
    }
    if (!o->token_path) {
        tool_err("no place for the OAuth 2.0 tokens: set oauth_token_file, HOME or XDG_STATE_HOME");
        return TOOL_EX_CONFIG;
    }
    o->lock_path = malloc(strlen(o->token_path) + 6);
    if (!o->lock_path)
        goto oom;
    sprintf(o->lock_path, "%s.lock", o->token_path);
    o->active = 1;
    return 0;
oom:
    tool_err("out of memory");
    return TOOL_EX_OSERR;
}

void tool_oauth_free(tool_oauth *o)
{
    if (o->user && o->lock_fd >= 0) /* o->user: set up (a zeroed struct has fd 0) */
        close(o->lock_fd);
    free(o->provider);
    free(o->issuer);
    free(o->auth_ep);
    free(o->token_ep);
    free(o->device_ep);
    free(o->client_id);
    wipe_free(o->client_secret);
    free(o->scope);
    free(o->token_path);
    free(o->lock_path);
    free(o->hint);
    wipe_free(o->ready);
    memset(o, 0, sizeof *o);
    o->lock_fd = -1;
}

/* ---- discovery (RFC 8414, then OpenID Connect Discovery) -------------------- */

/* GET url as JSON into *out. 0; or an exit code after a message. 404 and
 * other 4xx: 1 (the caller tries the next place). */
static int get_json(tool_oauth *o, const char *url, cJSON **out)
{
    tool_http_resp r;
    char err[512];
    int rc = tool_http_request(url, NULL, o->timeout_ms, &r, err, sizeof err);
    *out = NULL;
    if (rc == TOOL_HTTP_REFUSED) {
        tool_err("%s", err);
        return TOOL_EX_CONFIG;
    }
    if (rc != 0) {
        tool_err("cannot reach the OAuth 2.0 provider (%s); try again later", err);
        return TOOL_EX_TEMPFAIL;
    }
    if (r.status >= 500 || r.status == 429) {
        tool_err("the OAuth 2.0 provider is not available (%s: HTTP %ld); try again later", url,
                 r.status);
        tool_http_free(&r);
        return TOOL_EX_TEMPFAIL;
    }
    if (r.status != 200) {
        tool_http_free(&r);
        return 1;
    }
    *out = cJSON_ParseWithLength(r.body, r.len);
    tool_http_free(&r);
    if (!*out || !cJSON_IsObject(*out)) {
        cJSON_Delete(*out);
        *out = NULL;
        tool_err("%s: the provider's metadata is not a JSON object", url);
        return TOOL_EX_PROTOCOL;
    }
    return 0;
}

static int discover(tool_oauth *o)
{
    const char *iss = o->issuer, *p, *path;
    char url[2048];
    size_t ilen = strlen(iss), olen;
    cJSON *j = NULL;
    int rc, attempt;
    const char *a, *t, *d, *got;

    while (ilen > 0 && iss[ilen - 1] == '/')
        ilen--;
    p = strstr(iss, "://") + 3;
    path = p + strcspn(p, "/");
    olen = (size_t)(path - iss);
    if (path - iss > (long)ilen)
        path = iss + ilen;
    for (attempt = 0; attempt < 2; attempt++) {
        if (attempt == 0) /* RFC 8414 sec. 3: the well-known part before the path */
            snprintf(url, sizeof url, "%.*s/.well-known/oauth-authorization-server%.*s",
                     (int)olen, iss, (int)(ilen - olen), path);
        else              /* OpenID Connect Discovery: after it */
            snprintf(url, sizeof url, "%.*s/.well-known/openid-configuration", (int)ilen, iss);
        rc = get_json(o, url, &j);
        if (rc == 0)
            break;
        if (rc != 1)
            return rc;
    }
    if (!j) {
        tool_err("the provider %s publishes no OAuth 2.0 metadata (RFC 8414 or OpenID "
                 "Connect discovery)", iss);
        return TOOL_EX_UNAVAILABLE;
    }
    /* RFC 8414 sec. 3.3: the issuer in the metadata must be the one asked */
    got = json_str(j, "issuer");
    if (!got || strlen(got) < ilen || strncmp(got, iss, ilen) != 0 ||
        strspn(got + ilen, "/") != strlen(got + ilen)) {
        tool_err("the metadata at %s names another issuer; refusing it", url);
        cJSON_Delete(j);
        return TOOL_EX_PROTOCOL;
    }
    a = json_str(j, "authorization_endpoint");
    t = json_str(j, "token_endpoint");
    d = json_str(j, "device_authorization_endpoint");
    if (!t || !tool_http_url_ok(t) || (a && !tool_http_url_ok(a)) || (d && !tool_http_url_ok(d))) {
        tool_err("the metadata at %s has no usable token endpoint (https required)", url);
        cJSON_Delete(j);
        return TOOL_EX_PROTOCOL;
    }
    tool_info("the provider's metadata: %s", url);
    rc = set_endpoints(o, a, t, d);
    cJSON_Delete(j);
    if (rc != 0) {
        tool_err("out of memory");
        return TOOL_EX_OSERR;
    }
    return 0;
}

/* ---- the token file ------------------------------------------------------------ */

typedef struct toks {
    char *access, *refresh, *token_ep, *client_id;
    long long expires_at, issued_at; /* issued_at 0: not known */
} toks;

/* How long before its expiry an access token is refreshed: a minute, or a
 * quarter of its lifetime when that is shorter (a 5-minute token is not
 * refreshed at every use). */
static long long refresh_margin(const toks *t)
{
    long long life = t->issued_at > 0 ? t->expires_at - t->issued_at : 0;
    if (life > 0 && life / 4 < TOOL_OAUTH_MARGIN)
        return life / 4;
    return TOOL_OAUTH_MARGIN;
}

static void toks_free(toks *t)
{
    wipe_free(t->access);
    wipe_free(t->refresh);
    free(t->token_ep);
    free(t->client_id);
    memset(t, 0, sizeof *t);
}

/* mkdir -p of path's folder, mode 0700 for what is made. 0 or -1. */
static int make_parent(const char *path)
{
    char *d = tool_strdup(path), *s = d ? strrchr(d, '/') : NULL;
    int rc = 0;
    if (!d)
        return -1;
    if (s && s != d) {
        *s = '\0';
        rc = tool_mkdirs(d, 0700);
    }
    free(d);
    return rc;
}

/* Reads the token file. 0 (t filled), 1 (no file), or an exit code after a
 * message. */
static int toks_load(const tool_oauth *o, toks *t)
{
    struct stat st;
    char *buf;
    ssize_t n;
    size_t len = 0;
    cJSON *j;
    int fd = open(o->token_path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

    memset(t, 0, sizeof *t);
    if (fd < 0) {
        if (errno == ENOENT)
            return 1;
        tool_err("cannot read %s: %s", o->token_path, strerror(errno));
        return TOOL_EX_NOINPUT;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > TOKEN_FILE_MAX) {
        close(fd);
        tool_err("%s is not a token file Postie wrote", o->token_path);
        return TOOL_EX_CONFIG;
    }
    if (st.st_mode & 077) {
        close(fd);
        tool_err("%s may be read by others (mode %03o): refusing to use its tokens; "
                 "chmod 600 it, and re-authorize if others could read it (%s)",
                 o->token_path, (unsigned)(st.st_mode & 0777), o->hint);
        return TOOL_EX_CONFIG;
    }
    buf = malloc((size_t)st.st_size + 1);
    if (!buf) {
        close(fd);
        tool_err("out of memory");
        return TOOL_EX_OSERR;
    }
    while (len < (size_t)st.st_size && (n = read(fd, buf + len, (size_t)st.st_size - len)) > 0)
        len += (size_t)n;
    close(fd);
    buf[len] = '\0';
    j = cJSON_ParseWithLength(buf, len);
    memset(buf, 0, len);
    free(buf);
    if (!j || !cJSON_IsObject(j)) {
        cJSON_Delete(j);
        tool_err("%s is damaged (not JSON); run %s", o->token_path, o->hint);
        return TOOL_EX_CONFIG;
    }
    t->access = dupn(json_str(j, "access_token"));
    t->refresh = dupn(json_str(j, "refresh_token"));
    t->token_ep = dupn(json_str(j, "token_endpoint"));
    t->client_id = dupn(json_str(j, "client_id"));
    t->expires_at = json_num(j, "expires_at", 0, (long long)1 << 40);
    t->issued_at = json_num(j, "issued_at", 0, (long long)1 << 40);
    cJSON_Delete(j);
    if ((t->access && !token_ok(t->access)) || (t->refresh && !token_ok(t->refresh)))
        t->access = (wipe_free(t->access), NULL); /* a damaged access token is just refreshed */
    return 0;
}

/* Writes the tokens: FILE.tmp (0600, fsync), renamed over FILE, the folder
 * fsync'd. 0, or an exit code after a message (the old file is intact). */
static int toks_save(const tool_oauth *o, const toks *t)
{
    cJSON *j = cJSON_CreateObject();
    char *txt = NULL, *tmp = NULL, *slash;
    int fd = -1, rc = TOOL_EX_IOERR;

    if (!j || !cJSON_AddNumberToObject(j, "version", 1) ||
        !cJSON_AddStringToObject(j, "provider", o->provider) ||
        !cJSON_AddStringToObject(j, "user", o->user) ||
        !cJSON_AddStringToObject(j, "client_id", t->client_id ? t->client_id : o->client_id) ||
        !cJSON_AddStringToObject(j, "token_endpoint", t->token_ep ? t->token_ep : o->token_ep) ||
        (t->refresh && !cJSON_AddStringToObject(j, "refresh_token", t->refresh)) ||
        (t->access && !cJSON_AddStringToObject(j, "access_token", t->access)) ||
        !cJSON_AddNumberToObject(j, "expires_at", (double)t->expires_at) ||
        !cJSON_AddNumberToObject(j, "issued_at", (double)t->issued_at)) {
        cJSON_Delete(j);
        tool_err("out of memory");
        return TOOL_EX_OSERR;
    }
    txt = cJSON_Print(j);
    cJSON_Delete(j);
    tmp = malloc(strlen(o->token_path) + 16);
    if (!txt || !tmp) {
        tool_err("out of memory");
        rc = TOOL_EX_OSERR;
        goto out;
    }
    sprintf(tmp, "%s.tmp", o->token_path);
    if (make_parent(o->token_path) != 0) {
        tool_err("cannot create the folder of %s: %s", o->token_path, strerror(errno));
        rc = TOOL_EX_CANTCREAT;
        goto out;
    }
    (void)unlink(tmp); /* a leftover of a run that died */
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        tool_err("cannot create %s: %s", tmp, strerror(errno));
        rc = TOOL_EX_CANTCREAT;
        goto out;
    }
    if (tool_write_all(fd, txt, strlen(txt)) != 0 || tool_write_all(fd, "\n", 1) != 0 ||
        fsync(fd) != 0) {
        tool_err("cannot write %s: %s", tmp, strerror(errno));
        goto out;
    }
    if (close(fd) != 0) {
        fd = -1;
        tool_err("cannot write %s: %s", tmp, strerror(errno));
        goto out;
    }
    fd = -1;
    if (rename(tmp, o->token_path) != 0) {
        tool_err("cannot replace %s: %s", o->token_path, strerror(errno));
        goto out;
    }
    slash = strrchr(tmp, '/');
    if (slash)
        slash[slash == tmp] = '\0'; /* the folder ("/" for a file in the root) */
    if (tool_fsync_dir(slash ? tmp : ".") != 0) {
        tool_err("cannot sync the folder of %s: %s", o->token_path, strerror(errno));
        goto out;
    }
    rc = 0;
out:
    if (fd >= 0) {
        close(fd);
        (void)unlink(tmp);
    }
    if (txt) {
        memset(txt, 0, strlen(txt));
        free(txt);
    }
    free(tmp);
    return rc;
}

static int lock_tokens(tool_oauth *o)
{
    if (o->lock_fd >= 0)
        return 0;
    if (make_parent(o->lock_path) != 0) {
        tool_err("cannot create the folder of %s: %s", o->token_path, strerror(errno));
        return TOOL_EX_CANTCREAT;
    }
    o->lock_fd = open(o->lock_path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (o->lock_fd < 0) {
        tool_err("cannot open %s: %s", o->lock_path, strerror(errno));
        return TOOL_EX_CANTCREAT;
    }
    while (flock(o->lock_fd, LOCK_EX) != 0) {
        if (errno != EINTR) {
            tool_err("cannot lock %s: %s", o->lock_path, strerror(errno));
            close(o->lock_fd);
            o->lock_fd = -1;
            return TOOL_EX_IOERR;
        }
    }
    return 0;
}

static void unlock_tokens(tool_oauth *o)
{
    if (o->lock_fd >= 0) {
        close(o->lock_fd); /* releases the flock */
        o->lock_fd = -1;
    }
}

/* ---- the token endpoint -------------------------------------------------------- */

enum { TE_OK = 0, TE_PENDING = 1, TE_SLOW = 2 };

/* POSTs form to the token endpoint ep. On success fills t->access,
 * t->expires_at and t->refresh (only when the answer has one) and returns
 * TE_OK. For the device flow's polling (device != 0), authorization_pending
 * is TE_PENDING and slow_down TE_SLOW. Otherwise an exit code after a
 * message: 75 (provider unreachable or failing), 77 (invalid_grant,
 * access_denied, expired_token: with the re-authorize command), 78
 * (invalid_client and the like), 76 (an answer that is not OAuth). */
static int token_request(tool_oauth *o, const char *ep, const char *form, int device, toks *t,
                         const char *what)
{
    tool_http_resp r;
    char err[512], perr[300];
    cJSON *j;
    const char *e, *at, *rt, *tt;
    long status;
    int rc = tool_http_request(ep, form, o->timeout_ms, &r, err, sizeof err);

    if (rc == TOOL_HTTP_REFUSED) {
        tool_err("%s", err);
        return TOOL_EX_CONFIG;
    }
    if (rc != 0) {
        tool_err("%s: cannot reach the OAuth 2.0 provider (%s); try again later "
                 "(the stored tokens are kept)", what, err);
        return TOOL_EX_TEMPFAIL;
    }
    if (r.status >= 500 || r.status == 429) {
        tool_err("%s: the OAuth 2.0 provider is not available (HTTP %ld); try again later "
                 "(the stored tokens are kept)", what, r.status);
        tool_http_free(&r);
        return TOOL_EX_TEMPFAIL;
    }
    status = r.status;
    j = cJSON_ParseWithLength(r.body, r.len);
    tool_http_free(&r);
    if (!j || !cJSON_IsObject(j)) {
        cJSON_Delete(j);
        tool_err("%s: the token endpoint's answer (HTTP %ld) is not JSON", what, status);
        return status == 200 ? TOOL_EX_PROTOCOL : TOOL_EX_TEMPFAIL;
    }
    e = json_str(j, "error");
    if (status != 200 || e) {
        int ex;
        provider_error(j, perr, sizeof perr);
        if (device && e && strcmp(e, "authorization_pending") == 0) {
            cJSON_Delete(j);
            return TE_PENDING;
        }
        if (device && e && strcmp(e, "slow_down") == 0) {
            cJSON_Delete(j);
            return TE_SLOW;
        }
        if (e && (strcmp(e, "invalid_grant") == 0 || strcmp(e, "access_denied") == 0 ||
                  strcmp(e, "expired_token") == 0)) {
            tool_err("%s: the provider refused (%s): the authorization was revoked, has "
                     "expired or was denied; authorize again with: %s", what, perr, o->hint);
            ex = TOOL_EX_NOPERM;
        } else if (e && (strcmp(e, "invalid_client") == 0 ||
                         strcmp(e, "unauthorized_client") == 0 ||
                         strcmp(e, "invalid_scope") == 0)) {
            tool_err("%s: the provider refused the application's settings (%s): check "
                     "oauth_client_id, oauth_client_secret and oauth_scope", what, perr);
            ex = TOOL_EX_CONFIG;
        } else {
            tool_err("%s: the provider refused (HTTP %ld, %s); authorize again with: %s", what,
                     status, perr, o->hint);
            ex = TOOL_EX_NOPERM;
        }
        cJSON_Delete(j);
        return ex;
    }
    at = json_str(j, "access_token");
    rt = json_str(j, "refresh_token");
    tt = json_str(j, "token_type");
    if (!token_ok(at) || (rt && !token_ok(rt)) || (tt && strcasecmp(tt, "bearer") != 0)) {
        cJSON_Delete(j);
        tool_err("%s: the token endpoint's answer holds no usable bearer token", what);
        return TOOL_EX_PROTOCOL;
    }
    wipe_free(t->access);
    t->access = dupn(at);
    t->issued_at = now_s();
    t->expires_at = t->issued_at + json_num(j, "expires_in", 3600, 10LL * 365 * 86400);
    if (rt) {
        wipe_free(t->refresh);
        t->refresh = dupn(rt);
    }
    cJSON_Delete(j);
    if (!t->access || (rt && !t->refresh)) {
        tool_err("out of memory");
        return TOOL_EX_OSERR;
    }
    return TE_OK;
}

/* client_id and, when configured, client_secret (client_secret_post). */
static int add_client(const tool_oauth *o, char **form, const char *client_id)
{
    if (tool_http_form_add(form, "client_id", client_id ? client_id : o->client_id) != 0)
        return -1;
    if (o->client_secret && tool_http_form_add(form, "client_secret", o->client_secret) != 0)
        return -1;
    return 0;
}

/* ---- refresh --------------------------------------------------------------------- */

/* The access token to use, in *out (malloc'd). force: the server refused
 * `failed`; refresh unless the file already holds another valid one. 0 or an
 * exit code after a message. */
static int access_token(tool_oauth *o, int force, const char *failed, char **out)
{
    toks t;
    char *form = NULL;
    int rc;

    *out = NULL;
    if ((rc = lock_tokens(o)) != 0)
        return rc;
    rc = toks_load(o, &t);
    if (rc == 1) {
        tool_err("no OAuth 2.0 authorization for %s yet: run %s", o->user, o->hint);
        unlock_tokens(o);
        return TOOL_EX_NOPERM;
    }
    if (rc != 0) {
        unlock_tokens(o);
        return rc;
    }
    if (t.access && t.expires_at - now_s() > refresh_margin(&t) &&
        (!force || (failed && strcmp(failed, t.access) != 0))) {
        /* still valid; or, after a refusal, another run already refreshed it */
        *out = t.access;
        t.access = NULL;
        toks_free(&t);
        unlock_tokens(o);
        return 0;
    }
    if (!t.refresh) {
        tool_err("the access token for %s has expired and the provider gave no refresh "
                 "token: authorize again with: %s", o->user, o->hint);
        toks_free(&t);
        unlock_tokens(o);
        return TOOL_EX_NOPERM;
    }
    tool_info("refreshing the OAuth 2.0 access token for %s%s", o->user,
              force ? " (the server refused the one we had)" : "");
    if (tool_http_form_add(&form, "grant_type", "refresh_token") != 0 ||
        tool_http_form_add(&form, "refresh_token", t.refresh) != 0 ||
        add_client(o, &form, t.client_id) != 0) {
        tool_http_form_free(form);
        toks_free(&t);
        unlock_tokens(o);
        tool_err("out of memory");
        return TOOL_EX_OSERR;
    }
    rc = token_request(o, t.token_ep ? t.token_ep : o->token_ep, form, 0, &t, "refreshing the "
                       "access token");
    tool_http_form_free(form);
    if (rc == TE_OK) {
        /* the (maybe rotated) refresh token is on disk before anything uses
         * what came with it */
        rc = toks_save(o, &t);
        if (rc != 0)
            tool_err("the new tokens could not be saved; if the provider rotated the "
                     "refresh token, authorize again with: %s", o->hint);
    }
    if (rc == 0) {
        *out = t.access;
        t.access = NULL;
    }
    toks_free(&t);
    unlock_tokens(o);
    return rc;
}

int tool_oauth_prefetch(tool_oauth *o)
{
    if (o->ready)
        return 0;
    return access_token(o, 0, NULL, &o->ready);
}

int tool_oauth_login(tool_oauth *o, tool_oauth_auth_fn auth, void *ctx, postie_status *st)
{
    char *tok = o->ready, *tok2 = NULL;
    int rc = 0;
    o->ready = NULL;
    if (!tok && (rc = access_token(o, 0, NULL, &tok)) != 0)
        return rc;
    *st = auth(ctx, tok);
    if (*st == POSTIE_ERR_AUTH) {
        /* the token may have expired or been revoked early: one refresh */
        tool_info("the server refused the access token; refreshing it");
        rc = access_token(o, 1, tok, &tok2);
        if (rc == 0) {
            *st = auth(ctx, tok2);
            if (*st == POSTIE_ERR_AUTH)
                tool_err("the server refused a fresh access token too: check that the "
                         "account's user is the mailbox the authorization was given for and "
                         "that the scopes cover this protocol, or authorize again with: %s",
                         o->hint);
        }
    }
    wipe_free(tok);
    wipe_free(tok2);
    if (rc != 0)
        return rc;
    return *st == POSTIE_OK ? 0 : -1;
}

/* ---- the authorize command ------------------------------------------------------ */

static int save_new_grant(tool_oauth *o, toks *t)
{
    int rc;
    if (!t->refresh)
        tool_err("warning: the provider gave no refresh token: the access lasts until the "
                 "token expires, then run %s again", o->hint);
    if ((rc = lock_tokens(o)) != 0)
        return rc;
    t->token_ep = dupn(o->token_ep);
    t->client_id = dupn(o->client_id);
    rc = (!t->token_ep || !t->client_id) ? TOOL_EX_OSERR : toks_save(o, t);
    unlock_tokens(o);
    if (rc == 0)
        fprintf(stderr, "%s: authorized; the tokens for %s are in %s\n", tool_progname, o->user,
                o->token_path);
    return rc;
}

static void sleep_s(long long s)
{
    struct timespec ts;
    ts.tv_sec = (time_t)s;
    ts.tv_nsec = 0;
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static int device_flow(tool_oauth *o)
{
    tool_http_resp r;
    char err[512], perr[300];
    char *form = NULL, *dcode = NULL;
    cJSON *j;
    const char *uc, *vu, *vuc;
    long status;
    long long interval, deadline;
    toks t;
    int rc;

    memset(&t, 0, sizeof t);
    if (tool_http_form_add(&form, "scope", o->scope) != 0 || add_client(o, &form, NULL) != 0) {
        tool_err("out of memory");
        return TOOL_EX_OSERR;
    }
    rc = tool_http_request(o->device_ep, form, o->timeout_ms, &r, err, sizeof err);
    tool_http_form_free(form);
    form = NULL;
    if (rc != 0) {
        tool_err("cannot reach the OAuth 2.0 provider (%s); try again later", err);
        return rc == TOOL_HTTP_REFUSED ? TOOL_EX_CONFIG : TOOL_EX_TEMPFAIL;
    }
    if (r.status >= 500 || r.status == 429) {
        tool_err("the OAuth 2.0 provider is not available (HTTP %ld); try again later", r.status);
        tool_http_free(&r);
        return TOOL_EX_TEMPFAIL;
    }
    status = r.status;
    j = cJSON_ParseWithLength(r.body, r.len);
    tool_http_free(&r);
    if (!j || !cJSON_IsObject(j) || status != 200) {
        provider_error(j, perr, sizeof perr);
        cJSON_Delete(j);
        tool_err("the provider refused the device authorization request (HTTP %ld, %s); check "
                 "oauth_client_id and oauth_scope", status, perr);
        return TOOL_EX_CONFIG;
    }
    uc = json_str(j, "user_code");
    vu = json_str(j, "verification_uri");
    if (!vu)
        vu = json_str(j, "verification_url"); /* Google's spelling */
    vuc = json_str(j, "verification_uri_complete");
    dcode = dupn(json_str(j, "device_code"));
    if (!uc || !vu || !dcode || !token_ok(dcode) || !tool_http_url_ok(vu)) {
        cJSON_Delete(j);
        wipe_free(dcode);
        tool_err("the provider's device authorization answer lacks a code or an https address");
        return TOOL_EX_PROTOCOL;
    }
    interval = json_num(j, "interval", 5, 60);
    if (interval < 1)
        interval = 1;
    deadline = now_s() + json_num(j, "expires_in", 600, DEVICE_WAIT_MAX);
    tool_err("to authorize %s, open %s and enter the code %s", o->user, vu, uc);
    if (vuc && tool_http_url_ok(vuc))
        tool_err("or open %s", vuc);
    tool_err("waiting for the authorization (up to %lld minutes)...", (deadline - now_s() + 59) / 60);
    cJSON_Delete(j);
    for (;;) {
        if (now_s() + interval > deadline) {
            tool_err("the code expired before it was approved; run %s again", o->hint);
            rc = TOOL_EX_NOPERM;
            break;
        }
        sleep_s(interval);
        if (tool_http_form_add(&form, "grant_type", "urn:ietf:params:oauth:grant-type:device_code") != 0 ||
            tool_http_form_add(&form, "device_code", dcode) != 0 || add_client(o, &form, NULL) != 0) {
            tool_err("out of memory");
            rc = TOOL_EX_OSERR;
            break;
        }
        rc = token_request(o, o->token_ep, form, 1, &t, "device authorization");
        tool_http_form_free(form);
        form = NULL;
        if (rc == TE_PENDING)
            continue;
        if (rc == TE_SLOW) {
            interval += 5; /* RFC 8628 sec. 3.5 */
            continue;
        }
        break;
    }
    wipe_free(dcode);
    if (rc == TE_OK)
        rc = save_new_grant(o, &t);
    toks_free(&t);
    return rc;
}

/* Percent-decodes the value of name in the query q (a&b=c...) into a
 * malloc'd string; NULL when absent. '+' is a space. */
static char *query_param(const char *q, const char *name)
{
    size_t nl = strlen(name);
    while (q && *q) {
        const char *amp = strchr(q, '&');
        size_t len = amp ? (size_t)(amp - q) : strlen(q);
        if (len > nl && strncmp(q, name, nl) == 0 && q[nl] == '=') {
            const char *v = q + nl + 1, *e = q + len;
            char *out = malloc((size_t)(e - v) + 1), *o = out;
            if (!out)
                return NULL;
            while (v < e) {
                if (*v == '%' && e - v >= 3 && strchr("0123456789abcdefABCDEF", v[1]) && v[1] &&
                    strchr("0123456789abcdefABCDEF", v[2]) && v[2]) {
                    char h[3] = {v[1], v[2], 0};
                    *o++ = (char)strtol(h, NULL, 16);
                    v += 3;
                } else {
                    *o++ = *v == '+' ? ' ' : *v;
                    v++;
                }
            }
            *o = '\0';
            return out;
        }
        q = amp ? amp + 1 : NULL;
    }
    return NULL;
}

static void http_reply(int fd, const char *status, const char *text)
{
    char buf[1024];
    int n = snprintf(buf, sizeof buf,
                     "HTTP/1.1 %s\r\nContent-Type: text/plain; charset=utf-8\r\n"
                     "Content-Length: %zu\r\nConnection: close\r\nCache-Control: no-store\r\n\r\n%s",
                     status, strlen(text), text);
    /* MSG_NOSIGNAL: a browser that already closed must not kill the tool */
    if (n > 0)
        (void)!send(fd, buf, (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1, MSG_NOSIGNAL);
}

/* Reads one request head from fd (within 10 s, at most REQUEST_MAX bytes)
 * and returns the target of "GET target HTTP/1.x" (malloc'd), or NULL. */
static char *read_request_target(int fd)
{
    char buf[REQUEST_MAX + 1], *sp, *sp2;
    size_t len = 0;
    long long until = now_s() + 10;
    buf[0] = '\0';
    while (len < REQUEST_MAX && !strstr(buf, "\r\n\r\n")) {
        struct pollfd p = {fd, POLLIN, 0};
        ssize_t n;
        long long left = until - now_s();
        if (left <= 0 || poll(&p, 1, (int)(left * 1000)) <= 0)
            return NULL;
        n = read(fd, buf + len, REQUEST_MAX - len);
        if (n <= 0)
            return NULL;
        len += (size_t)n;
        buf[len] = '\0';
        if (strlen(buf) != len)
            return NULL; /* a NUL in a request head */
    }
    buf[len] = '\0';
    if (strncmp(buf, "GET ", 4) != 0)
        return NULL;
    sp = buf + 4;
    sp2 = strchr(sp, ' ');
    if (!sp2 || (size_t)(sp2 - sp) > REQUEST_MAX)
        return NULL;
    return tool_strndup(sp, (size_t)(sp2 - sp));
}

static int browser_flow(tool_oauth *o)
{
    unsigned char digest[POSTIE_SHA256_DIGEST_LEN];
    char verifier[64], challenge[64], state[32], redirect[64];
    char *url = NULL, *form = NULL, *code = NULL;
    struct sockaddr_in sa;
    socklen_t sl = sizeof sa;
    int lfd, rc = TOOL_EX_NOPERM;
    long long deadline;
    toks t;
    size_t n;

    memset(&t, 0, sizeof t);
    if (!o->auth_ep) {
        tool_err("the provider has no authorization endpoint: use the device flow");
        return TOOL_EX_UNAVAILABLE;
    }
    /* RFC 7636: a 43-character verifier from 32 random bytes, S256 */
    if (random_b64url(32, verifier, sizeof verifier) != 0 ||
        random_b64url(16, state, sizeof state) != 0) {
        tool_err("no random source");
        return TOOL_EX_OSERR;
    }
    postie_sha256(verifier, strlen(verifier), digest);
    b64url(digest, sizeof digest, challenge, sizeof challenge);
    /* RFC 8252 sec. 7.3: a loopback IP literal, a port chosen by the system */
    lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = 0;
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(lfd, 8) != 0 ||
        getsockname(lfd, (struct sockaddr *)&sa, &sl) != 0) {
        tool_err("cannot listen on 127.0.0.1 for the browser's redirect: %s", strerror(errno));
        if (lfd >= 0)
            close(lfd);
        return TOOL_EX_OSERR;
    }
    snprintf(redirect, sizeof redirect, "http://127.0.0.1:%u/", (unsigned)ntohs(sa.sin_port));
    if (tool_http_form_add(&form, "response_type", "code") != 0 ||
        tool_http_form_add(&form, "client_id", o->client_id) != 0 ||
        tool_http_form_add(&form, "redirect_uri", redirect) != 0 ||
        tool_http_form_add(&form, "scope", o->scope) != 0 ||
        tool_http_form_add(&form, "state", state) != 0 ||
        tool_http_form_add(&form, "code_challenge", challenge) != 0 ||
        tool_http_form_add(&form, "code_challenge_method", "S256") != 0 ||
        tool_http_form_add(&form, "login_hint", o->user) != 0) {
        close(lfd);
        tool_err("out of memory");
        return TOOL_EX_OSERR;
    }
    n = strlen(o->auth_ep) + strlen(form) + (o->extra_auth ? strlen(o->extra_auth) : 0) + 4;
    url = malloc(n);
    if (!url) {
        close(lfd);
        tool_http_form_free(form);
        tool_err("out of memory");
        return TOOL_EX_OSERR;
    }
    snprintf(url, n, "%s%c%s%s%s", o->auth_ep, strchr(o->auth_ep, '?') ? '&' : '?', form,
             o->extra_auth ? "&" : "", o->extra_auth ? o->extra_auth : "");
    tool_http_form_free(form);
    form = NULL;
    tool_err("to authorize %s, open this address in a browser:", o->user);
    fputs("  ", stderr);
    tool_escape(stderr, url, strlen(url));
    fputs("\n", stderr);
    tool_err("waiting for the browser at %s (up to %d minutes)...", redirect, BROWSER_WAIT / 60);
    fflush(stderr);
    free(url);
    deadline = now_s() + BROWSER_WAIT;
    for (;;) {
        struct pollfd p = {lfd, POLLIN, 0};
        long long left = deadline - now_s();
        char *target, *q, *st, *err, *desc;
        int cfd;
        if (left <= 0) {
            tool_err("no answer from the browser within %d minutes; run %s again",
                     BROWSER_WAIT / 60, o->hint);
            rc = TOOL_EX_TEMPFAIL;
            break;
        }
        if (poll(&p, 1, (int)(left > 60 ? 60000 : left * 1000)) <= 0)
            continue;
        cfd = accept(lfd, NULL, NULL);
        if (cfd < 0)
            continue;
        target = read_request_target(cfd);
        if (!target || target[0] != '/' || (target[1] != '?' && target[1] != '\0')) {
            http_reply(cfd, "404 Not Found", "Not here.\n");
            close(cfd);
            free(target);
            continue;
        }
        q = strchr(target, '?');
        st = q ? query_param(q + 1, "state") : NULL;
        if (!st || strcmp(st, state) != 0) {
            /* not the answer to our request (another page, a forgery) */
            http_reply(cfd, "400 Bad Request", "This is not the answer Postie waits for.\n");
            close(cfd);
            free(st);
            free(target);
            continue;
        }
        free(st);
        err = query_param(q + 1, "error");
        code = query_param(q + 1, "code");
        desc = query_param(q + 1, "error_description");
        free(target);
        if (err || !code || !*code) {
            char *d = desc;
            desc = NULL;
            http_reply(cfd, "200 OK", "Postie was not authorized. You can close this page.\n");
            close(cfd);
            tool_err("the authorization was refused (%.64s%s%.200s); run %s to try again",
                     err ? err : "no code", d ? ": " : "", d ? d : "", o->hint);
            free(err);
            free(d);
            rc = TOOL_EX_NOPERM;
            break;
        }
        free(desc);
        http_reply(cfd, "200 OK", "Postie is authorized. You can close this page.\n");
        close(cfd);
        if (tool_http_form_add(&form, "grant_type", "authorization_code") != 0 ||
            tool_http_form_add(&form, "code", code) != 0 ||
            tool_http_form_add(&form, "redirect_uri", redirect) != 0 ||
            tool_http_form_add(&form, "code_verifier", verifier) != 0 ||
            add_client(o, &form, NULL) != 0) {
            tool_err("out of memory");
            rc = TOOL_EX_OSERR;
            break;
        }
        rc = token_request(o, o->token_ep, form, 0, &t, "authorization code exchange");
        if (rc == TE_OK)
            rc = save_new_grant(o, &t);
        break;
    }
    close(lfd);
    tool_http_form_free(form);
    wipe_free(code);
    memset(verifier, 0, sizeof verifier);
    toks_free(&t);
    return rc;
}

int tool_oauth_authorize(tool_oauth *o, const char *flow)
{
    int rc;
    if (o->issuer && !o->token_ep && (rc = discover(o)) != 0)
        return rc;
    if (!flow)
        flow = o->flow ? o->flow : o->device_ep ? "device" : "browser";
    if (strcmp(flow, "device") == 0) {
        if (!o->device_ep) {
            tool_err("the provider has no device authorization endpoint: use "
                     "--authorize=browser");
            return TOOL_EX_UNAVAILABLE;
        }
        return device_flow(o);
    }
    if (strcmp(flow, "browser") == 0)
        return browser_flow(o);
    tool_err("--authorize=%s: give device or browser", flow);
    return TOOL_EX_USAGE;
}

/* ---- what the tools call ------------------------------------------------------ */

int tool_oauth_prepare(tool_oauth *o, const tool_cfg *cfg, const char *proto, const char *user,
                       unsigned timeout_ms, const char *config_flag)
{
    char *hint = tool_oauth_hint(tool_progname, config_flag, cfg->account);
    int rc;
    if (!hint) {
        tool_err("out of memory");
        return TOOL_EX_OSERR;
    }
    rc = tool_oauth_setup(o, cfg, proto, user, timeout_ms, hint);
    free(hint);
    return rc;
}

int tool_oauth_authorize_cmd(const tool_cfg *cfg, const char *proto, const char *user,
                             unsigned timeout_ms, const char *config_flag, const char *flow)
{
    tool_oauth o;
    int rc;
    if (!tool_oauth_wanted(cfg, proto)) {
        tool_err("--authorize: the account%s%s sets no oauth_provider (man postie.5, "
                 "docs/providers.md)", cfg->account ? " " : "", cfg->account ? cfg->account : "");
        return TOOL_EX_CONFIG;
    }
    rc = tool_oauth_prepare(&o, cfg, proto, user, timeout_ms, config_flag);
    if (rc == 0)
        rc = tool_oauth_authorize(&o, flow);
    tool_oauth_free(&o);
    return rc;
}
