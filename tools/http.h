/*
 * tools/http.h - the few HTTP requests OAuth 2.0 needs (tools only; the
 * library has no HTTP), over libcurl: a form POST and a GET, each bounded in
 * time and in the size of the answer, never following a redirect.
 *
 * Only https URLs are used, and http ones whose host is a loopback address
 * (127.0.0.0/8, [::1], localhost): a provider on the same machine, as the
 * tests run. Request bodies hold secrets (codes, refresh tokens): they are
 * never printed; an error message names the URL and the reason only.
 */
#ifndef POSTIE_TOOLS_HTTP_H
#define POSTIE_TOOLS_HTTP_H

#include <stddef.h>

/* Largest answer read; more is an error (a provider's JSON is a few KB). */
#define TOOL_HTTP_MAX_BODY (256u * 1024u)

typedef struct tool_http_resp {
    long status;   /* HTTP status code */
    char *body;    /* malloc'd, NUL-terminated (len bytes before the NUL) */
    size_t len;
} tool_http_resp;

/* Results: 0 (an HTTP answer arrived, whatever its status), or: */
enum {
    TOOL_HTTP_DOWN = -1,   /* no answer: refused, unreachable, DNS, timeout, TLS */
    TOOL_HTTP_REFUSED = -2 /* the URL is not allowed (not https, nor http to loopback) */
};

/* 1 when url may be used: https://..., or http:// to a loopback host. */
int tool_http_url_ok(const char *url);

/* POST application/x-www-form-urlencoded body (already encoded) to url, or
 * GET url when body is NULL. Accept: application/json. timeout_ms bounds the
 * whole request. r is filled (free it with tool_http_free) on 0; err gets a
 * one-line reason otherwise. */
int tool_http_request(const char *url, const char *body, unsigned timeout_ms, tool_http_resp *r,
                      char *err, size_t errcap);
void tool_http_free(tool_http_resp *r);

/* Appends "&name=value" (no '&' when *form is empty) with value
 * percent-encoded; *form is malloc'd and grows. 0, or -1 (out of memory:
 * *form freed and NULL). */
int tool_http_form_add(char **form, const char *name, const char *value);

/* Wipes and frees a form that held secrets. */
void tool_http_form_free(char *form);

#endif /* POSTIE_TOOLS_HTTP_H */
