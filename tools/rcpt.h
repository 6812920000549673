/*
 * tools/rcpt.h - recipient arguments of postie-send (sendmail style: one
 * address per argument, or an RFC 5322 address list "a@x, Bob <b@y>").
 */
#ifndef POSTIE_TOOLS_RCPT_H
#define POSTIE_TOOLS_RCPT_H

#include <stddef.h>
#include "headers.h"

/* Checks one addr-spec (local@domain): a dot-atom or quoted-string local
 * part, a dot-atom or [literal] domain; no white space, control bytes or
 * specials outside quotes. 1 valid, 0 not. */
int tool_addr_spec_valid(const char *s, size_t n);

/* Adds the addresses of one command-line argument to out. The argument is
 * a comma-separated list; each element is exactly one address, either bare
 * ("b@x.test") or with a display name ("Bob <b@x.test>", "\"Doe, J\"
 * <j@x.test>"). Refused, with a reason in err: anything else, e.g. two
 * addresses without a comma ("b@x.test c@x.test"), two angle addresses in one
 * element ("Bob <b@x.test> <evil@x.test>"), comments, groups, an empty list.
 * 0, or -1 (out is then unchanged). */
int tool_rcpt_arg(const char *arg, tool_strv *out, char *err, size_t errcap);

#endif /* POSTIE_TOOLS_RCPT_H */
