/*
 * The DATA encoder for the SMTP session (private to the library), without
 * the public functions' argument checks: postie_smtp_dot_end() is
 * postie_smtp_dot_finish() for a caller that has made
 * POSTIE_SMTP_DOT_FINISH_MAX bytes of room at out (returns the number of
 * bytes written); postie_smtp_dot_run() is postie_smtp_dot_feed() of valid
 * arguments.
 */
#ifndef POSTIE_SMTP_DOT_H
#define POSTIE_SMTP_DOT_H

#include "postie/smtp_proto.h"

size_t postie_smtp_dot_end(postie_smtp_dot *d, char *out);
/* postie_smtp_dot_feed() of valid arguments (it cannot fail). */
void postie_smtp_dot_run(postie_smtp_dot *d, const char *in, size_t n, size_t *consumed,
                         char *out, size_t cap, size_t *produced);

#endif /* POSTIE_SMTP_DOT_H */
