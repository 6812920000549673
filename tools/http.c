/* tools/http.c - HTTP for OAuth 2.0 over libcurl. See http.h. */
#include "http.h"
#include "common.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#ifndef POSTIE_TOOLS_VERSION
#define POSTIE_TOOLS_VERSION "dev"
#endif

/* The host of an http(s) URL into host[cap] (brackets of an IPv6 literal
 * removed). 0, or -1 when the URL has none. */
static int url_host(const char *url, char *host, size_t cap)
{
    const char *p = strstr(url, "://"), *e;
    size_t n;
    if (!p)
        return -1;
    p += 3;
    e = p + strcspn(p, "/?#");
    /* userinfo is never accepted: credentials go in the body */
    if (memchr(p, '@', (size_t)(e - p)))
        return -1;
    if (*p == '[') {
        const char *rb = memchr(p, ']', (size_t)(e - p));
        if (!rb)
            return -1;
        p++;
        e = rb;
    } else {
        const char *colon = memchr(p, ':', (size_t)(e - p));
        if (colon)
            e = colon;
    }
    n = (size_t)(e - p);
    if (n == 0 || n >= cap)
        return -1;
    memcpy(host, p, n);
    host[n] = '\0';
    return 0;
}

int tool_http_url_ok(const char *url)
{
    char host[256];
    const char *s;
    if (!url)
        return 0;
    for (s = url; *s; s++)
        if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
            return 0; /* no spaces, controls or raw non-ASCII in a URL */
    if (url_host(url, host, sizeof host) != 0)
        return 0;
    if (strncasecmp(url, "https://", 8) == 0)
        return 1;
    if (strncasecmp(url, "http://", 7) != 0)
        return 0;
    /* plain http: only to this machine (a provider the tests run) */
    if (strcasecmp(host, "localhost") == 0 || strcmp(host, "::1") == 0)
        return 1;
    if (strncmp(host, "127.", 4) == 0) {
        for (s = host + 4; *s; s++)
            if (!((*s >= '0' && *s <= '9') || *s == '.'))
                return 0;
        return 1;
    }
    return 0;
}

struct sink {
    char *buf;
    size_t len;
    int over;
};

static size_t on_data(char *p, size_t size, size_t n, void *ud)
{
    struct sink *s = ud;
    size_t add = size * n;
    char *nb;
    if (add > TOOL_HTTP_MAX_BODY || s->len + add > TOOL_HTTP_MAX_BODY) {
        s->over = 1;
        return 0; /* aborts the transfer */
    }
    nb = realloc(s->buf, s->len + add + 1);
    if (!nb) {
        s->over = 1;
        return 0;
    }
    s->buf = nb;
    memcpy(s->buf + s->len, p, add);
    s->len += add;
    s->buf[s->len] = '\0';
    return add;
}

static int curl_ready;

int tool_http_request(const char *url, const char *body, unsigned timeout_ms, tool_http_resp *r,
                      char *err, size_t errcap)
{
    CURL *c;
    CURLcode cc;
    struct curl_slist *hdr = NULL;
    struct sink s = {NULL, 0, 0};
    char ebuf[CURL_ERROR_SIZE];

    memset(r, 0, sizeof *r);
    if (!tool_http_url_ok(url)) {
        snprintf(err, errcap, "refusing to use %s: an OAuth 2.0 endpoint must be https "
                 "(plain http only to this machine)", url ? url : "(none)");
        return TOOL_HTTP_REFUSED;
    }
    if (!curl_ready) {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
            snprintf(err, errcap, "cannot initialise libcurl");
            return TOOL_HTTP_DOWN;
        }
        curl_ready = 1;
    }
    c = curl_easy_init();
    if (!c) {
        snprintf(err, errcap, "cannot initialise libcurl");
        return TOOL_HTTP_DOWN;
    }
    ebuf[0] = '\0';
    hdr = curl_slist_append(hdr, "Accept: application/json");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)(timeout_ms ? timeout_ms : 30000));
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)(timeout_ms ? timeout_ms : 30000));
    curl_easy_setopt(c, CURLOPT_USERAGENT, "postie/" POSTIE_TOOLS_VERSION);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, ebuf);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    }
    cc = curl_easy_perform(c);
    if (cc == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    curl_easy_cleanup(c);
    curl_slist_free_all(hdr);
    if (cc != CURLE_OK) {
        if (s.over)
            snprintf(err, errcap, "%s: the answer is larger than %u bytes", url,
                     TOOL_HTTP_MAX_BODY);
        else
            snprintf(err, errcap, "%s: %s", url, ebuf[0] ? ebuf : curl_easy_strerror(cc));
        free(s.buf);
        return TOOL_HTTP_DOWN;
    }
    if (!s.buf) {
        s.buf = malloc(1);
        if (!s.buf) {
            snprintf(err, errcap, "out of memory");
            return TOOL_HTTP_DOWN;
        }
        s.buf[0] = '\0';
    }
    r->body = s.buf;
    r->len = s.len;
    return 0;
}

void tool_http_free(tool_http_resp *r)
{
    if (r->body) {
        memset(r->body, 0, r->len);
        free(r->body);
    }
    memset(r, 0, sizeof *r);
}

int tool_http_form_add(char **form, const char *name, const char *value)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t old = *form ? strlen(*form) : 0, need = old + strlen(name) + 2 + 3 * strlen(value) + 1;
    char *f = malloc(need), *o;
    const unsigned char *v;
    if (!f) {
        tool_http_form_free(*form);
        *form = NULL;
        return -1;
    }
    o = f;
    if (old) {
        memcpy(o, *form, old);
        o += old;
        *o++ = '&';
    }
    tool_http_form_free(*form);
    o += sprintf(o, "%s=", name);
    for (v = (const unsigned char *)value; *v; v++) {
        if ((*v >= 'A' && *v <= 'Z') || (*v >= 'a' && *v <= 'z') || (*v >= '0' && *v <= '9') ||
            *v == '-' || *v == '.' || *v == '_' || *v == '~') {
            *o++ = (char)*v;
        } else {
            *o++ = '%';
            *o++ = hex[*v >> 4];
            *o++ = hex[*v & 15];
        }
    }
    *o = '\0';
    *form = f;
    return 0;
}

void tool_http_form_free(char *form)
{
    if (form) {
        memset(form, 0, strlen(form));
        free(form);
    }
}
