/*
 * tests/config/postie_config_one_rcpt.h - the NetX Duo configuration
 * (bench/postie_config_netx.h, one recipient per envelope:
 * POSTIE_WITH_SMTP_MULTI_RCPT 0) with SMTP pipelining and
 * postie_smtp_send_batch() compiled back in: the one-recipient mail
 * through the pipelined MAIL/RCPT/DATA machine (the NetX set has the
 * lockstep one), and a batch that holds an envelope of two recipients.
 * Built by tests/config.
 */
#ifndef POSTIE_CONFIG_ONE_RCPT_H
#define POSTIE_CONFIG_ONE_RCPT_H

#include "../../bench/postie_config_netx.h"

#undef POSTIE_WITH_SMTP_PIPELINING
#define POSTIE_WITH_SMTP_PIPELINING 1
#undef POSTIE_WITH_SMTP_BATCH
#define POSTIE_WITH_SMTP_BATCH 1
#undef POSTIE_PIPELINE_MAX
#define POSTIE_PIPELINE_MAX 4 /* the minimum with pipelining */

#endif /* POSTIE_CONFIG_ONE_RCPT_H */
