/*
 * tests/config/postie_config_simple.h - the NetX Duo configuration
 * (bench/postie_config_netx.h) with the caller's header fields compiled back
 * in: the simple header writer (POSTIE_WITH_COMPOSE_RICH_HEADERS 0) writing
 * a caller header, which the NetX configuration (POSTIE_WITH_COMPOSE_HEADERS
 * 0) refuses with POSTIE_ERR_UNSUPPORTED; and envelopes of several
 * recipients (POSTIE_WITH_SMTP_MULTI_RCPT 1) through the lockstep
 * MAIL/RCPT/DATA machine of a build without SMTP pipelining. Built by
 * tests/config.
 */
#ifndef POSTIE_CONFIG_SIMPLE_H
#define POSTIE_CONFIG_SIMPLE_H

#include "../../bench/postie_config_netx.h"

#undef POSTIE_WITH_COMPOSE_HEADERS
#define POSTIE_WITH_COMPOSE_HEADERS 1
#undef POSTIE_WITH_SMTP_MULTI_RCPT
#define POSTIE_WITH_SMTP_MULTI_RCPT 1

#endif /* POSTIE_CONFIG_SIMPLE_H */
