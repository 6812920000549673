/*
 * tools/headers.h - the header handling postie-send needs as a sendmail:
 * gathering recipients for -t (To, Cc, Bcc; folded lines, groups, display
 * names, comments), removing Bcc, finding the From address.
 */
#ifndef POSTIE_TOOLS_HEADERS_H
#define POSTIE_TOOLS_HEADERS_H

#include <stddef.h>

typedef struct tool_strv {
    char **v;
    size_t n, cap;
} tool_strv;

int tool_strv_add(tool_strv *s, const char *str);
void tool_strv_free(tool_strv *s);

/* Parses an RFC 5322 address-list (the unfolded value of To/Cc/Bcc/From) and
 * adds each addr-spec to out: "A <a@x>", "a@x (A)", "\"Doe, J\" <j@x>",
 * "team: a@x, b@x;" and "undisclosed-recipients:;" all work. 0, or -1 on
 * memory exhaustion or an unterminated quote/comment/angle bracket. */
int tool_addr_list_parse(const char *value, tool_strv *out);

/* sendmail -t: adds the recipients of every To, Cc and Bcc field of the
 * header of msg to rcpts, and returns in *out (malloc'd, *outlen bytes) the
 * message without its Bcc fields (continuation lines included). The header
 * ends at the first empty line. Lines end as the DATA encoder ends them
 * (postie_smtp_content_eol(): CRLF, a bare LF or a lone CR), so a lone CR
 * cannot hide a Bcc field from this reader and show it to the server. 0 or -1. */
int tool_headers_take_recipients(const char *msg, size_t len, tool_strv *rcpts, char **out,
                                 size_t *outlen);

/* First address of the header field name (e.g. "From"), malloc'd, or NULL. */
char *tool_headers_first_addr(const char *msg, size_t len, const char *name);

#endif /* POSTIE_TOOLS_HEADERS_H */
