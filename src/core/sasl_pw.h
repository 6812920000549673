/*
 * sasl_pw.h - the responses of the password mechanisms PLAIN, LOGIN and
 * CRAM-MD5, and the choice of a mechanism (internal to the core: the
 * builders of sasl.h check their arguments and call them; the SASL
 * exchange, which has checked them itself, calls them directly).
 */
#ifndef POSTIE_CORE_SASL_PW_H
#define POSTIE_CORE_SASL_PW_H

#include <stddef.h>
#include "postie/status.h"

/* The raw response of mech (a postie_sasl_mech) into out[0..cap), *outlen
 * its length. Nothing is checked: user and pass are strings, arg[0..alen)
 * readable.
 *   PLAIN     arg: the authzid string (NULL: none); step and alen unused.
 *   LOGIN     arg[0..alen): the decoded prompt; step: the prompt's position
 *             (0: the first), used when the prompt names neither.
 *   CRAM-MD5  arg[0..alen): the decoded challenge; step 0 only.
 * POSTIE_OK; POSTIE_ERR_BUFFER (*outlen 0); POSTIE_ERR_PROTOCOL (LOGIN:
 * a third prompt that names neither; CRAM-MD5: step > 0; another mech). */
postie_status postie_sasl_pw(unsigned mech, unsigned step, const char *arg, size_t alen,
                             const char *user, const char *pass, char *out, size_t cap,
                             size_t *outlen);

/* The highest bit of bits (0 for none): the choice among mechanisms, whose
 * order of preference (sasl.h, postie_sasl_choose) is that of their bits,
 * highest first. */
static inline unsigned postie_sasl_top_bit(unsigned bits)
{
    while ((bits & (bits - 1)) != 0) {
        bits &= bits - 1; /* the lowest bit off */
    }
    return bits;
}

#endif
